package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"diorama/core"
	"diorama/store"
	"diorama/store/storetest"
)

// bigSave writes a save with about n events on main, in turns of 100, with
// a realistic mix of event types, and returns its path. It is cached in
// the benchmark's temp dir per n.
func bigSave(b *testing.B, n int) string {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "big.db")
	s, err := store.Create(path, storetest.World())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	st, err := s.LoadState(ctx, store.DefaultBranch)
	if err != nil {
		b.Fatal(err)
	}
	who := []string{"you", "mara", "jun"}
	k := 0
	for st.LastSeq < int64(n) {
		drafts := make([]core.Draft, 0, 100)
		for range 100 {
			k++
			w := who[k%3]
			var d core.Draft
			switch k % 10 {
			case 0, 1, 2:
				d = core.Draft{Type: core.TypeFactNoted, Payload: &core.FactNoted{Who: w, Fact: "fact number " + strconv.Itoa(k) + " about the long drive to the coast"}, Mask: 1 << (k % 3)}
			case 3:
				d = core.Draft{Type: core.TypeMoodSet, Payload: &core.MoodSet{Who: w, Mood: "mood " + strconv.Itoa(k%7)}, Mask: core.MaskAll}
			case 4:
				d = core.Draft{Type: core.TypeRelationshipAdjust, Payload: &core.RelationshipAdjusted{Who: w, To: who[(k+1)%3], Affinity: k%5 - 2, Trust: k%3 - 1}, Mask: 1 << (k % 3)}
			case 5:
				d = core.Draft{Type: core.TypeTimeAdvanced, Payload: &core.TimeAdvanced{Minutes: 2}, Mask: core.MaskAll}
			case 6:
				d = core.Draft{Type: core.TypeActivitySet, Payload: &core.ActivitySet{Who: w, Doing: "watching the road"}, Mask: core.MaskAll}
			case 7:
				d = core.Draft{Type: core.TypeAttentionSet, Payload: &core.AttentionSet{Who: w, Target: who[(k+2)%3]}, Mask: core.MaskAll}
			case 8:
				d = core.Draft{Type: core.TypeItemHeld, Payload: &core.ItemHeld{Who: w, Item: "cup"}, Mask: core.MaskAll}
			case 9:
				d = core.Draft{Type: core.TypeItemDropped, Payload: &core.ItemDropped{Who: who[(k-1)%3], Item: "cup"}, Mask: core.MaskAll}
			}
			d.WorldTime = st.Clock
			drafts = append(drafts, d)
		}
		var next *core.State
		_, err := s.AppendTurn(ctx, store.DefaultBranch, st.LastSeq, drafts, func(evs []core.Event) (*core.State, error) {
			next = st.Clone()
			return next, next.ApplyAll(evs)
		})
		if err != nil {
			b.Fatal(err)
		}
		st = next
	}
	return path
}

// BenchmarkRebuild reports the rebuild rate on a 100k-event branch
// (DESIGN.md section 12: at least 200k events/s).
func BenchmarkRebuild(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("DIORAMA_BENCH_EVENTS")); err == nil {
		n = v
	}
	path := bigSave(b, n)
	s, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	var events int
	for b.Loop() {
		_, stats, err := s.Rebuild(ctx, store.DefaultBranch)
		if err != nil {
			b.Fatal(err)
		}
		events += stats.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLoadState measures opening a branch: snapshot + replay.
func BenchmarkLoadState(b *testing.B) {
	path := bigSave(b, 100_000)
	s, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.LoadState(ctx, store.DefaultBranch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendTurn measures one turn of three events on a 100k save.
func BenchmarkAppendTurn(b *testing.B) {
	path := bigSave(b, 100_000)
	s, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	eng, err := core.NewEngine(ctx, s, s, store.DefaultBranch)
	if err != nil {
		b.Fatal(err)
	}
	cmds := []core.Command{}
	for _, c := range []string{`{"op":"set_mood","who":"jun","mood":"x"}`, `{"op":"note_fact","who":"mara","fact":"y"}`, `{"op":"advance_time","minutes":1}`} {
		cmd, _ := core.ParseCommand([]byte(c))
		cmds = append(cmds, cmd)
	}
	i := 0
	for b.Loop() {
		i++
		cmds[0].Mood = fmt.Sprint("mood ", i)
		if _, err := eng.Do(ctx, cmds...); err != nil {
			b.Fatal(err)
		}
	}
}
