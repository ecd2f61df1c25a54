package store

import (
	sqlite_vec "github.com/asg017/sqlite-vec-go-bindings/cgo"
)

// sqlite-vec (the vec0 virtual table of the vector index, vec_bit) is
// compiled into the binary and registered on every SQLite connection the
// process opens from now on: before any connection exists, so readers,
// the writer and inspect's probe all have it.
//
// The reader pool does not memory-map the file: measured on a save of 54k
// memories, a vector search right after a write (as in play, where every
// turn and every worker batch commits) took 7–9 ms with a 256 MiB map and
// about 4 ms without. Each commit resets every reader's page cache, and
// with a map the pages touched again fault back in.
func init() { sqlite_vec.Auto() }

// driverName is the database/sql driver every connection to a save uses
// (go-sqlite3's; sqlite-vec is loaded into all of them by init).
const driverName = "sqlite3"
