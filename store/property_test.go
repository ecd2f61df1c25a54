package store_test

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"diorama/core"
	"diorama/store"
)

// commandGen makes random commands over the test world, valid and not: ids
// that exist and ids that do not, items held and not held.
type commandGen struct {
	rng   *rand.Rand
	facts []int64 // seqs of facts noted so far (memory ids), on any branch
}

func (g *commandGen) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }

func (g *commandGen) who() string { return g.pick("you", "mara", "jun", "you", "mara", "jun", "ghost") }

func (g *commandGen) item() string {
	return g.pick("map", "basket", "blanket", "coffee", "keys", "coffee")
}

func (g *commandGen) command() core.Command {
	m := map[string]any{}
	switch g.rng.IntN(20) {
	case 0:
		m["op"], m["who"] = "move", g.who()
		switch g.rng.IntN(3) {
		case 0:
			m["location"] = g.pick("road", "gas_station", "shop", "moon")
		case 1:
			m["container"] = g.pick("car", "car", "trunk")
			if g.rng.IntN(2) == 0 {
				m["slot"] = g.pick("driver", "passenger", "back_left", "back_right", "roof")
			}
		default:
			m["who"] = "car"
			m["location"] = g.pick("road", "gas_station", "shop")
		}
	case 1:
		m["op"], m["who"], m["mood"] = "set_mood", g.who(), g.pick("tired", "alert", "giddy", "sullen")
	case 2:
		m["op"], m["who"], m["goals"] = "set_goals", g.who(), []string{g.pick("eat", "sleep", "drive"), g.pick("talk", "hide")}
	case 3:
		m["op"], m["who"], m["doing"] = "set_activity", g.who(), g.pick("driving", "dozing", "reading the map")
	case 4, 5:
		m["op"], m["who"], m["item"] = "hold", g.who(), g.item()
	case 6:
		m["op"], m["who"], m["item"] = "drop", g.who(), g.item()
	case 7:
		m["op"], m["who"], m["to"], m["item"] = "give", g.who(), g.who(), g.item()
	case 8:
		m["op"], m["who"], m["target"] = "attend", g.who(), g.pick("road", "mara", "radio", "jun")
	case 9:
		m["op"], m["who"], m["to"] = "adjust", g.who(), g.pick("you", "mara", "jun", "group")
		m["affinity"] = g.rng.IntN(81) - 40
		if g.rng.IntN(2) == 0 {
			m["trust"] = g.rng.IntN(41) - 20
		}
		if g.rng.IntN(3) == 0 {
			m["note"] = g.pick("owes me", "snores", "kind")
		}
	case 10, 11:
		m["op"], m["who"], m["fact"] = "note_fact", g.who(), "fact "+strconv.Itoa(g.rng.IntN(1000))
	case 12:
		m["op"], m["minutes"] = "advance_time", g.rng.IntN(90)
	case 13:
		m["op"], m["kind"] = "skip", g.pick("elision", "jump", "nap")
		if g.rng.IntN(2) == 0 {
			m["minutes"] = 1 + g.rng.IntN(600)
		} else {
			m["label"] = "later"
		}
	case 14:
		m["op"] = "end_scene"
	case 15:
		m["op"], m["event"] = g.pick("start_event", "complete_event", "cancel_event", "start_event"), g.pick("picnic", "picnic", "party")
	case 16:
		m["op"], m["event"], m["to"] = "promote", g.pick("picnic", "party"), g.who()
		if g.rng.IntN(2) == 0 {
			m["item"] = g.pick("basket", "blanket", "map")
		} else {
			m["fact"] = "the picnic was a disaster"
		}
	case 17:
		m["op"], m["thread"], m["text"] = "open_thread", "t"+strconv.Itoa(g.rng.IntN(8)), "who called?"
	case 18:
		m["op"], m["thread"] = "resolve_thread", "t"+strconv.Itoa(g.rng.IntN(8))
	case 19:
		m["op"] = "pin"
		if len(g.facts) > 0 && g.rng.IntN(4) > 0 {
			m["memory"] = g.facts[g.rng.IntN(len(g.facts))]
		} else {
			m["memory"] = g.rng.IntN(500)
		}
	}
	c, err := core.CommandFromMap(m)
	if err != nil {
		// Malformed on purpose sometimes (an empty goal list etc.): end the
		// scene instead, which is always valid.
		return core.Command{Op: "end_scene"}
	}
	return c
}

// TestProperty runs thousands of random commands through the engine on
// a few branches, with rewinds and forks, then checks that the incremental
// state, LoadState after reopening and Rebuild agree, and that the
// projection tables written turn by turn equal the rebuilt ones.
func TestProperty(t *testing.T) {
	ctx := context.Background()
	steps := 5000
	if v, err := strconv.Atoi(os.Getenv("DIORAMA_PROPERTY_STEPS")); err == nil {
		steps = v
	}
	s, path := newSave(t)
	g := &commandGen{rng: rand.New(rand.NewPCG(7, 11))}
	eng := mustEngine(t, s, store.DefaultBranch)
	accepted, rejected := 0, 0
	for i := range steps {
		if g.rng.IntN(100) == 0 {
			// Rewind or fork: a head moves to a random event of this path.
			evs := mustEvents(t, s, eng.Branch())
			at := evs[g.rng.IntN(len(evs))].Seq
			branch := g.pick(store.DefaultBranch, "alt", "other")
			if err := s.SetHead(ctx, branch, at); err != nil {
				t.Fatal(err)
			}
			eng = mustEngine(t, s, branch)
			continue
		}
		if g.rng.IntN(8) == 0 {
			// A line said, as the turn loop writes it: an episodic memory
			// for those in earshot.
			st := eng.State()
			who := g.pick("you", "mara", "jun")
			evs, err := eng.Append(ctx, []core.Draft{{Type: core.TypeLineSaid, Payload: &core.LineSaid{Who: who, Text: "line " + strconv.Itoa(i)},
				Mask: st.Earshot(who), WorldTime: st.Clock}})
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			g.facts = append(g.facts, evs[0].Seq)
			accepted++
			continue
		}
		cmds := make([]core.Command, 1+g.rng.IntN(3))
		for j := range cmds {
			cmds[j] = g.command()
		}
		evs, err := eng.Do(ctx, cmds...)
		if err != nil {
			if !core.IsRejection(err) {
				t.Fatalf("step %d: %v: %v", i, cmds, err)
			}
			rejected++
			continue
		}
		accepted++
		for _, e := range evs {
			if e.Type == core.TypeFactNoted {
				g.facts = append(g.facts, e.Seq)
			}
		}
	}
	t.Logf("%d turns accepted, %d rejected", accepted, rejected)
	if accepted < steps/4 {
		t.Fatalf("only %d of %d turns accepted: the generator is too wild to test much", accepted, steps)
	}
	incremental := eng.State().Hash()
	tables := dumpTables(t, path)

	brs, err := s.Branches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every branch: snapshot + replay equals a full fold.
	loaded := map[string]string{}
	for _, b := range brs {
		st, err := s.LoadState(ctx, b.Name)
		if err != nil {
			t.Fatal(err)
		}
		loaded[b.Name] = st.Hash()
		rebuilt, _, err := s.Rebuild(ctx, b.Name)
		if err != nil {
			t.Fatal(err)
		}
		if rebuilt.Hash() != loaded[b.Name] {
			t.Fatalf("%s: Rebuild differs from LoadState", b.Name)
		}
	}
	// The engine's branch last, so the tables are its own again.
	rebuilt, _, err := s.Rebuild(ctx, eng.Branch())
	if err != nil {
		t.Fatal(err)
	}
	if got := rebuilt.Hash(); got != incremental {
		t.Fatalf("Rebuild hash %s, incremental %s", got, incremental)
	}
	if got := dumpTables(t, path); got != tables {
		t.Fatalf("projection tables after Rebuild:\n%s\nincremental:\n%s", got, tables)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, path)
	for name, want := range loaded {
		st, err := s2.LoadState(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Hash() != want {
			t.Fatalf("%s: LoadState after reopen differs", name)
		}
	}
	st, err := s2.LoadState(ctx, eng.Branch())
	if err != nil {
		t.Fatal(err)
	}
	if st.Hash() != incremental {
		t.Fatal("LoadState after reopen differs from the incremental state")
	}
}
