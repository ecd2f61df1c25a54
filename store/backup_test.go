package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core"
	"diorama/store"
)

func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	s, path := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	mustDo(t, eng, `{"op":"set_mood","who":"jun","mood":"giddy"}`)
	early := eng.State().Hash()
	b1, err := s.BackupRotated(ctx, "manual", 2)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(b1) != store.BackupDir(path) || !strings.HasSuffix(b1, "-manual.db") {
		t.Fatalf("backup at %s", b1)
	}
	mustDo(t, eng, `{"op":"set_mood","who":"jun","mood":"grim"}`)
	late := eng.State().Hash()
	t.Run("RefusedWhileOpen", func(t *testing.T) {
		_, err := store.Restore(ctx, path, b1, 10)
		if !errors.Is(err, store.ErrInUse) {
			t.Fatalf("restore over an open save: %v", err)
		}
		if bs, _ := store.Backups(path); len(bs) != 1 {
			t.Fatalf("a refused restore took a backup: %v", bs)
		}
	})
	s.Close()
	t.Run("Restore", func(t *testing.T) {
		prior, err := store.Restore(ctx, path, b1, 10)
		if err != nil {
			t.Fatal(err)
		}
		r := mustOpen(t, path)
		if st, err := r.LoadState(ctx, store.DefaultBranch); err != nil || st.Hash() != early {
			t.Fatalf("restored state differs (%v)", err)
		}
		r.Close()
		// The replaced save is in its backup, whole.
		p := mustOpen(t, prior)
		if st, err := p.LoadState(ctx, store.DefaultBranch); err != nil || st.Hash() != late {
			t.Fatalf("the replaced save's backup differs (%v)", err)
		}
		p.Close()
		for _, suffix := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + suffix); err == nil {
				t.Fatalf("a stale %s is left beside the restored save", suffix)
			}
		}
	})
	t.Run("Rotation", func(t *testing.T) {
		r := mustOpen(t, path)
		for range 5 {
			if _, err := r.BackupRotated(ctx, "again", 3); err != nil {
				t.Fatal(err)
			}
		}
		bs, _ := store.Backups(path)
		if len(bs) != 3 || !strings.HasSuffix(bs[2], "-again.db") {
			t.Fatalf("backups after rotation: %v", bs)
		}
	})
	t.Run("NotASave", func(t *testing.T) {
		text := filepath.Join(t.TempDir(), "x.db")
		os.WriteFile(text, []byte("hello"), 0o644)
		if _, err := store.Restore(ctx, path, text, 10); !errors.Is(err, store.ErrNotSave) {
			t.Fatalf("restore from a text file: %v", err)
		}
	})
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	s, _ := newSave(t)
	eng := mustEngine(t, s, store.DefaultBranch)
	mustDo(t, eng, `{"op":"note_fact","who":"mara","fact":"f1"}`)
	if err := eng.NewBranch(ctx, "alt", 1, true); err != nil {
		t.Fatal(err)
	}
	mustDo(t, eng, `{"op":"note_fact","who":"jun","fact":"f2"}`)
	mustDo(t, eng, `{"op":"pin","memory":3}`)
	evs := mustEvents(t, s, "alt") // seqs 1, 3, 4: a gap
	dir := t.TempDir()
	dst := filepath.Join(dir, "imported.db")
	if err := store.Import(ctx, dst, evs, "story"); err != nil {
		t.Fatal(err)
	}
	imp := mustOpen(t, dst)
	cur, _ := imp.CurrentBranch(ctx)
	st, err := imp.LoadState(ctx, "story")
	if err != nil || cur != "story" || st.Hash() != eng.State().Hash() {
		t.Fatalf("imported: branch %q, state equal %v (%v)", cur, st != nil && st.Hash() == eng.State().Hash(), err)
	}
	if got := memoryTexts(t, imp); got != "f2*" {
		t.Fatalf("imported memories %q", got)
	}
	// The imported save plays on.
	e2 := mustEngine(t, imp, "story")
	mustDo(t, e2, `{"op":"note_fact","who":"jun","fact":"f3"}`)
	if err := store.Import(ctx, dst, evs, ""); !errors.Is(err, store.ErrExists) {
		t.Fatalf("import over a save: %v", err)
	}
	bad := append([]core.Event(nil), evs...)
	bad[2].Parent = 99
	if err := store.Import(ctx, filepath.Join(dir, "bad.db"), bad, ""); err == nil {
		t.Fatal("imported a broken path")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "imported.db" && !strings.HasPrefix(e.Name(), "imported.db-") {
			t.Fatalf("a failed import left %s behind", e.Name())
		}
	}
}
