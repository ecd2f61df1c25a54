package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"

	"diorama/core"
	"diorama/store"
)

// applyTo returns a project callback folding events into a copy of st.
func applyTo(st *core.State) func([]core.Event) (*core.State, error) {
	return func(evs []core.Event) (*core.State, error) {
		next := st.Clone()
		if err := next.ApplyAll(evs); err != nil {
			return nil, err
		}
		return next, nil
	}
}

func mood(who, m string) core.Draft {
	return core.Draft{Type: core.TypeMoodSet, Payload: &core.MoodSet{Who: who, Mood: m}, Mask: core.MaskAll}
}

func TestAppendTurn(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s, _ := newSave(t)
		st, err := s.LoadState(ctx, store.DefaultBranch)
		if err != nil {
			t.Fatal(err)
		}
		drafts := []core.Draft{
			mood("mara", "alert"),
			{Type: core.TypeFactNoted, Payload: &core.FactNoted{Who: "jun", Fact: "a deer on the road"}, Mask: 0b100, CausedByIndex: 1, WorldTime: 3},
			{Type: core.TypeAttentionSet, Payload: &core.AttentionSet{Who: "mara", Target: "road"}, Mask: core.MaskAll, CausedBy: st.LastSeq},
		}
		evs, err := s.AppendTurn(ctx, store.DefaultBranch, st.LastSeq, drafts, applyTo(st))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(evs), 3; got != want {
			t.Fatalf("events = %d, want %d", got, want)
		}
		for i, e := range evs {
			if e.Turn != 1 || e.Branch != store.DefaultBranch {
				t.Errorf("event %d: turn %d branch %q", i, e.Turn, e.Branch)
			}
			if i > 0 && e.Parent != evs[i-1].Seq {
				t.Errorf("event %d: parent %d, want %d", i, e.Parent, evs[i-1].Seq)
			}
			if !e.CreatedAt.Equal(evs[0].CreatedAt) {
				t.Errorf("event %d: created_at %v differs within the turn", i, e.CreatedAt)
			}
		}
		if evs[0].Parent != st.LastSeq {
			t.Errorf("first parent = %d, want head %d", evs[0].Parent, st.LastSeq)
		}
		if got, want := evs[1].CausedBy, evs[0].Seq; got != want {
			t.Errorf("caused_by (index) = %d, want %d", got, want)
		}
		if got, want := evs[2].CausedBy, st.LastSeq; got != want {
			t.Errorf("caused_by (seq) = %d, want %d", got, want)
		}
		// What was returned is what is stored.
		all, err := s.Events(ctx, store.DefaultBranch)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range all[1:] {
			w := evs[i]
			if e.Seq != w.Seq || e.Parent != w.Parent || e.Type != w.Type || string(e.Payload) != string(w.Payload) ||
				e.Mask != w.Mask || e.CausedBy != w.CausedBy || e.WorldTime != w.WorldTime || !e.CreatedAt.Equal(w.CreatedAt) || e.Version != w.Version {
				t.Errorf("stored event %d = %+v, returned %+v", i, e, w)
			}
		}
		head, _ := s.Head(ctx, store.DefaultBranch)
		if head != evs[2].Seq {
			t.Fatalf("head = %d, want %d", head, evs[2].Seq)
		}
		mask, ok := s.Memory(evs[1].Seq)
		if !ok || mask != 0b100 {
			t.Fatalf("Memory(%d) = %v, %v; want b-only", evs[1].Seq, mask, ok)
		}
		if _, ok := s.Memory(evs[0].Seq); ok {
			t.Fatalf("a mood change is not a memory")
		}
	})

	// failing cases: each must leave the log and the head as they were.
	for _, tc := range []struct {
		name    string
		parent  func(head int64) int64
		drafts  []core.Draft
		project func(st *core.State) func([]core.Event) (*core.State, error)
		want    error
		message string
	}{
		{name: "ErrHeadMoved", parent: func(h int64) int64 { return h - 1 }, want: core.ErrHeadMoved},
		{name: "ProjectError", project: func(*core.State) func([]core.Event) (*core.State, error) {
			return func([]core.Event) (*core.State, error) { return nil, errors.New("rules exploded") }
		}, message: "rules exploded"},
		{name: "ProjectWrongState", project: func(st *core.State) func([]core.Event) (*core.State, error) {
			return func([]core.Event) (*core.State, error) { return st, nil }
		}, message: "returned the state at event"},
		{name: "ProjectNilState", project: func(*core.State) func([]core.Event) (*core.State, error) {
			return func([]core.Event) (*core.State, error) { return nil, nil }
		}, message: "no state"},
		{name: "UnknownType", drafts: []core.Draft{mood("mara", "x"), {Type: "teleported", Payload: struct{}{}}}, message: `unknown event type "teleported"`},
		{name: "BadCausedByIndex", drafts: []core.Draft{mood("mara", "x"), {Type: core.TypeMoodSet, Payload: &core.MoodSet{Who: "jun", Mood: "y"}, CausedByIndex: 2}}, message: "caused-by index 2"},
		{name: "CausedByMissing", drafts: []core.Draft{{Type: core.TypeMoodSet, Payload: &core.MoodSet{Who: "jun", Mood: "y"}, CausedBy: 9999}}, message: "FOREIGN KEY"},
		{name: "BadMask", drafts: []core.Draft{{Type: core.TypeMoodSet, Payload: &core.MoodSet{Who: "jun", Mood: "y"}, Mask: 8}}, message: "bad mask"},
		{name: "ApplyFails", drafts: []core.Draft{{Type: core.TypeMoodSet, Payload: &core.MoodSet{Who: "nobody", Mood: "y"}}}, message: `unknown entity "nobody"`},
		{name: "NoEvents", drafts: []core.Draft{}, message: "no events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := newSave(t)
			eng := mustEngine(t, s, store.DefaultBranch)
			mustDo(t, eng, `{"op":"set_mood","who":"jun","mood":"sleepy"}`)
			st := eng.State()
			before, _ := s.EventCount(ctx)
			tables := dumpTables(t, path)
			head := st.LastSeq
			parent := head
			if tc.parent != nil {
				parent = tc.parent(head)
			}
			drafts := tc.drafts
			if drafts == nil {
				drafts = []core.Draft{mood("mara", "a"), mood("jun", "b"), {Type: core.TypeFactNoted, Payload: &core.FactNoted{Who: "you", Fact: "f"}, Mask: 1}}
			}
			project := applyTo(st)
			if tc.project != nil {
				project = tc.project(st)
			}
			_, err := s.AppendTurn(ctx, store.DefaultBranch, parent, drafts, project)
			if err == nil {
				t.Fatal("append succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.message != "" && !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err = %v, want it to say %q", err, tc.message)
			}
			if !strings.HasPrefix(err.Error(), "append turn on main: ") {
				t.Errorf("err = %v: want the context first", err)
			}
			if after, _ := s.EventCount(ctx); after != before {
				t.Fatalf("events: %d before, %d after", before, after)
			}
			if h, _ := s.Head(ctx, store.DefaultBranch); h != head {
				t.Fatalf("head moved from %d to %d", head, h)
			}
			if got := dumpTables(t, path); got != tables {
				t.Fatalf("projection tables changed:\n%s\nwant\n%s", got, tables)
			}
			// The store still works.
			mustDo(t, eng, `{"op":"set_mood","who":"jun","mood":"awake"}`)
		})
	}

	t.Run("ErrNoBranch", func(t *testing.T) {
		s, _ := newSave(t)
		_, err := s.AppendTurn(ctx, "nope", 1, []core.Draft{mood("jun", "x")}, applyTo(core.NewState()))
		if !errors.Is(err, core.ErrNoBranch) {
			t.Fatalf("err = %v, want ErrNoBranch", err)
		}
		if _, err := s.LoadState(ctx, "nope"); !errors.Is(err, core.ErrNoBranch) {
			t.Fatalf("LoadState err = %v, want ErrNoBranch", err)
		}
		if _, err := s.Head(ctx, "nope"); !errors.Is(err, core.ErrNoBranch) {
			t.Fatalf("Head err = %v, want ErrNoBranch", err)
		}
	})
	t.Run("PanicInProject", func(t *testing.T) {
		s, _ := newSave(t)
		st, _ := s.LoadState(ctx, store.DefaultBranch)
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Fatalf("recovered %v, want the project panic in the caller", p)
				}
			}()
			s.AppendTurn(ctx, store.DefaultBranch, st.LastSeq, []core.Draft{mood("jun", "x")}, func([]core.Event) (*core.State, error) { panic("boom") })
		}()
		if n, _ := s.EventCount(ctx); n != 1 {
			t.Fatalf("events = %d after a panicking turn, want 1", n)
		}
		eng := mustEngine(t, s, store.DefaultBranch)
		mustDo(t, eng, `{"op":"set_mood","who":"jun","mood":"fine"}`)
	})
	t.Run("Closed", func(t *testing.T) {
		s, _ := newSave(t)
		st, _ := s.LoadState(ctx, store.DefaultBranch)
		s.Close()
		_, err := s.AppendTurn(ctx, store.DefaultBranch, st.LastSeq, []core.Draft{mood("jun", "x")}, applyTo(st))
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	})
	t.Run("CanceledContext", func(t *testing.T) {
		s, _ := newSave(t)
		st, _ := s.LoadState(ctx, store.DefaultBranch)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.AppendTurn(cctx, store.DefaultBranch, st.LastSeq, []core.Draft{mood("jun", "x")}, applyTo(st))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestWrite(t *testing.T) {
	ctx := context.Background()
	s, _ := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	evs := mustDo(t, eng, `{"op":"note_fact","who":"mara","fact":"jun lies when bored"}`)
	id := evs[0].Seq
	err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE memories SET significance = 0.9 WHERE id = ?`, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE memories SET significance = 0.1 WHERE id = ?`, id); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	if err == nil || !strings.Contains(err.Error(), "changed my mind") {
		t.Fatalf("err = %v", err)
	}
	// The first write landed, the second rolled back; Rebuild keeps scores.
	if _, _, err := s.Rebuild(ctx, store.DefaultBranch); err != nil {
		t.Fatal(err)
	}
	var sig float64
	if err := rawDB(t, s.Path()).QueryRow(`SELECT significance FROM memories WHERE id = ?`, id).Scan(&sig); err != nil {
		t.Fatal(err)
	}
	if sig != 0.9 {
		t.Fatalf("significance = %v, want 0.9", sig)
	}
}

func TestMemories(t *testing.T) {
	ctx := context.Background()
	s, _ := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	f1 := mustDo(t, eng, `{"op":"note_fact","who":"mara","fact":"jun lies when bored"}`)[0]
	f2 := mustDo(t, eng, `{"op":"note_fact","who":"you","fact":"the map is wrong"}`)[0]
	mustDo(t, eng, `{"op":"start_event","event":"picnic"}`)
	f3 := mustDo(t, eng, `{"op":"promote","event":"picnic","to":"jun","fact":"mara hates picnics"}`)[0]
	mustDo(t, eng, `{"op":"pin","memory":`+itoa(f2.Seq)+`}`)
	if _, err := eng.Do(ctx, mustParse(t, `{"op":"pin","memory":`+itoa(f2.Seq)+`}`)); err == nil {
		t.Fatal("pinned twice")
	}
	if _, err := eng.Do(ctx, mustParse(t, `{"op":"pin","memory":99999}`)); err == nil {
		t.Fatal("pinned a memory that does not exist")
	}
	for _, tc := range []struct {
		name string
		who  core.Mask
		want []store.Memory
	}{
		{"You", 0b001, []store.Memory{{ID: f2.Seq, Kind: "semantic", Who: "you", Mask: 0b001, Text: "the map is wrong", WorldTime: f2.WorldTime, Pinned: true}}},
		{"Mara", 0b010, []store.Memory{{ID: f1.Seq, Kind: "semantic", Who: "mara", Mask: 0b010, Text: "jun lies when bored", WorldTime: f1.WorldTime}}},
		{"Jun", 0b100, []store.Memory{{ID: f3.Seq, Kind: "semantic", Who: "jun", Mask: 0b100, Text: "mara hates picnics", WorldTime: f3.WorldTime}}},
		{"Bots", 0b110, []store.Memory{
			{ID: f1.Seq, Kind: "semantic", Who: "mara", Mask: 0b010, Text: "jun lies when bored", WorldTime: f1.WorldTime},
			{ID: f3.Seq, Kind: "semantic", Who: "jun", Mask: 0b100, Text: "mara hates picnics", WorldTime: f3.WorldTime},
		}},
		{"Nobody", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Memories(ctx, tc.who)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("memory %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestEpisodicMemories(t *testing.T) {
	ctx := context.Background()
	s, _ := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	evs, err := eng.Append(ctx, []core.Draft{
		{Type: core.TypeLineSaid, Payload: &core.LineSaid{Who: "mara", Text: "we are out of gas"}, Mask: 0b011, WorldTime: 5},
		{Type: core.TypeStateUpdate, Payload: &core.StateUpdate{Who: "mara", Raw: "[]"}, Mask: 0b010, CausedByIndex: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Memories(ctx, 0b001)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Memory{ID: evs[0].Seq, Kind: store.KindEpisodic, Who: "mara", Mask: 0b011, Text: "we are out of gas", WorldTime: 5}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("memories = %+v, want [%+v]", got, want)
	}
	if got, _ := s.Memories(ctx, 0b100); len(got) != 0 {
		t.Fatalf("jun did not hear it: %+v", got)
	}
	mustDo(t, eng, `{"op":"pin","memory":`+itoa(evs[0].Seq)+`}`)
	if got, _ := s.Memories(ctx, 0b010); len(got) != 1 || !got[0].Pinned {
		t.Fatalf("after pin: %+v", got)
	}
}

func mustParse(t testing.TB, s string) core.Command {
	t.Helper()
	c, err := core.ParseCommand([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
