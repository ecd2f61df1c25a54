package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"diorama/core"
)

// Graft implements core.Timeline: evs become the path of a new branch name
// forking after event parent, written in one transaction on the writer: the
// events are numbered and inserted in batches while another goroutine folds
// them (the state, the snapshots where a turn reaches a multiple of
// SnapshotEvery as AppendTurn takes them, the memory rows); then the
// projection tables move to the new head and the branch is checked out.
func (s *Store) Graft(ctx context.Context, name string, parent int64, evs []core.Event) (*core.State, []core.Event, error) {
	if err := core.CheckBranchName(name); err != nil {
		return nil, nil, err
	}
	var st *core.State
	var out []core.Event
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if ok, err := hasBranch(ctx, tx, name); err != nil {
			return err
		} else if ok {
			return core.ErrBranchExists
		}
		var ph headInfo
		err := tx.QueryRowContext(ctx, `SELECT seq, turn, depth FROM events WHERE seq = ?`, parent).Scan(&ph.seq, &ph.turn, &ph.depth)
		if err != nil {
			return fmt.Errorf("fork point %d: %w", parent, core.ErrNoEvent)
		}
		base, err := loadState(ctx, tx, parent)
		if err != nil {
			return err
		}
		restore, err := bigCache(ctx, tx)
		if err != nil {
			return err
		}
		defer restore()
		var r rows
		if err := followBack(ctx, tx, parent, &r); err != nil {
			return err
		}
		if out, err = number(ctx, tx, name, ph, evs); err != nil {
			return err
		}
		f := &graftFolder{st: base, depth: ph.depth, done: make(chan struct{})}
		go f.run(out)
		werr := insertEvents(ctx, tx, out)
		<-f.done
		if werr != nil {
			return werr
		}
		if f.err != nil {
			return f.err
		}
		st = f.st
		err = insertRows(ctx, tx, "snapshots", []string{"seq", "format", "state"}, len(f.snaps), func(i int, args []any) []any {
			return append(args, f.snaps[i].seq, snapshotFormat, f.snaps[i].data)
		})
		if err != nil {
			return err
		}
		nr := rows{memories: f.memories, dirty: tAll, resetPins: true}
		if err := writeFollowed(ctx, tx, &nr, st); err != nil {
			return err
		}
		head := parent
		if len(out) > 0 {
			head = out[len(out)-1].Seq
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO heads(name, seq) VALUES (?, ?)`, name, head); err != nil {
			return fmt.Errorf("add head: %w", err)
		}
		if err := setMeta(ctx, tx, "projection_seq", strconv.FormatInt(head, 10)); err != nil {
			return err
		}
		return setMeta(ctx, tx, metaBranch, name)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("write branch %s: %w", name, err)
	}
	return st, out, nil
}

// number gives evs their seqs after head ph (the writer alone inserts, so
// the next seqs are known), chains them, and rewrites the causes and the
// memory ids in payloads that name events of evs. It checks the turns and
// the causes.
func number(ctx context.Context, tx *wtx, branch string, ph headInfo, evs []core.Event) ([]core.Event, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), (SELECT COALESCE(max(seq), 0) FROM events))`).Scan(&last)
	if err != nil {
		return nil, fmt.Errorf("next seq: %w", err)
	}
	m := make(map[int64]int64, len(evs))
	out := make([]core.Event, len(evs))
	prev, turn := ph.seq, ph.turn
	for i := range evs {
		e := evs[i]
		if e.Turn != turn && e.Turn != turn+1 {
			return nil, fmt.Errorf("event %d of %d: turn %d does not follow turn %d", i+1, len(evs), e.Turn, turn)
		}
		if c, ok := m[e.CausedBy]; ok {
			e.CausedBy = c
		} else if e.CausedBy < 0 || e.CausedBy > ph.seq {
			return nil, fmt.Errorf("event %d of %d (%s): caused by %d, which is not before it", i+1, len(evs), e.Type, e.CausedBy)
		}
		if err := core.RemapPayload(&e, m); err != nil {
			return nil, err
		}
		if e.Mask > core.MaskAll {
			return nil, fmt.Errorf("event %d of %d (%s): bad mask %d", i+1, len(evs), e.Type, e.Mask)
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = tx.now
		}
		e.CreatedAt = e.CreatedAt.UTC()
		e.Seq, e.Parent, e.Branch = last+int64(i)+1, prev, branch
		m[evs[i].Seq] = e.Seq
		out[i] = e
		prev, turn = e.Seq, e.Turn
	}
	return out, nil
}

// insertEvents writes numbered events (a chain after their first parent)
// in multi-row INSERTs through one prepared statement.
func insertEvents(ctx context.Context, tx *wtx, evs []core.Event) error {
	if len(evs) == 0 {
		return nil
	}
	var depth int64
	if err := tx.QueryRowContext(ctx, `SELECT depth FROM events WHERE seq = ?`, evs[0].Parent).Scan(&depth); err != nil {
		return fmt.Errorf("fork point %d: %w", evs[0].Parent, err)
	}
	const batch = 100
	head := `INSERT INTO events(seq, parent, depth, branch, turn, type, version, payload, mask, caused_by, world_time, created_at) VALUES `
	one := "(" + placeholders(12) + ")"
	stmtFor := func(n int) string { return head + strings.Repeat(one+",", n-1) + one }
	full, err := tx.PrepareContext(ctx, stmtFor(batch))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, batch*12)
	for start := 0; start < len(evs); start += batch {
		end := min(start+batch, len(evs))
		args = args[:0]
		for i := start; i < end; i++ {
			e := &evs[i]
			args = append(args, e.Seq, nullSeq(e.Parent), depth+int64(i)+1, e.Branch, e.Turn, e.Type, e.Version, string(e.Payload),
				int64(e.Mask), nullSeq(e.CausedBy), e.WorldTime, e.CreatedAt.UnixMicro())
		}
		if end-start == batch {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, stmtFor(end-start), args...)
		}
		if err != nil {
			return fmt.Errorf("write events: %w", err)
		}
	}
	return nil
}

// graftFolder folds a grafted path on its own goroutine while the writer
// inserts it.
type graftFolder struct {
	st    *core.State // the state at the fork point, then after the path
	depth int64       // the fork point's depth
	done  chan struct{}

	snaps    []snapshotRow
	memories []memoryRow
	err      error
}

func (f *graftFolder) run(evs []core.Event) {
	defer close(f.done)
	turnStart := f.depth // depth before the current turn began
	depth := f.depth
	endTurn := func() error {
		if depth > turnStart && crosses(turnStart, depth) {
			data, err := encodeSnapshot(f.st)
			if err != nil {
				return err
			}
			f.snaps = append(f.snaps, snapshotRow{f.st.LastSeq, data})
		}
		turnStart = depth
		return nil
	}
	for i := range evs {
		if i > 0 && evs[i].Turn != evs[i-1].Turn {
			if f.err = endTurn(); f.err != nil {
				return
			}
		}
		if f.err = f.st.ApplyLazy(&evs[i]); f.err != nil {
			f.err = fmt.Errorf("event %d of %d: %w", i+1, len(evs), f.err)
			return
		}
		depth++
	}
	if f.err = endTurn(); f.err != nil {
		return
	}
	r, err := projectRows(evs)
	if err != nil {
		f.err = err
		return
	}
	f.memories = r.memories
}

// bigCache raises the writer's page cache for a long graft, so its dirty
// pages stay in memory until the commit instead of spilling to the log
// mid-way; restore puts the old size back.
func bigCache(ctx context.Context, tx *wtx) (restore func(), err error) {
	var old int64
	if err := tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&old); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -131072`); err != nil { // 128 MiB
		return nil, err
	}
	return func() { _, _ = tx.ExecContext(context.Background(), `PRAGMA cache_size = `+strconv.FormatInt(old, 10)) }, nil
}
