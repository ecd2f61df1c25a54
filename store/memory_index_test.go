package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"diorama/core"
	"diorama/core/embed"
	"diorama/store"
)

// countingEmbedder is the local embedder, counting the texts it embeds.
type countingEmbedder struct {
	*embed.Local
	texts atomic.Int64
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.Local.Embed(ctx, texts)
}

// indexCounts reads the memories projection and both indexes straight from
// the file: memories, memories marked indexed, scored, rows of the vector
// index, rows of the vector index that are no memory, memories the lexical
// index finds by their witnesses.
func indexCounts(t *testing.T, path string) (mem, indexed, scored, vec, orphans, fts int) {
	t.Helper()
	db := rawDB(t, path)
	for q, dst := range map[string]*int{
		`SELECT count(*) FROM memories`:                                                                             &mem,
		`SELECT count(*) FROM memories WHERE indexed <> 0`:                                                          &indexed,
		`SELECT count(*) FROM memories WHERE significance IS NOT NULL`:                                              &scored,
		`SELECT count(*) FROM memory_vec_rowids`:                                                                    &vec,
		`SELECT count(*) FROM memory_vec_rowids v WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.id = v.rowid)`: &orphans,
		`SELECT count(*) FROM memory_fts WHERE memory_fts MATCH 'w : (w0 OR w1 OR w2)'`:                             &fts,
	} {
		if err := db.QueryRow(q).Scan(dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return
}

// wantConsistent checks that every memory is indexed and scored, and that
// the indexes hold exactly the projection's memories.
func wantConsistent(t *testing.T, path string) int {
	t.Helper()
	mem, indexed, scored, vec, orphans, fts := indexCounts(t, path)
	if indexed != mem || scored != mem || vec != mem || orphans != 0 || fts != mem {
		t.Fatalf("memories %d: indexed %d, scored %d, vector rows %d (%d orphans), lexical rows %d", mem, indexed, scored, vec, orphans, fts)
	}
	return mem
}

// lineTurn drafts a turn of n lines heard by mask.
func lineTurn(st *core.State, mask core.Mask, texts ...string) []core.Draft {
	var ds []core.Draft
	for i, t := range texts {
		who := []string{"you", "mara", "jun"}[i%3]
		ds = append(ds, core.Draft{Type: core.TypeLineSaid, Payload: &core.LineSaid{Who: who, Text: t}, Mask: mask, WorldTime: st.Clock})
	}
	return ds
}

// TestMemoryConcurrency: turns, swipes (so the projection switches branch
// and memories leave and re-enter the indexes), both workers writing in
// small batches, readers recalling, all at once for thousands of
// operations: no write is lost, nothing fails (no "database is locked"),
// and at the end the indexes hold exactly the memories of the branch the
// projection reflects.
func TestMemoryConcurrency(t *testing.T) {
	ctx := context.Background()
	s, path := newSave(t)
	var errs []error
	var emu sync.Mutex
	fail := func(err error) {
		emu.Lock()
		errs = append(errs, err)
		emu.Unlock()
	}
	w := s.StartWorkers(store.WorkerOptions{Scorer: testScorer{}, Batch: 16, Poll: time.Millisecond,
		OnError: func(worker string, err error) { fail(fmt.Errorf("%s worker: %w", worker, err)) }})
	defer w.Close()

	// Turns on main, 3 lines each; every swipeEvery turns a swipe: a branch
	// from a few events back gets a turn of its own (the projection follows
	// it, memories leave the indexes), then main goes on (they come back).
	const turns, swipeEvery = 1200, 40
	var stop atomic.Bool
	var reads atomic.Int64
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 3))
			for !stop.Load() {
				who := core.Mask(1 << rng.IntN(3))
				got, err := s.Recall(ctx, who, fillMiddles[rng.IntN(len(fillMiddles))], 8)
				if err != nil {
					fail(fmt.Errorf("reader %d: %w", r, err))
					return
				}
				for _, m := range got {
					if m.Mask&who == 0 {
						fail(fmt.Errorf("reader %d: %s recalled memory %d witnessed by %s", r, who, m.ID, m.Mask))
						return
					}
				}
				if _, err := s.MemoryStatus(ctx); err != nil {
					fail(fmt.Errorf("reader %d: %w", r, err))
					return
				}
				reads.Add(1)
			}
		}()
	}
	var writers sync.WaitGroup
	var swipes atomic.Int64
	writers.Add(1)
	go func() {
		defer writers.Done()
		eng, err := core.NewEngine(ctx, s, s, store.DefaultBranch)
		if err != nil {
			fail(err)
			return
		}
		rng := rand.New(rand.NewPCG(1, 5))
		for i := range turns {
			mask := []core.Mask{7, 3, 5, 6}[rng.IntN(4)]
			ds := lineTurn(eng.State(), mask,
				fmt.Sprintf("%s says %d", fillOpeners[rng.IntN(len(fillOpeners))], i),
				fmt.Sprintf("%s %s", fillMiddles[rng.IntN(len(fillMiddles))], fillEnders[rng.IntN(len(fillEnders))]),
				fillHeavy[rng.IntN(len(fillHeavy))])
			if _, err := eng.Append(ctx, ds); err != nil {
				fail(fmt.Errorf("turn %d: %w", i, err))
				return
			}
			if i%swipeEvery != swipeEvery-1 {
				continue
			}
			// A swipe from two events back, one turn on it.
			at := eng.State().LastSeq - 2
			name := fmt.Sprintf("swipe%d", i)
			if err := s.SetHead(ctx, name, at); err != nil {
				fail(err)
				return
			}
			alt, err := core.NewEngine(ctx, s, s, name)
			if err != nil {
				fail(err)
				return
			}
			if _, err := alt.Append(ctx, lineTurn(alt.State(), 7, fmt.Sprintf("another take %d", i), "and another line")); err != nil {
				fail(fmt.Errorf("swipe %d: %w", i, err))
				return
			}
			swipes.Add(1)
		}
	}()
	writers.Wait()
	// Back to main: the projection follows it.
	head, err := s.Head(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetHead(ctx, store.DefaultBranch, head); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := w.CatchUp(cctx); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	readers.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if got, want := mustCount(t, s), int64(1+turns*3)+2*swipes.Load(); got != want {
		t.Fatalf("events = %d, want %d: writes were lost", got, want)
	}
	mem := wantConsistent(t, path)
	if mem != turns*3 {
		t.Fatalf("memories on main = %d, want %d", mem, turns*3)
	}
	st := w.Stats()
	t.Logf("%d turns and %d swipes, %d reads, workers indexed %d and scored %d memories", turns, swipes.Load(), reads.Load(), st.Embedded, st.Scored)
	if st.Embedded < int64(mem) || st.Scored < int64(mem) {
		t.Fatalf("workers did less than the memories need: %+v", st)
	}
}

// TestMemoryCatchUpAfterRestart: memories written while no worker ran, or
// while a worker was stopped halfway, are indexed and scored when workers
// start again; embeddings already cached are never computed twice, across
// a reset of the index, a branch switch and back, or a rebuild.
func TestMemoryCatchUpAfterRestart(t *testing.T) {
	ctx := context.Background()
	c := buildCampaign(t, 300, 10, 7)
	path := c.path
	if err := c.s.Close(); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, path)
	emb := &countingEmbedder{Local: embed.NewLocal(0)}
	if err := s.SetEmbedder(ctx, emb); err != nil {
		t.Fatal(err)
	}
	st, err := s.MemoryStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unembedded != c.memories || st.Unscored != c.memories {
		t.Fatalf("before any worker: %+v, want %d memories to do", st, c.memories)
	}
	// A worker that is stopped after its first batches.
	w := s.StartWorkers(store.WorkerOptions{Scorer: testScorer{}, Batch: 8})
	for {
		st, err = s.MemoryStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Unembedded < c.memories {
			break
		}
		time.Sleep(time.Millisecond)
	}
	w.Close()
	s.Close()

	s = mustOpen(t, path)
	if err := s.SetEmbedder(ctx, emb); err != nil {
		t.Fatal(err)
	}
	w = startWorkers(t, s)
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	wantConsistent(t, path)
	distinct := map[string]bool{}
	ms, err := s.Memories(ctx, core.MaskAll)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		distinct[m.Text] = true
	}
	// At most the batch the first worker was computing when stopped is
	// computed twice.
	embedded := emb.texts.Load()
	if embedded < int64(len(distinct)) || embedded > int64(len(distinct)+8) {
		t.Fatalf("embedded %d texts for %d distinct memories", embedded, len(distinct))
	}

	// Reset the index: all of it comes back from the cache.
	if err := s.ResetIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	wantConsistent(t, path)
	// A branch from the middle of the story and back: the memories after
	// the fork leave the indexes and come back, from the cache.
	mid := c.facts[len(c.facts)/2].id
	head, err := s.Head(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetHead(ctx, "past", mid); err != nil {
		t.Fatal(err)
	}
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	n := wantConsistent(t, path)
	late := c.facts[len(c.facts)-1]
	for bit := 0; bit < 3; bit++ {
		got, err := s.Recall(ctx, core.Mask(1<<bit), late.query, 8)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			if m.ID > mid {
				t.Fatalf("on a branch that ends at %d, recalled memory %d from the abandoned future", mid, m.ID)
			}
		}
	}
	// The query was embedded once (this embedder is not the local one, so
	// queries go through it too).
	if got := emb.texts.Load(); got != embedded+1 {
		t.Fatalf("embedded %d texts, want %d: the memories were cached, the query once", got, embedded+1)
	}
	embedded++
	if err := s.SetHead(ctx, store.DefaultBranch, head); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Rebuild(ctx, store.DefaultBranch); err != nil {
		t.Fatal(err)
	}
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if m := wantConsistent(t, path); m <= n {
		t.Fatalf("back on main: %d memories, the branch had %d", m, n)
	}
	if got := emb.texts.Load(); got != embedded {
		t.Fatalf("after reset, branch switch and rebuild: embedded %d texts, want still %d (all cached)", got, embedded)
	}
}

// TestRecallDoesNotWaitForWorkers: a fact said in the last turn, before any
// worker ran, is recalled at once (its embedding computed inline), and the
// ranking is the same once the workers have indexed it.
func TestRecallDoesNotWaitForWorkers(t *testing.T) {
	ctx := context.Background()
	c := buildCampaign(t, 200, 5, 11)
	w := startWorkers(t, c.s)
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	eng := mustEngine(t, c.s, store.DefaultBranch)
	fact := "By the way, the ferry tickets are folded inside the thermos lid."
	evs, err := eng.Append(ctx, []core.Draft{
		{Type: core.TypeFactNoted, Payload: &core.FactNoted{Who: "mara", Fact: fact}, Mask: 2, WorldTime: eng.State().Clock},
	})
	if err != nil {
		t.Fatal(err)
	}
	query := "where are the ferry ticket?"
	before, _, err := c.s.Retrieve(ctx, 2, query, 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || before[0].ID != evs[0].Seq {
		t.Fatalf("before the workers: top %v, want the new fact %d first", ids(before), evs[0].Seq)
	}
	if mst, err := c.s.MemoryStatus(ctx); err != nil || mst.Unembedded != 1 {
		t.Fatalf("the fact should still wait for the worker: %+v %v", mst, err)
	}
	w = startWorkers(t, c.s)
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	after, _, err := c.s.Retrieve(ctx, 2, query, 8)
	if err != nil {
		t.Fatal(err)
	}
	// Significance arrived meanwhile, so scores move; the fact stays first.
	if after[0].ID != evs[0].Seq {
		t.Fatalf("after the workers: top %v", ids(after))
	}
	// Jun did not hear it: nothing of it reaches him, before or after.
	for _, who := range []core.Mask{1, 4} {
		got, err := c.s.Recall(ctx, who, query, 8)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(got, func(m core.Recalled) bool { return m.ID == evs[0].Seq }) {
			t.Fatalf("%s recalled a fact only mara knows", who)
		}
	}
}

func ids(rs []store.Recollection) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// TestRecallScoresAndPins: parts add up to the score, a pinned memory is
// recalled whatever the query, an auto-pinned one says so, and the lines
// the prompt carries are left out.
func TestRecallScoresAndPins(t *testing.T) {
	ctx := context.Background()
	s, _ := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	var texts []string
	for i := range 40 {
		texts = append(texts, fmt.Sprintf("%s %s (%d)", fillOpeners[i%len(fillOpeners)], fillMiddles[i%len(fillMiddles)], i))
	}
	evs, err := eng.Append(ctx, lineTurn(eng.State(), 7, texts...))
	if err != nil {
		t.Fatal(err)
	}
	pinned := evs[3].Seq
	mustDo(t, eng, fmt.Sprintf(`{"op":"pin","memory":%d}`, pinned))
	heavy, err := eng.Append(ctx, lineTurn(eng.State(), 7, "I swear I never told anyone about the crash, and the truth is I got fired."))
	if err != nil {
		t.Fatal(err)
	}
	// Enough lines after it that it is out of the prompt's history.
	more := make([]string, 30)
	for i := range more {
		more[i] = fmt.Sprintf("%s (%d)", fillEnders[i%len(fillEnders)], 100+i)
	}
	recent, err := eng.Append(ctx, lineTurn(eng.State(), 7, more...))
	if err != nil {
		t.Fatal(err)
	}
	w := startWorkers(t, s)
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Retrieve(ctx, 2, "the radio keeps cutting out", 8)
	if err != nil {
		t.Fatal(err)
	}
	var sawPin, sawAuto bool
	for _, r := range got {
		var sum float64
		for _, v := range r.Parts {
			sum += v
		}
		if d := sum - r.Score; d > 1e-3 || d < -1e-3 {
			t.Errorf("memory %d: parts %v add up to %.4f, score %.4f", r.ID, r.Parts, sum, r.Score)
		}
		if r.ID == pinned {
			sawPin = r.Pinned && r.Parts["pinned"] > 0
		}
		if r.ID == heavy[0].Seq {
			sawAuto = r.Pinned && r.AutoPinned && r.Parts["auto_pinned"] > 0
		}
		for _, e := range recent[len(recent)-24:] {
			if r.ID == e.Seq {
				t.Errorf("recalled line %d, which the prompt's history carries", r.ID)
			}
		}
	}
	if !sawPin || !sawAuto {
		t.Fatalf("pinned seen %v, auto-pinned seen %v in %v", sawPin, sawAuto, got)
	}
	// A prompt whose history is cut elsewhere says what it carries.
	has := func(rs []core.Recalled, id int64) bool {
		return slices.ContainsFunc(rs, func(m core.Recalled) bool { return m.ID == id })
	}
	line125, line119 := recent[25].Seq, recent[19].Seq
	if got, err := s.Recall(ctx, 2, "125", 8); err != nil || has(got, line125) {
		t.Fatalf("line 125 is among the 24 newest: Recall should leave it out (%v)", err)
	}
	if got, err := s.RecallOutside(ctx, 2, "125", 8, -1); err != nil || !has(got, line125) {
		t.Fatalf("a prompt carrying no lines: line 125 should be recalled (%v)", err)
	}
	if got, err := s.RecallOutside(ctx, 2, "125 119", 8, recent[20].Seq); err != nil || has(got, line125) || !has(got, line119) {
		t.Fatalf("a prompt carrying lines from 120 on: want 119 and not 125 (%v)", err)
	}

	// A weight of 0 drops its part; bad weights are refused.
	w0 := store.DefaultWeights()
	w0.Recency = 0
	s.SetWeights(w0)
	got, _, err = s.Retrieve(ctx, 2, "radio", 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if _, ok := r.Parts["recency"]; ok {
			t.Fatalf("recency weight 0 but part present: %v", r.Parts)
		}
	}
	for _, bad := range []map[string]float64{{"vector": -1}, {"half_life": 0}, {"auto_pin": 11}, {"recency_": 1},
		{"recent_lines": 2.5}, {"vector": 0, "lexical": 0, "recency": 0, "significance": 0, "pinned": 0}} {
		if _, err := store.WeightsFrom(bad); err == nil {
			t.Errorf("WeightsFrom(%v) accepted", bad)
		}
	}
}

// TestMemoryIndexSchema: the vector index as the migration makes it and as
// a reset makes it are the same table.
func TestMemoryIndexSchema(t *testing.T) {
	ctx := context.Background()
	s, path := newSave(t)
	cols := func() string {
		db := rawDB(t, path)
		rows, err := db.Query(`SELECT name FROM pragma_table_info('memory_vec')`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		var shadow []string
		r2, err := db.Query(`SELECT name FROM sqlite_schema WHERE name LIKE 'memory_vec%' ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Close()
		for r2.Next() {
			var n string
			r2.Scan(&n)
			shadow = append(shadow, n)
		}
		return strings.Join(names, ",") + " / " + strings.Join(shadow, ",")
	}
	before := cols()
	if err := s.ResetIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if after := cols(); after != before {
		t.Fatalf("memory_vec after a reset:\n%s\nafter the migration:\n%s", after, before)
	}
	if !strings.Contains(before, "memory_vec_rowids") || !strings.Contains(before, "memory_vec_chunks") {
		t.Fatalf("sqlite-vec's shadow tables moved (the index status reads them): %s", before)
	}
}

// otherModel stands for an embeddings server: another model (64
// dimensions, from the local embedder's features), counting its texts.
type otherModel struct {
	l     *embed.Local
	texts atomic.Int64
}

func (o *otherModel) Model() string { return "test-model@server/v1" }

func (o *otherModel) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	o.texts.Add(int64(len(texts)))
	return o.l.Embed(ctx, texts)
}

// TestEmbedderSwitch: switching the embedder empties the vector index and
// the worker rebuilds it with the new model; switching back re-indexes
// from the cache, computing nothing. With a model other than the local one,
// vectors come from the cache, and queries through the model.
func TestEmbedderSwitch(t *testing.T) {
	ctx := context.Background()
	c := buildCampaign(t, 150, 5, 3)
	w := startWorkers(t, c.s)
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	local := c.s.Embedder()
	other := &otherModel{l: embed.NewLocal(64)}
	if err := c.s.SetEmbedder(ctx, other); err != nil {
		t.Fatal(err)
	}
	st, err := c.s.MemoryStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unembedded != c.memories || st.IndexRows != 0 {
		t.Fatalf("after the switch: %+v, want an empty index", st)
	}
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	wantConsistent(t, c.path)
	if m, _ := c.s.IndexModel(ctx); m != other.Model() {
		t.Fatalf("index model %q", m)
	}
	f := c.facts[0]
	bit := 0
	for !f.mask.Has(bit) {
		bit++
	}
	got, stats, err := c.s.Retrieve(ctx, core.Mask(1<<bit), f.query, 8)
	if err != nil {
		t.Fatal(err)
	}
	if stats.VectorOff != "" || stats.Vector == 0 || !slices.ContainsFunc(got, func(r store.Recollection) bool { return r.ID == f.id && r.Embedded }) {
		t.Fatalf("with the other model: %+v, top %v, want fact %d with its vector", stats, ids(got), f.id)
	}
	texts := other.texts.Load()
	if err := c.s.SetEmbedder(ctx, local); err != nil {
		t.Fatal(err)
	}
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	wantConsistent(t, c.path)
	if err := c.s.SetEmbedder(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got := other.texts.Load(); got != texts {
		t.Fatalf("switching back embedded %d texts again; the cache holds them all", got-texts)
	}
}
