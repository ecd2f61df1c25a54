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
