package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"diorama/core"
	"diorama/core/embed"
)

// Embedder turns texts into vectors: the local embedder (core/embed) or an
// embeddings server (core/backend). Model names the model for caches: two
// embedders with the same Model must give the same vectors.
type Embedder interface {
	Model() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Scorer rates how significant a memory is, 1 (small talk) to 10 (a
// revelation): a model, or the pack's Lua heuristic. Model names it for
// the cache. source says what produced a score when it was not the model
// itself (a heuristic standing in for an unreadable answer); "" means the
// model.
type Scorer interface {
	Model() string
	Score(ctx context.Context, text string) (value float64, source string, err error)
}

// memoryIndex is a Store's retrieval settings and in-process caches.
type memoryIndex struct {
	mu       sync.RWMutex
	embedder Embedder
	local    *embed.Local // non-nil when embedder is the local one: candidates' embeddings are computed, not read
	weights  Weights

	queries *lru // embedder model + "\x00" + query -> *queryVec

	codes codeCopy // the vector index's codes, searched in memory
	rows  memCopy  // the memories table, read in memory

	lex      *lru // word + "\x00" + witness match -> *lexEntry: a word's newest memories, per point of view
	deltas   *lru // the memories added since a point: a word's hits in them, and their masks
	windows  *lru // who + "\x00" + limit -> *lineWindow: RecentLines
	vecs     *lru // memory text -> its local embedding
	stemSets *lru // memory text -> its stemmed words (stemSet)

	cmu   sync.Mutex // guards count
	count counted    // memories in the projection
	dfs   *lru       // common word -> counted: how many memories hold it (termDF)
}

// commonCount caps the count of a common word's memories (for its idf).
const commonCount = 8192

type queryVec struct {
	vec  []float32
	code []byte
}

func newMemoryIndex() *memoryIndex {
	l := embed.NewLocal(0)
	return &memoryIndex{embedder: l, local: l, weights: DefaultWeights(), queries: newLRU(256), lex: newLRU(512), deltas: newLRU(64), windows: newLRU(16), vecs: newLRU(localVectors), stemSets: newLRU(localVectors), dfs: newLRU(1024)}
}

func (m *memoryIndex) settings() (Embedder, *embed.Local, Weights) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.embedder, m.local, m.weights
}

// SetWeights sets how Recall ranks memories (a pack's retrieval weights).
func (s *Store) SetWeights(w Weights) {
	s.mem.mu.Lock()
	s.mem.weights = w
	s.mem.mu.Unlock()
}

// Weights returns the weights Recall ranks with.
func (s *Store) Weights() Weights {
	_, _, w := s.mem.settings()
	return w
}

// Embedder returns the embedder Recall and the index use.
func (s *Store) Embedder() Embedder {
	e, _, _ := s.mem.settings()
	return e
}

// SetEmbedder makes e the embedder of the vector index and of queries. The
// default is the local embedder (core/embed, 384 dimensions). When the
// index was built with another model, it is emptied (one write) and the
// embedding worker rebuilds it, from the cache when it holds the vectors
// already.
func (s *Store) SetEmbedder(ctx context.Context, e Embedder) error {
	if e == nil {
		return errors.New("set embedder: nil")
	}
	if err := s.useIndexModel(ctx, e.Model()); err != nil {
		return err
	}
	l, _ := e.(*embed.Local)
	s.mem.mu.Lock()
	s.mem.embedder, s.mem.local = e, l
	s.mem.mu.Unlock()
	return nil
}

// UseEmbedder makes e the embedder of queries only, leaving the vector
// index as it is (SetEmbedder would rebuild it for another model): for
// commands that only look. When e is not the index's model, retrieval goes
// without vector similarity and says so.
func (s *Store) UseEmbedder(e Embedder) {
	if e == nil {
		return
	}
	l, _ := e.(*embed.Local)
	s.mem.mu.Lock()
	s.mem.embedder, s.mem.local = e, l
	s.mem.mu.Unlock()
}

// IndexModel returns the embedder model the vector index is built with
// ("" before anything was embedded).
func (s *Store) IndexModel(ctx context.Context) (string, error) { return s.indexModel(ctx) }

// Recollection is one retrieved memory with everything that ranked it.
type Recollection struct {
	core.Recalled
	Who          string // who said it (episodic) or knows it (semantic, summary)
	WorldTime    int64
	Significance float64 // 1..10; 0 when not scored yet
	AutoPinned   bool    // pinned because significance >= the auto-pin threshold
	Embedded     bool    // its embedding was known (cached, or computed inline)
}

// RetrieveStats says what a retrieval did, for the bench and `diorama
// memories`.
type RetrieveStats struct {
	Candidates int           // memories scored
	Vector     int           // of them from the vector index
	Lexical    int           // from the lexical index
	Inline     int           // embeddings computed here, not read from a cache (the local embedder computes those it has not kept)
	VectorOff  string        // why vector similarity was not used, if it was not
	Took       time.Duration // wall time
}

var _ core.Recall = (*Store)(nil)

// Recall implements core.Recall with Retrieve.
func (s *Store) Recall(ctx context.Context, who core.Mask, query string, k int) ([]core.Recalled, error) {
	rs, _, err := s.Retrieve(ctx, who, query, k)
	if err != nil {
		return nil, err
	}
	out := make([]core.Recalled, len(rs))
	for i, r := range rs {
		out[i] = r.Recalled
	}
	return out, nil
}

// maxRecall bounds k: a prompt holds a handful of memories; a listing
// (diorama memories) a few hundred.
const maxRecall = 1000

// Candidate budgets per query, for k = 8; they scale with k.
const (
	vectorCandidates  = 2 // × k, from the vector index (a KNN over sign codes)
	lexicalCandidates = 3 // × k, from the lexical index
	pinnedCandidates  = 2 // × k, pinned and auto-pinned
	recentCandidates  = 1 // × k, the newest memories outside the prompt's history
	unindexedTail     = 32
)

// Retrieve returns up to k memories that who can recall, best first, each
// with its score and the weighted parts that make it up (Weights).
//
// Candidates come from five places, each with who's witness filter inside
// its search: the vector index (sign codes, one partition per witness mask,
// scanned in its in-memory copy: codes.go), the lexical index (the word
// index of the memories copy, memcopy.go, or FTS5 with the witnesses as a
// column of the match), the pinned and the most significant memories, the
// newest memories, and the newest not embedded yet. The lines a prompt
// already carries (who's Weights.RecentLines newest; see Query for another
// cut) are left out everywhere. Every candidate is then scored exactly:
// cosine against its embedding, lexical overlap with the query, recency,
// significance, pin. Memories pinned by a pin command are always returned
// (up to k); auto-pinned ones compete with the pin bonus.
//
// Nothing waits for the workers. With the local embedder every candidate's
// embedding is computed here (about 10µs each), so a memory the embedding
// worker has not reached yet ranks as it will once indexed, and the result
// does not depend on the worker's progress. With an embeddings server,
// candidates' vectors come from the cache and a memory not embedded yet
// ranks on its other parts until the worker catches up; an unreachable
// server degrades the query to the other parts, it does not fail the turn.
// A memory not scored yet has no significance part.
func (s *Store) Retrieve(ctx context.Context, who core.Mask, query string, k int) ([]Recollection, RetrieveStats, error) {
	return s.Search(ctx, Query{Who: who, Text: query, K: k})
}

// Query is a retrieval: Retrieve with the history cut stated.
type Query struct {
	Who  core.Mask
	Text string
	K    int
	// CarriedFrom says which lines the prompt carries verbatim (they are
	// left out): those with an id from it on when > 0; none when < 0; the
	// who's Weights.RecentLines newest when 0.
	CarriedFrom int64
}

// RecallOutside is Recall for a prompt whose history carries the lines
// from id carriedFrom on (< 0: none) verbatim: those are left out rather
// than the Weights.RecentLines newest. A session whose history window
// starts at the scene's start calls it with the window's first line, so
// the last lines of the scene before stay recallable.
func (s *Store) RecallOutside(ctx context.Context, who core.Mask, query string, k int, carriedFrom int64) ([]core.Recalled, error) {
	if carriedFrom == 0 {
		carriedFrom = -1
	}
	rs, _, err := s.Search(ctx, Query{Who: who, Text: query, K: k, CarriedFrom: carriedFrom})
	if err != nil {
		return nil, err
	}
	out := make([]core.Recalled, len(rs))
	for i, r := range rs {
		out[i] = r.Recalled
	}
	return out, nil
}

// Search is Retrieve with every option.
func (s *Store) Search(ctx context.Context, q Query) ([]Recollection, RetrieveStats, error) {
	start := time.Now()
	var st RetrieveStats
	who, k, query := q.Who, q.K, q.Text
	if k <= 0 || who&core.MaskAll == 0 {
		return nil, st, nil
	}
	k = min(k, maxRecall)
	who &= core.MaskAll
	emb, local, w := s.mem.settings()
	// An embeddings server answers the query outside the writer's turn:
	// it may take seconds, and the writer must not wait for it.
	var served *queryVec
	var servedErr error
	if local == nil && hasWords(query) {
		served, servedErr = s.serverQueryVector(ctx, emb, query)
	}
	var out []Recollection
	err := s.readOnWriter(ctx, func(ctx context.Context, rq querier) error {
		r := &retrieval{s: s, q: rq, ctx: ctx, who: who, k: k, w: w, emb: emb, local: local, cands: map[int64]*cand{}, carried: q.CarriedFrom,
			served: served, servedErr: servedErr}
		var err error
		out, err = r.run(query, &st)
		return err
	})
	st.Took = time.Since(start)
	if err != nil {
		return nil, st, fmt.Errorf("recall for %s: %w", who, err)
	}
	return out, st, nil
}

// cand is a memory being scored.
type cand struct {
	id               int64
	fromVec, fromLex bool // where it came from (RetrieveStats)
	kind, who, text  string
	mask             core.Mask
	worldTime        int64
	pinned           bool
	sig              sql.NullFloat64
	vector           float64 // cosine to the query, when hasVector
	hasVector        bool
	loaded           bool // its row was read
}

type retrieval struct {
	s     *Store
	q     querier // what it reads through (Store.readOnWriter)
	ctx   context.Context
	who   core.Mask
	k     int
	w     Weights
	emb   Embedder
	local *embed.Local
	cands map[int64]*cand

	carried    int64     // Query.CarriedFrom
	served     *queryVec // the query's vector from an embeddings server (nil: local, or it failed)
	servedErr  error     // why the server gave none
	cutoff     int64     // lines with a larger id are in the prompt's history: left out
	now        int64     // world time of the newest memory
	maxID      int64     // the newest memory
	head       int64     // the head the projection reflects
	vecGen     int64     // the vector index's generation (codes.go)
	memGen     int64     // the memories' generation: bumped when any are deleted (codes.go)
	indexModel string    // the vector index's embedder
	c          *memCopy  // the memories copy, locked, when it serves this read (memcopy.go); nil: SQL
}

func (r *retrieval) add(id int64) *cand {
	c := r.cands[id]
	if c == nil {
		c = &cand{id: id}
		r.cands[id] = c
	}
	return c
}

func (r *retrieval) run(query string, st *RetrieveStats) ([]Recollection, error) {
	defer func() {
		if r.c != nil {
			r.c.mu.Unlock()
		}
	}()
	var err error
	if r.s.copyServes(r.q) {
		// A read of its own (not inside a write transaction, whose rows
		// the copy may not hold yet): the copy serves it if it is loaded
		// and current.
		err = r.beginCopy()
	}
	if r.c == nil && err == nil {
		err = r.begin()
	}
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil // no memories at all
		}
		return nil, err
	}
	terms := queryTerms(query)
	idf, err := r.lexicalCandidates(terms)
	if err != nil {
		return nil, err
	}
	var qv *queryVec
	if hasWords(query) {
		var verr error
		if qv, verr = r.queryVector(query, idf); verr != nil {
			st.VectorOff = "the query could not be embedded: " + verr.Error()
		}
	} else {
		st.VectorOff = "no query"
	}
	if qv != nil {
		if r.indexModel == r.emb.Model() {
			if err := r.vectorCandidates(qv.code); err != nil {
				return nil, err
			}
		} else if r.indexModel == "" {
			st.VectorOff = "nothing is in the vector index yet (memories not embedded yet are compared one by one)"
		} else {
			st.VectorOff = fmt.Sprintf("the vector index holds %s's embeddings, not %s's", r.indexModel, r.emb.Model())
		}
	}
	if err := r.otherCandidates(); err != nil {
		return nil, err
	}
	if err := r.load(); err != nil {
		return nil, err
	}
	if qv != nil {
		n, err := r.vectors(qv.vec)
		if err != nil {
			return nil, err
		}
		st.Inline = n
	}
	for _, c := range r.cands {
		if c.fromVec {
			st.Vector++
		}
		if c.fromLex {
			st.Lexical++
		}
	}
	st.Candidates = len(r.cands)
	return r.rank(terms, idf), nil
}

// begin reads, in one query, what the rest depends on: the newest memory
// and its world time ("now"), the head the projection reflects, the vector
// index's model, and the id of who's RecentLines-th newest line (the lines
// after it are in the prompt's history already). sql.ErrNoRows: there are
// no memories.
func (r *retrieval) begin() error {
	var cutoff sql.NullInt64
	var head, model sql.NullString
	var gen, memGen sql.NullInt64
	n := max(r.w.RecentLines, 1)
	err := r.q.QueryRowContext(r.ctx, `SELECT m.id, m.world_time,
			(SELECT value FROM meta WHERE key = 'projection_seq'),
			(SELECT value FROM meta WHERE key = 'vec_model'),
			(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'vec_gen'),
			(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'mem_gen'),
			(SELECT id FROM memories INDEXED BY memories_kind_id WHERE kind = ?1 AND mask & ?2 <> 0 ORDER BY id DESC LIMIT 1 OFFSET ?3)
		FROM (SELECT id, world_time FROM memories ORDER BY id DESC LIMIT 1) m`,
		KindEpisodic, int64(r.who), n-1).Scan(&r.maxID, &r.now, &head, &model, &gen, &memGen, &cutoff)
	if err != nil {
		return err
	}
	if head.Valid {
		fmt.Sscan(head.String, &r.head)
	}
	r.indexModel = model.String
	r.vecGen, r.memGen = gen.Int64, memGen.Int64
	r.setCutoff(cutoff.Int64, cutoff.Valid)
	return nil
}

// setCutoff sets which lines the prompt carries already (they are left
// out), from Query.CarriedFrom, else from nth, the id of who's
// RecentLines-th newest line (found false: who has fewer lines than that,
// and all of them are in the history).
func (r *retrieval) setCutoff(nth int64, found bool) {
	switch {
	case r.carried > 0:
		r.cutoff = r.carried - 1
	case r.carried < 0 || r.w.RecentLines <= 0:
		r.cutoff = math.MaxInt64
	case found:
		r.cutoff = nth
	default:
		r.cutoff = 0
	}
}

// beginCopy is begin answered by the memories copy, which it locks for
// the rest of the retrieval (run unlocks it) and sets as r.c: only the
// meta values are read from the file, with the data_version that tells
// whether another process wrote since the copy was loaded. When the copy
// cannot serve (not loaded, or stale), r.c stays nil and begin answers.
func (r *retrieval) beginCopy() error {
	var head, model sql.NullString
	var gen, memGen, dv sql.NullInt64
	err := r.q.QueryRowContext(r.ctx, `SELECT
			(SELECT value FROM meta WHERE key = 'projection_seq'),
			(SELECT value FROM meta WHERE key = 'vec_model'),
			(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'vec_gen'),
			(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'mem_gen'),
			(`+dataVersionSQL+`)`).Scan(&head, &model, &gen, &memGen, &dv)
	if err != nil {
		return err
	}
	c := &r.s.mem.rows
	c.mu.Lock()
	if !r.s.usable(dv.Int64) {
		c.mu.Unlock()
		return nil
	}
	r.c = c
	if len(c.rows) == 0 {
		return sql.ErrNoRows
	}
	last := &c.rows[len(c.rows)-1]
	r.maxID, r.now = last.id, last.worldTime
	if head.Valid {
		fmt.Sscan(head.String, &r.head)
	}
	r.indexModel = model.String
	r.vecGen, r.memGen = gen.Int64, memGen.Int64
	// The id of who's RecentLines-th newest line, as begin's query.
	var cutoff int64
	found := false
	for i, n := len(c.rows)-1, max(r.w.RecentLines, 1); i >= 0; i-- {
		m := &c.rows[i]
		if m.episodic() && m.mask&r.who != 0 {
			if n--; n == 0 {
				cutoff, found = m.id, true
				break
			}
		}
	}
	r.setCutoff(cutoff, found)
	return nil
}

// eligible reports whether a memory may be recalled: not a line the prompt
// carries already.
func (r *retrieval) eligible(kind string, id int64) bool {
	return kind != KindEpisodic || id <= r.cutoff
}

// queryVector embeds the query. The local embedder weighs each word by its
// idf in who's memories (so "thermoses" counts and "remember" fades); an
// embeddings server gets the text as it is, and its answer is cached (every
// bot answering a line asks with the same query).
func (r *retrieval) queryVector(query string, idf map[string]float64) (*queryVec, error) {
	if r.local != nil {
		top := 0.0
		for _, v := range idf {
			top = max(top, v)
		}
		vec := r.local.WeightedVector(query, func(w string) float64 {
			v, ok := idf[stem(w)]
			if !ok || top == 0 {
				return 1 // a function word: the embedder's own low weight
			}
			return max(0.1, v/top)
		})
		return &queryVec{vec: vec, code: signCode(vec)}, nil
	}
	return r.served, r.servedErr
}

// serverQueryVector embeds a query with an embeddings server, through a
// cache (every bot answering a line asks with the same query).
func (s *Store) serverQueryVector(ctx context.Context, emb Embedder, query string) (*queryVec, error) {
	key := emb.Model() + "\x00" + query
	m := s.mem
	v, ok := m.queries.get(key)
	if ok {
		return v.(*queryVec), nil
	}
	var vec []float32
	{
		ctx, cancel := context.WithTimeout(ctx, queryEmbedTimeout)
		defer cancel()
		vs, err := emb.Embed(ctx, []string{query})
		if err != nil {
			return nil, err
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("the embedder returned %d vectors for one text", len(vs))
		}
		if vec, err = unit(vs[0]); err != nil {
			return nil, err
		}
	}
	qv := &queryVec{vec: vec, code: signCode(vec)}
	m.queries.put(key, qv)
	return qv, nil
}

// hasWords reports whether a query has anything to embed.
func hasWords(query string) bool {
	return strings.TrimSpace(query) != "" && len(embed.Words(query)) > 0
}

// queryEmbedTimeout bounds waiting for an embeddings server on a query: a
// slow server degrades retrieval, it does not stall the turn.
const queryEmbedTimeout = 5 * time.Second

// load reads the candidates' rows, dropping those the projection no longer
// holds (a branch switch between two reads), lines in the prompt's history
// and, as a last guard, anything who did not witness.
func (r *retrieval) load() error {
	if r.c != nil {
		r.loadCopy()
		return nil
	}
	ids := make([]int64, 0, len(r.cands))
	for id := range r.cands {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for len(ids) > 0 {
		n := min(len(ids), batchRows)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		rows, err := r.q.QueryContext(r.ctx, `SELECT id, kind, who, mask, text, world_time, pinned, significance
			FROM memories WHERE id IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, mask int64
			var c cand
			if err := rows.Scan(&id, &c.kind, &c.who, &mask, &c.text, &c.worldTime, &c.pinned, &c.sig); err != nil {
				rows.Close()
				return err
			}
			p := r.cands[id]
			c.id, c.fromVec, c.fromLex = id, p.fromVec, p.fromLex
			c.mask, c.loaded = core.Mask(mask), true
			*p = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	for id, c := range r.cands {
		if !c.loaded || c.mask&r.who == 0 || !r.eligible(c.kind, id) {
			delete(r.cands, id)
		}
	}
	return nil
}

// loadCopy is load answered by the memories copy.
func (r *retrieval) loadCopy() {
	for id, c := range r.cands {
		i, ok := r.c.index(id)
		if !ok {
			delete(r.cands, id)
			continue
		}
		m := &r.c.rows[i]
		c.kind, c.who, c.text = r.c.kindOf(m), r.c.whoOf(m), r.c.textOf(m)
		c.mask, c.worldTime, c.pinned = m.mask, m.worldTime, m.pinned
		c.sig = sql.NullFloat64{Float64: m.sig, Valid: m.hasSig}
		c.loaded = true
		if c.mask&r.who == 0 || !r.eligible(c.kind, id) {
			delete(r.cands, id)
		}
	}
}

// vectors sets each candidate's cosine to the query. The local embedder
// computes a memory's vector in about 10µs, less than reading it back from
// the embedding cache right after a write (when every page a reader needs
// is cold), so it computes them all; an embeddings server's vectors come
// from the cache, and a memory the worker has not reached ranks without
// its vector part. It returns how many vectors were computed here.
func (r *retrieval) vectors(q []float32) (int, error) {
	if r.local != nil {
		texts := map[string]float64{}
		computed := 0
		for _, c := range r.cands {
			cos, ok := texts[c.text]
			if !ok {
				v, fresh := r.s.localVector(r.local, c.text)
				if fresh {
					computed++
				}
				cos = dot(q, v)
				texts[c.text] = cos
			}
			c.vector, c.hasVector = cos, true
		}
		return computed, nil
	}
	byHash := map[string][]*cand{}
	var hashes [][]byte
	for _, c := range r.cands {
		h := contentHash(c.text)
		if _, ok := byHash[string(h)]; !ok {
			hashes = append(hashes, h)
		}
		byHash[string(h)] = append(byHash[string(h)], c)
	}
	model := r.emb.Model()
	found := map[string]bool{}
	for len(hashes) > 0 {
		n := min(len(hashes), batchRows)
		args := make([]any, 0, n+1)
		args = append(args, model)
		for _, h := range hashes[:n] {
			args = append(args, h)
		}
		rows, err := r.q.QueryContext(r.ctx, `SELECT hash, dims, vec FROM embedding_cache WHERE model = ? AND hash IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var h, b []byte
			var dims int
			if err := rows.Scan(&h, &dims, &b); err != nil {
				rows.Close()
				return 0, err
			}
			v, err := dequantize(b, dims)
			if err != nil || dims != len(q) {
				continue // a damaged or foreign row: treated as missing
			}
			found[string(h)] = true
			cos := dot(q, v)
			for _, c := range byHash[string(h)] {
				c.vector, c.hasVector = cos, true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		hashes = hashes[n:]
	}
	return 0, nil
}

// rank scores the candidates and returns the best k: pinned ones first
// (up to k), then by score.
func (r *retrieval) rank(terms []string, idf map[string]float64) []Recollection {
	// The lexical signal is the tf-idf dot product of the memory and the
	// query, over the query's own: idf on both sides, so each word weighs
	// idf². A memory sharing one rare word with the query ("scarf") beats
	// one sharing two everyday ones ("remember", "left").
	var idfSum float64
	for _, t := range terms {
		idfSum += idf[t] * idf[t]
	}
	halfLife := math.Max(r.w.HalfLife, 1)
	// The vector signal is relative to this query's candidates: the best
	// cosine scores 1, the worst 0 (min-max scaling, as in Park et al.'s
	// generative agents). Raw cosines mean different things for different
	// embedders (the local one puts unrelated texts near 0.05 and a
	// paraphrase near 0.25; a sentence-transformer puts unrelated ones at
	// 0.3 and paraphrases at 0.8), and a long memory's cosine is diluted by
	// its length; the ranking among candidates is what carries over.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range r.cands {
		if c.hasVector {
			lo, hi = math.Min(lo, c.vector), math.Max(hi, c.vector)
		}
	}
	spread := hi - lo
	// Every candidate is scored; only the k returned get their parts as a
	// map (Recalled.Parts), built from the same values.
	type scoredCand struct {
		c          *cand
		score, sig float64
		parts      [len(partNames)]float64
		has        [len(partNames)]bool
		auto       bool
	}
	all := make([]scoredCand, 0, len(r.cands))
	for _, c := range r.cands {
		sc := scoredCand{c: c}
		part := func(i int, weight, signal float64) {
			if weight == 0 {
				return
			}
			v := round4(weight * signal)
			sc.parts[i], sc.has[i] = v, true
			sc.score += v
		}
		if c.hasVector {
			signal := 0.0
			if spread >= minSpread {
				signal = (c.vector - lo) / spread
			}
			part(partVector, r.w.Vector, signal)
		}
		if idfSum > 0 {
			var got float64
			ws := r.s.stems(c.text)
			for _, t := range terms {
				if ws[t] {
					got += idf[t] * idf[t]
				}
			}
			part(partLexical, r.w.Lexical, got/idfSum)
		}
		age := math.Max(0, float64(r.now-c.worldTime))
		part(partRecency, r.w.Recency, math.Pow(0.5, age/halfLife))
		if c.sig.Valid {
			sc.sig = c.sig.Float64
			part(partSignificance, r.w.Significance, (min(10, max(1, sc.sig))-1)/9)
		}
		sc.auto = !c.pinned && r.w.AutoPin > 0 && c.sig.Valid && sc.sig >= r.w.AutoPin
		switch {
		case c.pinned:
			part(partPinned, r.w.Pinned, 1)
		case sc.auto:
			part(partAutoPinned, r.w.Pinned, 1)
		}
		sc.score = round4(sc.score)
		all = append(all, sc)
	}
	byScore := func(a, b scoredCand) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(b.c.id, a.c.id)
	}
	slices.SortFunc(all, func(a, b scoredCand) int {
		// Pinned by a command first: a pin is the player saying "keep this".
		if a.c.pinned != b.c.pinned {
			if a.c.pinned {
				return -1
			}
			return 1
		}
		return byScore(a, b)
	})
	if len(all) > r.k {
		all = all[:r.k]
	}
	slices.SortFunc(all, byScore)
	out := make([]Recollection, len(all))
	for i, sc := range all {
		c := sc.c
		parts := make(map[string]float64, len(partNames))
		for j, name := range partNames {
			if sc.has[j] {
				parts[name] = sc.parts[j]
			}
		}
		out[i] = Recollection{
			Recalled: core.Recalled{ID: c.id, Kind: c.kind, Text: c.text, Mask: c.mask, Pinned: c.pinned || sc.auto,
				Score: sc.score, Parts: parts},
			Who: c.who, WorldTime: c.worldTime, Significance: sc.sig, AutoPinned: sc.auto, Embedded: c.hasVector,
		}
	}
	return out
}

// The parts of a memory's score (Recalled.Parts), in the order they add up.
const (
	partVector = iota
	partLexical
	partRecency
	partSignificance
	partPinned
	partAutoPinned
)

var partNames = [...]string{"vector", "lexical", "recency", "significance", "pinned", "auto_pinned"}

// minSpread: when the candidates' cosines differ by less than this, the
// query tells them apart by nothing, and the vector part is 0 for all.
const minSpread = 0.02

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
