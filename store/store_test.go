package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"diorama/core"
	"diorama/store"
	"diorama/store/storetest"
)

func TestCreate(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s := storetest.MustCreate(t, nil)
		evs, err := s.Events(ctx, store.DefaultBranch)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(evs), 1; got != want {
			t.Fatalf("events = %d, want %d", got, want)
		}
		e := evs[0]
		if e.Type != core.TypeWorldCreated || e.Turn != 0 || e.Parent != 0 || e.Mask != core.MaskAll || e.Branch != store.DefaultBranch {
			t.Fatalf("first event = %+v", e)
		}
		head, err := s.Head(ctx, store.DefaultBranch)
		if err != nil || head != e.Seq {
			t.Fatalf("head = %d, %v; want %d", head, err, e.Seq)
		}
		st, err := s.LoadState(ctx, store.DefaultBranch)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.World.ID, "night_drive_test"; got != want {
			t.Fatalf("world id = %q, want %q", got, want)
		}
		if got := st.Entities["mara"].Container; got != "car" {
			t.Fatalf("mara in %q, want car", got)
		}
		brs, err := s.Branches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(brs) != 1 || brs[0] != (store.Branch{Name: "main", Head: e.Seq, Turn: 0}) {
			t.Fatalf("branches = %+v", brs)
		}
	})
	t.Run("ErrExists", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "save.db")
		if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := store.Create(path, storetest.World())
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("err = %v, want ErrExists", err)
		}
		if got := readFile(t, path); string(got) != "precious" {
			t.Fatalf("file changed: %q", got)
		}
	})
	t.Run("OddPath", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "my saves")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "night 100%?#.db")
		s, err := store.Create(path, storetest.World())
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = mustOpen(t, path)
		if _, err := s.LoadState(ctx, store.DefaultBranch); err != nil {
			t.Fatal(err)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), "night 100%?#.db") {
				t.Errorf("stray file %q", e.Name())
			}
		}
	})
	t.Run("Pragmas", func(t *testing.T) {
		s := storetest.MustCreate(t, nil)
		db := rawDB(t, s.Path())
		for q, want := range map[string]string{
			"PRAGMA journal_mode":                                 "wal",
			"PRAGMA application_id":                               "1684631410",
			"SELECT value FROM meta WHERE key = 'format'":         "diorama",
			"SELECT value FROM meta WHERE key = 'schema_version'": strconv.Itoa(store.SchemaVersion()),
			"SELECT value FROM meta WHERE key = 'world_id'":       "night_drive_test",
			"SELECT group_concat(version) FROM schema_migrations": allVersions(),
		} {
			var got string
			if err := db.QueryRow(q).Scan(&got); err != nil || got != want {
				t.Errorf("%s = %q (%v), want %q", q, got, err, want)
			}
		}
	})
	t.Run("InvalidWorld", func(t *testing.T) {
		w := storetest.World()
		w.ID = ""
		w.Start.Location = "moon"
		path := filepath.Join(t.TempDir(), "save.db")
		_, err := store.Create(path, w)
		if err == nil {
			t.Fatal("want an error")
		}
		for _, want := range []string{"id is required", `"moon"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("file left behind: %v", err)
		}
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("Reopen", func(t *testing.T) {
		s, path := newSave(t)
		eng := mustEngine(t, s, store.DefaultBranch)
		mustDo(t, eng, `{"op":"set_mood","who":"mara","mood":"alert"}`)
		mustDo(t, eng, `{"op":"note_fact","who":"jun","fact":"the radio is broken"}`, `{"op":"advance_time","minutes":15}`)
		mustDo(t, eng, `{"op":"move","who":"car","location":"gas_station"}`)
		want := eng.State().Hash()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := mustOpen(t, path)
		st, err := s2.LoadState(ctx, store.DefaultBranch)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Hash(); got != want {
			t.Fatalf("state after reopen differs:\n got %s\nwant %s", got, want)
		}
		if got, want := st.Turn, int64(3); got != want {
			t.Fatalf("turn = %d, want %d", got, want)
		}
		// And the save keeps working.
		eng2 := mustEngine(t, s2, store.DefaultBranch)
		mustDo(t, eng2, `{"op":"end_scene"}`)
	})

	sqliteNoMeta := func(t *testing.T, path string) {
		db, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`PRAGMA journal_mode=WAL; CREATE TABLE notes(x); INSERT INTO notes VALUES (1)`); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, path string)
		want    error
		message string
	}{
		{name: "Missing", setup: func(t *testing.T, path string) {}, want: fs.ErrNotExist},
		{name: "Text", setup: func(t *testing.T, path string) {
			os.WriteFile(path, []byte("just some notes about the story\n"), 0o644)
		}, want: store.ErrNotSave},
		{name: "Empty", setup: func(t *testing.T, path string) { os.WriteFile(path, nil, 0o644) }, want: store.ErrNotSave},
		{name: "ShortHeader", setup: func(t *testing.T, path string) { os.WriteFile(path, []byte("SQLite format"), 0o644) }, want: store.ErrNotSave},
		{name: "Directory", setup: func(t *testing.T, path string) { os.Mkdir(path, 0o755) }, want: store.ErrNotSave},
		{name: "OtherSQLite", setup: sqliteNoMeta, want: store.ErrNotSave},
		{name: "OtherSQLiteWithWAL", setup: func(t *testing.T, path string) {
			// Leave the -wal and -shm of an open connection beside it.
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(`PRAGMA journal_mode=WAL; CREATE TABLE notes(x); INSERT INTO notes VALUES (1)`); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
		}, want: store.ErrNotSave},
		{name: "NewerSchema", setup: func(t *testing.T, path string) {
			s, err := store.Create(path, storetest.World())
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`UPDATE meta SET value = '999' WHERE key = 'schema_version'`); err != nil {
				t.Fatal(err)
			}
		}, want: store.ErrNewerSchema, message: fmt.Sprintf("schema 999, this build knows %d): upgrade diorama", store.SchemaVersion())},
		{name: "NewerSchemaInWAL", setup: func(t *testing.T, path string) {
			// The bump sits in the WAL of a connection still open (a newer
			// diorama playing right now): the file alone does not show it.
			s, err := store.Create(path, storetest.World())
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(`UPDATE meta SET value = ? WHERE key = 'schema_version'`, strconv.Itoa(store.SchemaVersion()+1)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
		}, want: store.ErrNewerSchema, message: fmt.Sprintf("(schema %d, this build knows %d)", store.SchemaVersion()+1, store.SchemaVersion())},
		{name: "OtherFormat", setup: func(t *testing.T, path string) {
			s, err := store.Create(path, storetest.World())
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`UPDATE meta SET value = 'other' WHERE key = 'format'`); err != nil {
				t.Fatal(err)
			}
		}, want: store.ErrNotSave},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "save.db")
			tc.setup(t, path)
			before := snapshotDir(t, dir)
			s, err := store.Open(path)
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			t.Log(err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if tc.message != "" && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
			if after := snapshotDir(t, dir); after != before {
				t.Fatalf("open changed the directory:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// snapshotDir renders the names of a directory's entries and a hash of
// every file's bytes but the -shm (SQLite's shared-memory index, which any
// reader of a WAL database updates).
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		b.WriteString(e.Name())
		if !e.IsDir() && !strings.HasSuffix(e.Name(), "-shm") {
			sum := sha256.Sum256(readFile(t, filepath.Join(dir, e.Name())))
			b.WriteString(":" + hex.EncodeToString(sum[:8]))
		}
		b.WriteString(" ")
	}
	return b.String()
}

// allVersions is "1,2,…" up to the build's schema version.
func allVersions() string {
	var vs []string
	for v := 1; v <= store.SchemaVersion(); v++ {
		vs = append(vs, strconv.Itoa(v))
	}
	return strings.Join(vs, ",")
}
