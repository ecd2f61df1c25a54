package core_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"diorama/core"
)

// TestIncrementalEqualsRebuild drives thousands of random commands (a fixed
// seed) and checks, all along, that the incrementally projected state equals
// a full rebuild from the log, that rebuilding twice gives the same hash, and
// that the world's invariants hold.
func TestIncrementalEqualsRebuild(t *testing.T) {
	steps := 5000
	if testing.Short() {
		steps = 1000
	}
	ctx := context.Background()
	eng, log := mustEngine(t)
	r := rand.New(rand.NewPCG(42, 2026))
	accepted := 0
	for i := 0; i < steps; i++ {
		c := core.SyntheticCommand(r, eng.State())
		if _, err := eng.Do(ctx, c); err != nil {
			if !core.IsRejection(err) {
				t.Fatalf("step %d %s: %v", i, c, err)
			}
			continue
		}
		accepted++
		checkInvariants(t, eng.State())
		if i%250 == 0 || i == steps-1 {
			full, err := log.LoadState(ctx, "main")
			if err != nil {
				t.Fatal(err)
			}
			again, _ := log.LoadState(ctx, "main")
			if full.Hash() != again.Hash() {
				t.Fatalf("step %d: two rebuilds differ", i)
			}
			if got, want := eng.State().Hash(), full.Hash(); got != want {
				t.Fatalf("step %d: incremental %s != rebuild %s", i, got, want)
			}
		}
	}
	if accepted < steps/3 {
		t.Fatalf("only %d of %d random commands accepted: the generator or the rules are off", accepted, steps)
	}
}

func checkInvariants(t *testing.T, s *core.State) {
	t.Helper()
	slots := map[string]string{}
	items := map[string]string{}
	for id, e := range s.Entities {
		if e.Container != "" {
			ct := s.Containers[e.Container]
			if ct == nil || ct.Slots[e.Slot] == nil {
				t.Fatalf("%s sits in a missing slot %s/%s", id, e.Container, e.Slot)
			}
			if e.Location != ct.Location {
				t.Fatalf("%s is in %s but at %s, while the container is at %s", id, e.Container, e.Location, ct.Location)
			}
			key := e.Container + "/" + e.Slot
			if other, ok := slots[key]; ok {
				t.Fatalf("%s and %s share slot %s", id, other, key)
			}
			slots[key] = id
		}
		if s.Locations[e.Location] == nil {
			t.Fatalf("%s is at unknown location %q", id, e.Location)
		}
		for _, it := range e.Holding {
			if other, ok := items[it]; ok {
				t.Fatalf("%s and %s both hold %q", id, other, it)
			}
			items[it] = id
			if ev := s.PropOwner(it); ev != nil && ev.Status != core.EventActive {
				t.Fatalf("%s holds %q of %s story event %s", id, it, ev.Status, ev.ID)
			}
		}
	}
	for k, e := range s.Edges {
		if e.Affinity < core.MinScore || e.Affinity > core.MaxScore || e.Trust < core.MinScore || e.Trust > core.MaxScore {
			t.Fatalf("edge %s out of bounds: %+v", k, e)
		}
	}
	if s.Group.Cohesion < core.MinScore || s.Group.Cohesion > core.MaxScore {
		t.Fatalf("cohesion out of bounds: %d", s.Group.Cohesion)
	}
}

func TestStateHashStable(t *testing.T) {
	eng, _ := mustEngine(t)
	h1 := eng.State().Hash()
	h2 := eng.State().Clone().Hash()
	if h1 != h2 {
		t.Fatal("a clone hashes differently")
	}
	mustDo(t, eng, `{"op":"set_mood","who":"jun","mood":"calm"}`)
	if eng.State().Hash() == h1 {
		t.Fatal("a change of mood did not change the hash")
	}
}
