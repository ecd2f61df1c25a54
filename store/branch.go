package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"time"

	"diorama/core"
)

// Branches as first-class: the checked-out branch (meta key "branch"), and
// the reads and head moves time travel needs. Moving the projection costs
// in proportion to how far two heads diverge: the state comes from the
// nearest snapshot on the target's path, the memories table drops the rows
// after the common ancestor and adds the target's (syncMemories).

var _ core.Timeline = (*Store)(nil)

// metaBranch is the meta key naming the checked-out branch.
const metaBranch = "branch"

// currentBranch returns the checked-out branch: the meta key if it names a
// head, else DefaultBranch, else the first head by name (a save from before
// branches, or one whose checked-out head went missing).
func currentBranch(ctx context.Context, q querier) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, `SELECT COALESCE(
		(SELECT h.name FROM heads h JOIN meta m ON m.key = 'branch' AND m.value = h.name),
		(SELECT name FROM heads WHERE name = ?),
		(SELECT name FROM heads ORDER BY name LIMIT 1), '')`, DefaultBranch).Scan(&name)
	if err != nil {
		return "", fmt.Errorf("read the checked-out branch: %w", err)
	}
	if name == "" {
		return "", fmt.Errorf("the save has no branch: %w", core.ErrNoBranch)
	}
	return name, nil
}

// CurrentBranch implements core.Timeline.
func (s *Store) CurrentBranch(ctx context.Context) (string, error) {
	return currentBranch(ctx, s.rdb)
}

// Event implements core.Timeline.
func (s *Store) Event(ctx context.Context, seq int64) (core.Event, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE seq = ?`, seq)
	if err != nil {
		return core.Event{}, fmt.Errorf("read event %d: %w", seq, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return core.Event{}, fmt.Errorf("read event %d: %w", seq, err)
		}
		return core.Event{}, fmt.Errorf("event %d: %w", seq, core.ErrNoEvent)
	}
	var e core.Event
	var d int64
	if err := scanEvent(rows, &e, &d); err != nil {
		return core.Event{}, err
	}
	return e, rows.Err()
}

// Tail implements core.Timeline: one recursive query up from head.
func (s *Store) Tail(ctx context.Context, head int64, n int) ([]core.Event, error) {
	if n <= 0 {
		return nil, nil
	}
	q := `WITH RECURSIVE up(seq, n) AS (
		SELECT seq, 1 FROM events WHERE seq = ?1
		UNION ALL
		SELECT e.parent, up.n + 1 FROM up JOIN events e ON e.seq = up.seq WHERE e.parent IS NOT NULL AND up.n < ?2
	)
	SELECT ` + eventCols + ` FROM up JOIN events USING (seq) ORDER BY seq`
	evs, err := s.readEvents(ctx, q, head, n)
	if err != nil {
		return nil, fmt.Errorf("read the events before %d: %w", head, err)
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("event %d: %w", head, core.ErrNoEvent)
	}
	return evs, nil
}

// PathAfter implements core.Timeline. When nothing else was written
// between from and head (the usual case: a branch read from where it
// forked, or a story never branched), the path is every event in that
// range of seqs, read in one range scan; otherwise one recursive query
// walks up from head. Both read straight from the driver: a long path is
// mostly payload bytes.
func (s *Store) PathAfter(ctx context.Context, from, head int64) ([]core.Event, error) {
	if from == head {
		return nil, nil
	}
	var dh, df, n int64
	err := s.rdb.QueryRowContext(ctx, `SELECT depth, COALESCE((SELECT depth FROM events WHERE seq = ?2), -1),
		(SELECT count(*) FROM events WHERE seq > ?2 AND seq <= ?1) FROM events WHERE seq = ?1`, head, from).Scan(&dh, &df, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("event %d: %w", head, core.ErrNoEvent)
	}
	if err != nil {
		return nil, fmt.Errorf("read the path from %d to %d: %w", from, head, err)
	}
	q := `WITH RECURSIVE up(seq) AS (
		SELECT seq FROM events WHERE seq = ?1 AND seq > ?2
		UNION ALL
		SELECT e.parent FROM up JOIN events e ON e.seq = up.seq WHERE e.parent > ?2
	)
	SELECT ` + rawEventCols + ` FROM up JOIN events USING (seq) ORDER BY seq`
	if from == 0 && n == dh+1 || from > 0 && df >= 0 && n == dh-df {
		q = `SELECT ` + rawEventCols + ` FROM events WHERE seq > ?2 AND seq <= ?1 ORDER BY seq`
	}
	evs := make([]core.Event, 0, max(0, min(n, dh+1)))
	err = s.readRaw(ctx, q, []any{head, from}, func(v []driver.Value) error {
		e, err := rawEvent(v)
		if err != nil {
			return err
		}
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the path from %d to %d: %w", from, head, err)
	}
	if len(evs) == 0 || evs[0].Parent != from {
		return nil, fmt.Errorf("event %d is not on the path to %d: %w", from, head, core.ErrNotOnBranch)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Parent != evs[i-1].Seq {
			return nil, fmt.Errorf("corrupt log: event %d has parent %d, want %d", evs[i].Seq, evs[i].Parent, evs[i-1].Seq)
		}
	}
	return evs, nil
}

// rawEventCols are the columns rawEvent reads, in order.
const rawEventCols = `seq, COALESCE(parent, 0), branch, turn, type, version, payload, mask, COALESCE(caused_by, 0), world_time, created_at`

// rawEvent converts a driver row of rawEventCols.
func rawEvent(v []driver.Value) (core.Event, error) {
	ok := true
	e := core.Event{Seq: i64(v[0], &ok), Parent: i64(v[1], &ok), Turn: i64(v[3], &ok), Version: int(i64(v[5], &ok)),
		CausedBy: i64(v[8], &ok), WorldTime: i64(v[9], &ok)}
	mask, created := i64(v[7], &ok), i64(v[10], &ok)
	branch, ok1 := v[2].(string)
	typ, ok2 := v[4].(string)
	payload, ok3 := payloadBytes(v[6])
	if !ok || !ok1 || !ok2 || !ok3 {
		return e, fmt.Errorf("corrupt log: event %v: a column has the wrong type", v[0])
	}
	if mask < 0 || mask > int64(core.MaskAll) {
		return e, fmt.Errorf("event %d: bad mask %d", e.Seq, mask)
	}
	e.Branch, e.Type, e.Payload, e.Mask = branch, typ, payload, core.Mask(mask)
	e.CreatedAt = time.UnixMicro(created).UTC()
	return e, nil
}

// readRaw runs a query on a read connection straight on the driver,
// calling row for each row (values valid only during the call), as
// wtx.rawQuery does on the writer.
func (s *Store) readRaw(ctx context.Context, query string, args []any, row func([]driver.Value) error) error {
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return rawQuery(ctx, conn, query, args, row)
}

// readEvents runs a query selecting eventCols.
func (s *Store) readEvents(ctx context.Context, q string, args ...any) ([]core.Event, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []core.Event
	for rows.Next() {
		var e core.Event
		var d int64
		if err := scanEvent(rows, &e, &d); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// StateAt implements core.Timeline.
func (s *Store) StateAt(ctx context.Context, seq int64) (*core.State, error) {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("load the state at %d: %w", seq, err)
	}
	defer tx.Rollback()
	st, err := loadState(ctx, tx, seq)
	if err != nil {
		return nil, fmt.Errorf("load the state at %d: %w", seq, err)
	}
	return st, nil
}

// lcaSQL walks two events up to their newest common ancestor in one query,
// stepping the newer one up each time: a parent is older than its
// children, so the newer of two distinct events is never the other's
// ancestor. The last row holds the answer (0 when there is none).
const lcaSQL = `WITH RECURSIVE w(a, b) AS (
	SELECT ?1, ?2
	UNION ALL
	SELECT CASE WHEN a > b THEN COALESCE((SELECT parent FROM events WHERE seq = a), 0) ELSE a END,
	       CASE WHEN b > a THEN COALESCE((SELECT parent FROM events WHERE seq = b), 0) ELSE b END
	FROM w WHERE a <> b AND a <> 0 AND b <> 0
)
SELECT a, b FROM w WHERE a = b OR a = 0 OR b = 0 LIMIT 1`

// lca runs lcaSQL on q.
func lca(ctx context.Context, q querier, a, b int64) (int64, error) {
	var x, y int64
	if err := q.QueryRowContext(ctx, lcaSQL, a, b).Scan(&x, &y); err != nil {
		return 0, fmt.Errorf("find the common ancestor of %d and %d: %w", a, b, err)
	}
	if x == 0 || y == 0 {
		return 0, nil
	}
	return x, nil
}

// CommonAncestor implements core.Timeline.
func (s *Store) CommonAncestor(ctx context.Context, a, b int64) (int64, error) {
	return lca(ctx, s.rdb, a, b)
}

// Heads implements core.Timeline.
func (s *Store) Heads(ctx context.Context) ([]core.Head, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT h.name, h.seq, e.turn, e.depth FROM heads h JOIN events e ON e.seq = h.seq ORDER BY h.name`)
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	defer rows.Close()
	var out []core.Head
	for rows.Next() {
		var h core.Head
		if err := rows.Scan(&h.Name, &h.Seq, &h.Turn, &h.Depth); err != nil {
			return nil, fmt.Errorf("list branches: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	return out, nil
}

// hasEvent fails with core.ErrNoEvent unless event seq exists.
func hasEvent(ctx context.Context, q querier, seq int64) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM events WHERE seq = ?`, seq).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("event %d: %w", seq, core.ErrNoEvent)
	}
	return err
}

// hasBranch reports whether a head of that name exists.
func hasBranch(ctx context.Context, q querier, name string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM heads WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("branch %q: %w", name, err)
	}
	return true, nil
}

// CreateBranch implements core.Timeline.
func (s *Store) CreateBranch(ctx context.Context, name string, at int64) error {
	if err := core.CheckBranchName(name); err != nil {
		return err
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if ok, err := hasBranch(ctx, tx, name); err != nil {
			return err
		} else if ok {
			return core.ErrBranchExists
		}
		if err := hasEvent(ctx, tx, at); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO heads(name, seq) VALUES (?, ?)`, name, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("create branch %s at %d: %w", name, at, err)
	}
	return nil
}

// moveProjection moves the projection tables to event at, whose state is
// st, and records it; it is cheap when they are there already.
func moveProjection(ctx context.Context, tx *wtx, at int64, st *core.State) error {
	var r rows
	if err := followBack(ctx, tx, at, &r); err != nil {
		return err
	}
	if err := writeFollowed(ctx, tx, &r, st); err != nil {
		return err
	}
	return setMeta(ctx, tx, "projection_seq", strconv.FormatInt(at, 10))
}

// followBack is follow, with a shortcut for moving back along the path the
// projection tables reflect (a rewind, a graft onto an earlier event): the
// memories after at are all off at's path and all of at's are there, so
// one range delete moves them, without walking the path between.
func followBack(ctx context.Context, tx *wtx, at int64, r *rows) error {
	cur, err := projectionSeq(ctx, tx)
	if err != nil {
		return err
	}
	if cur == at {
		return nil
	}
	if cur != 0 {
		l, err := lca(ctx, tx, cur, at)
		if err != nil {
			return err
		}
		if l == at {
			if err := dropMemories(ctx, tx, at); err != nil {
				return err
			}
			r.dirty, r.resetPins = tAll, true
			return nil
		}
	}
	return follow(ctx, tx, at, r)
}

// writeFollowed writes r after follow, with the pins brought in line with
// st by their difference: a long story pins thousands of memories, and
// clearing and setting them all would rewrite pages across the whole table
// on every switch.
func writeFollowed(ctx context.Context, tx *wtx, r *rows, st *core.State) error {
	reset := r.resetPins
	r.resetPins = false
	if err := writeRows(ctx, tx, r, st, nil); err != nil {
		return err
	}
	if !reset {
		return nil
	}
	return syncPins(ctx, tx, st)
}

// syncPins sets the pinned flags of the memories table to st.Pinned,
// touching only the rows that differ.
func syncPins(ctx context.Context, tx *wtx, st *core.State) error {
	rs, err := tx.QueryContext(ctx, `SELECT id FROM memories INDEXED BY memories_pinned WHERE pinned <> 0`)
	if err != nil {
		return fmt.Errorf("read pins: %w", err)
	}
	pinned := map[int64]bool{}
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return fmt.Errorf("read pins: %w", err)
		}
		pinned[id] = true
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("read pins: %w", err)
	}
	var unpin, pin []int64
	for id := range pinned {
		if !st.Pinned[id] {
			unpin = append(unpin, id)
		}
	}
	for id, on := range st.Pinned {
		if on && !pinned[id] {
			pin = append(pin, id)
		}
	}
	for _, set := range []struct {
		ids []int64
		v   int
	}{{unpin, 0}, {pin, 1}} {
		ids := set.ids
		for len(ids) > 0 {
			n := min(len(ids), batchRows)
			args := make([]any, 0, n+1)
			args = append(args, set.v)
			for _, id := range ids[:n] {
				args = append(args, id)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE memories SET pinned = ? WHERE id IN (`+placeholders(n)+`)`, args...); err != nil {
				return fmt.Errorf("set pins: %w", err)
			}
			tx.memPinned(ids[:n], set.v != 0)
			ids = ids[n:]
		}
	}
	return nil
}

// MoveBranch implements core.Timeline.
func (s *Store) MoveBranch(ctx context.Context, name string, seq int64) (*core.State, error) {
	var st *core.State
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if ok, err := hasBranch(ctx, tx, name); err != nil {
			return err
		} else if !ok {
			return core.ErrNoBranch
		}
		if err := hasEvent(ctx, tx, seq); err != nil {
			return err
		}
		var err error
		if st, err = loadState(ctx, tx, seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE heads SET seq = ? WHERE name = ?`, seq, name); err != nil {
			return err
		}
		cur, err := currentBranch(ctx, tx)
		if err != nil || cur != name {
			return err
		}
		return moveProjection(ctx, tx, seq, st)
	})
	if err != nil {
		return nil, fmt.Errorf("move branch %s to %d: %w", name, seq, err)
	}
	return st, nil
}

// Checkout implements core.Timeline.
func (s *Store) Checkout(ctx context.Context, name string) (*core.State, error) {
	var st *core.State
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		h, err := headOf(ctx, tx, name)
		if err != nil {
			return err
		}
		if st, err = loadState(ctx, tx, h.seq); err != nil {
			return err
		}
		if err := moveProjection(ctx, tx, h.seq, st); err != nil {
			return err
		}
		return setMeta(ctx, tx, metaBranch, name)
	})
	if err != nil {
		return nil, fmt.Errorf("check out %s: %w", name, err)
	}
	return st, nil
}

// RenameBranch implements core.Timeline.
func (s *Store) RenameBranch(ctx context.Context, from, to string) error {
	if err := core.CheckBranchName(to); err != nil {
		return err
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if ok, err := hasBranch(ctx, tx, from); err != nil {
			return err
		} else if !ok {
			return core.ErrNoBranch
		}
		if ok, err := hasBranch(ctx, tx, to); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%q: %w", to, core.ErrBranchExists)
		}
		cur, err := currentBranch(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE heads SET name = ? WHERE name = ?`, to, from); err != nil {
			return err
		}
		if cur == from {
			return setMeta(ctx, tx, metaBranch, to)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rename branch %s: %w", from, err)
	}
	return nil
}

// DeleteBranch implements core.Timeline. The branch's events stay in the
// log (and in backups); only the name goes.
func (s *Store) DeleteBranch(ctx context.Context, name string) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if ok, err := hasBranch(ctx, tx, name); err != nil {
			return err
		} else if !ok {
			return core.ErrNoBranch
		}
		cur, err := currentBranch(ctx, tx)
		if err != nil {
			return err
		}
		if cur == name {
			return core.ErrCheckedOut
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM heads WHERE name = ?`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete branch %s: %w", name, err)
	}
	return nil
}

// OpenBranch returns the checked-out branch with the projection tables
// moved to it (they follow whatever branch was last written, which another
// command may have changed), ready for an engine.
func (s *Store) OpenBranch(ctx context.Context) (string, error) {
	name, err := s.CurrentBranch(ctx)
	if err != nil {
		return "", err
	}
	h, err := headOf(ctx, s.rdb, name)
	if err != nil {
		return "", err
	}
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	cur, err := projectionSeqRead(ctx, tx)
	tx.Rollback()
	if err != nil {
		return "", err
	}
	if cur != h.seq {
		if _, err := s.Checkout(ctx, name); err != nil {
			return "", err
		}
	}
	return name, nil
}

// projectionSeqRead reads meta projection_seq on a read transaction.
func projectionSeqRead(ctx context.Context, q querier) (int64, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT COALESCE((SELECT value FROM meta WHERE key = 'projection_seq'), '0')`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read projection head: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read projection head: bad value %q", v)
	}
	return n, nil
}
