package store_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"diorama/core"
	"diorama/core/embed"
	"diorama/store"
)

// knnReference is the same search through sqlite-vec's own KNN over the
// durable index: every partition who witnessed, merged.
func knnReference(t *testing.T, path string, who core.Mask, code []byte, k int, cutoff int64) map[int64]float64 {
	t.Helper()
	db := rawDB(t, path)
	out := map[int64]float64{}
	for m := core.Mask(1); m <= core.MaskAll; m++ {
		if m&who == 0 {
			continue
		}
		rows, err := db.Query(`SELECT rowid, distance FROM memory_vec WHERE code MATCH vec_bit(?) AND k = ? AND w0 = ? AND w1 = ? AND w2 = ? AND ep <= ?`,
			code, k, m&1, m>>1&1, m>>2&1, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var d float64
			if err := rows.Scan(&id, &d); err != nil {
				t.Fatal(err)
			}
			out[id] = d
		}
		rows.Close()
	}
	return out
}

// wantSameNearest checks the in-memory search against sqlite-vec's KNN for
// a handful of queries from every point of view: the same distances, and
// the same memories wherever the k-th distance does not tie.
func wantSameNearest(t *testing.T, s *store.Store, path, stage string, r *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	emb := embed.NewLocal(0)
	queries := []string{"the thermos in the trunk", "where did you park", "remember the lake", "nobody bought coffee"}
	const k = 16
	for _, q := range queries {
		vs, err := emb.Embed(ctx, []string{q})
		if err != nil {
			t.Fatal(err)
		}
		code := store.SignCode(vs[0])
		for who := core.Mask(1); who <= core.MaskAll; who++ {
			cutoff := int64(1 << 62)
			if r.IntN(2) == 0 {
				cutoff = r.Int64N(400)
			}
			ids, dists, err := s.NearestCodes(ctx, who, code, k, cutoff)
			if err != nil {
				t.Fatalf("%s: %v", stage, err)
			}
			ref := knnReference(t, path, who, code, k, cutoff)
			var refD []float64
			for _, d := range ref {
				refD = append(refD, d)
			}
			slices.Sort(refD)
			refD = refD[:min(k, len(refD))]
			if !slices.Equal(dists, refD) {
				t.Fatalf("%s, %q for %v: distances %v, sqlite-vec %v", stage, q, who, dists, refD)
			}
			if len(dists) == 0 {
				continue
			}
			last := dists[len(dists)-1]
			for i, id := range ids {
				if d, ok := ref[id]; dists[i] < last && (!ok || d != dists[i]) {
					t.Fatalf("%s, %q for %v: memory %d at %v, sqlite-vec has it at %v (found %v)", stage, q, who, id, dists[i], d, ok)
				}
			}
		}
	}
}

// TestCodeCopyFollowsIndex: the in-memory copy of the vector index answers
// as sqlite-vec does over the file, through everything that changes the
// index: workers indexing, a branch switch dropping memories, a reset, a
// rebuild, and writes by another handle on the same file (another process).
func TestCodeCopyFollowsIndex(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 8))
	c := buildCampaign(t, 240, 8, 3)
	// The workers run only when asked to catch up (catchUp), so that
	// nothing changes the index between the two searches compared.
	catchUp(t, c.s)
	// The copy loads from sqlite-vec's chunks, not through the slow scan
	// of the virtual table it falls back on.
	if n, err := c.s.CodesInChunks(ctx); err != nil || n != c.memories {
		t.Fatalf("the chunks hold %d codes (%v), want %d", n, err, c.memories)
	}
	wantSameNearest(t, c.s, c.path, "caught up", r)

	// More turns, indexed by this store's workers: applied to the copy as
	// they commit.
	eng := mustEngine(t, c.s, store.DefaultBranch)
	for i := range 20 {
		if _, err := eng.Append(ctx, lineTurn(eng.State(), core.Mask(1+i%7), "the thermos rolled under the seat again", "where did you park the car")); err != nil {
			t.Fatal(err)
		}
	}
	catchUp(t, c.s)
	wantSameNearest(t, c.s, c.path, "after new turns", r)

	// Back to the middle of the story: memories leave the index.
	head, err := c.s.Head(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.s.SetHead(ctx, "past", c.facts[len(c.facts)/2].id); err != nil {
		t.Fatal(err)
	}
	wantSameNearest(t, c.s, c.path, "on a branch, before catch-up", r)
	catchUp(t, c.s)
	wantSameNearest(t, c.s, c.path, "on a branch", r)
	if err := c.s.SetHead(ctx, store.DefaultBranch, head); err != nil {
		t.Fatal(err)
	}
	catchUp(t, c.s)
	wantSameNearest(t, c.s, c.path, "back on main", r)

	// A reset empties the index; the copy follows, then fills again.
	if err := c.s.ResetIndex(ctx); err != nil {
		t.Fatal(err)
	}
	wantSameNearest(t, c.s, c.path, "after a reset", r)
	catchUp(t, c.s)
	if _, _, err := c.s.Rebuild(ctx, store.DefaultBranch); err != nil {
		t.Fatal(err)
	}
	wantSameNearest(t, c.s, c.path, "after a rebuild", r)
	catchUp(t, c.s)
	wantSameNearest(t, c.s, c.path, "caught up after a rebuild", r)

	// Another handle on the file writes turns and indexes them: this
	// store's copy is older than the file and reloads.
	other := mustOpen(t, c.path)
	oeng := mustEngine(t, other, store.DefaultBranch)
	for range 10 {
		if _, err := oeng.Append(ctx, lineTurn(oeng.State(), core.MaskAll, "the lake was further than the map said", "someone left the radio on")); err != nil {
			t.Fatal(err)
		}
	}
	catchUp(t, other)
	wantSameNearest(t, c.s, c.path, "after another process indexed", r)
}

// TestRetrieveCachesChangeNothing: what a long-lived store keeps between
// retrievals (the code copy, the words' hits, the local embeddings, the
// last lines of each point of view) never changes a result: after turns, a branch switch, a rewind and a rebuild,
// every query from every point of view ranks exactly as on a fresh handle
// of the same file.
func TestRetrieveCachesChangeNothing(t *testing.T) {
	ctx := context.Background()
	c := buildCampaign(t, 200, 8, 4)
	// The workers run only when asked to catch up (catchUp), so that
	// nothing changes the file between the two stores' answers.
	catchUp(t, c.s)
	queries := []string{"where is the thermos", "the lake was further than the map said", "remember the radio", c.facts[0].query, c.facts[len(c.facts)-1].query}
	check := func(stage string) {
		t.Helper()
		// The long-lived store keeps its copies, as a playing session
		// does; the fresh one answers through SQL.
		if err := c.s.LoadCopies(ctx); err != nil {
			t.Fatal(err)
		}
		fresh := mustOpen(t, c.path)
		defer fresh.Close()
		// Three answers must agree: this long-lived store's (its caches and
		// its memories copy kept in step by its writer), the same store's
		// through SQL alone, and a fresh store's (its copy loaded now).
		bySQL := func(f func() error) {
			t.Helper()
			c.s.ReadBySQL(true)
			defer c.s.ReadBySQL(false)
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		for who := core.Mask(1); who <= core.MaskAll; who++ {
			for _, n := range []int{5, 40} {
				got, err := c.s.RecentLines(ctx, who, n)
				if err != nil {
					t.Fatal(err)
				}
				want, err := fresh.RecentLines(ctx, who, n)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: the last %d lines of %v: %v, a fresh store %v", stage, n, who, got, want)
				}
				var sql []core.Line
				bySQL(func() (err error) { sql, err = c.s.RecentLines(ctx, who, n); return err })
				if !slices.Equal(got, sql) {
					t.Fatalf("%s: the last %d lines of %v: %v, through SQL %v", stage, n, who, got, sql)
				}
			}
		}
		for _, q := range queries {
			for who := core.Mask(1); who <= core.MaskAll; who++ {
				got, gst, err := c.s.Retrieve(ctx, who, q, 8)
				if err != nil {
					t.Fatal(err)
				}
				want, wst, err := fresh.Retrieve(ctx, who, q, 8)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), ids(want)) {
					t.Fatalf("%s: %q for %v: %v, a fresh store %v\n%+v\n%s\n%+v\n%s", stage, q, who, ids(got), ids(want), gst, parts(got), wst, parts(want))
				}
				// Through SQL alone: the same recollections, every field,
				// for the prompt's query and for wider ones (a listing, other
				// history cuts).
				// Auto-pinning from significance 4 as well as the default 9,
				// so the most significant memories are candidates too.
				lowPin := store.DefaultWeights()
				lowPin.AutoPin = 4
				for _, w := range []store.Weights{store.DefaultWeights(), lowPin} {
					c.s.SetWeights(w)
					for _, qu := range []store.Query{{K: 8}, {K: 40}, {K: 8, CarriedFrom: -1}, {K: 12, CarriedFrom: c.facts[len(c.facts)/3].id}} {
						qu.Who, qu.Text = who, q
						got, gst, err := c.s.Search(ctx, qu)
						if err != nil {
							t.Fatal(err)
						}
						var sql []store.Recollection
						var sst store.RetrieveStats
						bySQL(func() (err error) { sql, sst, err = c.s.Search(ctx, qu); return err })
						if !reflect.DeepEqual(got, sql) || gst.Candidates != sst.Candidates || gst.Vector != sst.Vector || gst.Lexical != sst.Lexical {
							t.Fatalf("%s: %+v (auto-pin %v): %v, through SQL %v\n%+v\n%s\n%+v\n%s", stage, qu, w.AutoPin, ids(got), ids(sql), gst, parts(got), sst, parts(sql))
						}
					}
				}
				c.s.SetWeights(store.DefaultWeights())
			}
		}
		if !c.s.MemoryCopyLoaded() {
			t.Fatalf("%s: the memories copy is not loaded: the checks above compared SQL with SQL", stage)
		}
		if err := c.s.CheckMemoryCopy(ctx); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
	}
	check("caught up")
	eng := mustEngine(t, c.s, store.DefaultBranch)
	loads := c.s.MemoryCopyLoads()
	for i := range 12 {
		check("before a turn")
		if _, err := eng.Append(ctx, lineTurn(eng.State(), core.Mask(1+i%7), "the thermos rolled under the seat again", "where did you park the car", "remember the radio that night")); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			// Facts (semantic memories) among the lines: not lines of
			// anyone's history.
			who := []string{"mara", "jun"}[i/2%2]
			drafts, rej := eng.Plan([]core.Command{{Op: "note_fact", Who: who, Fact: fmt.Sprintf("the thermos is under the back seat (%d)", i)}})
			if len(rej) > 0 {
				t.Fatalf("fact rejected: %v", rej)
			}
			if _, err := eng.Append(ctx, drafts); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 0 {
			catchUp(t, c.s)
		}
	}
	check("after turns")
	if n := c.s.MemoryCopyLoads() - loads; n != 0 {
		t.Fatalf("the memories copy was read from the file %d times over turns and the workers' writes: it should follow them", n)
	}
	// Pins: some memories pinned by command, one of them on the branch
	// switched away from below (the switch unpins it, and back pins it).
	st := eng.State()
	var pins []core.Command
	for _, id := range []int64{c.facts[0].id, c.facts[len(c.facts)/2].id, st.LastSeq - 1} {
		pins = append(pins, core.Command{Op: "pin", Memory: id})
	}
	drafts, rej := eng.Plan(pins)
	if len(rej) > 0 {
		t.Fatalf("pins rejected: %v", rej)
	}
	if _, err := eng.Append(ctx, drafts); err != nil {
		t.Fatal(err)
	}
	check("after pins")
	head, err := c.s.Head(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.s.SetHead(ctx, "past", c.facts[len(c.facts)/2].id); err != nil {
		t.Fatal(err)
	}
	check("on a branch")
	catchUp(t, c.s)
	check("on a branch, caught up")
	peng := mustEngine(t, c.s, "past")
	for range 3 {
		if _, err := peng.Append(ctx, lineTurn(peng.State(), core.MaskAll, "a thermos of coffee on the branch", "nobody remembers the radio here")); err != nil {
			t.Fatal(err)
		}
	}
	check("after turns on a branch")
	if err := c.s.SetHead(ctx, store.DefaultBranch, head); err != nil {
		t.Fatal(err)
	}
	check("back on main")
	// A rebuild inserts every memory again: too many for the copy to
	// follow as it commits, so it is read again in the background.
	defer store.SetBigMemoryChange(store.SetBigMemoryChange(50))
	if _, _, err := c.s.Rebuild(ctx, store.DefaultBranch); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild")
	catchUp(t, c.s)
	check("after a rebuild, caught up")
	// Another process writes: this store's copy reloads.
	loads = c.s.MemoryCopyLoads()
	other := mustOpen(t, c.path)
	oeng := mustEngine(t, other, store.DefaultBranch)
	if _, err := oeng.Append(ctx, lineTurn(oeng.State(), core.MaskAll, "the thermos from another process", "remember the radio, said the other process")); err != nil {
		t.Fatal(err)
	}
	other.Close()
	check("after another process wrote")
	if c.s.MemoryCopyLoads() == loads {
		t.Fatal("another process wrote, and the memories copy was not read again")
	}
	eng = mustEngine(t, c.s, store.DefaultBranch)
	// A text the word index does not split in Go: word lookups go to the
	// lexical index, the rest stays with the copy.
	if _, err := eng.Append(ctx, lineTurn(eng.State(), core.MaskAll, "the thermos at the café, naïve as ever", "ラジオ remember the radio")); err != nil {
		t.Fatal(err)
	}
	check("with foreign texts")
	catchUp(t, c.s)
	if err := c.s.ResetIndex(ctx); err != nil {
		t.Fatal(err)
	}
	check("after an index reset")
	catchUp(t, c.s)
	check("after an index reset, caught up")
}

func parts(rs []store.Recollection) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %d %.4f %v\n", r.ID, r.Score, r.Parts)
	}
	return b.String()
}

// TestWorkersCheckpoint: turns no longer pay for SQLite's automatic
// checkpoint; the memory workers checkpoint when they are idle, so after a
// catch-up fewer than checkpointCommits commits are waiting for one.
func TestWorkersCheckpoint(t *testing.T) {
	ctx := context.Background()
	s, _ := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	for i := range 30 {
		if _, err := eng.Append(ctx, lineTurn(eng.State(), core.MaskAll, fmt.Sprintf("line %d about the thermos", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.CommitsSinceCheckpoint(); n < 30 {
		t.Fatalf("%d commits counted after 30 turns", n)
	}
	w := startWorkers(t, s)
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.CommitsSinceCheckpoint(); n >= 8 {
		t.Fatalf("after the workers caught up, %d commits since the last checkpoint", n)
	}
}

// TestMemoryCopyOnlyWhenWanted: a store loads its memories copy only when
// asked (LoadCopies: the memory workers of a playing session), so a
// command that recalls once pays nothing for it; once wanted, the copy
// follows this process's turns and, after another process wrote, is read
// again in the background while SQL answers.
func TestMemoryCopyOnlyWhenWanted(t *testing.T) {
	ctx := context.Background()
	s, path := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	for i := range 5 {
		if _, err := eng.Append(ctx, lineTurn(eng.State(), core.MaskAll, fmt.Sprintf("the thermos, line %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := s.Recall(ctx, 2, "the thermos", 8); err != nil {
			t.Fatal(err)
		}
	}
	if s.MemoryCopyLoaded() || s.MemoryCopyLoads() != 0 {
		t.Fatal("the memories copy was loaded without being asked for")
	}
	w := startWorkers(t, s) // a playing session: the workers load the copies
	if err := w.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadCopies(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.MemoryCopyLoaded() {
		t.Fatal("LoadCopies left the copy unloaded")
	}
	loads := s.MemoryCopyLoads()
	if _, err := eng.Append(ctx, lineTurn(eng.State(), core.MaskAll, "a line of this process")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recall(ctx, 2, "the thermos", 8); err != nil {
		t.Fatal(err)
	}
	if s.MemoryCopyLoads() != loads || !s.MemoryCopyLoaded() {
		t.Fatal("the copy did not follow this process's turn")
	}
	other := mustOpen(t, path)
	oeng := mustEngine(t, other, store.DefaultBranch)
	if _, err := oeng.Append(ctx, lineTurn(oeng.State(), core.MaskAll, "a line of another process about the thermos")); err != nil {
		t.Fatal(err)
	}
	other.Close()
	got, err := s.RecentLines(ctx, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Text != "a line of another process about the thermos" {
		t.Fatalf("after another process wrote, the last line is %v", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.MemoryCopyLoads() == loads || !s.MemoryCopyLoaded() {
		if time.Now().After(deadline) {
			t.Fatal("the copy was not read again after another process wrote")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.CheckMemoryCopy(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBulkMemoryDrop: a deletion that takes most memories out of the
// vector index rebuilds it with the rows that stay instead of deleting the
// others one by one. The index then holds exactly the rows that stay, with
// their codes; the trigger is back as the migration made it (later
// deletions still leave the index); the code copy and the memories copy
// follow; the workers fill the index again.
func TestBulkMemoryDrop(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(2, 9))
	c := buildCampaign(t, 240, 8, 3)
	catchUp(t, c.s)
	if err := c.s.LoadCopies(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := c.s.VectorRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := newSave(t)
	trigger, err := fresh.TriggerSQL(ctx, "memories_vec_delete")
	if err != nil {
		t.Fatal(err)
	}
	wantRows := func(stage string, at int64) {
		t.Helper()
		got, err := c.s.VectorRows(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]string{}
		for id, row := range before {
			if id <= at {
				want[id] = row
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%s: the index holds %d rows, want the %d up to %d", stage, len(got), len(want), at)
		}
		if q, err := c.s.TriggerSQL(ctx, "memories_vec_delete"); err != nil || q != trigger {
			t.Fatalf("%s: the trigger is %q (%v), the migration's %q", stage, q, err, trigger)
		}
		wantSameNearest(t, c.s, c.path, stage, r)
		if err := c.s.CheckMemoryCopy(ctx); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
	}
	head, err := c.s.Head(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	defer store.SetBulkVecDrop(store.SetBulkVecDrop(20))
	rebuilt, stop := store.CountBulkVecDrops()
	defer stop()
	// Far back: most of the index goes, the rows before stay.
	at := c.facts[len(c.facts)/5].id
	if err := c.s.SetHead(ctx, "past", at); err != nil {
		t.Fatal(err)
	}
	wantRows("far back (rebuilt)", at)
	if *rebuilt != 1 {
		t.Fatalf("far back: the index was rebuilt %d times, want once", *rebuilt)
	}
	// A little further back, a few rows: the trigger takes them out.
	at2 := c.facts[len(c.facts)/6].id
	if err := c.s.SetHead(ctx, "past", at2); err != nil {
		t.Fatal(err)
	}
	wantRows("a little further back (trigger)", at2)
	if *rebuilt != 1 {
		t.Fatalf("a little further back: the index was rebuilt (%d): the trigger should have done it", *rebuilt)
	}
	// Back to the head: the workers index the memories again.
	if err := c.s.SetHead(ctx, store.DefaultBranch, head); err != nil {
		t.Fatal(err)
	}
	catchUp(t, c.s)
	wantRows("back on main, caught up", math.MaxInt64)
	// A rebuild drops every memory and the whole index.
	if _, _, err := c.s.Rebuild(ctx, store.DefaultBranch); err != nil {
		t.Fatal(err)
	}
	wantRows("after a rebuild", 0)
	if *rebuilt != 2 {
		t.Fatalf("after a rebuild: the index was rebuilt %d times in all, want twice", *rebuilt)
	}
	catchUp(t, c.s)
	wantRows("after a rebuild, caught up", math.MaxInt64)
}
