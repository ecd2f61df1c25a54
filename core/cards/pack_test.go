package cards_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core/cards"
	"diorama/lua"
)

// readFixture decodes a testdata file.
func readFixture(t *testing.T, name string) *cards.File {
	t.Helper()
	f, err := cards.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// writePack writes a generated pack into a temp folder.
func writePack(t *testing.T, p *cards.Pack) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), p.ID)
	for name, body := range p.Files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkPack loads the pack as `diorama check` does and runs its tests as
// `diorama test` does: both must pass.
func checkPack(t *testing.T, dir string) *lua.TestReport {
	t.Helper()
	p, err := lua.Load(dir, lua.Options{})
	if err != nil {
		t.Fatalf("check %s: %v", dir, err)
	}
	p.Close()
	rep, err := lua.RunTests(context.Background(), dir, lua.TestOptions{})
	if err != nil {
		t.Fatalf("test %s: %v", dir, err)
	}
	for _, r := range rep.Results {
		if !r.Passed {
			t.Errorf("pack test failed: %s", r.String())
		}
	}
	if rep.Passed == 0 {
		t.Fatalf("pack %s has no tests", dir)
	}
	return rep
}

func build(t *testing.T, in cards.Import, opt cards.PackOptions) (*cards.Pack, string) {
	t.Helper()
	p, err := cards.BuildPack(in, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p, writePack(t, p)
}

func TestPackFromEachFormat(t *testing.T) {
	for _, name := range []string{"v1.json", "v2.json", "v3.json", "chara.png", "ccv3.png", "both.png", "card.charx"} {
		t.Run(name, func(t *testing.T) {
			f := readFixture(t, name)
			p, dir := build(t, cards.Import{Cards: []*cards.Card{f.Card}, CardSources: []string{name}}, cards.PackOptions{User: "Rook"})
			rep := checkPack(t, dir)
			if rep.Passed < 1 {
				t.Fatalf("passed %d", rep.Passed)
			}
			if len(p.Characters) != 1 {
				t.Fatalf("characters %v", p.Characters)
			}
		})
	}
}

func TestPackContents(t *testing.T) {
	f := readFixture(t, "v2.json")
	p, dir := build(t, cards.Import{Cards: []*cards.Card{f.Card}, CardSources: []string{"v2.json"}}, cards.PackOptions{User: "Rook"})
	checkPack(t, dir)
	id := p.Characters[0]
	if id != "captain_ilse_marrow" {
		t.Fatalf("id %q", id)
	}
	mod := string(p.Files["characters/"+id+".lua"])
	for _, want := range []string{
		"hired Rook two days ago",              // {{user}} substituted
		"Captain Ilse Marrow is the captain",   // {{char}} substituted
		`"Machine parts. Says so right here."`, // an example dialogue
		"You're late, deckhand.",               // an alternate greeting
		"{{original}}\nWrite in a salty",       // system prompt keeps {{original}}
		`tags = { "airship", "adventure", "smuggler", "female" }`,
		`creator = "quillwright"`,
	} {
		if !strings.Contains(mod, want) {
			t.Errorf("module lacks %q:\n%s", want, mod)
		}
	}
	if strings.Contains(mod, "{{char}}") || strings.Contains(mod, "{{user}}") {
		t.Errorf("module keeps a macro:\n%s", mod)
	}
	if strings.Contains(mod, "<START>\n") {
		t.Errorf("examples not split on <START>")
	}
	lore := string(p.Files["lore.lua"])
	for _, want := range []string{
		`id = "the_gannet"`,
		`secondary_keys = { "cutter", "lantern" }`, `selective = "and_all"`, // selectiveLogic 3
		`keys = { "(?i)storm(s|y)?", "(?i)\\bsquall\\b" }`, "regex = true", // a /regex/i key makes the entry regex
		"constant = true", "enabled = false", "priority = 30", "order = 120",
		`key "/(?<=old )friend/i" dropped`, // lookbehind: no equivalent in Go
		"entry 7 (Empty draft): its content is empty",
		"entry 6 (Old friend): none of its keys is usable here",
		"-- lore({\n--   id = \"old_friend\",\n--   keys = { \"/(?<=old )friend/i\" },", // commented out, to fix by hand
		"not used here: position = after_char, probability = 60, group = \"law\"",
	} {
		if !strings.Contains(lore, want) {
			t.Errorf("lore.lua lacks %q:\n%s", want, lore)
		}
	}
	if !strings.Contains(string(p.Files["characters/"+id+".card.json"]), `"x_quillwright"`) {
		t.Errorf("the card's unknown extensions are not kept")
	}
	if len(p.Notes) == 0 {
		t.Errorf("no notes for the dropped key and the skipped entry")
	}
}

func TestPackDecoratorsAndStandaloneBooks(t *testing.T) {
	v3 := readFixture(t, "v3.json")
	world := readFixture(t, "st_world.json")
	book := readFixture(t, "lorebook_v3.json")
	p, dir := build(t, cards.Import{Cards: []*cards.Card{v3.Card}, CardSources: []string{"v3.json"},
		Books: []*cards.Lorebook{world.Book, book.Book}, BookSources: []string{"st_world.json", "lorebook_v3.json"}}, cards.PackOptions{})
	checkPack(t, dir)
	if p.Characters[0] != "wren" {
		t.Fatalf("the nickname names the character: %v", p.Characters)
	}
	lore := string(p.Files["lore.lua"])
	for _, want := range []string{
		"-- @@depth 2 (no equivalent here)", "-- @@activate_only_after 3 (no equivalent here)",
		`secondary_keys = { "Hale", "mechanic" }`,                          // @@additional_keys
		`secondary_keys = { "brave" },` + "\n" + `  selective = "not_any"`, // @@exclude_keys
		"Draft: Wren has stowed away before.",                              // @@dont_activate ...
		`keys = { "^wrench(es)?$" }`,                                       // use_regex, case-sensitive
		"Wren hums while she works.",                                       // @@@activate fallback
		`keys = { "harbourmaster", "guild" }`,                              // a comma string
		`secondary_keys = { "debt", "crowns" }`, `selective = "not_any"`,
		`keys = { "(?i)lift" }`, // matchWholeWords false: a substring regex
		`"(?i)\\bcloud ?floor\\b"`,
		"not used here: position = 4, depth = 2, probability = 75, sticky = 2",
	} {
		if !strings.Contains(lore, want) {
			t.Errorf("lore.lua lacks %q:\n%s", want, lore)
		}
	}
	hum := strings.Index(lore, "Wren hums")
	if hum < 0 || !strings.Contains(lore[hum:hum+60], "constant = true") {
		t.Errorf("@@@activate did not make the entry constant")
	}
	draft := strings.Index(lore, "Draft: Wren")
	if !strings.Contains(lore[draft:draft+200], "enabled = false") {
		t.Errorf("@@dont_activate did not disable the entry:\n%s", lore[draft:draft+200])
	}
}

func TestPackTwoCards(t *testing.T) {
	ilse := readFixture(t, "chara.png")
	wren := readFixture(t, "card.charx")
	p, dir := build(t, cards.Import{Cards: []*cards.Card{ilse.Card, wren.Card}, CardSources: []string{"chara.png", "card.charx"}}, cards.PackOptions{User: "Rook"})
	rep := checkPack(t, dir)
	if len(p.Characters) != 2 {
		t.Fatalf("characters %v", p.Characters)
	}
	tests := string(p.Files["tests/import_test.lua"])
	if !strings.Contains(tests, "stays out of") || !strings.Contains(tests, "not_contains") {
		t.Fatalf("no known_by test for two bots:\n%s", tests)
	}
	if rep.Passed < 4 {
		t.Fatalf("want the answer, lore and known_by tests; passed %d", rep.Passed)
	}
	if !strings.Contains(string(p.Files["lore.lua"]), `known_by = { "captain_ilse_marrow" }`) {
		t.Fatalf("a card's own book is not known by its character only")
	}
}

func TestPackSameNameTwice(t *testing.T) {
	a := readFixture(t, "v1.json")
	b := readFixture(t, "v1.json")
	p, dir := build(t, cards.Import{Cards: []*cards.Card{a.Card, b.Card}}, cards.PackOptions{})
	checkPack(t, dir)
	if p.Characters[0] == p.Characters[1] {
		t.Fatalf("two characters share the id %q", p.Characters[0])
	}
}

func TestPackRefusals(t *testing.T) {
	v1 := readFixture(t, "v1.json")
	if _, err := cards.BuildPack(cards.Import{}, cards.PackOptions{}); err == nil {
		t.Fatal("no card: want an error")
	}
	three := []*cards.Card{v1.Card, v1.Card, v1.Card}
	if _, err := cards.BuildPack(cards.Import{Cards: three}, cards.PackOptions{}); err == nil || !strings.Contains(err.Error(), "at most 2") {
		t.Fatalf("three cards: %v", err)
	}
}

// TestPackSharedLoreSaysReader: in a two-bot pack, a shared lorebook's
// {{char}} is whoever reads the entry.
func TestPackSharedLoreSaysReader(t *testing.T) {
	ilse := readFixture(t, "v2.json")
	wren := readFixture(t, "v3.json")
	book := readFixture(t, "lorebook_v3.json")
	p, dir := build(t, cards.Import{Cards: []*cards.Card{ilse.Card, wren.Card}, Books: []*cards.Lorebook{book.Book}}, cards.PackOptions{})
	if !strings.Contains(string(p.Files["lore.lua"]), "He calls {{char}} 'little captain'.") {
		t.Fatalf("the shared entry lost its {{char}}:\n%s", p.Files["lore.lua"])
	}
	extra := `
test("a shared lorebook's {{char}} is the reader", function(t)
  t:reply("captain_ilse_marrow", "\"Hm.\"", nil)
  t:reply("wren", "\"Hm.\"", nil)
  t:say("captain_ilse_marrow, wren, what about the bosun?")
  t:expect(t:prompt("wren")):contains("He calls Wren 'little captain'.")
  t:expect(t:prompt("captain_ilse_marrow")):contains("He calls Captain Ilse Marrow 'little captain'.")
end)
`
	if err := os.WriteFile(filepath.Join(dir, "tests", "extra_test.lua"), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	checkPack(t, dir)
}
