package intake_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the domain packages pure: parsers, rules,
// routing and lifecycle decide over data they are given, so they import
// neither the database driver, the message bus nor net/http.
func TestDependencyDirection(t *testing.T) {
	pure := []string{"parsers", "rules", "routing", "lifecycle"}
	forbiddenDeps := []string{"github.com/jackc/pgx", "github.com/ThreeDotsLabs/watermill", "database/sql"}
	for _, p := range pure {
		pkg := "github.com/intakehq/intake/" + p
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, imp := range strings.Fields(string(out)) {
			if imp == "net/http" {
				t.Errorf("%s imports net/http", p)
			}
			for _, own := range []string{"store", "pipeline", "web", "ingest", "connectors", "cmd"} {
				if strings.HasPrefix(imp, "github.com/intakehq/intake/"+own) {
					t.Errorf("%s imports %s: domain packages must not depend on I/O layers", p, imp)
				}
			}
		}
		deps, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, deps)
		}
		for _, d := range strings.Fields(string(deps)) {
			for _, f := range forbiddenDeps {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s", p, d)
				}
			}
		}
	}
}
