package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"diorama/core"
)

// vecTableSQL re-creates the vector index (as migration 0003 creates it)
// when it is emptied: for another embedder, or to reclaim the space deleted
// rows leave behind (sqlite-vec 0.1.6 does not reuse it).
const vecTableSQL = `CREATE VIRTUAL TABLE memory_vec USING vec0(
	w0 integer partition key,
	w1 integer partition key,
	w2 integer partition key,
	code bit[384],
	ep integer
)`

// vecChunkSize is sqlite-vec's default chunk size: rows per chunk.
const vecChunkSize = 1024

// indexModel returns the embedder model the vector index holds the codes
// of ("" before the first embedding).
func (s *Store) indexModel(ctx context.Context) (string, error) {
	var v string
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'vec_model'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the vector index's model: %w", err)
	}
	return v, nil
}

// useIndexModel makes model the vector index's model. An index holding
// another model's codes is emptied, to be filled again by the embedding
// worker.
func (s *Store) useIndexModel(ctx context.Context, model string) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'vec_model'`).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur == model {
			return nil
		}
		if cur == "" {
			// Nothing indexed yet: the embedding worker names the model
			// with its first rows (opening a save writes nothing).
			return nil
		}
		if err := resetVectorIndex(ctx, tx); err != nil {
			return err
		}
		return setMeta(ctx, tx, "vec_model", model)
	})
	if err != nil {
		return fmt.Errorf("switch the vector index to %s: %w", model, err)
	}
	return nil
}

// vecDeleteTriggerSQL is the trigger that takes a memory leaving the
// projection out of the vector index (as migration 0003 creates it).
const vecDeleteTriggerSQL = `CREATE TRIGGER memories_vec_delete AFTER DELETE ON memories WHEN old.indexed <> 0 BEGIN
	DELETE FROM memory_vec WHERE rowid = old.id;
END`

// bulkVecDrop is the fewest indexed memories a deletion takes out of the
// vector index for dropMemories to rebuild the index with the rows that
// stay, rather than delete the others one by one through the trigger
// (about 5 µs each: a quarter of a second for an early surgical delete in
// a 100k-event story).
var bulkVecDrop = 2048 // a variable for the tests

// testHookBulkVecDrop, when set (tests), is called when dropMemories
// rebuilds the vector index.
var testHookBulkVecDrop func()

// dropMemories deletes the memories after at (every memory when at is 0)
// from the projection, and through the triggers from both indexes: a
// rewind, a branch switch, a surgical delete, a rebuild. When that takes
// many memories out of the vector index and leaves fewer, the index is
// rebuilt with the rows that stay instead (read from its chunks, which
// the in-memory code copy also loads from): same rows, no per-row delete.
func dropMemories(ctx context.Context, tx *wtx, at int64) error {
	// Counted along the primary key: a rewind's few rows cost nothing.
	var gone, kept int64
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memories WHERE id > ? AND indexed <> 0`, at).Scan(&gone)
	if err == nil && gone >= int64(bulkVecDrop) {
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM memories WHERE id <= ? AND indexed <> 0`, at).Scan(&kept)
	}
	if err != nil {
		return fmt.Errorf("drop memories after %d: %w", at, err)
	}
	var keep []addedCode
	bulk := gone >= int64(bulkVecDrop) && gone > kept
	if bulk {
		parts, _, err := readChunks(ctx, tx.Tx)
		if err != nil {
			bulk = false // not the storage this build knows: the trigger does it
		}
		for m, rows := range parts {
			for _, r := range rows {
				if r.id <= at {
					keep = append(keep, addedCode{mask: core.Mask(m), row: r})
				}
			}
		}
		if bulk && int64(len(keep)) != kept {
			bulk = false // the index does not hold what the table says: leave it to the trigger
		}
	}
	if bulk {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER memories_vec_delete`); err != nil {
			return fmt.Errorf("drop memories after %d: %w", at, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM memories WHERE id > ?`, at); err != nil {
		return fmt.Errorf("drop memories after %d: %w", at, err)
	}
	tx.memoriesDropped(at)
	if !bulk {
		return nil
	}
	for _, q := range []string{`DROP TABLE memory_vec`, vecTableSQL, vecDeleteTriggerSQL} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("drop memories after %d: rebuild the vector index: %w", at, err)
		}
	}
	slices.SortFunc(keep, func(a, b addedCode) int { return cmp.Compare(a.row.id, b.row.id) })
	for _, k := range keep {
		code := make([]byte, codeBytes)
		for i, w := range k.row.code {
			binary.LittleEndian.PutUint64(code[i*8:], w)
		}
		if err := insertVecRow(ctx, tx, k.row.id, k.mask, k.row.ep, code); err != nil {
			return fmt.Errorf("drop memories after %d: rebuild the vector index: %w", at, err)
		}
	}
	// The code copy follows by the cut memoriesDropped recorded: the rows
	// that stay are the ones it keeps.
	if testHookBulkVecDrop != nil {
		testHookBulkVecDrop()
	}
	return nil
}

// resetVectorIndex empties the vector index: a fresh table, every memory
// marked as not indexed.
func resetVectorIndex(ctx context.Context, tx *wtx) error {
	for _, q := range []string{`DROP TABLE memory_vec`, vecTableSQL, `UPDATE memories SET indexed = 0 WHERE indexed <> 0`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reset the vector index: %w", err)
		}
	}
	tx.codesCut(0)
	tx.memIndexCleared()
	return nil
}

// ResetIndex empties the vector index and drops every significance score
// from the projection (not from the caches): the workers derive both again,
// from the caches where they can. For a damaged index, or to measure how
// fast the workers catch up.
func (s *Store) ResetIndex(ctx context.Context) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if err := resetVectorIndex(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE memories SET significance = NULL WHERE significance IS NOT NULL`); err != nil {
			return err
		}
		tx.memScoresCleared()
		return nil
	})
	if err != nil {
		return fmt.Errorf("reset memory index: %w", err)
	}
	return nil
}

// pending is a memory a worker has to process.
type pending struct {
	id   int64
	text string
	hash []byte
}

// unindexed returns up to n memories not in the vector index yet, newest
// first (the ones the current scene is most likely to need).
func (s *Store) unindexed(ctx context.Context, n int) ([]pending, error) {
	return s.pendingRows(ctx, `SELECT id, text FROM memories INDEXED BY memories_unindexed WHERE indexed = 0 ORDER BY id DESC LIMIT ?`, n)
}

// unscored returns up to n memories without a significance score, newest
// first.
func (s *Store) unscored(ctx context.Context, n int) ([]pending, error) {
	return s.pendingRows(ctx, `SELECT id, text FROM memories INDEXED BY memories_unscored WHERE significance IS NULL ORDER BY id DESC LIMIT ?`, n)
}

func (s *Store) pendingRows(ctx context.Context, q string, n int) ([]pending, error) {
	rows, err := s.rdb.QueryContext(ctx, q, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.id, &p.text); err != nil {
			return nil, err
		}
		p.hash = contentHash(p.text)
		out = append(out, p)
	}
	return out, rows.Err()
}

// cachedEmbedding is a row of embedding_cache.
type cachedEmbedding struct {
	dims int
	vec  []byte // quantised
	code []byte
}

// cachedEmbeddings returns the cached embeddings of hashes under model.
func (s *Store) cachedEmbeddings(ctx context.Context, model string, hashes [][]byte) (map[string]cachedEmbedding, error) {
	out := map[string]cachedEmbedding{}
	for len(hashes) > 0 {
		n := min(len(hashes), batchRows)
		args := make([]any, 0, n+1)
		args = append(args, model)
		for _, h := range hashes[:n] {
			args = append(args, h)
		}
		rows, err := s.rdb.QueryContext(ctx, `SELECT hash, dims, vec, code FROM embedding_cache WHERE model = ? AND hash IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var h []byte
			var c cachedEmbedding
			if err := rows.Scan(&h, &c.dims, &c.vec, &c.code); err != nil {
				rows.Close()
				return nil, err
			}
			if len(c.code) == codeBytes {
				out[string(h)] = c
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		hashes = hashes[n:]
	}
	return out, nil
}

// cachedScores returns the cached significance scores of hashes under model.
func (s *Store) cachedScores(ctx context.Context, model string, hashes [][]byte) (map[string]float64, error) {
	out := map[string]float64{}
	for len(hashes) > 0 {
		n := min(len(hashes), batchRows)
		args := make([]any, 0, n+1)
		args = append(args, model)
		for _, h := range hashes[:n] {
			args = append(args, h)
		}
		rows, err := s.rdb.QueryContext(ctx, `SELECT hash, score FROM significance_cache WHERE model = ? AND hash IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var h []byte
			var v float64
			if err := rows.Scan(&h, &v); err != nil {
				rows.Close()
				return nil, err
			}
			out[string(h)] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		hashes = hashes[n:]
	}
	return out, nil
}

// embedded is a memory's embedding, ready to index.
type embedded struct {
	id    int64
	hash  []byte
	fresh bool // not in the cache yet
	emb   cachedEmbedding
}

// errIndexModelChanged: the index switched to another embedder while a
// worker was computing; its batch is dropped.
var errIndexModelChanged = errors.New("the vector index switched to another embedder")

// indexEmbeddings caches the fresh embeddings and adds every memory still
// in the projection and not indexed yet to the vector index, in one write.
// It returns how many memories it indexed.
func (s *Store) indexEmbeddings(ctx context.Context, model string, items []embedded) (int, error) {
	n := 0
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		n = 0
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT value FROM meta WHERE key = 'vec_model'), '')`).Scan(&cur); err != nil {
			return err
		}
		switch cur {
		case model:
		case "":
			if err := setMeta(ctx, tx, "vec_model", model); err != nil {
				return err
			}
		default:
			return errIndexModelChanged
		}
		for _, it := range items {
			if !it.fresh {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO embedding_cache(model, hash, dims, vec, code) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT(model, hash) DO NOTHING`, model, it.hash, it.emb.dims, it.emb.vec, it.emb.code); err != nil {
				return fmt.Errorf("cache embedding: %w", err)
			}
		}
		ids := make([]any, len(items))
		byID := map[int64]*embedded{}
		for i := range items {
			ids[i] = items[i].id
			byID[items[i].id] = &items[i]
		}
		type row struct {
			id   int64
			mask core.Mask
			ep   int64
		}
		var todo []row
		rows, err := tx.QueryContext(ctx, `SELECT id, mask, kind FROM memories WHERE indexed = 0 AND id IN (`+placeholders(len(ids))+`)`, ids...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, mask int64
			var kind string
			if err := rows.Scan(&id, &mask, &kind); err != nil {
				rows.Close()
				return err
			}
			r := row{id: id, mask: core.Mask(mask)}
			if kind == KindEpisodic {
				r.ep = id
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range todo {
			// A memory witnessed by nobody cannot be recalled: nothing to
			// index, but it is done.
			if r.mask&core.MaskAll != 0 {
				if err := insertVec(ctx, tx, r.id, r.mask, r.ep, byID[r.id].emb.code); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE memories SET indexed = 1 WHERE id = ?`, r.id); err != nil {
				return err
			}
			tx.memIndexed(r.id)
			n++
		}
		return nil
	})
	return n, err
}

const insertVecSQL = `INSERT INTO memory_vec(rowid, w0, w1, w2, code, ep) VALUES (?, ?, ?, ?, vec_bit(?), ?)`

// insertVec adds one memory to the vector index. A row left behind for the
// id (which the triggers should make impossible) is replaced: sqlite-vec
// 0.1.6 has no INSERT OR REPLACE.
func insertVec(ctx context.Context, tx *wtx, id int64, mask core.Mask, ep int64, code []byte) error {
	if err := insertVecRow(ctx, tx, id, mask, ep, code); err != nil {
		return err
	}
	tx.vecAdded(id, mask, ep, code)
	return nil
}

// insertVecRow is insertVec without telling the code copy.
func insertVecRow(ctx context.Context, tx *wtx, id int64, mask core.Mask, ep int64, code []byte) error {
	args := []any{id, b2i(mask.Has(0)), b2i(mask.Has(1)), b2i(mask.Has(2)), code, ep}
	_, err := tx.ExecContext(ctx, insertVecSQL, args...)
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		if _, derr := tx.ExecContext(ctx, `DELETE FROM memory_vec WHERE rowid = ?`, id); derr != nil {
			return fmt.Errorf("index memory %d: %w", id, derr)
		}
		tx.vecDropped()
		_, err = tx.ExecContext(ctx, insertVecSQL, args...)
	}
	if err != nil {
		return fmt.Errorf("index memory %d: %w", id, err)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scored is a memory's significance, ready to write.
type scored struct {
	id     int64
	hash   []byte
	value  float64
	source string
	fresh  bool
}

// storeScores caches the fresh scores and sets the significance of the
// memories still in the projection without one, in one write.
func (s *Store) storeScores(ctx context.Context, model string, items []scored) (int, error) {
	n := 0
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		n = 0
		for _, it := range items {
			if it.fresh {
				if _, err := tx.ExecContext(ctx, `INSERT INTO significance_cache(model, hash, score, source) VALUES (?, ?, ?, ?)
					ON CONFLICT(model, hash) DO UPDATE SET score = excluded.score, source = excluded.source`,
					model, it.hash, it.value, it.source); err != nil {
					return fmt.Errorf("cache significance: %w", err)
				}
			}
			res, err := tx.ExecContext(ctx, `UPDATE memories SET significance = ? WHERE id = ? AND significance IS NULL`, it.value, it.id)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k > 0 {
				n++
				tx.memScored(it.id, it.value)
			}
		}
		return nil
	})
	return n, err
}

// vecSpace returns the rows the vector index holds and the slots its chunks
// take (live rows, deleted rows not reclaimed, and free room at the end of
// each partition's last chunk). It reads sqlite-vec 0.1.6's shadow tables.
func vecSpace(ctx context.Context, q querier) (rows, slots int64, err error) {
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM memory_vec_rowids`).Scan(&rows); err != nil {
		return 0, 0, fmt.Errorf("count vector rows: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT count(*) * ? FROM memory_vec_chunks`, vecChunkSize).Scan(&slots); err != nil {
		return 0, 0, fmt.Errorf("count vector chunks: %w", err)
	}
	return rows, slots, nil
}

// compactThreshold: the vector index is rebuilt when the slots its deleted
// rows leave behind outnumber its live rows (and are more than this).
const compactThreshold = 8 * vecChunkSize

// compactIfStale rebuilds the vector index when deleted rows (branch
// switches, rebuilds) have left it mostly holes: sqlite-vec scans them on
// every search. It reports whether it did; the embedding worker then fills
// the new index from the cache.
func (s *Store) compactIfStale(ctx context.Context) (bool, error) {
	rows, slots, err := vecSpace(ctx, s.rdb)
	if err != nil {
		return false, err
	}
	// Each of the 7 partitions may have one partly filled last chunk.
	dead := slots - rows - 7*vecChunkSize
	if dead < compactThreshold || dead < rows {
		return false, nil
	}
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error { return resetVectorIndex(ctx, tx) })
	if err != nil {
		return false, fmt.Errorf("compact the vector index: %w", err)
	}
	return true, nil
}
