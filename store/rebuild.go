package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"diorama/core"
)

// RebuildStats describes a rebuild.
type RebuildStats struct {
	Events   int           // events folded: the length of the branch's path
	Duration time.Duration // wall time, waiting for the writer included
}

// Rebuild re-projects branch from its log alone, ignoring snapshots and
// projection tables: it folds the path from the root to the head in memory,
// rewrites every projection table in batches and replaces all snapshots
// with fresh ones on this path (snapshots of other branches are dropped
// too; they come back as those branches are written). Memory significance
// scores, which are not events, are kept for the memories that remain.
//
// It runs as one job on the writer, so no turn lands halfway through. The
// log is read in one sequential scan in seq order (preceded, when the log
// has branches, by a scan of (seq, parent) to find the path) while another
// goroutine folds the events: reading and folding overlap, and no query is
// issued per event.
func (s *Store) Rebuild(ctx context.Context, branch string) (*core.State, RebuildStats, error) {
	start := time.Now()
	var st *core.State
	var n int
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		h, err := headOf(ctx, tx, branch)
		if err != nil {
			return err
		}
		path, err := pathSeqs(ctx, tx, h)
		if err != nil {
			return err
		}
		// The folder applies the batches this goroutine reads and hands
		// back their memory rows, which this goroutine writes once its scan
		// is done, while the fold finishes. The hand-back channel holds all
		// the batches of a path this long, so the folder never waits on it.
		f := &folder{memories: make(chan []memoryRow, int(h.depth)/rebuildBatch+2)}
		batches := make(chan []core.Event, 4)
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.run(batches)
		}()
		werr := scanPath(ctx, tx, h, path, batches, done)
		close(batches)
		var sig map[int64]float64
		if werr == nil {
			sig, werr = significance(ctx, tx)
		}
		if werr == nil {
			if err := dropMemories(ctx, tx, 0); err != nil {
				werr = fmt.Errorf("clear memories: %w", err)
			}
		}
		empty := core.NewState() // memory rows go in unpinned; pins follow
		for ms := range f.memories {
			if werr == nil {
				werr = writeRows(ctx, tx, &rows{memories: ms}, empty, sig)
			}
		}
		<-done
		if werr != nil && !errors.Is(werr, errFolderDone) {
			return werr
		}
		if f.err != nil {
			return f.err
		}
		if err := writeRows(ctx, tx, &rows{dirty: tAll, resetPins: true}, f.st, nil); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM snapshots`); err != nil {
			return fmt.Errorf("clear snapshots: %w", err)
		}
		err = insertRows(ctx, tx, "snapshots", []string{"seq", "format", "state"}, len(f.snaps), func(i int, args []any) []any {
			return append(args, f.snaps[i].seq, snapshotFormat, f.snaps[i].data)
		})
		if err != nil {
			return err
		}
		st, n = f.st, f.n
		return setHead(ctx, tx, branch, h.seq)
	})
	if err != nil {
		return nil, RebuildStats{}, fmt.Errorf("rebuild %s: %w", branch, err)
	}
	return st, RebuildStats{Events: n, Duration: time.Since(start)}, nil
}

// pathSeqs returns the seqs of the events on the path from the root to
// head h, in order, from one scan of (seq, parent) and a walk up in memory.
// It returns nil for a linear log, where every event up to the head is on
// the path: the common case, which needs only a count.
func pathSeqs(ctx context.Context, tx *wtx, h headInfo) ([]int64, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE seq <= ?`, h.seq).Scan(&n); err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	if n == h.depth+1 {
		// The path holds depth+1 events, all with seqs up to the head's.
		return nil, nil
	}
	head := h.seq
	// seqs are dense (AUTOINCREMENT, never deleted): head bounds the count.
	seqs := make([]int64, 0, min(head, 1<<22))
	parents := make([]int64, 0, min(head, 1<<22))
	err := tx.rawQuery(ctx, `SELECT seq, COALESCE(parent, 0) FROM events WHERE seq <= ? ORDER BY seq`, []any{head}, func(v []driver.Value) error {
		seq, ok1 := v[0].(int64)
		parent, ok2 := v[1].(int64)
		if !ok1 || !ok2 || parent < 0 || parent >= seq {
			// A parent is always written before its children.
			return fmt.Errorf("corrupt log: event %v has parent %v", v[0], v[1])
		}
		seqs = append(seqs, seq)
		parents = append(parents, parent)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read parents: %w", err)
	}
	var path []int64
	for at := head; at != 0; {
		i, ok := slices.BinarySearch(seqs, at)
		if !ok {
			return nil, fmt.Errorf("corrupt log: event %d is missing", at)
		}
		path = append(path, at)
		at = parents[i] // smaller than at: the walk ends
	}
	slices.Reverse(path)
	return path, nil
}

// rebuildBatch is how many events the reader hands the folder at a time.
const rebuildBatch = 512

// scanPath reads the events on the path to h in order (path lists their
// seqs; nil means every event up to h), checks that they chain up and sends
// them in batches to the folder. It stops early if the folder is done (it
// failed).
func scanPath(ctx context.Context, tx *wtx, h headInfo, path []int64, out chan<- []core.Event, folderDone <-chan struct{}) error {
	types := map[string]string{} // interned type names
	batch := make([]core.Event, 0, rebuildBatch)
	var prev, depth int64
	first := int64(1)
	if path != nil {
		first = path[0]
	}
	err := tx.rawQuery(ctx, `SELECT seq, COALESCE(parent, 0), depth, turn, type, version, payload, mask, world_time
		FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq`, []any{first, h.seq}, func(v []driver.Value) error {
		seq, _ := v[0].(int64)
		if path != nil && (int(depth) == len(path) || seq != path[depth]) {
			return nil // on another branch
		}
		ok := true
		e := core.Event{Seq: seq, Parent: i64(v[1], &ok), Turn: i64(v[3], &ok), WorldTime: i64(v[8], &ok)}
		d, version, mask := i64(v[2], &ok), i64(v[5], &ok), i64(v[7], &ok)
		var okType, okPayload bool
		e.Type, okType = v[4].(string)
		e.Payload, okPayload = payloadBytes(v[6])
		if !ok || !okType || !okPayload {
			return fmt.Errorf("corrupt log: event %d: a column has the wrong type", seq)
		}
		if depth > h.depth {
			return fmt.Errorf("corrupt log: more than %d events on the path to event %d", h.depth+1, h.seq)
		}
		if e.Parent != prev || d != depth {
			return fmt.Errorf("corrupt log: event %d (parent %d, depth %d) does not follow event %d at depth %d", seq, e.Parent, d, prev, depth-1)
		}
		if mask < 0 || mask > int64(core.MaskAll) {
			return fmt.Errorf("event %d: bad mask %d", seq, mask)
		}
		e.Mask, e.Version = core.Mask(mask), int(version)
		if t, ok := types[e.Type]; ok {
			e.Type = t
		} else {
			types[e.Type] = e.Type
		}
		batch = append(batch, e)
		prev, depth = seq, depth+1
		if len(batch) == rebuildBatch {
			select {
			case out <- batch:
			case <-folderDone:
				return errFolderDone
			}
			batch = make([]core.Event, 0, rebuildBatch)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, errFolderDone) {
			return err
		}
		return fmt.Errorf("read log: %w", err)
	}
	if depth != h.depth+1 {
		return fmt.Errorf("corrupt log: read %d events of the path to event %d, want %d", depth, h.seq, h.depth+1)
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-folderDone:
			return errFolderDone
		}
	}
	return nil
}

// i64 returns v as an int64, clearing ok if it is not one.
func i64(v driver.Value, ok *bool) int64 {
	n, isInt := v.(int64)
	if !isInt {
		*ok = false
	}
	return n
}

// payloadBytes copies a payload stored as TEXT (or, by another writer, as a
// BLOB) out of the driver's buffer.
func payloadBytes(v driver.Value) ([]byte, bool) {
	switch p := v.(type) {
	case string:
		return []byte(p), true
	case []byte:
		return slices.Clone(p), true
	}
	return nil, false
}

// errFolderDone stops the reader when the folder has failed; the folder's
// error is the one reported.
var errFolderDone = errors.New("fold stopped")

// folder folds the path in memory on its own goroutine.
type folder struct {
	memories chan []memoryRow // the memory rows of each batch; closed by run

	// Results, valid once run has returned.
	st    *core.State
	n     int // events applied
	snaps []snapshotRow
	err   error
}

type snapshotRow struct {
	seq  int64
	data string
}

// run applies the batches in order to a new state, taking a snapshot at the
// end of every turn that reaches a multiple of SnapshotEvery (the rule
// AppendTurn follows). On an error it returns at once; the reader notices
// that it is done.
func (f *folder) run(batches <-chan []core.Event) {
	defer close(f.memories)
	f.st = core.NewState()
	turnStart := int64(-1) // depth before the current turn's first event
	var pending *core.Event
	// A turn ends at the event before one of another turn, or at the end.
	endTurn := func(depth int64) error {
		if crosses(turnStart, depth) {
			data, err := encodeSnapshot(f.st)
			if err != nil {
				return err
			}
			f.snaps = append(f.snaps, snapshotRow{f.st.LastSeq, data})
		}
		turnStart = depth
		return nil
	}
	for batch := range batches {
		r, err := projectRows(batch)
		if err != nil {
			f.err = err
			return
		}
		if len(r.memories) > 0 {
			f.memories <- r.memories
		}
		for i := range batch {
			e := &batch[i]
			if pending != nil && pending.Turn != e.Turn {
				if err := endTurn(int64(f.n - 1)); err != nil {
					f.err = err
					return
				}
			}
			if err := f.st.Apply(e); err != nil {
				f.err = err
				return
			}
			f.n++
			pending = e
		}
	}
	if pending != nil {
		f.err = endTurn(int64(f.n - 1))
	}
}

// significance reads the memory scores worth keeping across a rewrite.
func significance(ctx context.Context, tx *wtx) (map[int64]float64, error) {
	rs, err := tx.QueryContext(ctx, `SELECT id, significance FROM memories WHERE significance IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read significance: %w", err)
	}
	defer rs.Close()
	out := map[int64]float64{}
	for rs.Next() {
		var id int64
		var v float64
		if err := rs.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("read significance: %w", err)
		}
		out[id] = v
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read significance: %w", err)
	}
	return out, nil
}
