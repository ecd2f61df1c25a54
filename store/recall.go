package store

import (
	"context"
	"fmt"
	"slices"

	"diorama/core"
)

// RecentLines returns the last limit lines whose witness mask shares a bit
// with who, oldest first. The mask test is part of the query, so a
// character who heard little still gets its limit of lines. It reads
// backwards along the memories' primary key and stops at limit: the cost
// does not grow with the length of the story. Each bot's window is kept
// between turns and extended with the lines added since (while no memory
// is deleted: the memories' generation, see codes.go, holds).
func (s *Store) RecentLines(ctx context.Context, who core.Mask, limit int) ([]core.Line, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []core.Line
	err := s.readOnWriter(ctx, func(ctx context.Context, q querier) error {
		var err error
		out, err = s.recentLines(ctx, q, who, limit)
		return err
	})
	return out, err
}

// recentLines is RecentLines reading through q.
func (s *Store) recentLines(ctx context.Context, q querier, who core.Mask, limit int) ([]core.Line, error) {
	if s.copyServes(q) {
		// A read of its own: the memories copy answers if it is loaded
		// and current (memcopy.go).
		if out, ok, err := s.recentLinesCopy(ctx, q, who, limit); ok || err != nil {
			return out, err
		}
	}
	var gen int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'mem_gen'), 0)`).Scan(&gen)
	if err != nil {
		return nil, fmt.Errorf("recent lines for %s: %w", who, err)
	}
	m := s.mem
	key := fmt.Sprintf("%d\x00%d", who, limit)
	v, ok := m.windows.get(key)
	var old *lineWindow
	if ok && v.(*lineWindow).gen == gen {
		old = v.(*lineWindow)
	}
	from := int64(0)
	if old != nil {
		from = old.asOf
	}
	fresh, err := s.linesAfter(ctx, q, who, from, limit)
	if err != nil {
		return nil, fmt.Errorf("recent lines for %s: %w", who, err)
	}
	w := &lineWindow{gen: gen, asOf: from}
	if old != nil {
		w.lines = append(w.lines, old.lines...)
	}
	w.lines = append(w.lines, fresh...)
	if len(w.lines) > limit {
		w.lines = w.lines[len(w.lines)-limit:]
	}
	if n := len(fresh); n > 0 {
		// Every memory up to the newest read was written before it (ids
		// grow with the log): nothing below it can turn up later.
		w.asOf = fresh[n-1].ID
	}
	m.windows.put(key, w)
	return append([]core.Line(nil), w.lines...), nil
}

// recentLinesCopy is recentLines answered by the memories copy; ok is
// false when the copy cannot answer (not loaded, or stale).
func (s *Store) recentLinesCopy(ctx context.Context, q querier, who core.Mask, limit int) (_ []core.Line, ok bool, _ error) {
	var dv int64
	if err := q.QueryRowContext(ctx, dataVersionSQL).Scan(&dv); err != nil {
		return nil, false, fmt.Errorf("recent lines for %s: %w", who, err)
	}
	c := &s.mem.rows
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.usable(dv) {
		return nil, false, nil
	}
	var out []core.Line
	for i := len(c.rows) - 1; i >= 0 && len(out) < limit; i-- {
		m := &c.rows[i]
		if m.episodic() && m.mask&who != 0 {
			out = append(out, core.Line{ID: m.id, Who: c.whoOf(m), Text: c.textOf(m), Mask: m.mask, WorldTime: m.worldTime})
		}
	}
	slices.Reverse(out)
	return out, true, nil
}

// lineWindow is a point of view's last lines (oldest first), as of the
// newest memory asOf, in the memories' generation gen.
type lineWindow struct {
	lines []core.Line
	asOf  int64
	gen   int64
}

// linesAfter reads the last limit lines who heard with an id after from,
// oldest first.
func (s *Store) linesAfter(ctx context.Context, q querier, who core.Mask, from int64, limit int) ([]core.Line, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, who, text, mask, world_time FROM memories
		WHERE kind = ? AND mask & ? <> 0 AND id > ? ORDER BY id DESC LIMIT ?`, KindEpisodic, int64(who), from, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []core.Line
	for rows.Next() {
		var l core.Line
		var mask int64
		if err := rows.Scan(&l.ID, &l.Who, &l.Text, &mask, &l.WorldTime); err != nil {
			return nil, err
		}
		l.Mask = core.Mask(mask)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}
