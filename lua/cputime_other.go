//go:build !linux

package lua

import "time"

// threadCPUClock is not available here: deadlines fall back to wall time.
func threadCPUClock() (func() time.Duration, bool) { return nil, false }
