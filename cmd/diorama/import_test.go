package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core"
	"diorama/core/cards"
	"diorama/store"
)

// cardsDir holds the hand-made card, lorebook and chat fixtures.
const cardsDir = "../../core/cards/testdata"

func cardFixture(name string) string { return filepath.Join(cardsDir, name) }

// importPack imports files into a new pack and returns its folder.
func importPack(t *testing.T, files ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pack")
	args := append([]string{"import"}, files...)
	args = append(args, "--out", dir, "--user", "Rook")
	code, out, errs := runCheckCmd(t, args...)
	if code != 0 {
		t.Fatalf("import %v: exit %d\n%s%s", files, code, out, errs)
	}
	if !strings.HasPrefix(out, "created "+dir+": ") {
		t.Fatalf("import output: %q", out)
	}
	return dir
}

// passes runs check and test on a pack, as a user would.
func packPasses(t *testing.T, dir string) string {
	t.Helper()
	if code, out, errs := runCheckCmd(t, "check", dir); code != 0 || !strings.Contains(out, ": ok (") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := runCheckCmd(t, "test", dir)
	if code != 0 || !strings.HasSuffix(out, " passed, 0 failed\n") {
		t.Fatalf("test: exit %d\n%s%s", code, out, errs)
	}
	return out
}

func TestImportEachFormat(t *testing.T) {
	for _, name := range []string{"v1.json", "v2.json", "v3.json", "chara.png", "ccv3.png", "both.png", "card.charx"} {
		t.Run(name, func(t *testing.T) {
			dir := importPack(t, cardFixture(name))
			packPasses(t, dir)
			if _, err := os.Stat(filepath.Join(dir, "tests", "import_test.lua")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestImportTwoCardsAndLorebooks(t *testing.T) {
	dir := importPack(t, cardFixture("chara.png"), cardFixture("card.charx"), cardFixture("st_world.json"), cardFixture("lorebook_v3.json"))
	out := packPasses(t, dir)
	if !strings.HasPrefix(out, "5 passed") && !strings.HasPrefix(out, "6 passed") {
		t.Fatalf("want the answer, lore and known_by tests: %q", out)
	}
	code, out, _ := runCheckCmd(t, "test", dir, "-v")
	if code != 0 || !strings.Contains(out, "known by Captain Ilse Marrow only, stays out of Wren's prompt\": ok") {
		t.Fatalf("no passing known_by test:\n%s", out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "pack.lua"))
	if !strings.Contains(string(b), `require("characters.wren")`) || !strings.Contains(string(b), `name = "Rook"`) {
		t.Fatalf("pack.lua:\n%s", b)
	}
}

// TestImportBadInput: one line on stderr, exit 1, and nothing written:
// no pack folder, no temporary folder left beside it.
func TestImportBadInput(t *testing.T) {
	tmp := t.TempDir()
	big := filepath.Join(tmp, "huge.png")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(50 << 20)
	f.Close()
	taken := filepath.Join(tmp, "taken")
	os.MkdirAll(taken, 0o755)
	os.WriteFile(filepath.Join(taken, "pack.lua"), []byte("-- mine\n"), 0o644)
	tests := []struct {
		name  string
		files []string
		out   string
		want  string
	}{
		{"PNGWithoutChunk", []string{cardFixture("nochunk.png")}, "", `no tEXt chunk "chara" or "ccv3"`},
		{"BadBase64", []string{cardFixture("badbase64.png")}, "", "bad base64"},
		{"TruncatedJSON", []string{cardFixture("truncated.json")}, "", "truncated JSON"},
		{"ZipBomb", []string{cardFixture("zipbomb.charx")}, "", "too large"},
		{"FiftyMB", []string{big}, "", "50.0 MB"},
		{"WrongSpec", []string{cardFixture("wrong_spec.json")}, "", `unknown spec "chara_card_v4"`},
		{"LorebookOnly", []string{cardFixture("st_world.json")}, "", "a lorebook alone makes no cast"},
		{"ThreeCards", []string{cardFixture("v1.json"), cardFixture("v2.json"), cardFixture("v3.json")}, "", "at most 2 bots"},
		{"GoodThenBad", []string{cardFixture("v2.json"), cardFixture("truncated.json")}, "", "truncated.json: truncated JSON"},
		{"Missing", []string{filepath.Join(tmp, "nope.png")}, "", "no such file"},
		{"OutTaken", []string{cardFixture("v1.json")}, taken, "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			out := tt.out
			if out == "" {
				out = filepath.Join(parent, "pack")
			}
			args := append([]string{"import"}, tt.files...)
			code, stdout, errs := runCheckCmd(t, append(args, "--out", out)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (stdout %q, stderr %q)", code, stdout, errs)
			}
			if !strings.Contains(errs, tt.want) || strings.Count(strings.TrimRight(errs, "\n"), "\n") > 0 {
				t.Fatalf("stderr %q: want one line with %q", errs, tt.want)
			}
			if tt.out == "" {
				if ents, _ := os.ReadDir(parent); len(ents) > 0 {
					t.Fatalf("something was written: %v", ents)
				}
			} else if ents, _ := os.ReadDir(tt.out); len(ents) != 1 {
				t.Fatalf("the existing folder was touched: %v", ents)
			}
		})
	}
	if code, _, errs := runCheckCmd(t, "import"); code != 2 || !strings.Contains(errs, "give a character card") {
		t.Fatalf("no file: exit %d %q", code, errs)
	}
}

func TestImportChat(t *testing.T) {
	pack := importPack(t, cardFixture("chara.png"))
	db := filepath.Join(t.TempDir(), "chat.db")
	code, out, errs := runCheckCmd(t, "import-chat", cardFixture("chat_swipes.jsonl"), "--pack", pack, "--db", db)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "5 messages") || !strings.Contains(out, "skipped 1 message") || !strings.Contains(out, "3 swipes") {
		t.Fatalf("output %q", out)
	}
	if ents, _ := os.ReadDir(filepath.Dir(db)); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	evs, err := st.Events(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	var lines []core.LineSaid
	turns := map[int64]bool{}
	for _, e := range evs {
		if e.Type != core.TypeLineSaid {
			continue
		}
		var ls core.LineSaid
		json.Unmarshal(e.Payload, &ls)
		lines = append(lines, ls)
		if e.Mask != core.Mask(0b011) { // you and the captain: everyone at the scene
			t.Errorf("line %q witnessed by %v, want everyone present", ls.Text, e.Mask)
		}
		if turns[e.Turn] {
			t.Errorf("two chat messages in turn %d", e.Turn)
		}
		turns[e.Turn] = true
	}
	if len(lines) != 5 || lines[0].Who != "captain_ilse_marrow" || lines[1].Who != "you" || !strings.HasPrefix(lines[2].Text, `"Machine parts."`) {
		t.Fatalf("lines %+v", lines)
	}
	bs, err := st.Branches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	if strings.Join(names, ",") != "main,swipe-1-1,swipe-3-1,swipe-3-2" {
		t.Fatalf("branches %v", names)
	}
	// A swipe is a sibling: it forks from the reply's parent.
	side, err := st.Events(ctx, "swipe-3-2")
	if err != nil {
		t.Fatal(err)
	}
	last := side[len(side)-2] // line_said, then the clock
	var ls core.LineSaid
	json.Unmarshal(last.Payload, &ls)
	if ls.Text != "*A long pause.* \"Ask me again after we dock.\"" {
		t.Fatalf("swipe text %q", ls.Text)
	}
	var mainReply core.Event
	for _, e := range evs {
		if e.Type == core.TypeLineSaid && strings.HasPrefix(string(e.Payload), `{"who":"captain_ilse_marrow","text":"\"Machine parts`) {
			mainReply = e
		}
	}
	if mainReply.Seq == 0 || last.Parent != mainReply.Parent {
		t.Fatalf("swipe parent %d, reply parent %d", last.Parent, mainReply.Parent)
	}
	// The lines are memories of everyone who heard them.
	mems, err := st.Memories(ctx, core.Mask(0b010))
	if err != nil {
		t.Fatal(err)
	}
	if len(mems) != 5 {
		t.Fatalf("%d memories on main, want 5", len(mems))
	}
	if code, out, _ := runCheckCmd(t, "state", "--db", db); code != 0 || !strings.Contains(out, "turn") {
		t.Fatalf("state: %d %s", code, out)
	}
}

func TestImportChatBad(t *testing.T) {
	two := importPack(t, cardFixture("chara.png"), cardFixture("card.charx"))
	dir := t.TempDir()
	stranger := filepath.Join(dir, "stranger.jsonl")
	os.WriteFile(stranger, []byte(`{"user_name":"Rook","character_name":"Pell"}`+"\n"+`{"name":"Pell","is_user":false,"mes":"Ahoy."}`+"\n"), 0o644)
	trunc := filepath.Join(dir, "trunc.jsonl")
	os.WriteFile(trunc, []byte(`{"user_name":"Rook"}`+"\n"+`{"name":"Wren","mes":"hi`), 0o644)
	existing := filepath.Join(dir, "existing.db")
	os.WriteFile(existing, []byte("mine"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"UnknownSpeaker", []string{stranger, "--pack", two}, 1, `speaker "Pell" is not in the pack's cast`},
		{"BadAs", []string{stranger, "--pack", two, "--as", "Pell=nobody"}, 1, `no character "nobody"`},
		{"Truncated", []string{trunc, "--pack", two}, 1, "line 2: truncated JSON"},
		{"NoPack", []string{trunc}, 2, "--pack PACK and --db SAVE are required"},
		{"Existing", []string{cardFixture("chat_swipes.jsonl"), "--pack", two, "--db", existing}, 1, "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "s.db")
			args := append([]string{"import-chat"}, tt.args...)
			if tt.name != "Existing" && tt.name != "NoPack" {
				args = append(args, "--db", db)
			}
			code, _, errs := runCheckCmd(t, args...)
			if code != tt.code || !strings.Contains(errs, tt.want) || strings.Count(strings.TrimRight(errs, "\n"), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q: want %d and one line with %q", code, errs, tt.code, tt.want)
			}
			if ents, _ := os.ReadDir(filepath.Dir(db)); len(ents) > 0 {
				t.Fatalf("something was written: %v", ents)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "mine" {
		t.Fatal("an existing file was overwritten")
	}
	// A card's full name finds its character (Wren's card calls her Wrenna Hale).
	wrenna := filepath.Join(dir, "wrenna.jsonl")
	os.WriteFile(wrenna, []byte(`{"user_name":"Rook"}`+"\n"+`{"name":"Wrenna Hale","mes":"Hi."}`+"\n"+`{"name":"Captain Ilse Marrow","mes":"Who let her in?"}`+"\n"), 0o644)
	if code, out, errs := runCheckCmd(t, "import-chat", wrenna, "--pack", two, "--db", filepath.Join(t.TempDir(), "w.db")); code != 0 {
		t.Fatalf("full name: exit %d\n%s%s", code, out, errs)
	}
	// --as maps an unknown speaker.
	db := filepath.Join(t.TempDir(), "s.db")
	if code, out, errs := runCheckCmd(t, "import-chat", stranger, "--pack", two, "--db", db, "--as", "Pell=wren"); code != 0 {
		t.Fatalf("--as: exit %d\n%s%s", code, out, errs)
	}
}

func TestExportCard(t *testing.T) {
	pack := importPack(t, cardFixture("v2.json"))
	dir := t.TempDir()
	js := filepath.Join(dir, "ilse.json")
	if code, out, errs := runCheckCmd(t, "export-card", "--pack", pack, "--character", "captain_ilse_marrow", "-o", js); code != 0 || !strings.Contains(out, "wrote") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	f, err := cards.ReadFile(js)
	if err != nil || f.Card.Spec != cards.SpecV2 || f.Card.Name != "Captain Ilse Marrow" || len(f.Card.AlternateGreetings) != 2 {
		t.Fatalf("exported JSON: %+v %v", f, err)
	}
	png := filepath.Join(dir, "ilse.png")
	if code, _, errs := runCheckCmd(t, "export-card", "--pack", pack, "--character", "captain_ilse_marrow", "-o", png); code != 0 {
		t.Fatalf("png: exit %d %s", code, errs)
	}
	f, err = cards.ReadFile(png)
	if err != nil || f.Container != "png" || f.Chunk != "chara" || f.Card.Book == nil {
		t.Fatalf("exported PNG: %+v %v", f, err)
	}
	// The exported card imports again into a pack that passes.
	packPasses(t, importPack(t, png))

	// A character written by hand, to stdout.
	code, out, errs := runCheckCmd(t, "export-card", "--pack", "../../worlds/night_drive", "--character", "jun")
	if code != 0 || !strings.Contains(out, `"spec": "chara_card_v2"`) || !strings.Contains(out, `"name": "Jun"`) {
		t.Fatalf("night_drive jun: exit %d\n%.300s%s", code, out, errs)
	}
	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--pack", pack, "--character", "nobody"}, 1, `no character "nobody"`},
		{[]string{"--pack", pack}, 2, "--character ID are required"},
		{[]string{"--pack", pack, "--character", "captain_ilse_marrow", "--image", png}, 2, "--image needs -o FILE.png"},
	} {
		code, _, errs := runCheckCmd(t, append([]string{"export-card"}, bad.args...)...)
		if code != bad.code || !strings.Contains(errs, bad.want) {
			t.Errorf("%v: exit %d %q, want %d %q", bad.args, code, errs, bad.code, bad.want)
		}
	}
	// A module whose card table is not plain data: one line naming the file.
	mod := filepath.Join(pack, "characters", "captain_ilse_marrow.lua")
	b, _ := os.ReadFile(mod)
	os.WriteFile(mod, []byte(strings.Replace(string(b), `opening = 1,`, `opening = math.max(1, 2),`, 1)), 0o644)
	code, _, errs = runCheckCmd(t, "export-card", "--pack", pack, "--character", "captain_ilse_marrow")
	if code != 1 || !strings.Contains(errs, "captain_ilse_marrow.lua: line") || !strings.Contains(errs, "plain data") {
		t.Fatalf("exit %d %q", code, errs)
	}
}
