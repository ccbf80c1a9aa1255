package defaults_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/rules/defaults"
)

func TestShippedSetLoads(t *testing.T) {
	files := defaults.Files()
	require.NotEmpty(t, files)
	assert.Equal(t, "rules/defaults/rules.yaml", files[len(files)-1].Name, "rules come after the formats")

	set, err := rules.Load(files)
	require.NoError(t, err)
	assert.NotEmpty(t, set.Formats())
	for _, st := range rules.Stages {
		rs := set.Rules(st)
		require.NotEmpty(t, rs, st)
		assert.True(t, rs[len(rs)-1].Default, "stage %s ends with a default", st)
	}
}
