// Command gen rewrites the demo sample data from its fixed seed:
//
//	go run ./demo/gen
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/intakehq/intake/demo"
)

func main() {
	dir := flag.String("dir", "demo", "directory to write into")
	flag.Parse()
	if err := write(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	files := demo.Generate()
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
	fmt.Printf("wrote %d files (%d messages) to %s\n", len(files), countMail(names), dir)
	return nil
}

func countMail(names []string) int {
	n := 0
	for _, name := range names {
		if strings.HasSuffix(name, ".eml") {
			n++
		}
	}
	return n
}
