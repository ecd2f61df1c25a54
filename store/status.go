package store

import (
	"context"
	"fmt"
	"unsafe"

	"diorama/core"
)

// MemoryStatus describes the memories projection and its indexes: what
// `diorama status` shows. Unembedded and Unscored are the workers' lag.
type MemoryStatus struct {
	Memories   int            // memories on the branch the projection reflects
	ByKind     map[string]int // by kind: episodic, semantic, summary
	Pinned     int            // pinned by a pin command
	Unembedded int            // not in the vector index yet
	Unscored   int            // without a significance score yet
	IndexModel string         // the embedder the vector index is built with
	IndexRows  int64          // rows of the vector index
	IndexSlots int64          // slots its chunks take (rows, holes and free room)
	Embeddings int            // cached embeddings, every model
	Scores     int            // cached significance scores, every model
	CopyBytes  int64          // about how much memory the in-memory copies of the memories and the vector index hold (0 until loaded)
}

// MemoryStatus reads the state of the memories and their indexes.
func (s *Store) MemoryStatus(ctx context.Context) (MemoryStatus, error) {
	st := MemoryStatus{ByKind: map[string]int{}}
	rows, err := s.rdb.QueryContext(ctx, `SELECT kind, count(*), total(indexed = 0), total(significance IS NULL), total(pinned <> 0)
		FROM memories GROUP BY kind`)
	if err != nil {
		return st, fmt.Errorf("memory status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int
		var unemb, unsc, pinned float64
		if err := rows.Scan(&kind, &n, &unemb, &unsc, &pinned); err != nil {
			return st, fmt.Errorf("memory status: %w", err)
		}
		st.ByKind[kind] = n
		st.Memories += n
		st.Unembedded += int(unemb)
		st.Unscored += int(unsc)
		st.Pinned += int(pinned)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("memory status: %w", err)
	}
	if st.IndexModel, err = s.indexModel(ctx); err != nil {
		return st, err
	}
	if st.IndexRows, st.IndexSlots, err = vecSpace(ctx, s.rdb); err != nil {
		return st, err
	}
	for q, dst := range map[string]*int{`SELECT count(*) FROM embedding_cache`: &st.Embeddings, `SELECT count(*) FROM significance_cache`: &st.Scores} {
		if err := s.rdb.QueryRowContext(ctx, q).Scan(dst); err != nil {
			return st, fmt.Errorf("memory status: %w", err)
		}
	}
	st.CopyBytes = s.copyBytes()
	return st, nil
}

// copyBytes estimates the memory the in-memory copies hold: their slices'
// capacities, strings and maps at their usual cost in the Go runtime.
func (s *Store) copyBytes() int64 {
	const (
		sliceHeader = 24
		stringHead  = 16
		mapEntry    = 48 // a map[string]int32 entry with its share of control words and slack
	)
	var n int64
	c := &s.mem.codes
	c.mu.Lock()
	for _, p := range c.parts {
		n += int64(cap(p)) * int64(unsafe.Sizeof(codeRow{}))
	}
	c.mu.Unlock()
	m := &s.mem.rows
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loaded {
		return n
	}
	n += int64(cap(m.rows))*int64(unsafe.Sizeof(memRow{})) + int64(cap(m.bySig)+cap(m.pins))*4
	for _, ch := range m.chunks {
		n += int64(cap(ch))
	}
	if x := m.words; x != nil {
		for i, w := range x.words {
			n += int64(len(w)) + 2*stringHead + mapEntry + sliceHeader + int64(cap(x.lists[i]))*4
		}
		n += int64(cap(x.sorted)+cap(x.fresh)) * 4
	}
	return n
}

// Significances returns the significance scores (1..10) of the memories who
// witnessed that have one, by memory id.
func (s *Store) Significances(ctx context.Context, who core.Mask) (map[int64]float64, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, significance FROM memories WHERE significance IS NOT NULL AND mask & ? <> 0`, int64(who))
	if err != nil {
		return nil, fmt.Errorf("significance of %s's memories: %w", who, err)
	}
	defer rows.Close()
	out := map[int64]float64{}
	for rows.Next() {
		var id int64
		var v float64
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("significance of %s's memories: %w", who, err)
		}
		out[id] = v
	}
	return out, rows.Err()
}
