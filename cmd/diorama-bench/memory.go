package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"diorama/core"
	"diorama/core/embed"
	"diorama/lua"
	"diorama/store"
)

func init() {
	groups = append(groups, group{name: "memory", run: benchMemory})
}

// The memory group: long-term memory at scale. A save of memoryCount
// memories (lines said in scenes where one to three of the cast are
// present), the workers catching up on it from nothing, the local
// embedder's throughput, and top-8 retrieval over all of it; then the turn
// benchmark's own save with its memory index caught up, so the turn figure
// includes a real vector and lexical search.
const (
	memoryCount   = 100_000
	memoryDims    = embed.DefaultDims
	memoryQueries = 60 // distinct queries, each asked from every point of view per run
	memoryBatch   = 50 // lines per turn while building the save
)

// memoryQueryPool is what players ask: lines of the synthetic chatter's
// kind, questions about things said long ago, and lines about nothing in
// the save.
func memoryQueryPool(r *rand.Rand) []string {
	var out []string
	for len(out) < memoryQueries/3 {
		out = append(out, syntheticLine(r, r.IntN(memoryCount)))
	}
	for i := 0; len(out) < 2*memoryQueries/3; i++ {
		out = append(out, fmt.Sprintf("Do you remember what we said about %s?", lineMiddles[i%len(lineMiddles)]))
	}
	for _, q := range []string{"Where did you hide the spare key?", "Who called at midnight?", "Tell me about your sister.",
		"What was the name of that motel?", "Are we there yet?", "I'm hungry.", "Why are you so quiet tonight?",
		"What happened at the lake last summer?", "Do you still have the photo?", "Mara, Jun, what now?",
		"Is the radio broken again?", "Let's stop at the next diner.", "How much money do we have left?",
		"Did anyone see the deer?", "Who has the map?", "Jun, promise me you won't tell her.", "Is it going to rain?",
		"Remember the crash?", "What's in the trunk?", "Can we talk about what you said earlier?"} {
		if len(out) >= memoryQueries {
			break
		}
		out = append(out, q)
	}
	return out
}

// memoryMasks: who is present when a line is said (you=1, mara=2, jun=4),
// scene by scene: mostly all three, sometimes two, rarely one.
var memoryMasks = []core.Mask{7, 7, 7, 7, 3, 5, 6, 3, 5, 1}

// buildMemorySave writes n lines on main and returns the path.
func buildMemorySave(dir string, n int) (string, time.Duration, error) {
	ctx := context.Background()
	path := filepath.Join(dir, fmt.Sprintf("memory-%d.db", n))
	st, err := store.Create(path, benchWorld())
	if err != nil {
		return "", 0, err
	}
	defer st.Close()
	eng, err := core.NewEngine(ctx, st, st, store.DefaultBranch)
	if err != nil {
		return "", 0, err
	}
	r := rand.New(rand.NewPCG(42, 6))
	start := time.Now()
	members := eng.State().Cast.Members()
	for written := 0; written < n; {
		mask := memoryMasks[r.IntN(len(memoryMasks))]
		var present []string
		for i, m := range members {
			if mask.Has(i) {
				present = append(present, m)
			}
		}
		k := min(memoryBatch, n-written)
		drafts := make([]core.Draft, 0, k+1)
		s := eng.State()
		for range k {
			drafts = append(drafts, core.Draft{Type: core.TypeLineSaid, Payload: &core.LineSaid{Who: present[r.IntN(len(present))],
				Text: syntheticLine(r, written+len(drafts))}, Mask: mask, WorldTime: s.Clock})
		}
		drafts = append(drafts, core.Draft{Type: core.TypeTimeAdvanced, Payload: &core.TimeAdvanced{Minutes: 5}, Mask: core.MaskAll, WorldTime: s.Clock + 5})
		if _, err := eng.Append(ctx, drafts); err != nil {
			return "", 0, err
		}
		written += k
	}
	return path, time.Since(start), nil
}

func benchMemory(b *bench) ([]result, error) {
	ctx := context.Background()
	var out []result

	// The local embedder alone: texts per second on one goroutine.
	r := rand.New(rand.NewPCG(7, 7))
	texts := make([]string, 20_000)
	for i := range texts {
		texts[i] = syntheticLine(r, i)
	}
	local := embed.NewLocal(memoryDims)
	var rates []float64
	for range b.runs {
		start := time.Now()
		for _, t := range texts {
			local.Vector(t)
		}
		rates = append(rates, float64(len(texts))/time.Since(start).Seconds())
	}
	res := plain("local embedder: texts/s (one core, 384 dims)", median(rates), "texts/s")
	res.Note = fmt.Sprintf("synthetic lines of about %d bytes", len(texts[0]))
	out = append(out, res)

	path, built, err := buildMemorySave(b.dir, memoryCount)
	if err != nil {
		return nil, err
	}
	fmt.Printf("memory: built %d memories in %s\n", memoryCount, built.Round(time.Millisecond))
	st, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	pack, err := loadTurnPack()
	if err != nil {
		return nil, err
	}
	defer pack.Close()
	scorer := lua.HeuristicScorer{Pack: func() *lua.Pack { return pack }}

	// Worker catch-up from nothing: embedding (and indexing), then
	// significance, then re-indexing from the embedding cache.
	catchUp := func(o store.WorkerOptions, reset bool) (float64, error) {
		if reset {
			if err := st.ResetIndex(ctx); err != nil {
				return 0, err
			}
		}
		start := time.Now()
		w := st.StartWorkers(o)
		defer w.Close()
		if err := w.CatchUp(ctx); err != nil {
			return 0, err
		}
		return float64(memoryCount) / time.Since(start).Seconds(), nil
	}
	embRate, err := catchUp(store.WorkerOptions{}, false)
	if err != nil {
		return nil, err
	}
	sigRate, err := catchUp(store.WorkerOptions{Scorer: scorer}, false)
	if err != nil {
		return nil, err
	}
	cacheRate, err := catchUp(store.WorkerOptions{}, true)
	if err != nil {
		return nil, err
	}
	if _, err := catchUp(store.WorkerOptions{Scorer: scorer}, false); err != nil {
		return nil, err
	}
	mst, err := st.MemoryStatus(ctx)
	if err != nil {
		return nil, err
	}
	if mst.Unembedded != 0 || mst.Unscored != 0 {
		return nil, fmt.Errorf("after catch-up: %d unembedded, %d unscored", mst.Unembedded, mst.Unscored)
	}
	res = plain("worker catch-up: embed and index (local embedder)", embRate, "memories/s")
	res.Note = fmt.Sprintf("%dk memories from nothing, batches of 64 through the single writer", memoryCount/1000)
	out = append(out, res)
	res = plain("worker catch-up: re-index from the embedding cache", cacheRate, "memories/s")
	res.Note = "after an index reset (another embedder and back, or a compaction)"
	out = append(out, res)
	res = plain("worker catch-up: significance (Lua heuristic)", sigRate, "memories/s")
	res.Note = "std.significance.score through the pack's VM"
	out = append(out, res)

	// Top-8 retrieval over all of it, from each point of view.
	queries := memoryQueryPool(rand.New(rand.NewPCG(9, 9)))
	for _, q := range queries[:5] { // warm the page cache and the statements
		if _, _, err := st.Retrieve(ctx, 2, q, 8); err != nil {
			return nil, err
		}
	}
	var times, vecCands, cands []float64
	for run := range b.runs {
		for qi, q := range queries {
			for bit := 0; bit < 3; bit++ {
				// Each retrieval a query of its own (a number added), so no
				// partition search comes from the cache of the same line
				// searched a moment ago: this is the cold cost. (Bots
				// answering one line do share it.)
				q := fmt.Sprintf("%s (%d)", q, (run*len(queries)+qi)*3+bit)
				rs, stats, err := st.Retrieve(ctx, core.Mask(1<<bit), q, 8)
				if err != nil {
					return nil, err
				}
				if len(rs) != 8 {
					return nil, fmt.Errorf("retrieval returned %d memories", len(rs))
				}
				times = append(times, ms(stats.Took))
				cands = append(cands, float64(stats.Candidates))
				vecCands = append(vecCands, float64(stats.Vector))
			}
		}
	}
	p99 := percentile(slices.Clone(times), 99)
	res = atMost(fmt.Sprintf("top-8 retrieval p50 (%dk memories, %d dims)", memoryCount/1000, memoryDims), percentile(times, 50), "ms", 20)
	res.Note = fmt.Sprintf("p99 %.1f ms; %d queries × 3 points of view × %d runs; median %d candidates scored, %d from the vector index",
		p99, len(queries), b.runs, int(median(cands)), int(median(vecCands)))
	out = append(out, res)
	// Loading the in-memory copies of the vector index and of the
	// memories, as the memory workers do when play starts (off the first
	// turn's path; a command that recalls once does without them).
	var loads []float64
	var heap uint64
	for range b.runs {
		fresh, err := store.Open(path)
		if err != nil {
			return nil, err
		}
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		start := time.Now()
		err = fresh.LoadCopies(ctx)
		loads = append(loads, ms(time.Since(start)))
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap = max(heap, m1.HeapAlloc-min(m1.HeapAlloc, m0.HeapAlloc))
		fresh.Close()
		if err != nil {
			return nil, err
		}
	}
	res = plain(fmt.Sprintf("load the in-memory copies of the index and the memories (%dk memories)", memoryCount/1000), median(loads), "ms")
	res.Note = fmt.Sprintf("Go heap they hold: %.1f MB", float64(heap)/(1<<20))
	out = append(out, res)
	status := plain("vector index size", float64(mst.IndexRows), "rows")
	status.Note = fmt.Sprintf("%d slots in chunks; %d cached embeddings, %d cached scores", mst.IndexSlots, mst.Embeddings, mst.Scores)
	out = append(out, status)

	return out, nil
}
