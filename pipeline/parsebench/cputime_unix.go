//go:build unix

package parsebench

import (
	"syscall"
	"time"
)

// CPUTime is the user plus system CPU time the process has used. On a
// shared machine it tells the work done from the time spent waiting for a
// core.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
