package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"diorama/store"
)

// worldJSON is the JSON world fixture shared with core's tests.
const worldJSON = "../../core/testdata/world.json"

// newSave creates a save from the JSON fixture and returns its path.
func newSave(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "s.db")
	if code, out, errs := runCheckCmd(t, "init", "--db", db, "--world", worldJSON); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	return db
}

// fileSum hashes a file and its -wal, to prove a command changed nothing.
func fileSum(t *testing.T, path string) string {
	t.Helper()
	h := sha256.New()
	for _, p := range []string{path, path + "-wal"} {
		if b, err := os.ReadFile(p); err == nil {
			h.Write(b)
		}
	}
	return string(h.Sum(nil))
}

func TestInitDoStateLog(t *testing.T) {
	db := newSave(t)
	code, out, errs := runCheckCmd(t, "do", "--db", db, `{"op":"move","who":"car","location":"gas_station"}`)
	if code != 0 || !strings.Contains(out, "container_moved") {
		t.Fatalf("do: exit %d\n%s%s", code, out, errs)
	}
	// Flags may follow the command too.
	if code, out, errs = runCheckCmd(t, "do", `{"op":"set_mood","who":"jun","mood":"giddy"}`, "--db", db, "--json"); code != 0 {
		t.Fatalf("do: exit %d\n%s%s", code, out, errs)
	}
	var ev struct{ Type string }
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Type != "mood_set" {
		t.Fatalf("do --json: %q (%v)", out, err)
	}
	code, out, _ = runCheckCmd(t, "state", "--db", db)
	if code != 0 || !strings.Contains(out, "mood: giddy") || !strings.Contains(out, "Gas station forecourt") {
		t.Fatalf("state:\n%s", out)
	}
	_, h1, _ := runCheckCmd(t, "state", "--db", db, "--hash")
	_, h2, _ := runCheckCmd(t, "state", "--db", db, "--hash")
	if len(strings.TrimSpace(h1)) != 64 || h1 != h2 {
		t.Fatalf("state --hash unstable: %q vs %q", h1, h2)
	}
	code, out, _ = runCheckCmd(t, "state", "--db", db, "--json")
	var st struct {
		Entities map[string]struct{ Mood string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Entities["jun"].Mood != "giddy" {
		t.Fatalf("state --json: %s", out)
	}
	code, out, _ = runCheckCmd(t, "log", "--db", db)
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "world_created") || !strings.Contains(out, "scene_ended") {
		t.Fatalf("log:\n%s", out)
	}
	code, out, _ = runCheckCmd(t, "log", "--db", db, "--json")
	if code != 0 || strings.Count(out, "\n") != 4 {
		t.Fatalf("log --json:\n%s", out)
	}
	// A rebuilt projection hashes the same as the incremental one.
	s, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, _, err := s.Rebuild(t.Context(), "main")
	s.Close()
	if err != nil || rebuilt.Hash() != strings.TrimSpace(h1) {
		t.Fatalf("rebuild hash %s (%v), incremental %s", rebuilt.Hash(), err, h1)
	}
}

// TestBadInput: each bad input is one line on stderr, exit 1 (2 for usage),
// and the save is untouched.
func TestBadInput(t *testing.T) {
	db := newSave(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database at all\n"), 0o644)
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	newer := newSave(t)
	raw, err := sql.Open("sqlite3", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE meta SET value = ? WHERE key = 'schema_version'`, strconv.Itoa(store.SchemaVersion()+5)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	badWorld := filepath.Join(dir, "bad.json")
	os.WriteFile(badWorld, []byte(`{"id":"w","start":{"location":"x"},"locations":[{"id":"x"}],"player":{"id":"you"},"colour":1}`), 0o644)

	tests := []struct {
		name string
		args []string
		save string // the save that must stay untouched
		code int
		want string
	}{
		{"MalformedJSON", []string{"do", "--db", db, `{"op":"move",`}, db, 1, "malformed command JSON"},
		{"UnknownOp", []string{"do", "--db", db, `{"op":"fly","who":"jun"}`}, db, 1, `unknown op "fly"`},
		{"WrongType", []string{"do", "--db", db, `{"op":"advance_time","minutes":"soon"}`}, db, 1, "minutes: want a whole number"},
		{"Rejected", []string{"do", "--db", db, `{"op":"move","who":"jun","container":"car","slot":"driver"}`}, db, 1, "rejected: move: slot: slot taken"},
		{"SecondOfTwoRejected", []string{"do", "--db", db, `{"op":"set_mood","who":"jun","mood":"ok"}`, `{"op":"drop","who":"jun","item":"map"}`}, db, 1, "command 2"},
		{"NoCommand", []string{"do", "--db", db}, db, 2, "give a command"},
		{"MissingSave", []string{"state", "--db", filepath.Join(dir, "nope.db")}, "", 1, "no save at"},
		{"NoDB", []string{"state"}, "", 1, "--db SAVE is required"},
		{"TextFile", []string{"state", "--db", text}, text, 1, "not a diorama save"},
		{"EmptyFile", []string{"log", "--db", empty}, empty, 1, "not a diorama save"},
		{"NewerSchema", []string{"do", "--db", newer, `{"op":"end_scene"}`}, newer, 1, "upgrade diorama"},
		{"InitExists", []string{"init", "--db", db, "--world", worldJSON}, db, 1, "already exists"},
		{"InitBadWorld", []string{"init", "--db", filepath.Join(dir, "w.db"), "--world", badWorld}, "", 1, `unknown field "colour"`},
		{"InitBothSources", []string{"init", "--db", filepath.Join(dir, "w.db"), "--world", worldJSON, "--pack", "x"}, "", 2, "exactly one of"},
		{"UnknownFlag", []string{"state", "--db", db, "--colour"}, db, 2, "flag provided but not defined"},
		{"UnknownCommand", []string{"teleport"}, "", 2, "unknown command"},
		{"UnknownBranch", []string{"state", "--db", db, "--branch", "nope"}, db, 1, "no such branch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before string
			if tt.save != "" {
				before = fileSum(t, tt.save)
			}
			code, _, errs := runCheckCmd(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errs)
			}
			if !strings.Contains(errs, tt.want) {
				t.Fatalf("stderr %q does not contain %q", errs, tt.want)
			}
			if strings.Count(strings.TrimRight(errs, "\n"), "\n") > 0 {
				t.Fatalf("stderr is not one line: %q", errs)
			}
			if strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
				t.Fatalf("stack trace on stderr: %q", errs)
			}
			if tt.save != "" && fileSum(t, tt.save) != before {
				t.Fatal("the save changed")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "w.db")); err == nil {
		t.Fatal("a failed init left a file behind")
	}
}
