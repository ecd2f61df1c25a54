package store

import (
	"context"
	"fmt"
	"slices"

	"diorama/core"
)

// NearestCodes exposes the in-memory code search to the external tests:
// the ids nearest to code and their distances, from the copy as of the
// file's current generation.
func (s *Store) NearestCodes(ctx context.Context, who core.Mask, code []byte, k int, cutoff int64) (ids []int64, dists []float64, err error) {
	var gen int64
	_ = s.rdb.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'vec_gen'`).Scan(&gen)
	hits, err := s.nearest(ctx, gen, who, code, k, cutoff)
	for _, h := range hits {
		ids = append(ids, h.id)
		dists = append(dists, h.dist)
	}
	return ids, dists, err
}

// SignCode exposes the sign code of a vector.
func SignCode(v []float32) []byte { return signCode(v) }

// CodesInChunks reads the vector index's chunks as the code copy loads
// them (without the fallback) and returns how many codes they hold.
func (s *Store) CodesInChunks(ctx context.Context) (int, error) {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	_, n, err := readChunks(ctx, tx)
	return n, err
}

// CommitsSinceCheckpoint exposes the count checkpointIfDue goes by.
func (s *Store) CommitsSinceCheckpoint() int64 { return s.commits.Load() }

// ReadBySQL makes the store answer every read with SQL (on) or let the
// memories copy answer the reads it can (off, the default): the tests hold
// the two to the same answers.
func (s *Store) ReadBySQL(on bool) { s.readsBySQL.Store(on) }

// SetBigMemoryChange sets how many memory rows a transaction may insert
// and still have the memories copy follow it, and returns the old value.
func SetBigMemoryChange(n int) int {
	old := bigMemoryChange
	bigMemoryChange = n
	return old
}

// MemoryCopyLoaded reports whether the memories copy is loaded.
func (s *Store) MemoryCopyLoaded() bool {
	c := &s.mem.rows
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loaded
}

// MemoryCopyLoads returns how many times the memories copy was read from
// the file.
func (s *Store) MemoryCopyLoads() int {
	c := &s.mem.rows
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loads
}

// CheckMemoryCopy compares the memories copy, as the writer kept it, with
// a copy loaded from the file now: every row, the counts and the word and
// significance indexes. An unloaded copy passes.
func (s *Store) CheckMemoryCopy(ctx context.Context) error {
	c := &s.mem.rows
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		return nil
	}
	var f memCopy
	if err := f.load(ctx, s.rdb, 0); err != nil {
		return err
	}
	switch {
	case len(f.rows) != len(c.rows):
		return fmt.Errorf("the copy holds %d rows, the file %d", len(c.rows), len(f.rows))
	case f.foreign != c.foreign || f.unindexed != c.unindexed:
		return fmt.Errorf("the copy counts %d foreign and %d unindexed rows, the file %d and %d", c.foreign, c.unindexed, f.foreign, f.unindexed)
	}
	for i := range f.rows {
		cr, fr := c.rows[i], f.rows[i]
		cs := [3]string{c.kindOf(&cr), c.whoOf(&cr), c.textOf(&cr)}
		fs := [3]string{f.kindOf(&fr), f.whoOf(&fr), f.textOf(&fr)}
		cr.kind, cr.who, cr.text, fr.kind, fr.who, fr.text = 0, 0, textRef{}, 0, 0, textRef{}
		if cr != fr || cs != fs {
			return fmt.Errorf("row %d: the copy holds %+v %q, the file %+v %q", i, cr, cs, fr, fs)
		}
	}
	if !slices.Equal(c.pinned(), f.pinned()) {
		return fmt.Errorf("pinned rows: the copy %v, the file %v", c.pinned(), f.pinned())
	}
	if !slices.Equal(c.bySig, f.bySig) {
		return fmt.Errorf("rows by significance: the copy %v, the file %v", c.bySig, f.bySig)
	}
	for _, x := range []*wordIndex{c.words, f.words} {
		for _, w := range x.words {
			if !slices.Equal(c.words.rows(w), f.words.rows(w)) {
				return fmt.Errorf("word %q: the copy lists rows %v, the file %v", w, c.words.rows(w), f.words.rows(w))
			}
		}
	}
	return nil
}

// SetBulkVecDrop sets the fewest indexed memories a deletion takes out
// for the vector index to be rebuilt with the rows that stay, and returns
// the old value.
func SetBulkVecDrop(n int) int {
	old := bulkVecDrop
	bulkVecDrop = n
	return old
}

// VectorRows reads the vector index's rows from its chunks: for each
// memory, its witness mask, ep and code, as one comparable string.
func (s *Store) VectorRows(ctx context.Context) (map[int64]string, error) {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	parts, _, err := readChunks(ctx, tx)
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	for m, rows := range parts {
		for _, r := range rows {
			out[r.id] = fmt.Sprint(m, r.ep, r.code)
		}
	}
	return out, nil
}

// TriggerSQL returns the SQL of a trigger as the file holds it.
func (s *Store) TriggerSQL(ctx context.Context, name string) (string, error) {
	var q string
	err := s.rdb.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?`, name).Scan(&q)
	return q, err
}

// CountBulkVecDrops counts, until the returned stop is called, the
// deletions that rebuilt the vector index with the rows that stay.
func CountBulkVecDrops() (n *int, stop func()) {
	n = new(int)
	testHookBulkVecDrop = func() { *n++ }
	return n, func() { testHookBulkVecDrop = nil }
}

// rows returns the rows the word index lists under word w.
func (x *wordIndex) rows(w string) []int32 {
	if n, ok := x.ids[w]; ok {
		return x.lists[n]
	}
	return nil
}
