// Package gctune sets the Go garbage collector for diorama's processes.
//
// A turn allocates about a megabyte and a half of short-lived values
// (prompt sections, Lua tables, query rows) while the live heap stays small
// (tens of megabytes), so at Go's default (GOGC=100) the collector runs every
// few turns. Measured with diorama-bench's turn group on this project's
// two-core machine, GOGC=400 took 12–20% off the engine's time per turn. A
// soft memory limit keeps the larger collection target from turning into
// resident memory on a long session: near the limit the collector runs as
// often as it must.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the collection target diorama runs with: a collection when
// the heap has grown by this many percent of the live heap.
const Percent = 400

// Limit is the soft memory limit for the Go heap.
const Limit = 256 << 20

// Apply sets Percent and Limit, unless the user set GOGC or GOMEMLIMIT.
func Apply() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(Limit)
	}
}
