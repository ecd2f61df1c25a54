package store

import (
	"context"
	"fmt"

	"diorama/core"
)

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
