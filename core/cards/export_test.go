package cards_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core"
	"diorama/core/cards"
	"diorama/lua"
)

func TestParseReturnTable(t *testing.T) {
	src := `-- a module
character({ id = "x", name = "X" }) -- not read
local unused = { 1, 2 }
return {
  name = "Wren", -- the name
  scenario = [[
line one
line two]],
  joined = "a" .. 'b' .. [==[c]]d]==],
  examples = { "one", [[
two]], },
  opening = 2, neg = -1.5, hex = 0x10, yes = true, none = nil,
  ["quoted key"] = "v\n\065\"",
  nested = { deep = { "x" } },
  --[[ a long
  comment ]]
  mixed = { "a", k = "v" };
}
`
	got, err := cards.ParseReturnTable([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name": "Wren", "scenario": "line one\nline two", "joined": "abc]]d",
		"examples": []any{"one", "two"}, "opening": 2.0, "neg": -1.5, "hex": 16.0, "yes": true,
		"quoted key": "v\nA\"", "nested": map[string]any{"deep": []any{"x"}},
		"mixed": map[string]any{"1": "a", "k": "v"},
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("got  %s\nwant %s", gb, wb)
	}
	for _, bad := range []struct{ src, want string }{
		{"return { name = card.name }", "plain data"},
		{"return { name = f() }", "plain data"},
		{"return { name = 'x' ", "unfinished table"},
		{"return { [[x }", "unfinished long string"},
		{"return { 'x }", "unfinished string"},
	} {
		if _, err := cards.ParseReturnTable([]byte(bad.src)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.src, err, bad.want)
		}
	}
	for _, none := range []string{"character({})", "return M", "return"} {
		if _, err := cards.ParseReturnTable([]byte(none)); !errors.Is(err, cards.ErrNoTable) {
			t.Errorf("%q: %v, want ErrNoTable", none, err)
		}
	}
}

// TestExportRoundTrip: a card imported into a pack and exported again keeps
// its text, greetings, prompts, extensions and lore.
func TestExportRoundTrip(t *testing.T) {
	f := readFixture(t, "v2.json")
	p, dir := build(t, cards.Import{Cards: []*cards.Card{f.Card}, CardSources: []string{"v2.json"}}, cards.PackOptions{User: "Rook"})
	id := p.Characters[0]
	js := exportPack(t, dir, id)
	back, err := cards.Decode(js)
	if err != nil {
		t.Fatalf("the exported card does not read back: %v\n%s", err, js)
	}
	c := back.Card
	if c.Spec != cards.SpecV2 || c.Name != "Captain Ilse Marrow" || c.Creator != "quillwright" || c.CharacterVersion != "1.3" {
		t.Fatalf("exported %+v", c)
	}
	if !strings.Contains(c.Description, "hired Rook two days ago") || !strings.HasPrefix(c.FirstMes, "*The captain leans") || len(c.AlternateGreetings) != 2 {
		t.Fatalf("text: %q / %q / %q", c.Description, c.FirstMes, c.AlternateGreetings)
	}
	if len(cards.SplitExamples(c.MesExample)) != 2 || !strings.Contains(c.SystemPrompt, "{{original}}") || c.PostHistoryInstructions == "" {
		t.Fatalf("examples/prompts: %q %q %q", c.MesExample, c.SystemPrompt, c.PostHistoryInstructions)
	}
	if _, ok := c.Extensions["x_quillwright"]; !ok {
		t.Fatalf("extensions lost: %v", c.Extensions)
	}
	if c.Book == nil || len(c.Book.Entries) != 6 { // 8 entries, less the two the pack skipped
		t.Fatalf("book: %+v", c.Book)
	}
	var customs *cards.Entry
	for i := range c.Book.Entries {
		if c.Book.Entries[i].Comment == "Customs cutters" {
			customs = &c.Book.Entries[i]
		}
	}
	if customs == nil || customs.Logic != "and_all" || customs.Position != "after_char" || customs.Extensions["group"] == nil {
		t.Fatalf("customs entry: %+v", customs)
	}
	// V1 fields at the top level, for old readers.
	var top map[string]any
	json.Unmarshal(js, &top)
	if top["name"] != "Captain Ilse Marrow" || top["first_mes"] == "" {
		t.Fatalf("no V1 backfill: %v", top["name"])
	}
}

// TestExportNative: a character written by hand exports too.
func TestExportNative(t *testing.T) {
	dir := filepath.Join("..", "..", "worlds", "night_drive")
	js := exportPack(t, dir, "mara")
	back, err := cards.Decode(js)
	if err != nil {
		t.Fatal(err)
	}
	c := back.Card
	if c.Name != "Mara" || !strings.Contains(c.Personality, "night-shift nurse") || !strings.Contains(c.Description, "Appearance: Dark hair") {
		t.Fatalf("%+v", c)
	}
	if !strings.Contains(c.Scenario, "Night Drive") {
		t.Fatalf("scenario %q", c.Scenario)
	}
	// Mara knows the crash and her job; the lake is everyone's.
	var ids []string
	for _, e := range c.Book.Entries {
		ids = append(ids, e.Comment)
	}
	if strings.Join(ids, ",") != "lake_mercy,the_crash,mara_job" {
		t.Fatalf("lore %v", ids)
	}
	js = exportPack(t, dir, "jun")
	back, _ = cards.Decode(js)
	for _, e := range back.Card.Book.Entries {
		if e.Comment == "mara_job" {
			t.Fatal("Jun's card carries lore only Mara knows")
		}
	}
	w := loadWorld(t, dir)
	if _, err := cards.ExportV2(cards.Export{World: w, Character: "you"}); err == nil || !strings.Contains(err.Error(), "the player") {
		t.Fatalf("export the player: %v", err)
	}
	if _, err := cards.ExportV2(cards.Export{World: w, Character: "nobody"}); err == nil || !strings.Contains(err.Error(), "mara, jun") {
		t.Fatalf("export nobody: %v", err)
	}
}

func loadWorld(t *testing.T, dir string) *core.WorldSpec {
	t.Helper()
	p, err := lua.Load(dir, lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	return p.World()
}

// exportPack does what `diorama export-card` does.
func exportPack(t *testing.T, dir, id string) []byte {
	t.Helper()
	x := cards.Export{World: loadWorld(t, dir), Character: id}
	if src, err := os.ReadFile(filepath.Join(dir, "characters", id+".lua")); err == nil {
		if x.Data, err = cards.ParseReturnTable(src); err != nil {
			t.Fatal(err)
		}
	}
	x.Original, _ = os.ReadFile(filepath.Join(dir, "characters", id+".card.json"))
	js, err := cards.ExportV2(x)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
