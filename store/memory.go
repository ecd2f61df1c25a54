package store

import (
	"context"
	"fmt"

	"diorama/core"
)

// Memory is one row of the memories projection: something a set of
// characters remembers.
type Memory struct {
	ID        int64  // the seq of the event it came from
	Kind      string // KindEpisodic, KindSemantic or KindSummary
	Who       string // who said it (episodic) or knows it (semantic)
	Mask      core.Mask
	Text      string
	WorldTime int64 // minutes since the world's start
	Pinned    bool
}

// Memory reports whether memory id exists on the branch the projection
// tables reflect, and who witnessed it. It implements core.MemoryIndex; a
// read error counts as "no such memory".
func (s *Store) Memory(id int64) (core.Mask, bool) {
	var mask int64
	err := s.rdb.QueryRowContext(context.Background(), `SELECT mask FROM memories WHERE id = ?`, id).Scan(&mask)
	if err != nil || mask < 0 || mask > int64(core.MaskAll) {
		return 0, false
	}
	return core.Mask(mask), true
}

// Memories returns the memories whose witness mask shares a bit with who,
// by id.
func (s *Store) Memories(ctx context.Context, who core.Mask) ([]Memory, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, kind, who, mask, text, world_time, pinned FROM memories WHERE mask & ? <> 0 ORDER BY id`, int64(who))
	if err != nil {
		return nil, fmt.Errorf("memories of %s: %w", who, err)
	}
	defer rows.Close()
	var out []Memory
	for rows.Next() {
		var m Memory
		var mask int64
		if err := rows.Scan(&m.ID, &m.Kind, &m.Who, &mask, &m.Text, &m.WorldTime, &m.Pinned); err != nil {
			return nil, fmt.Errorf("memories of %s: %w", who, err)
		}
		m.Mask = core.Mask(mask)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memories of %s: %w", who, err)
	}
	return out, nil
}
