package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core"
	"diorama/store"
	"diorama/store/storetest"
)

// newSave creates a save in a temp dir and returns it with its path; it is
// closed when the test ends (closing twice is fine).
func newSave(t testing.TB) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "save.db")
	s, err := store.Create(path, storetest.World())
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// mustOpen opens path and closes it when the test ends.
func mustOpen(t testing.TB, path string) *store.Store {
	t.Helper()
	s, err := store.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustEngine loads an engine on branch.
func mustEngine(t testing.TB, s *store.Store, branch string) *core.Engine {
	t.Helper()
	eng, err := core.NewEngine(context.Background(), s, s, branch)
	if err != nil {
		t.Fatalf("engine on %s: %v", branch, err)
	}
	return eng
}

// mustDo runs commands that must be accepted.
func mustDo(t testing.TB, eng *core.Engine, cmds ...string) []core.Event {
	t.Helper()
	var cs []core.Command
	for _, c := range cmds {
		cmd, err := core.ParseCommand([]byte(c))
		if err != nil {
			t.Fatalf("parse %s: %v", c, err)
		}
		cs = append(cs, cmd)
	}
	evs, err := eng.Do(context.Background(), cs...)
	if err != nil {
		t.Fatalf("do %v: %v", cmds, err)
	}
	return evs
}

// rawDB opens the save file directly, read-only, for inspecting tables.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dumpTables renders the projection tables as text, row by row, for
// comparing two projections of the same branch.
func dumpTables(t testing.TB, path string) string {
	t.Helper()
	db := rawDB(t, path)
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, json FROM entities ORDER BY id`,
		`SELECT from_id, to_id, affinity, trust, notes FROM edges ORDER BY from_id, to_id`,
		`SELECT id, status, json FROM story_events ORDER BY id`,
		`SELECT id, status, text FROM threads ORDER BY id`,
		`SELECT id, kind, who, mask, text, world_time, pinned, significance FROM memories ORDER BY id`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		fmt.Fprintf(&b, "# %s\n", q)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					vals[i] = string(bs)
				}
			}
			fmt.Fprintln(&b, vals...)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return b.String()
}

// readFile returns a file's bytes, failing the test on error.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
