package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"diorama/core"
	"diorama/store"
)

// memoryTexts lists the texts of every memory in the projection.
func memoryTexts(t *testing.T, s *store.Store) string {
	t.Helper()
	ms, err := s.Memories(context.Background(), core.MaskAll)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		txt := m.Text
		if m.Pinned {
			txt += "*"
		}
		out = append(out, txt)
	}
	return strings.Join(out, ",")
}

func TestBranches(t *testing.T) {
	ctx := context.Background()
	s, path := newSave(t)
	main := mustEngine(t, s, store.DefaultBranch)
	a := mustDo(t, main, `{"op":"note_fact","who":"you","fact":"f1"}`)[0]
	b := mustDo(t, main, `{"op":"note_fact","who":"mara","fact":"f2"}`, `{"op":"open_thread","thread":"t","text":"who called?"}`)[0]
	mustDo(t, main, `{"op":"pin","memory":`+itoa(b.Seq)+`}`)
	if got, want := memoryTexts(t, s), "f1,f2*"; got != want {
		t.Fatalf("main: memories %q, want %q", got, want)
	}

	t.Run("Fork", func(t *testing.T) {
		if err := s.SetHead(ctx, "alt", a.Seq); err != nil {
			t.Fatal(err)
		}
		// The projection follows the moved head at once: f2 is not on alt's path.
		if got, want := memoryTexts(t, s), "f1"; got != want {
			t.Fatalf("alt: memories %q, want %q", got, want)
		}
		if _, ok := s.Memory(b.Seq); ok {
			t.Fatal("alt: f2 should not be a memory here")
		}
		alt := mustEngine(t, s, "alt")
		if alt.State().Threads["t"] != nil {
			t.Fatal("alt: thread t opened after the fork")
		}
		mustDo(t, alt, `{"op":"note_fact","who":"jun","fact":"f3"}`)
		if got, want := memoryTexts(t, s), "f1,f3"; got != want {
			t.Fatalf("alt: memories %q, want %q", got, want)
		}
		// Writing main again brings its projection back.
		mustDo(t, main, `{"op":"note_fact","who":"jun","fact":"f4"}`)
		if got, want := memoryTexts(t, s), "f1,f2*,f4"; got != want {
			t.Fatalf("main: memories %q, want %q", got, want)
		}
		before := dumpTables(t, path)
		st, stats, err := s.Rebuild(ctx, store.DefaultBranch)
		if err != nil {
			t.Fatal(err)
		}
		if st.Hash() != main.State().Hash() {
			t.Fatal("rebuild differs from the incremental state")
		}
		if after := dumpTables(t, path); after != before {
			t.Fatalf("tables after rebuild:\n%s\nincremental:\n%s", after, before)
		}
		if stats.Events != len(mustEvents(t, s, store.DefaultBranch)) {
			t.Fatalf("stats = %+v", stats)
		}
		brs, err := s.Branches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(brs) != 2 || brs[0].Name != "alt" || brs[1].Name != "main" || brs[0].Turn != 2 {
			t.Fatalf("branches = %+v", brs)
		}
	})
	t.Run("Rewind", func(t *testing.T) {
		tip := main.State().LastSeq
		if err := s.SetHead(ctx, store.DefaultBranch, a.Seq); err != nil {
			t.Fatal(err)
		}
		if got, want := memoryTexts(t, s), "f1"; got != want {
			t.Fatalf("memories %q, want %q", got, want)
		}
		// The old engine's head is gone.
		if _, err := main.Do(ctx, mustParse(t, `{"op":"end_scene"}`)); err == nil || !strings.Contains(err.Error(), "moved on") {
			t.Fatalf("stale engine: err = %v, want ErrHeadMoved", err)
		}
		main = mustEngine(t, s, store.DefaultBranch)
		if _, err := main.Do(ctx, mustParse(t, `{"op":"pin","memory":`+itoa(b.Seq)+`}`)); err == nil {
			t.Fatal("pinned a memory from the abandoned future")
		}
		// Nothing is lost: the old tip is still there to branch from.
		if err := s.SetHead(ctx, "future", tip); err != nil {
			t.Fatal(err)
		}
		fut := mustEngine(t, s, "future")
		if fut.State().Threads["t"] == nil {
			t.Fatal("future: thread t is missing")
		}
		if got, want := memoryTexts(t, s), "f1,f2*,f4"; got != want {
			t.Fatalf("future: memories %q, want %q", got, want)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		if err := s.SetHead(ctx, "x", 99999); err == nil || !strings.Contains(err.Error(), "no event 99999") {
			t.Fatalf("err = %v", err)
		}
		if err := s.SetHead(ctx, "", a.Seq); err == nil {
			t.Fatal("empty name accepted")
		}
	})
}

func mustEvents(t *testing.T, s *store.Store, branch string) []core.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), branch)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestSnapshots drives a branch past several snapshot points and checks
// that snapshot + replay, a replay from the root and Rebuild all agree.
func TestSnapshots(t *testing.T) {
	ctx := context.Background()
	s, path := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	for i := range 700 {
		// Two events per turn, so turns straddle the snapshot points.
		mustDo(t, eng, fmt.Sprintf(`{"op":"set_activity","who":"jun","doing":"counting %d"}`, i),
			fmt.Sprintf(`{"op":"adjust","who":"mara","to":"jun","affinity":%d}`, i%3-1))
	}
	want := eng.State().Hash()
	db := rawDB(t, path)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM snapshots`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 { // after the events at depth 0, 500 and 1000
		t.Fatalf("snapshots = %d, want 3 for 1401 events", n)
	}
	check := func(name string) {
		t.Helper()
		st, err := s.LoadState(ctx, store.DefaultBranch)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Hash() != want {
			t.Fatalf("%s: LoadState differs from the engine's state", name)
		}
	}
	check("with snapshots")
	rebuilt, _, err := s.Rebuild(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Hash() != want {
		t.Fatal("Rebuild differs from the engine's state")
	}
	var n2 int
	db.QueryRow(`SELECT count(*) FROM snapshots`).Scan(&n2)
	if n2 != n {
		t.Fatalf("rebuild wrote %d snapshots, appending wrote %d", n2, n)
	}
	check("after rebuild")
	write := func(q string, args ...any) {
		t.Helper()
		err := s.Write(ctx, func(tx *sql.Tx) error { _, err := tx.Exec(q, args...); return err })
		if err != nil {
			t.Fatal(err)
		}
	}
	write(`DELETE FROM snapshots`)
	check("without snapshots")
	if _, _, err := s.Rebuild(ctx, store.DefaultBranch); err != nil {
		t.Fatal(err)
	}
	write(`UPDATE snapshots SET format = 'old-build'`)
	check("with snapshots from another build")

	t.Run("CorruptSnapshot", func(t *testing.T) {
		if _, _, err := s.Rebuild(ctx, store.DefaultBranch); err != nil {
			t.Fatal(err)
		}
		var seq int64
		db.QueryRow(`SELECT max(seq) FROM snapshots`).Scan(&seq)
		for _, bad := range []string{`{`, `{"last_seq":1}`, `{"last_seq":` + itoa(seq) + `,"entities":null}`, `{"last_seq":` + itoa(seq) + `,"entities":{"x":null}}`} {
			write(`UPDATE snapshots SET state = ? WHERE seq = ?`, bad, seq)
			_, err := s.LoadState(ctx, store.DefaultBranch)
			if err == nil || !strings.Contains(err.Error(), "snapshot at event "+itoa(seq)) {
				t.Fatalf("snapshot %s: err = %v, want one naming it", bad, err)
			}
		}
		// Rebuild ignores snapshots and replaces them.
		if _, _, err := s.Rebuild(ctx, store.DefaultBranch); err != nil {
			t.Fatal(err)
		}
		check("after repair")
	})
	t.Run("CorruptPayload", func(t *testing.T) {
		head, _ := s.Head(ctx, store.DefaultBranch)
		write(`UPDATE events SET payload = '{"who":' WHERE seq = ?`, head)
		for name, fn := range map[string]func() error{
			"LoadState": func() error { _, err := s.LoadState(ctx, store.DefaultBranch); return err },
			"Rebuild":   func() error { _, _, err := s.Rebuild(ctx, store.DefaultBranch); return err },
		} {
			err := fn()
			if err == nil || !strings.Contains(err.Error(), "event "+itoa(head)) {
				t.Fatalf("%s: err = %v, want one naming event %d", name, err, head)
			}
		}
	})
}
