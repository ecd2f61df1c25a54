// Package gctune sets the Go garbage collector for diorama's processes.
//
// A turn allocates about a megabyte and a half of short-lived values
// (prompt sections, Lua tables, query rows) over a live heap of tens of
// megabytes (a long story's in-memory copies of its memories and vector
// index: about 24 MB at 100k events). At Go's default (GOGC=100) the
// collector ran every few turns; at GOGC=400 the heap grew to five times
// the live heap, which in play on a 100k-event save crossed the 150 MB
// resident budget (156–166 MB peak). GOGC=200 gave the same time per turn
// as 400 within the machine's noise (measured alternating with
// diorama-bench's turn group on this project's two-core machine: 3.6–3.7
// against 3.5–5.0 ms at 100k events) and 106–110 MB in play. The soft
// limit only guards against runaway growth: a lower one (100 MiB) made the
// collector run continuously during large operations (a surgical delete
// replaying 100k events took 2.9–3.9 s instead of 1.7–1.9).
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the collection target diorama runs with: a collection when
// the heap has grown by this many percent of the live heap.
const Percent = 200

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
