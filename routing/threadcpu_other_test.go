//go:build !linux

package routing

import "time"

// threadCPUTime is not measured off Linux.
func threadCPUTime() (time.Duration, bool) { return 0, false }
