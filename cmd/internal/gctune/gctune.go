// Package gctune sets the Go garbage collector for diorama's processes.
//
// A turn allocates about a megabyte and a half of short-lived values
// (prompt sections, Lua tables, query rows) while the live heap stays small
// (tens of megabytes), so at Go's default (GOGC=100) the collector runs every
// few turns. Measured with diorama-bench's turn group on this project's
// two-core machine, GOGC=400 took 12–20% off the engine's time per turn. A
// soft memory limit keeps the larger collection target from turning into
// resident memory on a long session: near the limit the collector runs as
// often as it must. A long story keeps more alive (the store's in-memory
// copies of the memories and the vector index: about 24 MB of live heap at
// 100k events), and five times that would cross the resident-memory budget
// of 150 MB; at 100 MiB the collector still runs only every few dozen
// turns there, and the process stays near 110 MB.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the collection target diorama runs with: a collection when
// the heap has grown by this many percent of the live heap.
const Percent = 400

// Limit is the soft memory limit for the Go heap.
const Limit = 100 << 20

// Apply sets Percent and Limit, unless the user set GOGC or GOMEMLIMIT.
func Apply() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(Limit)
	}
}
