package routing

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// routing decides; it must not reach the database, the message bus or the
// network. The database and the bus are kept out of everything below it;
// HTTP is kept out of our own packages' imports, since parsers (used for its
// phone and look-alike normalizers) links net/http in through goquery, for
// fetching documents by URL, which neither package calls.
func TestNoIODependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", ".").Output()
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		for _, banned := range []string{"github.com/jackc/pgx", "github.com/ThreeDotsLabs/watermill", "database/sql"} {
			require.False(t, strings.HasPrefix(pkg, banned), "routing depends on %s", pkg)
		}
		if !strings.HasPrefix(pkg, "github.com/intakehq/intake/") {
			continue
		}
		for _, imp := range imports {
			require.False(t, imp == "net/http" || strings.HasPrefix(imp, "net/http/"), "%s imports %s", pkg, imp)
		}
	}
}
