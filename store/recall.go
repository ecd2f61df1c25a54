package store

import (
	"context"
	"fmt"

	"diorama/core"
)

var _ core.Recall = (*Store)(nil)

// RecentLines returns the last limit lines whose witness mask shares a bit
// with who, oldest first. The mask test is part of the query, so a
// character who heard little still gets its limit of lines. It reads
// backwards along the memories' primary key and stops at limit: the cost
// does not grow with the length of the story.
func (s *Store) RecentLines(ctx context.Context, who core.Mask, limit int) ([]core.Line, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, who, text, mask, world_time FROM memories
		WHERE kind = ? AND mask & ? <> 0 ORDER BY id DESC LIMIT ?`, KindEpisodic, int64(who), limit)
	if err != nil {
		return nil, fmt.Errorf("recent lines for %s: %w", who, err)
	}
	defer rows.Close()
	var out []core.Line
	for rows.Next() {
		var l core.Line
		var mask int64
		if err := rows.Scan(&l.ID, &l.Who, &l.Text, &mask, &l.WorldTime); err != nil {
			return nil, fmt.Errorf("recent lines for %s: %w", who, err)
		}
		l.Mask = core.Mask(mask)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent lines for %s: %w", who, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Recall returns up to k memories for who beyond the recent lines: pinned
// memories first, then the facts it holds, newest first. Ranking by the
// query (vector and lexical similarity, recency decay, significance) comes
// with long-term memory; the witness filter is in the query either way, and
// both reads walk an index backwards and stop at k.
func (s *Store) Recall(ctx context.Context, who core.Mask, query string, k int) ([]core.Recalled, error) {
	var out []core.Recalled
	seen := map[int64]bool{}
	read := func(q string, args ...any) error {
		rows, err := s.rdb.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("recall for %s: %w", who, err)
		}
		defer rows.Close()
		for rows.Next() {
			var m core.Recalled
			var mask int64
			if err := rows.Scan(&m.ID, &m.Kind, &m.Text, &mask, &m.Pinned); err != nil {
				return fmt.Errorf("recall for %s: %w", who, err)
			}
			if seen[m.ID] || len(out) >= k {
				continue
			}
			seen[m.ID] = true
			m.Mask = core.Mask(mask)
			m.Score, m.Parts = 0.5, map[string]float64{"recency": 0.5}
			if m.Pinned {
				m.Score, m.Parts = 1, map[string]float64{"pinned": 1}
			}
			out = append(out, m)
		}
		return rows.Err()
	}
	const cols = `SELECT id, kind, text, mask, pinned FROM memories `
	if err := read(cols+`INDEXED BY memories_pinned WHERE pinned <> 0 AND mask & ? <> 0 ORDER BY id DESC LIMIT ?`, int64(who), k); err != nil {
		return nil, err
	}
	for _, kind := range []string{KindSummary, KindSemantic} {
		if err := read(cols+`WHERE kind = ? AND mask & ? <> 0 ORDER BY id DESC LIMIT ?`, kind, int64(who), k); err != nil {
			return nil, err
		}
	}
	return out, nil
}
