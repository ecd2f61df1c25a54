package lua_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"diorama/lua"
)

func TestLoadGood(t *testing.T) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w := p.World()
	if got, want := w.ID, "good"; got != want {
		t.Fatalf("world id %q, want %q", got, want)
	}
	if got, want := w.Cast().Members(), []string{"you", "mara", "jun"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("cast %v, want %v", got, want)
	}
	if got, want := len(w.Locations), 2; got != want {
		t.Fatalf("%d locations, want %d", got, want)
	}
	if got, want := w.Containers[0].Slots["driver"].Reaches, []string{"wheel"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("driver reaches %v, want %v", got, want)
	}
	if got, want := w.Characters[0].At.Slot, "driver"; got != want {
		t.Fatalf("mara's slot %q, want %q", got, want)
	}
	if w.Group == nil || w.Group.Cohesion != 5 {
		t.Fatalf("group %+v, want cohesion 5", w.Group)
	}
	if got, want := w.StoryEvents[1].At, "2000-01-02T06:00"; got != want {
		t.Fatalf("dawn at %q, want %q", got, want)
	}
	for hook, want := range map[string]int{"turn_start": 1, "user_message": 1, "reply": 1, "scene_end": 0} {
		if got := p.Hooks(hook); got != want {
			t.Errorf("Hooks(%q) = %d, want %d", hook, got, want)
		}
	}
	if !p.HasPrompt("system") || p.HasPrompt("reply") {
		t.Errorf("HasPrompt: system %v reply %v, want true false", p.HasPrompt("system"), p.HasPrompt("reply"))
	}
	items, facts := p.Promotions("picnic")
	if !reflect.DeepEqual(items, []string{"blanket"}) || !reflect.DeepEqual(facts, []string{"the lake was lovely"}) {
		t.Errorf("Promotions = %v %v", items, facts)
	}
	if got := p.PromotionsFor("picnic"); len(got) != 2 || got[1].To != "jun" || got[0].To != "" {
		t.Errorf("PromotionsFor = %+v", got)
	}
	if p.Dir() != "testdata/good" {
		t.Errorf("Dir = %q", p.Dir())
	}
	if len(p.Hash()) != 64 {
		t.Errorf("Hash = %q, want 64 hex digits", p.Hash())
	}
}

func TestHash(t *testing.T) {
	dir := writePack(t, map[string]string{
		"pack.lua":      baseWorld + `require("more")`,
		"more.lua":      `-- v1`,
		"tests/a.lua":   `test("x", function(t) end)`,
		"notes.txt":     "not Lua",
		".hidden/x.lua": "-- not loaded",
	})
	hash := func() string {
		t.Helper()
		p, err := lua.Load(dir, lua.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		return p.Hash()
	}
	h1 := hash()
	if h2 := hash(); h1 != h2 {
		t.Fatalf("same files, different hashes: %s %s", h1, h2)
	}
	for _, name := range []string{"tests/a.lua", "notes.txt", ".hidden/x.lua"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("-- changed"), 0o644); err != nil {
			t.Fatal(err)
		}
		if h := hash(); h != h1 {
			t.Fatalf("changing %s changed the hash: it is not part of the rules", name)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "more.lua"), []byte("-- v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if h := hash(); h == h1 {
		t.Fatal("changing a module kept the hash")
	}
}

// TestCheckErrors loads each fixture under testdata/<case>/ and wants
// exactly its problems, each at FILE:LINE.
func TestCheckErrors(t *testing.T) {
	cases := []struct {
		name string
		want []string // prefixes of the problems, in order
	}{
		{"syntax", []string{"testdata/syntax/pack.lua:10: syntax error near 'end'"}},
		{"unknown_field", []string{
			`testdata/unknown_field/pack.lua:6: character{}: unknown field "moood" (did you mean "mood"?)`,
			`testdata/unknown_field/pack.lua:10: location{}: unknown field "nmae" (did you mean "name"?)`,
		}},
		{"wrong_type", []string{
			"testdata/wrong_type/pack.lua:6: character{}: goals: want a list of strings, got a string",
			"testdata/wrong_type/pack.lua:7: relationship(): affinity: want a number, got a string",
		}},
		{"bad_slot", []string{`testdata/bad_slot/pack.lua:6: character "mara": slot "trunk" does not exist in "car" (slots: driver, passenger)`}},
		{"three_bots", []string{`testdata/three_bots/pack.lua:8: character "kim": at most 2 characters besides the player, got 3`}},
		{"unknown_relationship", []string{`testdata/unknown_relationship/pack.lua:8: relationship mara->ghost: unknown character "ghost"`}},
		{"duplicate_id", []string{
			`testdata/duplicate_id/pack.lua:7: location "mara": duplicate id (already a character at testdata/duplicate_id/pack.lua:6)`,
			`testdata/duplicate_id/pack.lua:8: location "road": duplicate id (already a location at testdata/duplicate_id/pack.lua:2)`,
		}},
		{"unknown_hook", []string{`testdata/unknown_hook/pack.lua:6: on(): unknown hook "turn_strat" (did you mean "turn_start"?)`}},
		{"module_error", []string{"testdata/module_error/places.lua:3: attempt to index a non-table object(nil) with key 'field'"}},
		{"no_world", []string{"testdata/no_world/pack.lua:1: no world{...} declared", "testdata/no_world/pack.lua:1: no player{...} declared"}},
		{"timeout", []string{"testdata/timeout/pack.lua:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := lua.Load(filepath.Join("testdata", tc.name), lua.Options{LoadTimeout: 100e6})
			if err == nil {
				p.Close()
				t.Fatal("loaded, want problems")
			}
			var le *lua.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T, want *lua.LoadError", err)
			}
			if len(le.Problems) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(le.Problems), len(tc.want), err)
			}
			for i, pr := range le.Problems {
				if !strings.HasPrefix(pr.String(), tc.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i+1, pr, tc.want[i])
				}
				if pr.Line <= 0 {
					t.Errorf("problem %d has no line: %s", i+1, pr)
				}
			}
			if tc.name == "timeout" && !strings.Contains(err.Error(), "loading the pack: timed out after 100ms") {
				t.Errorf("timeout problem %q does not say it timed out", err)
			}
		})
	}
}

func TestLoadProblems(t *testing.T) {
	t.Run("NoFolder", func(t *testing.T) {
		_, err := lua.Load(filepath.Join(t.TempDir(), "nope"), lua.Options{})
		if err == nil || !strings.Contains(err.Error(), "no such pack folder") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("NoPackLua", func(t *testing.T) {
		got := loadErr(t, map[string]string{"other.lua": ""})
		if len(got) != 1 || got[0] != "PACK/pack.lua: missing: a pack is a folder with a pack.lua" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("SyntaxAtEOF", func(t *testing.T) {
		got := loadErr(t, map[string]string{"pack.lua": "on(\"reply\", function(s)\n  log(1)\n"})
		if len(got) != 1 || !strings.HasPrefix(got[0], "PACK/pack.lua:2: syntax error at the end of the file") {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("Bytecode", func(t *testing.T) {
		got := loadErr(t, map[string]string{"pack.lua": "\x1bLua\x51\x00\x01\x04"})
		if len(got) != 1 || !strings.HasPrefix(got[0], "PACK/pack.lua:1: ") {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("Strict", func(t *testing.T) {
		got := loadErr(t, map[string]string{"pack.lua": baseWorld + `
world{ id = "again", start = { location = "road" } }
character{ id = "has space" }
container{ id = "van", location = "road", slots = { front = { sees = "road" } } }
story_event{ id = "e", props = { "a" }, promote = { items = { "b" } }, starts_when = true }
on("reply")
timeskip("x")
prompt("p", 1)
location{ "positional" }
relationship("mara", "jun")
group{ cohesion = 1.5 }
player{ id = "p2" }
`})
		want := []string{
			`PACK/pack.lua:10: world{}: declared twice (first at PACK/pack.lua:1)`,
			`PACK/pack.lua:11: character{}: id "has space": use letters, digits, _ . - (no spaces)`,
			`PACK/pack.lua:12: container{}.slots.front: sees: want a list of strings, got a string`,
			`PACK/pack.lua:13: story_event{}: starts_when: want a function, got a boolean`,
			`PACK/pack.lua:13: story_event{}.promote: items: "b" is not one of the event's props (a)`,
			`PACK/pack.lua:14: on("reply"): want a function(s, ...) ... end, got a nil`,
			`PACK/pack.lua:15: timeskip(): want timeskip(function(s, skip) ... end), got a string`,
			`PACK/pack.lua:16: prompt("p"): want a function(ctx) ... end, got a number`,
			`PACK/pack.lua:17: location{}: unexpected positional value [1]; use named fields (id, name, description)`,
			`PACK/pack.lua:17: location{}: id is required`,
			`PACK/pack.lua:18: relationship mara->jun: declared twice (first at PACK/pack.lua:8)`,
			`PACK/pack.lua:19: group{}: cohesion: want a whole number, got 1.5`,
			`PACK/pack.lua:20: player{}: declared twice (first at PACK/pack.lua:5)`,
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("ConstructorInHook", func(t *testing.T) {
		p := mustLoad(t, `on("turn_start", function(s) location{ id = "late" } end)`, lua.Options{})
		_, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1)
		if err == nil || !strings.Contains(err.Error(), "location{} can only be called while the pack loads") {
			t.Fatalf("err %v", err)
		}
	})
}
