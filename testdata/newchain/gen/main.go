// Command gen rewrites the new chain's sample data:
//
//	go run ./testdata/newchain/gen
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/intakehq/intake/testdata/newchain"
)

func main() {
	dir := flag.String("dir", "testdata/newchain", "directory to write into")
	flag.Parse()
	if err := write(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	files := newchain.Generate()
	// Drop messages a previous, longer run left behind.
	old, err := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if _, ok := files["mail/"+filepath.Base(f)]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	fmt.Printf("wrote %d files to %s\n", len(files), dir)
	return nil
}
