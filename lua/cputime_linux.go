//go:build linux

package lua

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPUClock returns a function that reads the CPU time the calling OS
// thread has used so far; it may be called from any goroutine. The caller
// must have locked its goroutine to the thread (runtime.LockOSThread).
// A deadline on CPU time, unlike one on wall time, does not fire when the
// machine is busy with something else (a local model server, a build).
func threadCPUClock() (func() time.Duration, bool) {
	tid := syscall.Gettid()
	// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) from the kernel's
	// posix-timers.h: what pthread_getcpuclockid returns.
	clockID := int64(^uint64(tid)<<3) | 6
	read := func() time.Duration {
		var ts syscall.Timespec
		if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(clockID), uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
			return -1
		}
		return time.Duration(ts.Nano())
	}
	if read() < 0 {
		return nil, false
	}
	return read, true
}
