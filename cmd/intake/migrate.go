package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/store"
)

func getenv(k string) string { return os.Getenv(k) }

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("migrate", stderr, &cf)
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %04d_%s\n", m.Version, m.Name)
	}
	all, err := store.Migrations()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrate: schema at version %d (%d applied now)\n", all[len(all)-1].Version, len(applied))
	return nil
}

func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("import", stderr, &cf)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("usage: intake import %s FILE.csv", strings.Join(reference.Kinds(), "|"))
	}
	kind, path := fs.Arg(0), fs.Arg(1)
	_, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := st.Import(ctx, kind, filepath.Base(path), f, progressFor(stdout, "importing "+kind))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import %s: %d rows from %s: %d inserted, %d updated, %d unchanged\n",
		kind, sum.Rows, path, sum.Inserted, sum.Updated, sum.Unchanged)
	return nil
}
