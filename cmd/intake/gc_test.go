package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTuneGCUnlessTheEnvironmentSays(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) }()

	tuneGC(func(string) string { return "" })
	assert.Equal(t, gcPercent, debug.SetGCPercent(100))
	assert.EqualValues(t, memoryLimit, debug.SetMemoryLimit(math.MaxInt64))

	env := map[string]string{"GOGC": "100", "GOMEMLIMIT": "off"}
	tuneGC(func(k string) string { return env[k] })
	assert.Equal(t, 100, debug.SetGCPercent(100), "GOGC in the environment wins")
	assert.EqualValues(t, math.MaxInt64, debug.SetMemoryLimit(math.MaxInt64), "GOMEMLIMIT in the environment wins")
}
