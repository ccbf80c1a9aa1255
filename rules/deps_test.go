package rules

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoIODependencies keeps rules pure: no database or bus client may come
// in through any import, and rules itself imports no network package.
// (net/http does arrive transitively through the HTML and MIME libraries
// of parsers; nothing here calls it.)
func TestNoIODependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	list := func(format string) []string {
		out, err := exec.Command("go", "list", "-f", format, ".").Output()
		require.NoError(t, err)
		return strings.Fields(string(out))
	}
	has := func(pkgs []string, prefix string) bool {
		for _, p := range pkgs {
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				return true
			}
		}
		return false
	}
	deps := list(`{{join .Deps " "}}`)
	for _, banned := range []string{"github.com/jackc/pgx", "github.com/ThreeDotsLabs/watermill", "database/sql"} {
		assert.False(t, has(deps, banned), "rules depends on %s", banned)
	}
	imports := list(`{{join .Imports " "}}`)
	for _, banned := range []string{"net", "net/http", "os", "os/exec", "io/fs"} {
		assert.NotContains(t, imports, banned, "rules imports %s", banned)
	}
}
