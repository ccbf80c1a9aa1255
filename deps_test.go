package intake_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/intakehq/intake/"

// goList returns, for every package of the module (tests excluded), its
// imports.
func goList(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs[strings.TrimPrefix(f[0], module)] = f[1:]
	}
	return pkgs
}

// TestDependencyDirection keeps the layers apart:
//   - the domain packages (parsers, rules, routing, lifecycle, auth) and the
//     types that flow between stages (flow, fault) decide over data they are
//     given: they import neither the database driver, the message bus,
//     net/http, nor any of Intake's I/O layers;
//   - sources (ingest, connectors) hand items to the pipeline through flow
//     and store, never by importing the pipeline;
//   - store holds SQL and imports no layer above it;
//   - no production code imports a testdata folder.
func TestDependencyDirection(t *testing.T) {
	pkgs := goList(t)
	pure := []string{"parsers", "rules", "routing", "lifecycle", "flow", "fault", "auth"}
	forbiddenDeps := []string{"github.com/jackc/pgx", "github.com/ThreeDotsLabs/watermill", "database/sql"}
	layers := []string{"store", "pipeline", "web", "ingest", "connectors", "cmd"}
	for _, p := range pure {
		imports, ok := pkgs[p]
		if !ok {
			t.Fatalf("package %s not found", p)
		}
		for _, imp := range imports {
			if imp == "net/http" {
				t.Errorf("%s imports net/http", p)
			}
			for _, own := range layers {
				if strings.HasPrefix(imp, module+own) {
					t.Errorf("%s imports %s: domain packages must not depend on I/O layers", p, imp)
				}
			}
		}
		deps, err := exec.Command("go", "list", "-deps", module+p).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", p, err, deps)
		}
		for _, d := range strings.Fields(string(deps)) {
			for _, f := range forbiddenDeps {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", p, d)
				}
			}
		}
	}
	for p, imports := range pkgs {
		for _, imp := range imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			own := strings.TrimPrefix(imp, module)
			switch {
			case strings.Contains(own, "testdata"):
				t.Errorf("%s imports %s: production code must not import test data", p, imp)
			case (strings.HasPrefix(p, "ingest") || strings.HasPrefix(p, "connectors")) && !strings.HasSuffix(p, "test") && strings.HasPrefix(own, "pipeline"):
				// (connectortest, a helper for tests, runs the pipeline.)
				t.Errorf("%s imports %s: sources reach the pipeline through flow, not by importing it", p, imp)
			case strings.HasPrefix(p, "store") && !strings.HasPrefix(p, "store/pgtest") &&
				(own == "pipeline" || own == "web" || strings.HasPrefix(own, "ingest") || strings.HasPrefix(own, "connectors") || strings.HasPrefix(own, "cmd")):
				t.Errorf("%s imports %s: store is the bottom layer", p, imp)
			}
		}
	}
}

// sqlStatement finds, in a Go string literal, SQL that runs against one of
// Intake's tables (a keyword that takes a table, then the table's name) or
// that works the server directly (LISTEN, advisory locks, databases).
// Keywords are matched in capitals, as Intake writes its SQL, so prose in
// messages and help texts ("read from calls") does not count.
func sqlStatement(t *testing.T) *regexp.Regexp {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	createTable := regexp.MustCompile(`(?i)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	var tables []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range createTable.FindAllSubmatch(b, -1) {
			tables = append(tables, regexp.QuoteMeta(string(m[1])))
		}
	}
	if len(tables) == 0 {
		t.Fatal("no tables found in migrations/")
	}
	return regexp.MustCompile(`\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(?:` + strings.Join(tables, "|") + `)\b` +
		`|\b(?:LISTEN|NOTIFY|CREATE DATABASE|DROP DATABASE)\s|\bpg_(?:try_)?advisory_`)
}

// sqlLiterals returns the string literals of a Go file that sqlStatement
// matches, as "file:line: text".
func sqlLiterals(t *testing.T, re *regexp.Regexp, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var hits []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil || !re.MatchString(s) {
			return true
		}
		hits = append(hits, fmt.Sprintf("%s: %s", fset.Position(lit.Pos()), strings.Join(strings.Fields(re.FindString(s)), " ")))
		return true
	})
	return hits
}

// TestSQLOnlyInStore keeps SQL in package store: no production Go file
// outside store/ (store/pgtest and store/pgcluster, helpers for tests and
// the test cluster, are inside it) holds a statement against Intake's
// tables. Tests may query the tables to check what was stored.
//
// It reads the string literals of the source rather than the imports: the
// pipeline, ingest and the connectors rightly import pgx for the pgx.Tx
// their stages share with store, so an import rule would either have to
// allow them (and miss their SQL) or forbid what the design needs. SQL
// built up in pieces is still found, since the piece that names the table
// is a literal of its own.
func TestSQLOnlyInStore(t *testing.T) {
	re := sqlStatement(t)
	// The detector must recognise the SQL that store does hold.
	if hits := sqlLiterals(t, re, "store/items.go"); len(hits) == 0 {
		t.Fatal("no SQL recognised in store/items.go: the detector is broken")
	}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path == "store" || name == "testdata" || name == "vendor" || (name != "." && strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, h := range sqlLiterals(t, re, path) {
			t.Errorf("%s: SQL outside package store; give it a store function", h)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
