package lua_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core"
	"diorama/lua"
)

const speakersPack = `
world{ id = "sp", start = { location = "room" } }
location{ id = "room" }
player{ id = "you" }
character{ id = "ada" }
character{ id = "bo" }
speakers(function(s, line)
  if line:find("quiet") then return {} end
  return { "bo", "ada" }
end)
`

func TestSpeakersRule(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pack.lua"), []byte(speakersPack), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := lua.Load(dir, lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	log, _ := core.NewMemLog(p.World())
	st, _ := log.LoadState(context.Background(), "main")
	got, err := p.Speakers(context.Background(), st, "hello", 1)
	if err != nil || strings.Join(got, ",") != "bo,ada" {
		t.Fatalf("got %v (%v)", got, err)
	}
	if got, err := p.Speakers(context.Background(), st, "be quiet", 1); err != nil || len(got) != 0 {
		t.Fatalf("quiet: got %v (%v)", got, err)
	}
	twice := speakersPack + "speakers(function(s, line) return {} end)\n"
	if err := os.WriteFile(filepath.Join(dir, "pack.lua"), []byte(twice), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := lua.Load(dir, lua.Options{}); err == nil || !strings.Contains(err.Error(), "speakers(): declared twice") {
		t.Fatalf("declared twice: %v", err)
	}
}

func TestDefaultSpeakersFromStdlib(t *testing.T) {
	p, err := lua.Load("../worlds/night_drive", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	log, _ := core.NewMemLog(p.World())
	st, _ := log.LoadState(context.Background(), "main")
	for line, want := range map[string]string{
		"Jun, which way?":          "jun",
		"Mara and Jun, stop it.":   "mara,jun",
		"You two, stop bickering.": "mara,jun",
	} {
		got, err := p.Speakers(context.Background(), st, line, 1)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("%q: got %v (%v), want %s", line, got, err, want)
		}
	}
}

func TestLore(t *testing.T) {
	rep, err := lua.RunTests(context.Background(), "testdata/lore", lua.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || rep.Passed != 2 {
		for _, r := range rep.Results {
			t.Log(r)
		}
		t.Fatalf("%d passed, %d failed", rep.Passed, rep.Failed)
	}
}

func TestLoreProblems(t *testing.T) {
	for src, want := range map[string]string{
		`lore{ id = "x", text = "t" }`:                                       `give keys, or constant = true`,
		`lore{ id = "x", keys = { "a" }, text = "t", known_by = { "zed" } }`: `known_by names unknown character "zed"`,
		`lore{ id = "x", keys = { "(" }, regex = true, text = "t" }`:         `not a valid regular expression`,
		`lore{ id = "x", keys = { "a" }, text = "t", selective = "maybe" }`:  `selective "maybe"`,
		`lore{ id = "x", keys = { "a" }, text = "t", colour = 1 }`:           `unknown field "colour"`,
		`lore{ id = "x", keys = { "a" }, text = "t", constant = "yes" }`:     `constant: want true or false`,
	} {
		dir := t.TempDir()
		pack := "world{ id = \"w\", start = { location = \"room\" } }\nlocation{ id = \"room\" }\nplayer{ id = \"you\" }\n" + src + "\n"
		if err := os.WriteFile(filepath.Join(dir, "pack.lua"), []byte(pack), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := lua.Load(dir, lua.Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "pack.lua:4:") {
			t.Errorf("%s: got %v, want %q at pack.lua:4", src, err, want)
		}
	}
}
