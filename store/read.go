package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"diorama/core"
)

// querier is what reads need: the read pool, a read transaction or the
// writer's transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// eventCols are the columns scanEvent reads, in order.
const eventCols = `seq, COALESCE(parent, 0), depth, branch, turn, type, version, payload, mask, COALESCE(caused_by, 0), world_time, created_at`

// pathSQL selects the path from event ?1 up to the root, head first: one
// recursive query, one primary-key step per event.
const pathSQL = `WITH RECURSIVE path(seq, parent, depth, branch, turn, type, version, payload, mask, caused_by, world_time, created_at) AS (
	SELECT seq, parent, depth, branch, turn, type, version, payload, mask, caused_by, world_time, created_at FROM events WHERE seq = ?1
	UNION ALL
	SELECT e.seq, e.parent, e.depth, e.branch, e.turn, e.type, e.version, e.payload, e.mask, e.caused_by, e.world_time, e.created_at
	FROM path p JOIN events e ON e.seq = p.parent
)
SELECT ` + eventCols + ` FROM path`

// snapPathSQL is pathSQL stopping at the first event that has a snapshot in
// format ?2, whose state it returns as the last column (NULL elsewhere).
const snapPathSQL = `WITH RECURSIVE path(seq, parent, depth, branch, turn, type, version, payload, mask, caused_by, world_time, created_at, snap) AS (
	SELECT seq, parent, depth, branch, turn, type, version, payload, mask, caused_by, world_time, created_at,
		(SELECT s.state FROM snapshots s WHERE s.seq = events.seq AND s.format = ?2)
	FROM events WHERE seq = ?1
	UNION ALL
	SELECT e.seq, e.parent, e.depth, e.branch, e.turn, e.type, e.version, e.payload, e.mask, e.caused_by, e.world_time, e.created_at,
		(SELECT s.state FROM snapshots s WHERE s.seq = e.seq AND s.format = ?2)
	FROM path p JOIN events e ON e.seq = p.parent
	WHERE p.snap IS NULL
)
SELECT ` + eventCols + `, snap FROM path`

// scanEvent reads one row of eventCols (plus extra destinations).
func scanEvent(rows *sql.Rows, e *core.Event, depth *int64, extra ...any) error {
	var mask int64
	var created int64
	var payload []byte
	dest := append([]any{&e.Seq, &e.Parent, depth, &e.Branch, &e.Turn, &e.Type, &e.Version, &payload, &mask, &e.CausedBy, &e.WorldTime, &created}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	if mask < 0 || mask > int64(core.MaskAll) {
		return fmt.Errorf("event %d: bad mask %d", e.Seq, mask)
	}
	e.Mask = core.Mask(mask)
	e.Payload = json.RawMessage(payload)
	e.CreatedAt = time.UnixMicro(created).UTC()
	return nil
}

// readPath returns the events from the root to head, in order, checking
// that they link up.
func readPath(ctx context.Context, q querier, head int64) ([]core.Event, error) {
	rows, err := q.QueryContext(ctx, pathSQL, head)
	if err != nil {
		return nil, fmt.Errorf("read path to %d: %w", head, err)
	}
	defer rows.Close()
	var evs []core.Event
	var depths []int64
	for rows.Next() {
		var e core.Event
		var d int64
		if err := scanEvent(rows, &e, &d); err != nil {
			return nil, err
		}
		if evs == nil {
			// The head comes first: its depth is the path's length - 1.
			if d < 0 || d > 1<<40 {
				return nil, fmt.Errorf("event %d: bad depth %d", e.Seq, d)
			}
			evs = make([]core.Event, 0, d+1)
			depths = make([]int64, 0, d+1)
		}
		evs = append(evs, e)
		depths = append(depths, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read path to %d: %w", head, err)
	}
	slices.Reverse(evs)
	slices.Reverse(depths)
	if err := checkPath(evs, depths, 0, 0); err != nil {
		return nil, err
	}
	return evs, nil
}

// checkPath verifies that evs is a chain starting below event from (0: the
// root) at depth firstDepth: a corrupt or hand-edited log fails here, not in
// a confusing way later.
func checkPath(evs []core.Event, depths []int64, from, firstDepth int64) error {
	if len(evs) == 0 {
		return errors.New("corrupt log: empty path")
	}
	prev := from
	for i := range evs {
		if evs[i].Parent != prev {
			return fmt.Errorf("corrupt log: event %d has parent %d, want %d", evs[i].Seq, evs[i].Parent, prev)
		}
		if want := firstDepth + int64(i); depths[i] != want {
			return fmt.Errorf("corrupt log: event %d at depth %d, want %d", evs[i].Seq, depths[i], want)
		}
		prev = evs[i].Seq
	}
	return nil
}

// loadState returns the state after event head: the nearest snapshot on its
// path plus a replay of the events after it.
func loadState(ctx context.Context, q querier, head int64) (*core.State, error) {
	rows, err := q.QueryContext(ctx, snapPathSQL, head, snapshotFormat)
	if err != nil {
		return nil, fmt.Errorf("read path to %d: %w", head, err)
	}
	defer rows.Close()
	var evs []core.Event
	var depths []int64
	var snap sql.NullString
	for rows.Next() {
		var e core.Event
		var d int64
		if err := scanEvent(rows, &e, &d, &snap); err != nil {
			return nil, err
		}
		evs = append(evs, e)
		depths = append(depths, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read path to %d: %w", head, err)
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("corrupt log: head event %d does not exist", head)
	}
	slices.Reverse(evs)
	slices.Reverse(depths)
	st := core.NewState()
	var from, firstDepth int64
	if snap.Valid {
		// The first event of the path has a snapshot: start from it.
		top := evs[0]
		st, err = decodeSnapshot(top.Seq, snap.String)
		if err != nil {
			return nil, err
		}
		from, firstDepth = top.Seq, depths[0]+1
		evs, depths = evs[1:], depths[1:]
		if len(evs) == 0 {
			return st, nil
		}
	}
	if err := checkPath(evs, depths, from, firstDepth); err != nil {
		return nil, err
	}
	if err := st.ApplyAll(evs); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return st, nil
}

// headOf returns the head of branch, or core.ErrNoBranch.
func headOf(ctx context.Context, q querier, branch string) (headInfo, error) {
	var h headInfo
	err := q.QueryRowContext(ctx, `SELECT h.seq, e.turn, e.depth FROM heads h JOIN events e ON e.seq = h.seq WHERE h.name = ?`, branch).
		Scan(&h.seq, &h.turn, &h.depth)
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("branch %q: %w", branch, core.ErrNoBranch)
	}
	if err != nil {
		return h, fmt.Errorf("branch %q: read head: %w", branch, err)
	}
	return h, nil
}

// LoadState returns the projected state at the head of branch: the nearest
// snapshot on the head's path plus a replay of the events after it.
func (s *Store) LoadState(ctx context.Context, branch string) (*core.State, error) {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", branch, err)
	}
	defer tx.Rollback()
	h, err := headOf(ctx, tx, branch)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", branch, err)
	}
	st, err := loadState(ctx, tx, h.seq)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", branch, err)
	}
	return st, nil
}

// Head returns the seq of the newest event of branch.
func (s *Store) Head(ctx context.Context, branch string) (int64, error) {
	h, err := headOf(ctx, s.rdb, branch)
	if err != nil {
		return 0, err
	}
	return h.seq, nil
}

// Branch is a named head.
type Branch struct {
	Name string
	Head int64 // seq of its newest event
	Turn int64 // turn of that event
}

// Branches lists the branches by name.
func (s *Store) Branches(ctx context.Context) ([]Branch, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT h.name, h.seq, e.turn FROM heads h JOIN events e ON e.seq = h.seq ORDER BY h.name`)
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	defer rows.Close()
	var out []Branch
	for rows.Next() {
		var b Branch
		if err := rows.Scan(&b.Name, &b.Head, &b.Turn); err != nil {
			return nil, fmt.Errorf("list branches: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	return out, nil
}

// Events returns the log of branch: the path from the root to its head, in
// order. Payloads are as stored; Event.Decode upcasts them.
func (s *Store) Events(ctx context.Context, branch string) ([]core.Event, error) {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", branch, err)
	}
	defer tx.Rollback()
	h, err := headOf(ctx, tx, branch)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", branch, err)
	}
	evs, err := readPath(ctx, tx, h.seq)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", branch, err)
	}
	return evs, nil
}

// EventCount returns the number of events in the save, all branches.
func (s *Store) EventCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
