package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"

	"diorama/core"
)

// The vector index's codes, in memory. memory_vec (sqlite-vec) is the
// durable index; a KNN through it scans about 40 ns a code and, since every
// commit empties the readers' page cache, reads its chunks again after each
// turn: 4–7 ms at 54k memories, most of a turn's budget. The search itself
// is a few XORs and popcounts a code, so the store keeps a copy of every
// code, grouped by witness mask, and scans that in Go (about 3 ns a code).
//
// The copy follows the index exactly. Every transaction that writes the
// index bumps the meta key vec_gen inside it (wtx.vecAdded, wtx.vecDropped;
// exec does the bump), so a generation names one state of the index in the
// file, whichever process wrote it. This process's writer applies its own
// inserts to the copy as it commits them; a deletion or a reset (a branch
// switch, a rebuild, another embedder) drops the copy, and a search that
// finds the copy older than the file (or dropped) reloads it, in one read
// transaction, before it scans.

// codeWords is a code as 64-bit words.
const codeWords = codeBytes / 8

// codeRow is one memory in the copy.
type codeRow struct {
	id, ep int64 // ep: the memory's id when it is an episodic line, else 0 (see memory_vec)
	code   [codeWords]uint64
}

// codeCopy is the in-memory copy of the vector index.
type codeCopy struct {
	mu     sync.Mutex
	loaded bool
	gen    int64                       // the index's vec_gen the copy reflects
	parts  [core.MaskAll + 1][]codeRow // by witness mask (0 is never used)
	rows   int
}

// vecChange is what a write transaction did to the vector index.
type vecChange struct {
	dropped bool // rows went that the copy cannot follow: it reloads
	cut     bool // the rows of the memories after cutAt went (all when cutAt is 0)
	cutAt   int64
	added   []addedCode // rows inserted (after any cut)
}

// addedCode is a row a transaction inserted, with its witness mask (its
// partition).
type addedCode struct {
	mask core.Mask
	row  codeRow
}

// vecAdded records that the transaction inserted a memory's code into the
// vector index.
func (tx *wtx) vecAdded(id int64, mask core.Mask, ep int64, code []byte) {
	if tx.vec == nil {
		tx.vec = &vecChange{}
	}
	tx.vec.added = append(tx.vec.added, addedCode{mask & core.MaskAll, codeRow{id: id, ep: ep, code: codeOf(code)}})
}

// vecDropped records that the transaction may have deleted rows of the
// vector index.
func (tx *wtx) vecDropped() {
	if tx.vec == nil {
		tx.vec = &vecChange{}
	}
	tx.vec.dropped = true
}

// memoriesDropped records that the transaction deleted the memories after
// at (every memory when at is 0) from the memories projection, and through
// its triggers from both indexes: a branch switch, a rewind, a rebuild.
// Such a transaction may also insert memories older than the newest; a
// plain turn only adds newer ones. exec bumps the meta key mem_gen for it,
// which the lexical cache follows.
func (tx *wtx) memoriesDropped(at int64) {
	tx.codesCut(at)
	tx.memDropped = true
	tx.memOp(func(c *memCopy) { c.cut(at) })
}

// codesCut records that the rows of the memories after at went from the
// vector index (all of them when at is 0); the code copy drops the same.
func (tx *wtx) codesCut(at int64) {
	if tx.vec == nil {
		tx.vec = &vecChange{}
	}
	v := tx.vec
	if !v.cut || at < v.cutAt {
		v.cut, v.cutAt = true, at
	}
	// Rows this transaction added before the cut went with it.
	v.added = slices.DeleteFunc(v.added, func(a addedCode) bool { return a.row.id > at })
}

// bumpMemGen advances mem_gen inside the transaction.
func bumpMemGen(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ('mem_gen', '1')
		ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`)
	if err != nil {
		return fmt.Errorf("advance the memories generation: %w", err)
	}
	return nil
}

// bumpVecGen advances vec_gen inside the transaction and returns the new
// generation.
func bumpVecGen(ctx context.Context, tx *sql.Tx) (int64, error) {
	var gen int64
	err := tx.QueryRowContext(ctx, `INSERT INTO meta(key, value) VALUES ('vec_gen', '1')
		ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) RETURNING CAST(value AS INTEGER)`).Scan(&gen)
	if err != nil {
		return 0, fmt.Errorf("advance the vector index generation: %w", err)
	}
	return gen, nil
}

// committed applies a committed change to the copy; gen is the generation
// the transaction wrote. The caller holds c.mu.
func (c *codeCopy) committed(gen int64, ch *vecChange) {
	if !c.loaded || ch.dropped || c.gen != gen-1 {
		// Another process wrote in between, or rows went the copy cannot
		// follow: reload on the next search.
		c.drop()
		return
	}
	if ch.cut {
		c.rows = 0
		for m := range c.parts {
			c.parts[m] = slices.DeleteFunc(c.parts[m], func(r codeRow) bool { return r.id > ch.cutAt })
			c.rows += len(c.parts[m])
		}
	}
	for _, a := range ch.added {
		if a.mask == 0 {
			continue
		}
		c.parts[a.mask] = append(c.parts[a.mask], a.row)
		c.rows++
	}
	c.gen = gen
}

// drop empties the copy; the next search reloads it.
func (c *codeCopy) drop() {
	c.loaded, c.gen, c.rows = false, 0, 0
	for i := range c.parts {
		c.parts[i] = nil
	}
}

// codeOf converts a 48-byte code to words.
func codeOf(b []byte) [codeWords]uint64 {
	var w [codeWords]uint64
	for i := range w {
		if len(b) >= (i+1)*8 {
			w[i] = binary.LittleEndian.Uint64(b[i*8:])
		}
	}
	return w
}

// load reads the whole index and its generation in one read transaction.
// The caller holds c.mu.
func (c *codeCopy) load(ctx context.Context, db *sql.DB) error {
	c.drop()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("load the vector index: %w", err)
	}
	defer tx.Rollback()
	var gen int64
	err = tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'vec_gen'`).Scan(&gen)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load the vector index: %w", err)
	}
	parts, n, err := readChunks(ctx, tx)
	if err != nil {
		// Not the storage this build knows (another sqlite-vec): the
		// same rows through the virtual table, slowly.
		if parts, n, err = readRows(ctx, tx); err != nil {
			return fmt.Errorf("load the vector index: %w", err)
		}
	}
	c.parts, c.rows, c.gen, c.loaded = parts, n, gen, true
	return nil
}

// readChunks reads the codes straight from the chunks sqlite-vec 0.1.6
// stores them in (about 60 rows for 54k memories, against 0.6 s for a scan
// of the virtual table, which reads a chunk for every row): per chunk its
// partition (the witness bits), a validity bitmap, the rowids, the codes
// and the ep column, 1024 slots each. Anything not as expected is an error,
// and the caller falls back to the virtual table.
func readChunks(ctx context.Context, tx *sql.Tx) (parts [core.MaskAll + 1][]codeRow, n int, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.size, c.partition00, c.partition01, c.partition02, c.validity, c.rowids, v.vectors, m.data
		FROM memory_vec_chunks c
		JOIN memory_vec_vector_chunks00 v ON v.rowid = c.chunk_id
		JOIN memory_vec_metadatachunks00 m ON m.rowid = c.chunk_id`)
	if err != nil {
		return parts, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var size, w0, w1, w2 int64
		var valid, ids, codes, eps []byte
		if err := rows.Scan(&size, &w0, &w1, &w2, &valid, &ids, &codes, &eps); err != nil {
			return parts, 0, err
		}
		if size <= 0 || int64(len(valid)) != (size+7)/8 || int64(len(ids)) != size*8 || int64(len(codes)) != size*codeBytes || int64(len(eps)) != size*8 {
			return parts, 0, fmt.Errorf("a chunk of %d slots has a %d-byte bitmap, %d bytes of rowids, %d of codes and %d of ep", size, len(valid), len(ids), len(codes), len(eps))
		}
		m := core.Mask(w0&1) | core.Mask(w1&1)<<1 | core.Mask(w2&1)<<2
		for i := range int(size) {
			if valid[i/8]&(1<<(i%8)) == 0 {
				continue
			}
			r := codeRow{
				id:   int64(binary.LittleEndian.Uint64(ids[i*8:])),
				ep:   int64(binary.LittleEndian.Uint64(eps[i*8:])),
				code: codeOf(codes[i*codeBytes : (i+1)*codeBytes]),
			}
			if m != 0 {
				parts[m] = append(parts[m], r)
			}
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return parts, 0, err
	}
	var want int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memory_vec_rowids`).Scan(&want); err != nil {
		return parts, 0, err
	}
	if n != want {
		return parts, 0, fmt.Errorf("the chunks hold %d codes, the index %d rows", n, want)
	}
	return parts, n, nil
}

// readRows reads the codes through the virtual table, one row at a time.
func readRows(ctx context.Context, tx *sql.Tx) (parts [core.MaskAll + 1][]codeRow, n int, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT rowid, w0, w1, w2, ep, code FROM memory_vec`)
	if err != nil {
		return parts, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var r codeRow
		var w0, w1, w2 int64
		var code []byte
		if err := rows.Scan(&r.id, &w0, &w1, &w2, &r.ep, &code); err != nil {
			return parts, 0, err
		}
		if len(code) != codeBytes {
			return parts, 0, fmt.Errorf("memory %d has a %d-byte code, want %d", r.id, len(code), codeBytes)
		}
		r.code = codeOf(code)
		if m := core.Mask(w0&1) | core.Mask(w1&1)<<1 | core.Mask(w2&1)<<2; m != 0 {
			parts[m] = append(parts[m], r)
		}
		n++
	}
	return parts, n, rows.Err()
}

// warmCodes loads the code copy if it is not loaded.
func (s *Store) warmCodes(ctx context.Context) error {
	c := &s.mem.codes
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return nil
	}
	return c.load(ctx, s.rdb)
}

// nearest returns the k codes nearest to code (Hamming distance, ties to
// the newer memory) among the memories who witnessed whose ep is at most
// cutoff, from the copy as of generation gen or later (reloading it when
// it is older).
func (s *Store) nearest(ctx context.Context, gen int64, who core.Mask, code []byte, k int, cutoff int64) ([]vecHit, error) {
	c := &s.mem.codes
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded || c.gen < gen {
		if err := c.load(ctx, s.rdb); err != nil {
			return nil, err
		}
	}
	q := codeOf(code)
	best := make([]vecHit, 0, k+1)
	worst := codeBits + 1 // the distance a code must beat once best is full
	for m := core.Mask(1); m <= core.MaskAll; m++ {
		if m&who == 0 {
			continue
		}
		for i := range c.parts[m] {
			r := &c.parts[m][i]
			d := 0
			for w := range q {
				d += bits.OnesCount64(q[w] ^ r.code[w])
			}
			if d > worst || r.ep > cutoff {
				continue
			}
			h := vecHit{id: r.id, dist: float64(d)}
			if len(best) == k && !closer(h, best[k-1]) {
				continue
			}
			at, _ := slices.BinarySearchFunc(best, h, compareHits)
			best = slices.Insert(best, at, h)
			if len(best) > k {
				best = best[:k]
			}
			if len(best) == k {
				worst = int(best[k-1].dist)
			}
		}
	}
	return best, nil
}

// compareHits orders hits nearest first, ties to the newer memory.
func compareHits(a, b vecHit) int {
	if c := cmp.Compare(a.dist, b.dist); c != 0 {
		return c
	}
	return cmp.Compare(b.id, a.id)
}

// closer reports whether a ranks before b.
func closer(a, b vecHit) bool { return compareHits(a, b) < 0 }
