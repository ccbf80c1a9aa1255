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
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/intakehq/intake/"

// goList returns, for every package of the module that has production
// code (the module's root holds only this test), its imports.
func goList(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{len .GoFiles}} {{join .Imports " "}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if f[1] == "0" {
			continue
		}
		pkgs[strings.TrimPrefix(f[0], module)] = f[2:]
	}
	return pkgs
}

// layers places every package of the module in the order of the flow,
// from what is given its input to the wiring: a package imports only
// packages of earlier layers. A new package fails the test until it is
// placed here, so that where it sits is a decision.
var layers = [][]string{
	// Decisions and values that import nothing of Intake's.
	{"auth", "clock", "demo", "fault", "lifecycle", "linediff", "migrations", "parsers", "redact"},
	// Over parsed text: store matching, assignment, SLA; format drift.
	{"routing", "drift"},
	// Rules and formats; the reference-data CSVs.
	{"rules", "reference"},
	// What passes between the stages; learning a format; the shipped rules.
	{"flow", "learn", "rules/defaults"},
	// PostgreSQL, and a throwaway cluster of it (intake demo, eval, tests).
	{"store", "store/pgcluster"},
	// The durable inbox; the outbox of what we send.
	{"ingest", "connectors/outbox"},
	// Sources of items: mailboxes, the request form and API, call
	// webhooks, the service desks' common runner.
	{"ingest/mailbox", "ingest/request", "ingest/webhook", "connectors"},
	// One package per service desk.
	{"connectors/jira", "connectors/naumen", "connectors/okdesk"},
	// The stages.
	{"pipeline"},
	// try, eval, backtest and verify, for the CLI and the pages alike.
	{"replay"},
	// The API and the dispatchers' pages.
	{"web"},
	// Flags, configuration and wiring.
	{"cmd/intake"},
}

// testHelpers serve tests (and each other). Production code does not import
// them, except the development commands of cmd/intake that run what the
// tests run (benchCommands).
var (
	testHelpers = []string{"clock/clocktest", "connectors/connectortest", "demo/gen", "ingest/mailbox/dovecottest",
		"pipeline/parsebench", "pipeline/reprocesstest", "store/pgtest", "web/webtest"}
	benchCommands = map[string]string{
		"ingest/mailbox/dovecottest": "intake bench e2e fetches from the test IMAP server",
		"pipeline/parsebench":        "intake bench parse runs the parse benchmark",
	}
)

// TestEveryPackageHasItsLayer checks the placing itself: every package is
// in layers or testHelpers, once, and nothing listed is gone.
func TestEveryPackageHasItsLayer(t *testing.T) {
	pkgs := goList(t)
	placed := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			placed[p]++
			if _, ok := pkgs[p]; !ok {
				t.Errorf("layer %d lists %s, which is not a package of the module", i, p)
			}
		}
	}
	for _, p := range testHelpers {
		placed[p]++
		if _, ok := pkgs[p]; !ok {
			t.Errorf("testHelpers lists %s, which is not a package of the module", p)
		}
	}
	for p := range benchCommands {
		if !slices.Contains(testHelpers, p) {
			t.Errorf("benchCommands lists %s, which is not a test helper", p)
		}
	}
	for p := range pkgs {
		switch placed[p] {
		case 0:
			t.Errorf("package %s has no layer: add it to layers (or testHelpers) in deps_test.go", p)
		case 1:
		default:
			t.Errorf("package %s is listed %d times", p, placed[p])
		}
	}
}

// TestDependencyDirection keeps the layers apart:
//   - a package imports only packages of earlier layers, and no test
//     helper (cmd/intake only those of benchCommands);
//   - the domain packages (parsers, rules, routing, reference, lifecycle, auth) and the
//     types that flow between stages (flow, fault) and the masking of secrets (redact) decide over data they are
//     given: they import no package that reads files or opens connections
//     (os, io/fs, net, net/http) nor any of Intake's I/O layers, and link
//     in neither the database driver nor the message bus. net/http may come
//     in below them only with goquery, which links it for fetching
//     documents by URL, a thing parsers never asks of it;
//   - so sources (ingest, connectors) hand items to the pipeline through
//     flow and store, never by importing the pipeline, and store imports no
//     layer above it;
//   - no production code imports a testdata folder.
func TestDependencyDirection(t *testing.T) {
	pkgs := goList(t)
	pure := []string{"parsers", "rules", "routing", "reference", "lifecycle", "flow", "fault", "redact", "auth", "linediff", "drift", "learn"}
	forbiddenDeps := []string{"github.com/jackc/pgx", "github.com/ThreeDotsLabs/watermill", "database/sql"}
	forbiddenImports := []string{"os", "os/exec", "io/fs", "net", "net/http"}
	ioLayers := []string{"store", "pipeline", "web", "ingest", "connectors", "cmd"}
	for _, p := range pure {
		imports, ok := pkgs[p]
		if !ok {
			t.Fatalf("package %s not found", p)
		}
		for _, imp := range imports {
			if slices.Contains(forbiddenImports, imp) {
				t.Errorf("%s imports %s: domain packages are given their input", p, imp)
			}
			for _, own := range ioLayers {
				if strings.HasPrefix(imp, module+own) {
					t.Errorf("%s imports %s: domain packages must not depend on I/O layers", p, imp)
				}
			}
		}
		deps, err := exec.Command("go", "list", "-deps", module+p).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", p, err, deps)
		}
		all := strings.Fields(string(deps))
		for _, f := range forbiddenDeps {
			var hits []string
			for _, d := range all {
				if d == f || strings.HasPrefix(d, f+"/") {
					hits = append(hits, d)
				}
			}
			if len(hits) > 0 {
				t.Errorf("%s depends on %s (%d packages of it: %s)", p, f, len(hits), strings.Join(hits, " "))
			}
		}
		if slices.Contains(all, "net/http") && !slices.Contains(all, "github.com/PuerkitoBio/goquery") {
			t.Errorf("%s links in net/http", p)
		}
	}
	layerOf := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			layerOf[p] = i
		}
	}
	for p, imports := range pkgs {
		from, placed := layerOf[p]
		for _, imp := range imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			own := strings.TrimPrefix(imp, module)
			to, ownPlaced := layerOf[own]
			switch {
			case strings.Contains(own, "testdata"):
				t.Errorf("%s imports %s: production code must not import test data", p, imp)
			case !placed || !ownPlaced && !slices.Contains(testHelpers, own):
				// A helper imports what it likes; unplaced packages are
				// TestEveryPackageHasItsLayer's to report.
			case slices.Contains(testHelpers, own):
				if _, ok := benchCommands[own]; !ok || p != "cmd/intake" {
					t.Errorf("%s imports %s: production code does not import test helpers", p, imp)
				}
			case to >= from:
				t.Errorf("%s (layer %d) imports %s (layer %d): imports point to earlier layers only (deps_test.go: layers)", p, from, own, to)
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

// TestStoreDecidesNothing keeps the lifecycle's decisions and texts in
// package lifecycle: no production file of store calls a function of
// lifecycle (it may use its types and constants, to read and write them),
// and no string literal of store holds Cyrillic, the language of the
// notifications Intake sends.
func TestStoreDecidesNothing(t *testing.T) {
	fset := token.NewFileSet()
	funcs := map[string]bool{}
	lc, err := filepath.Glob("lifecycle/*.go")
	if err != nil || len(lc) == 0 {
		t.Fatalf("no lifecycle sources: %v", err)
	}
	for _, path := range lc {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() {
				funcs[fd.Name.Name] = true
			}
		}
	}
	if !funcs["Transition"] {
		t.Fatal("lifecycle.Transition not found: the check is broken")
	}
	cyrillic := regexp.MustCompile(`\p{Cyrillic}`)
	files, err := filepath.Glob("store/*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "lifecycle" && funcs[sel.Sel.Name] {
						t.Errorf("%s: store calls lifecycle.%s: decisions belong to lifecycle", fset.Position(n.Pos()), sel.Sel.Name)
					}
				}
			case *ast.BasicLit:
				if n.Kind == token.STRING && cyrillic.MatchString(n.Value) {
					t.Errorf("%s: text in store: the lifecycle's texts belong to lifecycle", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}

// wallClockUses are the production files that may read time.Now, each with
// how often and why. Everything else that depends on the time takes a clock
// (package clock): a decision by the hour, the date or a deadline must be
// one a test can fix. A new use fails the test, to be routed through a
// clock or added here with its reason.
var wallClockUses = map[string]struct {
	n   int
	why string
}{
	"clock/clock.go":                            {1, "the wall clock itself (clock.Wall)"},
	"pipeline/pipeline.go":                      {5, "handler latency and budget; retry and deferral times, which the claim compares with the database's now()"},
	"pipeline/parsebench/run.go":                {1, "measures throughput"},
	"rules/budget.go":                           {2, "a rule evaluation's time budget"},
	"web/auth.go":                               {1, "a session's lifetime, which browsers count by the wall clock too"},
	"auth/limit.go":                             {1, "the lockout's clock when it is given none"},
	"web/server.go":                             {1, "request latency"},
	"ingest/mailbox/session.go":                 {3, "fetch latency; the last success shown to operators"},
	"ingest/mailbox/manager.go":                 {5, "the lease, timed against the database's clock_timestamp(); status save pacing; error times shown to operators"},
	"ingest/mailbox/dovecottest/dovecottest.go": {5, "start-up deadlines of the test IMAP server"},
	"store/pgtest/pgtest.go":                    {1, "a unique template database name"},
	"connectors/http.go":                        {2, "the rate limit between requests to a desk"},
	"connectors/outbox/outbox.go":               {1, "pacing of the failure report"},
	"connectors/outbox/webhook.go":              {1, "Retry-After given as an HTTP date"},
	"connectors/outbox/email.go":                {1, "the Date header of mail we send"},
	"cmd/intake/ingest.go":                      {1, "the default run name"},
	"cmd/intake/demo.go":                        {3, "a unique database name; how long to wait"},
	"cmd/intake/bench_e2e.go":                   {3, "measures latency and throughput"},
	"replay/result.go":                          {2, "how long to wait for an outcome"},
	"store/trace.go":                            {2, "times statements for a benchmark"},
}

// timeNowUses returns the positions where a Go file names time.Now, called
// or as a value.
func timeNowUses(t *testing.T, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	local := ""
	for _, imp := range f.Imports {
		if imp.Path.Value == `"time"` {
			local = "time"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" {
		return nil
	}
	var hits []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Now" {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == local {
			hits = append(hits, fset.Position(sel.Pos()).String())
		}
		return true
	})
	return hits
}

// TestWallClockOnlyWhereAllowed keeps the wall clock out of decisions: no
// production file outside wallClockUses names time.Now, and those that do,
// only as often as listed (time.Since and time.Until, which measure, are
// not counted).
func TestWallClockOnlyWhereAllowed(t *testing.T) {
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if name == "testdata" || name == "vendor" || (name != "." && strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		path = filepath.ToSlash(path)
		hits := timeNowUses(t, path)
		allowed, ok := wallClockUses[path]
		seen[path] = ok
		switch {
		case !ok && len(hits) == 0:
		case !ok:
			for _, h := range hits {
				t.Errorf("%s: time.Now outside the allow-list: take a clock (package clock), or add the file to wallClockUses with the reason", h)
			}
		case len(hits) != allowed.n:
			t.Errorf("%s names time.Now %d times, wallClockUses allows %d (%s):\n  %s", path, len(hits), allowed.n, allowed.why, strings.Join(hits, "\n  "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path := range wallClockUses {
		if !seen[path] {
			t.Errorf("wallClockUses lists %s, which is not a production Go file", path)
		}
	}
}
