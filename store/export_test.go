package store

import (
	"context"

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
