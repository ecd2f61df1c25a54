package store

import (
	"cmp"
	"container/list"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"diorama/core"
	"diorama/core/embed"
)

// The candidates of a retrieval: from the vector index, the lexical index
// and the pinned, significant, newest and not yet embedded memories; and
// the small caches that keep a turn's second bot from redoing the first
// one's work.

// vectorCandidates finds the memories whose sign codes are nearest the
// query's among those who witnessed (every witness mask with one of who's
// bits), leaving out the lines the prompt carries. The search runs over
// the in-memory copy of the vector index (codes.go).
func (r *retrieval) vectorCandidates(code []byte) error {
	hits, err := r.s.nearest(r.ctx, r.vecGen, r.who, code, vectorCandidates*r.k, r.cutoff)
	if err != nil {
		return fmt.Errorf("vector search: %w", err)
	}
	for _, h := range hits {
		r.add(h.id).fromVec = true
	}
	return nil
}

// vecHit is a result of a search over sign codes: a memory and its Hamming
// distance to the query.
type vecHit struct {
	id   int64
	dist float64
}

// lexicalCandidates looks each query word up in the lexical index, within
// who's memories, and keeps the candidates matching the most (and rarest)
// words. It returns each word's idf.
func (r *retrieval) lexicalCandidates(terms []string) (map[string]float64, error) {
	idf := map[string]float64{}
	if len(terms) == 0 {
		return idf, nil
	}
	var n int64
	if r.c != nil {
		n = max(int64(len(r.c.rows)), 1)
	} else {
		var err error
		if n, err = r.s.memoryCount(r.ctx, r.q, r.maxID, r.memGen); err != nil {
			return nil, err
		}
	}
	wm := witnessMatch(r.who)
	hits := map[int64]float64{}
	// A word in more than this many memories is common: 256, or one
	// memory in 16 in a young story (where "Mara" is in every other line).
	common := min(commonTerm, max(32, int(n/16)))
	for _, t := range terms {
		// who's memories holding the word, newest first: one more than
		// the most a word may have and still not be common (however young
		// the story, so a word's kept hits serve while common grows).
		ids, err := r.termHits(t, wm, commonTerm+1)
		if err != nil {
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
			if r.copyWords(t) {
				df = r.c.df(prefixOf(t), commonCount)
			} else if df, err = r.s.termDF(r.ctx, r.q, t, r.maxID, r.memGen); err != nil {
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
	if r.c != nil {
		r.otherCandidatesCopy()
		return nil
	}
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
	rows, err := r.q.QueryContext(r.ctx, q, args...)
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

// otherCandidatesCopy is otherCandidates answered by the memories copy:
// the same four lists, in the same orders and with the same limits.
func (r *retrieval) otherCandidatesCopy() {
	c := r.c
	k := r.k
	seen := func(i int) bool { return c.rows[i].mask&r.who != 0 }
	keep := func(i int) {
		if m := &c.rows[i]; !m.episodic() || m.id <= r.cutoff { // r.eligible
			r.add(m.id)
		}
	}
	// Pinned, newest first.
	n := 0
	for _, i := range slices.Backward(c.pinned()) {
		if n == pinnedCandidates*k {
			break
		}
		if seen(int(i)) {
			keep(int(i))
			n++
		}
	}
	// The newest outside the history, and the newest not indexed yet.
	recent, tail, left := 0, 0, c.unindexed
	for i := len(c.rows) - 1; i >= 0 && (recent < recentCandidates*k || tail < unindexedTail && left > 0); i-- {
		m := &c.rows[i]
		if !m.indexed {
			left--
		}
		if !seen(i) || m.episodic() && m.id > r.cutoff {
			continue
		}
		if recent < recentCandidates*k {
			keep(i)
			recent++
		}
		if !m.indexed && tail < unindexedTail {
			keep(i)
			tail++
		}
	}
	// The most significant, with auto-pinning on.
	if r.w.AutoPin > 0 && r.w.Pinned > 0 {
		n := 0
		for _, i := range c.bySig {
			if n == pinnedCandidates*k || c.rows[i].sig < r.w.AutoPin {
				break
			}
			if seen(int(i)) {
				keep(int(i))
				n++
			}
		}
	}
}

// counted is a count over the memories kept up to date as turns add
// memories: exact as of the newest memory asOf, in the memories'
// generation gen (a deletion starts it over).
type counted struct {
	n, asOf, gen int64
}

// extends reports whether c can be brought to maxID by counting only the
// memories added since: same generation, and nothing counted beyond maxID.
func (c counted) extends(maxID, gen int64) bool {
	return c.gen == gen && c.asOf <= maxID
}

// termDF returns how many memories (anyone's, up to commonCount) hold a
// common word, as of the newest memory maxID: counted once, then only over
// the memories added since.
func (s *Store) termDF(ctx context.Context, q querier, term string, maxID, gen int64) (int, error) {
	m := s.mem
	v, ok := m.dfs.get(term)
	var c counted
	if ok {
		c = v.(counted)
	}
	switch {
	case ok && c.extends(maxID, gen) && (c.asOf == maxID || c.n >= commonCount):
		c.asOf = maxID
	case ok && c.extends(maxID, gen):
		var k int64
		nm := &newMems{}
		if maxID-c.asOf <= fewNew && plainPrefix(term) {
			var err error
			if nm, err = s.newMemories(ctx, q, c.asOf, maxID, gen); err != nil {
				return 0, err
			}
		}
		if nm.tokenized {
			p := prefixOf(term)
			for _, nr := range nm.rows {
				if hasPrefixToken(nr.tokens, p) {
					k++
				}
			}
			k = min(k, commonCount-c.n)
		} else {
			err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? AND rowid > ? AND rowid <= ? LIMIT ?)`,
				"text : "+ftsPrefix(term), c.asOf, maxID, commonCount-c.n).Scan(&k)
			if err != nil {
				return 0, err
			}
		}
		c = counted{n: c.n + k, asOf: maxID, gen: gen}
	default:
		c = counted{asOf: maxID, gen: gen}
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? AND rowid <= ? LIMIT ?)`,
			"text : "+ftsPrefix(term), maxID, commonCount).Scan(&c.n)
		if err != nil {
			return 0, err
		}
	}
	m.dfs.put(term, c)
	return int(c.n), nil
}

// memoryCount returns how many memories the projection holds up to the
// newest, maxID (for idf): counted once, then only over the memories added
// since.
func (s *Store) memoryCount(ctx context.Context, q querier, maxID, gen int64) (int64, error) {
	m := s.mem
	m.cmu.Lock()
	c := m.count
	m.cmu.Unlock()
	switch {
	case c.asOf > 0 && c.extends(maxID, gen) && c.asOf == maxID:
	case c.asOf > 0 && c.extends(maxID, gen):
		var k int64
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM memories WHERE id > ? AND id <= ?`, c.asOf, maxID).Scan(&k); err != nil {
			return 0, err
		}
		c = counted{n: c.n + k, asOf: maxID, gen: gen}
	default:
		c = counted{asOf: maxID, gen: gen}
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM memories WHERE id <= ?`, maxID).Scan(&c.n); err != nil {
			return 0, err
		}
	}
	m.cmu.Lock()
	m.count = c
	m.cmu.Unlock()
	return max(c.n, 1), nil
}

// lru is a small least-recently-used cache, safe for concurrent use.
type lru struct {
	mu    sync.Mutex
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
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruItem).val, true
}

func (c *lru) put(k string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
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

// lexEntry is the newest memories of a point of view holding a word (up
// to limit, newest first), as of the newest memory asOf, in the memories'
// generation gen (see counted).
type lexEntry struct {
	ids   []int64
	limit int
	asOf  int64
	gen   int64
}

// termHits returns the newest memories (up to limit, newest first) of the
// point of view wm (witnessMatch) that hold the word t. Each bot answering
// a line looks its words up, and the next line asks about most of them
// again: a word's hits are kept, and while no memory is deleted (the
// memories' generation holds; turns only add memories newer than any) the
// lookup asks the lexical index only about the memories added since.
func (r *retrieval) termHits(t, wm string, limit int) ([]int64, error) {
	if r.copyWords(t) {
		return r.c.hits(prefixOf(t), r.who, limit), nil
	}
	m := r.s.mem
	key := t + "\x00" + wm // a word from a point of view
	v, ok := m.lex.get(key)
	var old *lexEntry
	if ok {
		old = v.(*lexEntry)
		if old.gen != r.memGen || old.limit != limit || old.asOf > r.maxID {
			old = nil
		} else if old.asOf == r.maxID {
			return old.ids, nil
		}
	}
	var ids []int64
	if old != nil && r.maxID-old.asOf <= maxDelta {
		// Only the memories added since: the word's new hits, shared by
		// every point of view, filtered by who witnessed them.
		d, err := r.termDelta(t, old.asOf)
		if err != nil {
			return nil, err
		}
		for _, h := range d {
			if h.mask&r.who != 0 {
				ids = append(ids, h.id)
			}
		}
	} else {
		old = nil
		var err error
		ids, err = r.s.ftsIDs(r.ctx, r.q, `SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? AND rowid <= ? ORDER BY rowid DESC LIMIT ?`,
			wm+" AND text : "+ftsPrefix(t), r.maxID, limit)
		if err != nil {
			return nil, err
		}
	}
	e := &lexEntry{limit: limit, asOf: r.maxID, gen: r.memGen}
	if old != nil {
		ids = append(ids, old.ids...)
		if len(ids) > limit {
			ids = ids[:limit]
		}
	}
	e.ids = ids
	m.lex.put(key, e)
	return ids, nil
}

// copyWords reports whether the memories copy's word index answers the
// lookups of word t: it serves this read, every text it holds is split in
// Go, and t's prefix is one plain token (what the lexical index would
// read it as).
func (r *retrieval) copyWords(t string) bool {
	return r.c != nil && r.c.foreign == 0 && plainPrefix(t)
}

// maxDelta bounds the ids a word's kept hits are brought up to date over;
// further behind (a point of view that has not asked for a long while),
// they are looked up again.
const maxDelta = 1024

// idMask is a memory and who witnessed it.
type idMask struct {
	id   int64
	mask core.Mask
}

// termDelta returns the memories holding the word t with ids after from,
// up to the retrieval's newest, newest first, with who witnessed each: one
// lookup for every point of view asking about the same word over the same
// memories (the bots answering a line).
func (r *retrieval) termDelta(t string, from int64) ([]idMask, error) {
	m := r.s.mem
	key := fmt.Sprintf("%s\x00%d\x00%d\x00%d", t, from, r.maxID, r.memGen)
	v, ok := m.deltas.get(key)
	if ok {
		return v.([]idMask), nil
	}
	nm, err := r.s.newMemories(r.ctx, r.q, from, r.maxID, r.memGen)
	if err != nil {
		return nil, err
	}
	var out []idMask
	if nm.tokenized && plainPrefix(t) {
		// The few memories added since, matched here as the lexical index
		// would match them (TestRetrieveCachesChangeNothing holds the two
		// to the same answer).
		p := prefixOf(t)
		for _, nr := range nm.rows {
			if hasPrefixToken(nr.tokens, p) {
				out = append(out, idMask{nr.id, nr.mask})
			}
		}
	} else {
		ids, err := r.s.ftsIDs(r.ctx, r.q, `SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? AND rowid > ? AND rowid <= ? ORDER BY rowid DESC`,
			"text : "+ftsPrefix(t), from, r.maxID)
		if err != nil {
			return nil, err
		}
		out = make([]idMask, 0, len(ids))
		for _, id := range ids {
			out = append(out, idMask{id, nm.masks[id]})
		}
	}
	m.deltas.put(key, out)
	return out, nil
}

// newMems is what the memories added after a point hold: who witnessed
// each, and when they are few and all ASCII, their rows newest first with
// their text split as the lexical index splits it (FTS5's unicode61: runs
// of letters and digits, folded to lower case), so a word's hits among
// them are found without asking the index.
type newMems struct {
	masks     map[int64]core.Mask
	rows      []newMem
	tokenized bool
}

type newMem struct {
	id     int64
	mask   core.Mask
	tokens []string
}

// fewNew is the most memories matched in Go rather than by the index.
const fewNew = 256

// newMemories reads the memories with ids in (from, to] once for every
// word and point of view asking about them.
func (s *Store) newMemories(ctx context.Context, q querier, from, to, gen int64) (*newMems, error) {
	m := s.mem
	key := fmt.Sprintf("new\x00%d\x00%d\x00%d", from, to, gen)
	v, ok := m.deltas.get(key)
	if ok {
		return v.(*newMems), nil
	}
	few := to-from <= fewNew
	cols := "id, mask, ''"
	if few {
		cols = "id, mask, text"
	}
	rows, err := q.QueryContext(ctx, `SELECT `+cols+` FROM memories WHERE id > ? AND id <= ? ORDER BY id DESC`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nm := &newMems{masks: map[int64]core.Mask{}, tokenized: few}
	for rows.Next() {
		var id, mask int64
		var text string
		if err := rows.Scan(&id, &mask, &text); err != nil {
			return nil, err
		}
		nm.masks[id] = core.Mask(mask)
		if nm.tokenized {
			toks, ok := asciiTokens(text)
			if !ok {
				nm.tokenized, nm.rows = false, nil
				continue
			}
			nm.rows = append(nm.rows, newMem{id: id, mask: core.Mask(mask), tokens: toks})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	m.deltas.put(key, nm)
	return nm, nil
}

// asciiTokens returns the words of a text as splitPlain splits it (as
// FTS5's unicode61 tokenizer does, for the texts where that is plain); ok
// is false for any other text.
func asciiTokens(text string) (tokens []string, ok bool) {
	ok = splitPlain(text, func(w []byte) { tokens = append(tokens, string(w)) })
	return tokens, ok
}

// prefixOf is the prefix ftsPrefix asks the index for.
func prefixOf(stem string) string {
	if n := utf8.RuneCountInString(stem); n >= 7 {
		stem = string([]rune(stem)[:n-2])
	}
	return stem
}

// plainPrefix reports whether the index reads a stem's prefix query as one
// token (lower-case ASCII letters and digits), the only kind matched in Go.
func plainPrefix(stem string) bool {
	p := prefixOf(stem)
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func hasPrefixToken(tokens []string, p string) bool {
	for _, t := range tokens {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// ftsIDs runs a query of the lexical index returning rowids.
func (s *Store) ftsIDs(ctx context.Context, db querier, q string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// stems returns the stemmed words of a memory's text (stemSet), kept for
// the texts of recent candidates like their embeddings.
func (s *Store) stems(text string) map[string]bool {
	m := s.mem
	v, ok := m.stemSets.get(text)
	if ok {
		return v.(map[string]bool)
	}
	ws := stemSet(text)
	m.stemSets.put(text, ws)
	return ws
}

// localVectors is how many memories' local embeddings are kept: the
// candidates of one line are mostly those of the line before (pinned,
// significant, recent, and what the scene keeps coming back to).
const localVectors = 1024

// localVector returns the local embedding of text, from the cache or
// computed (fresh).
func (s *Store) localVector(l *embed.Local, text string) (v []float32, fresh bool) {
	m := s.mem
	key := l.Model() + "\x00" + text
	cached, ok := m.vecs.get(key)
	if ok {
		return cached.([]float32), false
	}
	v = l.Vector(text)
	m.vecs.put(key, v)
	return v, true
}
