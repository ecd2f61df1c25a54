package store

import (
	"cmp"
	"container/list"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"diorama/core"
)

// The candidates of a retrieval: from the vector index, the lexical index
// and the pinned, significant, newest and not yet embedded memories; and
// the small caches that keep a turn's second bot from redoing the first
// one's work.

// vectorCandidates runs the KNN over sign codes in each partition of the
// vector index who witnessed (a partition per witness mask: the three
// witness bits are its partition keys), so the search reads only what who
// witnessed and k results come back however little that is; ep leaves out
// the lines the prompt carries. The partitions are searched on two
// connections at once (sqlite-vec's scan is single-threaded, a turn leaves
// the second core idle) and their top k merged: the top k of the union.
func (r *retrieval) vectorCandidates(query string, code []byte) error {
	k := vectorCandidates * r.k
	cutoff := r.cutoff
	if cutoff == math.MaxInt64 {
		cutoff = math.MaxInt64 - 1
	}
	var masks []core.Mask
	for m := core.Mask(1); m <= core.MaskAll; m++ {
		if m&r.who != 0 {
			masks = append(masks, m)
		}
	}
	results := make([][]vecHit, len(masks))
	errs := make([]error, len(masks))
	// A partition searched moments ago for the same line, against the
	// same index, is not searched again: the bots answering one line share
	// the partitions of what they all heard. (Each weighs the line's words
	// by its own memories, so their codes differ a little; the candidates
	// of the first serve both, and each scores them with its own vector.)
	keys := make([]string, len(masks))
	next := make(chan int, len(masks))
	for i, m := range masks {
		keys[i] = fmt.Sprintf("%s\x00%s\x00%d|%d|%d|%d|%d|%d", r.emb.Model(), query, m, k, cutoff, r.maxID, r.head, r.s.mem.vecGen.Load())
		if hs, ok := r.s.mem.vecCache.get(keys[i]); ok {
			results[i] = hs
			continue
		}
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(vecParallel, len(masks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m := masks[i]
				rows, err := r.s.rdb.QueryContext(r.ctx, `SELECT rowid, distance FROM memory_vec
					WHERE code MATCH vec_bit(?) AND k = ? AND w0 = ? AND w1 = ? AND w2 = ? AND ep <= ?`,
					code, k, b2i(m.Has(0)), b2i(m.Has(1)), b2i(m.Has(2)), cutoff)
				if err != nil {
					errs[i] = err
					return
				}
				for rows.Next() {
					var h vecHit
					if err := rows.Scan(&h.id, &h.dist); err != nil {
						errs[i] = err
						break
					}
					results[i] = append(results[i], h)
				}
				rows.Close()
				if err := rows.Err(); err != nil && errs[i] == nil {
					errs[i] = err
				}
				if errs[i] == nil {
					r.s.mem.vecCache.put(keys[i], results[i])
				}
			}
		}()
	}
	wg.Wait()
	var all []vecHit
	for i := range masks {
		if errs[i] != nil {
			return fmt.Errorf("vector search: %w", errs[i])
		}
		all = append(all, results[i]...)
	}
	slices.SortFunc(all, func(a, b vecHit) int {
		if c := cmp.Compare(a.dist, b.dist); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	for i, h := range all {
		if i >= k {
			break
		}
		r.add(h.id).fromVec = true
	}
	return nil
}

// vecHit is a row of a KNN over sign codes: a memory and its Hamming
// distance to the query.
type vecHit struct {
	id   int64
	dist float64
}

// vecCache keeps the KNN results of the last few partition searches, for a
// second: long enough for every bot answering a line, short enough that
// nothing lingers. Its keys name everything a result depends on: the
// query's code, the partition, k, the history cutoff, the newest memory,
// the projection's head, and the vector index's generation (bumped after
// every write to it by this store).
type vecCache struct {
	mu      sync.Mutex
	entries map[string]vecEntry
}

type vecEntry struct {
	hits []vecHit
	at   time.Time
}

const vecCacheTTL = time.Second

func (c *vecCache) get(key string) ([]vecHit, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || time.Since(e.at) > vecCacheTTL {
		return nil, false
	}
	return e.hits, true
}

func (c *vecCache) put(key string, hits []vecHit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) > 64 {
		// Old entries are useless: start over rather than track ages.
		c.entries = map[string]vecEntry{}
	}
	c.entries[key] = vecEntry{hits: hits, at: time.Now()}
}

// vecParallel is how many partitions of the vector index are searched at
// once.
const vecParallel = 2

// lexicalCandidates looks each query word up in the lexical index, within
// who's memories, and keeps the candidates matching the most (and rarest)
// words. It returns each word's idf.
func (r *retrieval) lexicalCandidates(terms []string) (map[string]float64, error) {
	idf := map[string]float64{}
	if len(terms) == 0 {
		return idf, nil
	}
	n, err := r.s.memoryCount(r.ctx, r.maxID)
	if err != nil {
		return nil, err
	}
	wm := witnessMatch(r.who)
	hits := map[int64]float64{}
	// A word in more than this many memories is common: 256, or one
	// memory in 16 in a young story (where "Mara" is in every other line).
	common := min(commonTerm, max(32, int(n/16)))
	for _, t := range terms {
		if df, ok := r.s.knownCommon(t, n); ok {
			// A word known to be common: its idf is known, and it picks
			// no candidates.
			idf[t] = math.Log(1 + float64(n)/float64(max(df, 1)))
			continue
		}
		// who's memories holding the word, newest first: one more than a
		// common word may have.
		rows, err := r.s.rdb.QueryContext(r.ctx, `SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rowid DESC LIMIT ?`,
			wm+" AND text : "+ftsPrefix(t), common+1)
		if err != nil {
			return nil, fmt.Errorf("lexical search: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("lexical search: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("lexical search: %w", err)
		}
		df := len(ids)
		switch {
		case df == 0:
			// In none of who's memories: nothing to find by it, but the
			// query still asks about it, so it weighs as the rarest word
			// (a memory matching only the query's other words is a
			// partial match).
			idf[t] = math.Log(1 + float64(n))
			continue
		case df > common:
			// A common word: how common (in every memory, counted up to a
			// cap and cached) gives its idf; it picks no candidates.
			if df, err = r.s.termDF(r.ctx, t, n); err != nil {
				return nil, fmt.Errorf("lexical search: %w", err)
			}
			idf[t] = math.Log(1 + float64(n)/float64(max(df, 1)))
			continue
		}
		idf[t] = math.Log(1 + float64(n)/float64(df))
		for _, id := range ids {
			hits[id] += idf[t]
		}
	}
	type hit struct {
		id int64
		s  float64
	}
	hs := make([]hit, 0, len(hits))
	for id, s := range hits {
		hs = append(hs, hit{id, s})
	}
	slices.SortFunc(hs, func(a, b hit) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	// Lines in the prompt's history are dropped once their kind is known
	// (load); keep enough for them not to crowd the others out.
	keep := lexicalCandidates*r.k + r.w.RecentLines
	for i, h := range hs {
		if i >= keep {
			break
		}
		c := r.add(h.id)
		c.fromLex = true
	}
	return idf, nil
}

// otherCandidates adds, in one query, the pinned memories, the newest
// ones outside the history, the newest not embedded yet and, with
// auto-pinning on, the most significant.
func (r *retrieval) otherCandidates() error {
	who := int64(r.who)
	q := `SELECT id, kind FROM (SELECT id, kind FROM memories INDEXED BY memories_pinned
			WHERE pinned <> 0 AND mask & ?1 <> 0 ORDER BY id DESC LIMIT ?2)
		UNION ALL SELECT id, kind FROM (SELECT id, kind FROM memories
			WHERE mask & ?1 <> 0 AND (kind <> ?3 OR id <= ?4) ORDER BY id DESC LIMIT ?5)
		UNION ALL SELECT id, kind FROM (SELECT id, kind FROM memories INDEXED BY memories_unindexed
			WHERE indexed = 0 AND mask & ?1 <> 0 AND (kind <> ?3 OR id <= ?4) ORDER BY id DESC LIMIT ?6)`
	args := []any{who, pinnedCandidates * r.k, KindEpisodic, r.cutoff, recentCandidates * r.k, unindexedTail}
	if r.w.AutoPin > 0 && r.w.Pinned > 0 {
		q += `
		UNION ALL SELECT id, kind FROM (SELECT id, kind FROM memories INDEXED BY memories_significance
			WHERE significance >= ?7 AND mask & ?1 <> 0 ORDER BY significance DESC, id DESC LIMIT ?2)`
		args = append(args, r.w.AutoPin)
	}
	rows, err := r.s.rdb.QueryContext(r.ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return err
		}
		if r.eligible(kind, id) {
			r.add(id)
		}
	}
	return rows.Err()
}

// knownCommon returns the cached count of a word termDF found common, if
// it is still valid for n memories.
func (s *Store) knownCommon(term string, n int64) (int, bool) {
	m := s.mem
	m.cmu.Lock()
	defer m.cmu.Unlock()
	if m.dfs == nil || n < m.dfAt || n > m.dfAt+m.dfAt/10 {
		return 0, false
	}
	v, ok := m.dfs.get(term)
	if !ok {
		return 0, false
	}
	return v.(int), true // only counts of common words are cached
}

// termDF returns how many memories (anyone's, up to commonCount) hold a
// common word, cached per word while the number of memories n stays within
// a tenth of what it was when counted.
func (s *Store) termDF(ctx context.Context, term string, n int64) (int, error) {
	m := s.mem
	m.cmu.Lock()
	if m.dfs == nil || n < m.dfAt || n > m.dfAt+m.dfAt/10 {
		m.dfs, m.dfAt = newLRU(1024), n
	}
	v, ok := m.dfs.get(term)
	m.cmu.Unlock()
	if ok {
		return v.(int), nil
	}
	var df int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? LIMIT ?)`,
		"text : "+ftsPrefix(term), commonCount).Scan(&df)
	if err != nil {
		return 0, err
	}
	m.cmu.Lock()
	m.dfs.put(term, df)
	m.cmu.Unlock()
	return df, nil
}

// memoryCount returns about how many memories the projection holds (for
// idf): counted again when the newest id has moved by more than a tenth
// since the last count, or gone back (a branch switch).
func (s *Store) memoryCount(ctx context.Context, maxID int64) (int64, error) {
	m := s.mem
	m.cmu.Lock()
	n, at := m.count, m.countMax
	m.cmu.Unlock()
	if n > 0 && maxID >= at && maxID-at <= at/10 {
		return n + (maxID-at)/2, nil
	}
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM memories`).Scan(&n); err != nil {
		return 0, err
	}
	n = max(n, 1)
	m.cmu.Lock()
	m.count, m.countMax = n, maxID
	m.cmu.Unlock()
	return n, nil
}

// lru is a small least-recently-used cache.
type lru struct {
	max   int
	order *list.List
	items map[string]*list.Element
}

type lruItem struct {
	key string
	val any
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(k string) (any, bool) {
	e, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruItem).val, true
}

func (c *lru) put(k string, v any) {
	if e, ok := c.items[k]; ok {
		e.Value.(*lruItem).val = v
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruItem{k, v})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruItem).key)
	}
}
