package routing

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// routing decides; it must not reach the database, the message bus or the
// network.
func TestNoIODependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/jackc/pgx", "github.com/ThreeDotsLabs/watermill", "net/http", "database/sql"} {
			require.False(t, strings.HasPrefix(dep, banned), "routing depends on %s", dep)
		}
	}
}
