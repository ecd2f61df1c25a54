// Package store keeps a diorama save: one SQLite file holding the event log
// (a tree of events with named heads), snapshots of the projected state, and
// SQL projection tables for querying. Every write goes through one writer
// goroutine that owns the only write connection, so "database is locked"
// cannot happen within a process; reads use a separate read-only pool.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"diorama/core"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// DefaultBranch is the branch a new save starts on.
const DefaultBranch = "main"

// Format is the value of the meta key "format" in every diorama save.
const Format = "diorama"

// Sentinel errors.
var (
	// ErrNotSave: the file is not a diorama save (not SQLite, or SQLite
	// without diorama's metadata).
	ErrNotSave = errors.New("not a diorama save")
	// ErrNewerSchema: the save was written by a newer diorama.
	ErrNewerSchema = errors.New("save written by a newer diorama")
	// ErrExists: Create refuses to overwrite an existing file.
	ErrExists = errors.New("file already exists")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("save is closed")
)

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// Store is an open save. It is safe for concurrent use.
type Store struct {
	path  string
	wdb   *sql.DB   // the write pool: one connection, held by wconn
	wconn *sql.Conn // that connection, used only by the writer goroutine
	rdb   *sql.DB   // read-only pool
	now   func() time.Time

	jobs      chan *job
	quit      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error

	mem *memoryIndex // retrieval settings and caches (retrieve.go)

	commits atomic.Int64 // commits since the last checkpoint (checkpointIfDue)

	readsBySQL atomic.Bool // tests: the memories copy answers nothing (memcopy.go)
}

var (
	_ core.EventLog    = (*Store)(nil)
	_ core.MemoryIndex = (*Store)(nil)
)

// Pragmas shared by both pools. synchronous=NORMAL: in WAL mode a commit is
// durable against an application crash (the WAL is in the OS page cache),
// which is what a turn's atomicity needs; on power loss or an OS crash the
// last commits before the next checkpoint may be lost, but the file stays
// consistent. FULL would fsync on every turn for that last guarantee.
const commonParams = "_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_stmt_cache_size=64"

// writerDSN opens the file read-write in WAL mode; transactions begin
// IMMEDIATE so the write lock is taken up front, never upgraded mid-way.
func writerDSN(path string) string {
	return fileURI(path) + "?_journal_mode=WAL&_txlock=immediate&" + commonParams
}

// readerDSN opens the file read-only (SQLite's mode=ro).
func readerDSN(path string) string {
	return fileURI(path) + "?mode=ro&" + commonParams
}

// fileURI turns a path into an SQLite URI filename, escaping '?' and '#'.
func fileURI(path string) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath()
}

// Create makes a new save at path for world, which must be valid, and writes
// its first event (world_created, turn 0) on DefaultBranch. It fails with
// ErrExists if anything is already at path.
func Create(path string, world *core.WorldSpec) (*Store, error) {
	if world == nil {
		return nil, fmt.Errorf("create save %s: no world", path)
	}
	if errs := world.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("create save %s: invalid world: %w", path, errors.Join(errs...))
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create save %s: %w", path, ErrExists)
		}
		return nil, fmt.Errorf("create save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create save %s: %w", path, err)
	}
	s, err := create(path, world)
	if err != nil {
		// The file is ours and half made: remove it so a retry can succeed.
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			_ = os.Remove(p)
		}
		return nil, fmt.Errorf("create save %s: %w", path, err)
	}
	return s, nil
}

func create(path string, world *core.WorldSpec) (*Store, error) {
	s, err := start(path)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := s.migrate(ctx, 0); err != nil {
		s.Close()
		return nil, err
	}
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		for k, v := range map[string]string{"format": Format, "world_id": world.ID, "created_at": tx.now.Format(time.RFC3339)} {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		draft := core.Draft{Type: core.TypeWorldCreated, Payload: &core.WorldCreated{World: *world}, Mask: core.MaskAll}
		_, err := s.appendTurn(ctx, tx, DefaultBranch, headInfo{turn: -1, depth: -1}, []core.Draft{draft}, func(evs []core.Event) (*core.State, error) {
			st := core.NewState()
			if err := st.ApplyAll(evs); err != nil {
				return nil, err
			}
			return st, nil
		})
		return err
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("write world: %w", err)
	}
	return s, nil
}

// Open opens an existing save. It never creates a file and writes nothing
// to a file it rejects: a missing file is an fs.ErrNotExist error, a file
// that is not a diorama save is ErrNotSave, a save from a newer build is
// ErrNewerSchema. Saves from older builds are migrated.
func Open(path string) (*Store, error) {
	version, err := inspect(path)
	if err != nil {
		return nil, fmt.Errorf("open save %s: %w", path, err)
	}
	s, err := start(path)
	if err != nil {
		return nil, fmt.Errorf("open save %s: %w", path, err)
	}
	if err := s.migrate(context.Background(), version); err != nil {
		s.Close()
		return nil, fmt.Errorf("open save %s: %w", path, err)
	}
	return s, nil
}

// inspect checks, without writing anything, that path is a diorama save this
// build can open, and returns its schema version.
func inspect(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fs.ErrNotExist
		}
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.IsDir() {
		return 0, fmt.Errorf("%w: a directory", ErrNotSave)
	}
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteHeader) {
		return 0, fmt.Errorf("%w: not an SQLite file", ErrNotSave)
	}
	// With no -wal or -journal beside it the file holds every commit, and
	// immutable=1 reads it without locks, shared memory or side files.
	// Otherwise open it read-only: the side files exist already, and SQLite
	// needs them to see the latest commits.
	params := "?immutable=1"
	if exists(path+"-wal") || exists(path+"-journal") {
		params = "?mode=ro"
	}
	db, err := sql.Open("sqlite3", fileURI(path)+params+"&_busy_timeout=5000")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var n int
	err = db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNotSave, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: an SQLite database without diorama metadata", ErrNotSave)
	}
	meta := map[string]string{}
	rows, err := db.Query(`SELECT key, value FROM meta WHERE key IN ('format', 'schema_version')`)
	if err != nil {
		return 0, fmt.Errorf("%w: read meta: %v", ErrNotSave, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return 0, fmt.Errorf("%w: read meta: %v", ErrNotSave, err)
		}
		meta[k] = v
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("%w: read meta: %v", ErrNotSave, err)
	}
	if meta["format"] != Format {
		return 0, fmt.Errorf("%w: meta format is %q, want %q", ErrNotSave, meta["format"], Format)
	}
	var version int
	if _, err := fmt.Sscanf(meta["schema_version"], "%d", &version); err != nil || version < 1 {
		return 0, fmt.Errorf("%w: bad schema version %q", ErrNotSave, meta["schema_version"])
	}
	if known := latestVersion(); version > known {
		return 0, fmt.Errorf("%w (schema %d, this build knows %d): upgrade diorama", ErrNewerSchema, version, known)
	}
	return version, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// start opens both pools on path and starts the writer goroutine.
func start(path string) (*Store, error) {
	wdb, err := sql.Open("sqlite3", writerDSN(path))
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	// Connect now: the writer's connection puts the file in WAL mode before
	// any reader opens it.
	if err := wdb.Ping(); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open for writing: %w", err)
	}
	wconn, err := wdb.Conn(context.Background())
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open for writing: %w", err)
	}
	var mode string
	if err := wconn.QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("open for writing: journal mode is %q, want wal (%v)", mode, err)
	}
	if _, err := wconn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", autoCheckpointPages)); err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("open for writing: %w", err)
	}
	rdb, err := sql.Open("sqlite3", readerDSN(path))
	if err != nil {
		wconn.Close()
		wdb.Close()
		return nil, err
	}
	n := max(4, runtime.NumCPU())
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	s := &Store{
		path:    path,
		wdb:     wdb,
		wconn:   wconn,
		rdb:     rdb,
		now:     time.Now,
		jobs:    make(chan *job),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
		mem:     newMemoryIndex(),
	}
	go s.run()
	return s, nil
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close stops the writer once the write in progress (if any) has finished,
// and closes the file. Writes submitted afterwards fail with ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.stopped
		s.closeErr = errors.Join(s.rdb.Close(), s.wconn.Close(), s.wdb.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close save %s: %w", s.path, s.closeErr)
		}
	})
	return s.closeErr
}
