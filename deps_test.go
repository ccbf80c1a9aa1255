package intake_test

import (
	"os/exec"
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
//   - the domain packages (parsers, rules, routing, lifecycle) and the
//     types that flow between stages (flow, fault) decide over data they are
//     given: they import neither the database driver, the message bus,
//     net/http, nor any of Intake's I/O layers;
//   - sources (ingest, connectors) hand items to the pipeline through flow
//     and store, never by importing the pipeline;
//   - store holds SQL and imports no layer above it;
//   - no production code imports a testdata folder.
func TestDependencyDirection(t *testing.T) {
	pkgs := goList(t)
	pure := []string{"parsers", "rules", "routing", "lifecycle", "flow", "fault"}
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
