// Package pgtest gives each test a fresh, migrated PostgreSQL database.
//
// The server is DATABASE_URL when it is set; otherwise a throwaway cluster is
// started from the local PostgreSQL binaries for the test binary and removed
// at exit. A template database is migrated once per test binary and each
// test gets a clone of it, dropped when the test ends.
//
// Packages that use it call Main from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgcluster"
)

var (
	mainCalled bool
	once       sync.Once
	setupErr   error
	serverURL  string // admin URL (database postgres or the DATABASE_URL's)
	template   string
	cluster    *pgcluster.Cluster
	counter    atomic.Int64
)

// Main runs the tests and stops the throwaway cluster, if one was started.
func Main(m *testing.M) {
	mainCalled = true
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func cleanup() {
	if template != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, serverURL); err == nil {
			conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{template}.Sanitize()) //nolint:errcheck
			conn.Close(ctx)
		}
	}
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv("DATABASE_URL"); u != "" {
		serverURL = u
	} else {
		c, err := pgcluster.Start(ctx, pgcluster.Options{Fast: true})
		if err != nil {
			return fmt.Errorf("no PostgreSQL for the tests: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) or install the server binaries (apt-get install postgresql) so a throwaway cluster can be started: %w", err)
		}
		cluster = c
		serverURL = c.URL("postgres")
	}
	template = fmt.Sprintf("intake_tmpl_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connecting to the test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{template}.Sanitize()); err != nil {
		return fmt.Errorf("creating template database (the DATABASE_URL role needs CREATEDB): %w", err)
	}
	s, err := store.Open(ctx, withDB(serverURL, template))
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("migrating template: %w", err)
	}
	return nil
}

// withDB returns u with its database replaced by db.
func withDB(u, db string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		// keyword/value form
		return u + " dbname=" + db
	}
	p.Path = "/" + db
	return p.String()
}

// URL creates a fresh migrated database for t and returns its URL. The
// database is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	if !mainCalled {
		t.Fatal("pgtest: call pgtest.Main(m) from TestMain in this package")
	}
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	ctx := context.Background()
	name := fmt.Sprintf("intake_t_%d_%d", os.Getpid(), counter.Add(1))
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` TEMPLATE `+pgx.Identifier{template}.Sanitize()); err != nil {
		t.Fatalf("cloning template database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			t.Logf("dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	return withDB(serverURL, name)
}

// New returns a pool on a fresh migrated database, closed when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := URL(t)
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Store returns a store on a fresh migrated database.
func Store(t testing.TB) *store.Store {
	t.Helper()
	return store.New(New(t))
}

// ImportDemo imports the sample reference data of package demo into st, in
// import order.
func ImportDemo(t testing.TB, st *store.Store) {
	t.Helper()
	for _, f := range demo.Reference() {
		if _, err := st.Import(context.Background(), strings.TrimSuffix(f.Name, ".csv"), f.Name, bytes.NewReader(f.Data), nil); err != nil {
			t.Fatalf("importing the demo's %s: %v", f.Name, err)
		}
	}
}

// ServerURL returns the admin URL of the test server (for tests that create
// databases themselves, such as eval's scratch database).
func ServerURL(t testing.TB) string {
	t.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return serverURL
}
