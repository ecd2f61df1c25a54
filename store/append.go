package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"diorama/core"
)

// headInfo is a branch head: its event's seq, turn and depth. The empty log
// is {0, -1, -1}.
type headInfo struct{ seq, turn, depth int64 }

const insertEventSQL = `INSERT INTO events(parent, depth, branch, turn, type, version, payload, mask, caused_by, world_time, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// AppendTurn writes drafts as one turn on branch, in one transaction on the
// writer: the events are chained after the head (which must still be
// parent, else core.ErrHeadMoved), project is called with them and must
// return the state after them, the projection tables, a snapshot when the
// turn reaches a multiple of SnapshotEvery events of depth, and the head
// follow. Any error rolls everything back. project runs on the writer
// goroutine: it must not call the Store's write methods.
func (s *Store) AppendTurn(ctx context.Context, branch string, parent int64, drafts []core.Draft, project func([]core.Event) (*core.State, error)) ([]core.Event, error) {
	if len(drafts) == 0 {
		return nil, fmt.Errorf("append turn on %s: no events", branch)
	}
	if project == nil {
		return nil, fmt.Errorf("append turn on %s: no projection function", branch)
	}
	var out []core.Event
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		h, err := headOf(ctx, tx, branch)
		if err != nil {
			return err
		}
		if h.seq != parent {
			return fmt.Errorf("%w (head is event %d, not %d)", core.ErrHeadMoved, h.seq, parent)
		}
		out, err = s.appendTurn(ctx, tx, branch, h, drafts, project)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append turn on %s: %w", branch, err)
	}
	return out, nil
}

// appendTurn does AppendTurn's work inside tx, after head h of branch.
func (s *Store) appendTurn(ctx context.Context, tx *wtx, branch string, h headInfo, drafts []core.Draft, project func([]core.Event) (*core.State, error)) ([]core.Event, error) {
	evs := make([]core.Event, len(drafts))
	prev, depth, turn := h.seq, h.depth, h.turn+1
	created := tx.now.UnixMicro()
	for i, d := range drafts {
		typ, version, payload, err := core.EncodeDraft(d)
		if err != nil {
			return nil, fmt.Errorf("event %d of %d: %w", i+1, len(drafts), err)
		}
		if d.Mask > core.MaskAll {
			return nil, fmt.Errorf("event %d of %d (%s): bad mask %d", i+1, len(drafts), typ, d.Mask)
		}
		causedBy := d.CausedBy
		switch {
		case d.CausedByIndex < 0 || d.CausedByIndex > i:
			return nil, fmt.Errorf("event %d of %d (%s): caused-by index %d does not name an earlier event of the turn", i+1, len(drafts), typ, d.CausedByIndex)
		case d.CausedByIndex > 0:
			causedBy = evs[d.CausedByIndex-1].Seq
		case causedBy < 0:
			return nil, fmt.Errorf("event %d of %d (%s): bad caused-by %d", i+1, len(drafts), typ, causedBy)
		}
		depth++
		res, err := tx.ExecContext(ctx, insertEventSQL, nullSeq(prev), depth, branch, turn, typ, version, string(payload),
			int64(d.Mask), nullSeq(causedBy), d.WorldTime, created)
		if err != nil {
			return nil, fmt.Errorf("event %d of %d (%s): %w", i+1, len(drafts), typ, err)
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return nil, fmt.Errorf("event %d of %d (%s): %w", i+1, len(drafts), typ, err)
		}
		evs[i] = core.Event{Seq: seq, Parent: prev, Branch: branch, Turn: turn, Type: typ, Version: version,
			Payload: payload, Mask: d.Mask, CausedBy: causedBy, WorldTime: d.WorldTime, CreatedAt: tx.now}
		prev = seq
	}
	st, err := project(slices.Clone(evs))
	if err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	if st == nil {
		return nil, errors.New("project: no state returned")
	}
	if st.LastSeq != prev {
		return nil, fmt.Errorf("project: returned the state at event %d, want %d", st.LastSeq, prev)
	}
	r, err := projectRows(evs)
	if err != nil {
		return nil, err
	}
	if err := follow(ctx, tx, h.seq, &r); err != nil {
		return nil, err
	}
	if err := writeRows(ctx, tx, &r, st, nil); err != nil {
		return nil, err
	}
	if crosses(h.depth, depth) {
		if err := writeSnapshot(ctx, tx, st); err != nil {
			return nil, err
		}
	}
	if err := setHead(ctx, tx, branch, prev); err != nil {
		return nil, err
	}
	return evs, nil
}

// follow prepares the projection tables to move to the path of event at:
// if they reflect another head, it syncs the memories table and marks every
// state-derived table and the pins in r for rewriting from the state. It
// does nothing when they already reflect at.
func follow(ctx context.Context, tx *wtx, at int64, r *rows) error {
	cur, err := projectionSeq(ctx, tx)
	if err != nil {
		return err
	}
	if cur == at {
		return nil
	}
	if err := syncMemories(ctx, tx, cur, at); err != nil {
		return err
	}
	r.dirty = tAll
	r.resetPins = true
	return nil
}

// setHead points branch at seq and records that the projection tables now
// reflect it.
func setHead(ctx context.Context, tx *wtx, branch string, seq int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO heads(name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`, branch, seq); err != nil {
		return fmt.Errorf("move head: %w", err)
	}
	return setMeta(ctx, tx, "projection_seq", strconv.FormatInt(seq, 10))
}

// nullSeq stores seq 0 (none) as NULL.
func nullSeq(seq int64) any {
	if seq == 0 {
		return nil
	}
	return seq
}

// SetHead points branch name at event seq, creating the branch if needed:
// rewind moves a head back, branching adds a head at any event. Nothing is
// lost: events stay reachable from other heads and by seq. The projection
// tables follow the moved head.
func (s *Store) SetHead(ctx context.Context, name string, seq int64) error {
	if name == "" {
		return errors.New("set head: empty branch name")
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM events WHERE seq = ?`, seq).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no event %d", seq)
		}
		if err != nil {
			return err
		}
		st, err := loadState(ctx, tx, seq)
		if err != nil {
			return err
		}
		var r rows
		if err := follow(ctx, tx, seq, &r); err != nil {
			return err
		}
		if err := writeRows(ctx, tx, &r, st, nil); err != nil {
			return err
		}
		return setHead(ctx, tx, name, seq)
	})
	if err != nil {
		return fmt.Errorf("set head %s to %d: %w", name, seq, err)
	}
	return nil
}
