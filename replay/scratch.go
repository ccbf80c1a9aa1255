package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/store"
)

// CreateScratch creates database name on the server of adminURL and
// returns its URL and a function that drops it. A failure to drop is
// reported on stderr: the run's result stands, the leftover is named.
func CreateScratch(ctx context.Context, adminURL, name string) (string, func(), error) {
	if err := store.CreateDatabase(ctx, adminURL, name); err != nil {
		return "", nil, fmt.Errorf("creating scratch database (the role needs CREATEDB): %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.DropDatabase(ctx, adminURL, name); err != nil {
			fmt.Fprintf(os.Stderr, "intake: dropping scratch database %s: %v\n", name, err)
		}
	}
	return withDatabase(adminURL, name), drop, nil
}

// withDatabase returns u with its database replaced by db.
func withDatabase(u, db string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		return u + " dbname=" + db
	}
	p.Path = "/" + db
	return p.String()
}

// openScratch creates, opens and migrates a scratch database; close closes
// and drops it.
func openScratch(ctx context.Context, adminURL, name string) (st *store.Store, close func(), err error) {
	u, drop, err := CreateScratch(ctx, adminURL, name)
	if err != nil {
		return nil, nil, err
	}
	st, err = store.Open(ctx, u)
	if err != nil {
		drop()
		return nil, nil, err
	}
	close = func() {
		st.Close()
		drop()
	}
	if _, err := st.Migrate(ctx); err != nil {
		close()
		return nil, nil, err
	}
	return st, close, nil
}

// ImportReferenceDir imports the reference CSVs of dir (clients.csv,
// engineers.csv, ...) in dependency order and writes a line per file to
// out; a missing file is skipped.
func ImportReferenceDir(ctx context.Context, st *store.Store, dir string, out io.Writer) error {
	for _, kind := range reference.Kinds() {
		path := filepath.Join(dir, kind+".csv")
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		sum, err := st.Import(ctx, kind, filepath.Base(path), f, nil)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "import %s: %d rows (%d inserted, %d updated, %d unchanged)\n", kind, sum.Rows, sum.Inserted, sum.Updated, sum.Unchanged)
	}
	return nil
}
