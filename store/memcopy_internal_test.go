package store

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"diorama/core"
)

// TestMemCopyIndexes: the memories copy's indexes (the word index with its
// sorted and fresh vocabulary, the pinned and significance orders, the
// counts) answer as a brute-force scan of its rows does, through thousands
// of random adds, cuts, pins, scores and index flags (fixed seed), with
// many more new words than wait beside the sorted vocabulary.
func TestMemCopyIndexes(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 5))
	c := &memCopy{loaded: true, words: newWordIndex(0)}
	c.words.sort()
	syllables := []string{"ka", "ra", "mo", "the", "rm", "os", "li", "ne", "ta", "x", "7"}
	word := func() string {
		var b strings.Builder
		for range 1 + r.IntN(4) {
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		return b.String()
	}
	nextID := int64(1)
	most := 0
	for step := range 3000 {
		most = max(most, len(c.words.words))
		switch op := r.IntN(20); {
		case op < 12: // a turn's memories
			var rows []memInput
			for range 1 + r.IntN(3) {
				words := make([]string, 1+r.IntN(8))
				for i := range words {
					words[i] = word()
				}
				text := strings.Join(words, " ") + fmt.Sprintf(" u%d", nextID) // a word of its own
				if r.IntN(40) == 0 {
					text += " café" // foreign
				}
				m := memInput{id: nextID, kind: []string{KindEpisodic, KindSemantic}[r.IntN(2)], who: "mara", text: text,
					mask: core.Mask(1 + r.IntN(7)), worldTime: nextID, pinned: r.IntN(10) == 0}
				if r.IntN(3) == 0 {
					m.sig, m.hasSig = float64(1+r.IntN(10)), true
				}
				nextID += 1 + int64(r.IntN(3))
				rows = append(rows, m)
			}
			c.add(rows)
		case op < 13 && len(c.rows) > 0 && r.IntN(4) == 0: // a rewind
			at := c.rows[r.IntN(len(c.rows))].id
			if r.IntN(10) == 0 {
				at = 0
			}
			c.cut(at)
			if len(c.rows) > 0 {
				nextID = c.rows[len(c.rows)-1].id + 1
			}
		case op < 15 && len(c.rows) > 0: // pins
			var ids []int64
			for range 1 + r.IntN(3) {
				ids = append(ids, c.rows[r.IntN(len(c.rows))].id)
			}
			var tx wtx
			tx.memPinned(ids, r.IntN(2) == 0)
			c.committed(tx.mem)
		case op < 18 && len(c.rows) > 0: // the workers
			var tx wtx
			m := c.rows[r.IntN(len(c.rows))]
			tx.memScored(m.id, float64(1+r.IntN(10)))
			tx.memIndexed(c.rows[r.IntN(len(c.rows))].id)
			c.committed(tx.mem)
		case op == 18: // resets
			var tx wtx
			switch r.IntN(3) {
			case 0:
				tx.memPinsCleared()
			case 1:
				tx.memScoresCleared()
			case 2:
				tx.memIndexCleared()
			}
			c.committed(tx.mem)
		}
		if err := checkIndexes(c, r); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	if most < 2*maxFreshWords {
		t.Fatalf("at most %d words: the fresh words were never merged", most)
	}
}

// checkIndexes compares the copy's indexes with a scan of its rows.
func checkIndexes(c *memCopy, r *rand.Rand) error {
	foreign, unindexed := 0, 0
	var pins, bySig []int32
	for i, m := range c.rows {
		if m.foreign {
			foreign++
		}
		if !m.indexed {
			unindexed++
		}
		if m.pinned {
			pins = append(pins, int32(i))
		}
		if m.hasSig {
			bySig = append(bySig, int32(i))
		}
	}
	slices.SortFunc(bySig, c.bySigOrder)
	switch {
	case foreign != c.foreign || unindexed != c.unindexed:
		return fmt.Errorf("counts %d foreign, %d unindexed; the rows hold %d and %d", c.foreign, c.unindexed, foreign, unindexed)
	case !slices.Equal(c.pinned(), pins):
		return fmt.Errorf("pinned %v, the rows %v", c.pinned(), pins)
	case !slices.Equal(c.bySig, bySig):
		return fmt.Errorf("by significance %v, the rows %v", c.bySig, bySig)
	}
	for range 4 {
		p := []string{"k", "ka", "kara", "the", "rm", "os", "7", "x", "mo", "zz"}[r.IntN(10)]
		who := core.Mask(1 + r.IntN(7))
		limit := 1 + r.IntN(12)
		var want []int64
		holds := 0
		for i := len(c.rows) - 1; i >= 0; i-- {
			m := c.rows[i]
			toks, ok := asciiTokens(c.textOf(&m))
			if !ok || !hasPrefixToken(toks, p) {
				continue
			}
			holds++
			if m.mask&who != 0 && len(want) < limit {
				want = append(want, m.id)
			}
		}
		if got := c.hits(p, who, limit); !slices.Equal(got, want) {
			return fmt.Errorf("hits of %q for %v (limit %d): %v, the rows %v", p, who, limit, got, want)
		}
		max := []int{8, 40}[r.IntN(2)]
		if got := c.df(p, max); got != min(holds, max) {
			return fmt.Errorf("rows holding %q (up to %d): %d, the rows %d", p, max, got, min(holds, max))
		}
	}
	return nil
}

// TestMemCopyMergeOrder: merge visits each index once, largest first,
// across lists that share entries.
func TestMemCopyMergeOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	c := &memCopy{}
	for range 200 {
		var lists [][]int32
		seen := map[int32]bool{}
		for range r.IntN(6) {
			var l []int32
			for v := int32(0); v < 60; v++ {
				if r.IntN(4) == 0 {
					l = append(l, v)
					seen[v] = true
				}
			}
			lists = append(lists, l)
		}
		var want []int32
		for v := range seen {
			want = append(want, v)
		}
		slices.SortFunc(want, func(a, b int32) int { return cmp.Compare(b, a) })
		stop := r.IntN(len(want) + 2)
		var got []int32
		c.merge(lists, func(v int32) bool { got = append(got, v); return len(got) < stop })
		if len(want) > max(stop, 1) {
			want = want[:max(stop, 1)]
		}
		if stop == 0 && len(want) > 0 {
			want = want[:1]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("merge of %v stopping at %d: %v, want %v", lists, stop, got, want)
		}
	}
}
