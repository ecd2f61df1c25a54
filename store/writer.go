package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"
)

// wtx is a write transaction with the wall clock frozen when it began, so
// every event of a turn carries the same created_at.
type wtx struct {
	*sql.Tx
	conn *sql.Conn // the connection the transaction runs on, for rawQuery
	now  time.Time
	vec  *vecChange // what it did to the vector index (codes.go), if anything
	mem  []memOp    // what it did to the memories table (memcopy.go), in order

	memRowsAdded int // memory rows it inserted

	memDropped bool // it deleted memories (codes.go)
}

// rawQuery runs a query inside the transaction straight on the driver,
// calling row for each row with its values (int64, float64, string, []byte
// or nil; valid only during the call). It skips database/sql's per-value
// conversion, which dominates reading a long log.
func (tx *wtx) rawQuery(ctx context.Context, query string, args []any, row func(vals []driver.Value) error) error {
	return rawQuery(ctx, tx.conn, query, args, row)
}

// rawQuery runs query on conn straight on the driver (see wtx.rawQuery).
func rawQuery(ctx context.Context, conn *sql.Conn, query string, args []any, row func(vals []driver.Value) error) error {
	return conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver %T cannot query", dc)
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rs, err := q.QueryContext(ctx, query, named)
		if err != nil {
			return err
		}
		vals := make([]driver.Value, len(rs.Columns()))
		for {
			err := rs.Next(vals)
			if err == io.EOF {
				break
			}
			if err != nil {
				rs.Close()
				return err
			}
			if err := row(vals); err != nil {
				rs.Close()
				return err
			}
		}
		return rs.Close()
	})
}

// job is one unit of work for the writer: fn runs inside one transaction,
// or read runs on the write connection outside any transaction.
type job struct {
	ctx  context.Context
	fn   func(context.Context, *wtx) error
	read func(context.Context, querier) error
	done chan result
}

type result struct {
	err   error
	panic any // a panic in fn, re-raised in the caller's goroutine
}

// run is the writer goroutine: it owns the write connection and runs jobs
// one at a time until Close.
func (s *Store) run() {
	defer close(s.stopped)
	for {
		select {
		case j := <-s.jobs:
			j.done <- s.exec(j)
		case <-s.quit:
			return
		}
	}
}

// exec runs one job in its own transaction: commit if fn succeeds, roll
// back on an error or a panic.
func (s *Store) exec(j *job) (res result) {
	if err := j.ctx.Err(); err != nil {
		return result{err: err}
	}
	if j.read != nil {
		defer func() {
			if p := recover(); p != nil {
				res = result{panic: p}
			}
		}()
		return result{err: j.read(context.WithValue(j.ctx, onWriterKey{}, querier(s.wconn)), s.wconn)}
	}
	tx, err := s.wconn.BeginTx(j.ctx, nil)
	if err != nil {
		return result{err: fmt.Errorf("begin: %w", err)}
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			res = result{panic: p}
		}
	}()
	now := s.now().UTC().Truncate(time.Microsecond)
	w := &wtx{Tx: tx, conn: s.wconn, now: now}
	if err := j.fn(context.WithValue(j.ctx, onWriterKey{}, querier(tx)), w); err != nil {
		_ = tx.Rollback()
		return result{err: err}
	}
	if w.memDropped {
		if err := bumpMemGen(j.ctx, tx); err != nil {
			_ = tx.Rollback()
			return result{err: err}
		}
	}
	// Each copy the transaction changed is held while committing, so no
	// read sees the file's new state with the copy's old rows; the vector
	// index gets a new generation naming its new state (codes.go).
	var vecGen int64
	if w.vec != nil {
		if vecGen, err = bumpVecGen(j.ctx, tx); err != nil {
			_ = tx.Rollback()
			return result{err: err}
		}
	}
	if len(w.mem) > 0 {
		m := &s.mem.rows
		m.mu.Lock()
		defer m.mu.Unlock()
	}
	if w.vec != nil {
		c := &s.mem.codes
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	if err := tx.Commit(); err != nil {
		if w.vec != nil {
			s.mem.codes.drop()
		}
		if len(w.mem) > 0 {
			s.mem.rows.drop()
		}
		return result{err: fmt.Errorf("commit: %w", err)}
	}
	if w.vec != nil {
		s.mem.codes.committed(vecGen, w.vec)
	}
	if len(w.mem) > 0 {
		m := &s.mem.rows
		m.applied++
		if w.memRowsAdded > bigMemoryChange {
			// A rebuild or a far branch switch: the copy is read again
			// in the background rather than brought along here, inside
			// the write the caller waits for.
			m.drop()
			s.reloadMemories()
		} else {
			m.committed(w.mem)
		}
	}
	s.commits.Add(1)
	return result{}
}

// bigMemoryChange is the most memory rows a transaction may insert and
// still have the memories copy follow it as it commits (a variable for
// the tests).
var bigMemoryChange = 4096

// Checkpoints. SQLite's automatic checkpoint runs inside the commit that
// crosses its threshold, so every few dozen turns one turn paid for copying
// the WAL into the file (the slowest turns: 10-20 ms more). The memory
// workers checkpoint instead, when they find nothing to do (between turns,
// while the player types); the automatic one stays as a safety net, at a
// threshold a playing session does not reach, for a process that writes
// without workers (an import, a replay).
const (
	autoCheckpointPages = 4000 // the safety net: about 16 MB of WAL
	checkpointCommits   = 8    // commits after which an idle worker checkpoints
)

// checkpointIfDue copies the WAL into the file (a passive checkpoint: it
// never waits for readers) once checkpointCommits commits have gone by.
func (s *Store) checkpointIfDue(ctx context.Context) error {
	if s.commits.Load() < checkpointCommits {
		return nil
	}
	err := s.readOnWriter(ctx, func(ctx context.Context, q querier) error {
		var busy, frames, copied int64
		return q.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	s.commits.Store(0)
	return nil
}

// onWriterKey marks a context passed to a writer job; its value is the
// querier the job reads through.
type onWriterKey struct{}

// readOnWriter runs fn on the write connection, between the writer's jobs
// and outside any transaction (every query its own read): for the reads of
// a turn. Each commit of another connection empties a connection's page
// cache, and in play something commits between every two turns (the turn
// itself, the workers' batches), so the reader pool starts every turn
// cold: measured on a 100k-event save, the same queries took 150 µs on a
// connection that made the last write and 400–670 µs on a reader. The
// writer's own commits leave its cache warm. Called from inside a writer
// job (a read during a write), fn reads through that job's transaction.
func (s *Store) readOnWriter(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	if q, ok := ctx.Value(onWriterKey{}).(querier); ok {
		return fn(ctx, q)
	}
	return s.submit(&job{ctx: ctx, read: fn})
}

// write submits fn to the writer and waits for its result. If ctx ends
// before the writer takes the job, nothing runs; once taken, the
// transaction runs under ctx and is rolled back if ctx ends first.
func (s *Store) write(ctx context.Context, fn func(context.Context, *wtx) error) error {
	return s.submit(&job{ctx: ctx, fn: fn})
}

// submit hands j to the writer and waits for its result; a panic in the job
// is raised again here, in the caller's goroutine.
func (s *Store) submit(j *job) error {
	ctx := j.ctx
	if err := ctx.Err(); err != nil {
		return err
	}
	j.done = make(chan result, 1)
	select {
	case s.jobs <- j:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	res := <-j.done
	if res.panic != nil {
		panic(res.panic)
	}
	return res.err
}

// Write runs fn in a write transaction on the single writer, after the
// writes submitted before it, and commits if fn returns nil. Background
// workers use it for work that is not an event (embeddings, scores). fn must
// not call other Store methods that write: they would wait for fn forever.
func (s *Store) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if fn == nil {
		return errors.New("write: nil function")
	}
	err := s.write(ctx, func(_ context.Context, tx *wtx) error {
		// fn may change memories in ways the copy cannot follow: it
		// reloads (memcopy.go).
		tx.memOp(func(c *memCopy) { c.drop() })
		return fn(tx.Tx)
	})
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
