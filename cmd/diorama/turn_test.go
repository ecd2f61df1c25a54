package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// packSave creates a save from the bundled night-drive pack.
func packSave(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "night.db")
	if code, out, errs := runCheckCmd(t, "init", "--db", db, "--pack", "../../worlds/night_drive"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	return db
}

func TestTurnAndPrompt(t *testing.T) {
	db := packSave(t)
	code, out, errs := runCheckCmd(t, "turn", "--db", db, "--backend", "offline", "Mara, how far is the lake?")
	if code != 0 || !strings.HasPrefix(out, "Mara: ") || !strings.Contains(out, "how far is the lake") {
		t.Fatalf("turn: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCheckCmd(t, "turn", "--db", db, "--backend", "offline", "--json", "Jun, music?")
	if code != 0 {
		t.Fatalf("turn --json: exit %d\n%s%s", code, out, errs)
	}
	var types []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct{ Type string }
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("turn --json line %q: %v", l, err)
		}
		types = append(types, ev.Type)
	}
	if got := strings.Join(types, ","); !strings.HasPrefix(got, "line_said,") || !strings.Contains(got, "state_update_proposed") {
		t.Fatalf("turn --json events: %s", got)
	}
	code, out, errs = runCheckCmd(t, "prompt", "--db", db, "--for", "jun")
	if code != 0 || !strings.Contains(out, "Sam: Jun, music?") || !strings.Contains(out, "manifest: ") {
		t.Fatalf("prompt: exit %d\n%s%s", code, out, errs)
	}
	// Jun's prompt holds Jun's feelings, never Mara's secret resentment.
	if strings.Contains(out, "resents") || strings.Contains(out, "never said sorry") {
		t.Fatalf("Mara's secret reached Jun's prompt:\n%s", out)
	}
	code, out, _ = runCheckCmd(t, "prompt", "--db", db, "--for", "jun", "--json")
	var pj struct {
		Messages []struct{ Role, Content string }
		Manifest struct {
			Speaker string
			Edges   []string
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &pj) != nil || pj.Manifest.Speaker != "jun" || len(pj.Messages) == 0 {
		t.Fatalf("prompt --json: %s", out)
	}
	for _, e := range pj.Manifest.Edges {
		if !strings.HasPrefix(e, "jun>") {
			t.Fatalf("jun's manifest names another's edge %s", e)
		}
	}
}

func TestTurnErrors(t *testing.T) {
	db := packSave(t)
	jsonSave := newSave(t)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"NoLine", []string{"turn", "--db", db}, 2, "give your line"},
		{"UnknownBackend", []string{"turn", "--db", db, "--backend", "gpt9", "hi"}, 1, `no backend named "gpt9"`},
		{"NoPack", []string{"turn", "--db", jsonSave, "--backend", "offline", "hi"}, 1, "pass --pack PACK"},
		{"WrongPack", []string{"turn", "--db", jsonSave, "--pack", "../../worlds/diner", "--backend", "offline", "hi"}, 1, `is world "diner" but the save is world "night_drive_json"`},
		{"PromptNotABot", []string{"prompt", "--db", db, "--for", "you"}, 1, `"you" is not a bot`},
		{"PromptNoFor", []string{"prompt", "--db", db}, 2, "--for BOT is required"},
		{"ScriptedNothingQueued", []string{"turn", "--db", db, "--backend", "scripted", "Mara?"}, 1, "your line is kept"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := fileSum(t, db)
			code, _, errs := runCheckCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.want)
			}
			if strings.Count(strings.TrimRight(errs, "\n"), "\n") > 0 {
				t.Fatalf("stderr is not one line: %q", errs)
			}
			if fileSum(t, db) != before {
				t.Fatal("the save changed")
			}
		})
	}
}
