package parsers

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNoIODependencies keeps parsers pure: no database or message bus
// anywhere below it, and no HTTP in its own imports. (goquery links net/http
// in for fetching documents by URL, which parsers never calls.)
func TestNoIODependencies(t *testing.T) {
	list := func(deps bool) []string {
		args := []string{"list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}
		if deps {
			args = append(args, "-deps")
		}
		out, err := exec.Command("go", append(args, ".")...).Output()
		if err != nil {
			t.Skipf("go list unavailable: %v", err)
		}
		return strings.Fields(string(out))
	}
	banned := func(dep string, prefixes ...string) bool {
		for _, p := range prefixes {
			if dep == p || strings.HasPrefix(dep, p+"/") {
				return true
			}
		}
		return false
	}
	for _, dep := range list(true) {
		assert.False(t, banned(dep, "github.com/jackc/pgx", "github.com/jackc/pgx/v5", "github.com/ThreeDotsLabs/watermill"), "parsers depends on %s", dep)
	}
	for _, imp := range list(false) {
		assert.False(t, banned(imp, "net/http"), "parsers imports %s", imp)
	}
}
