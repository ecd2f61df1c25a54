package store_test

import (
	"context"
	"testing"
	"time"

	"diorama/core"
	"diorama/store"
)

// recallAt is recall@k over the campaign's facts: for each fact and each of
// its witnesses, whether the fact is among the k memories Recall returns
// for the fact's query. It fails the test on any memory returned to a
// character who did not witness it, and on any fact returned to a
// non-witness.
func recallAt(t *testing.T, c *campaign, k int) (hits, total int, misses []string) {
	t.Helper()
	ctx := context.Background()
	for _, f := range c.facts {
		for bit := 0; bit < 3; bit++ {
			who := core.Mask(1 << bit)
			got, err := c.s.Recall(ctx, who, f.query, k)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, m := range got {
				if m.Mask&who == 0 {
					t.Fatalf("%s recalled memory %d (%q) witnessed by %s", who, m.ID, m.Text, m.Mask)
				}
				if m.ID == f.id {
					found = true
				}
			}
			if !f.mask.Has(bit) {
				if found {
					t.Fatalf("non-witness %s recalled the fact %q", who, f.text)
				}
				continue
			}
			total++
			if found {
				hits++
			} else {
				misses = append(misses, who.String()+": "+f.query)
			}
		}
	}
	return hits, total, misses
}

// TestRecallCampaign is the recall test of long-term memory: a campaign of
// 2,400 turns (about 6,000 lines) with 40 facts planted in front of known
// witnesses; asked later with a query that names each fact (by its object,
// or by its place, in other words than the fact's), every witness finds it
// in its top 8 (recall@8 ≥ 0.95, local embedder) and no non-witness ever
// gets it.
func TestRecallCampaign(t *testing.T) {
	turns := 2400
	c := buildCampaign(t, turns, 40, 1)
	ctx := context.Background()
	w := startWorkers(t, c.s)
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := w.CatchUp(cctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d turns, %d lines, %d facts; workers caught up in %s (%d embedded, %d scored)",
		turns, c.memories, len(c.facts), time.Since(start).Round(time.Millisecond), w.Stats().Embedded, w.Stats().Scored)
	st, err := c.s.MemoryStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unembedded != 0 || st.Unscored != 0 {
		t.Fatalf("after catch-up: %d memories unembedded, %d unscored", st.Unembedded, st.Unscored)
	}

	hits, total, misses := recallAt(t, c, 8)
	recall := float64(hits) / float64(total)
	t.Logf("recall@8 = %.3f (%d of %d witness queries)", recall, hits, total)
	for _, m := range misses {
		t.Logf("  missed: %s", m)
	}
	if recall < 0.95 {
		t.Errorf("recall@8 = %.3f, want >= 0.95", recall)
	}

	// The parts on their own, for the record: what each signal finds alone.
	for _, alone := range []struct {
		name string
		w    store.Weights
	}{
		{"vector only", store.Weights{Vector: 1, HalfLife: 1, RecentLines: 24}},
		{"lexical only", store.Weights{Lexical: 1, HalfLife: 1, RecentLines: 24}},
	} {
		c.s.SetWeights(alone.w)
		h, n, _ := recallAt(t, c, 8)
		t.Logf("recall@8 with %s: %.3f", alone.name, float64(h)/float64(n))
	}
	c.s.SetWeights(store.DefaultWeights())
}
