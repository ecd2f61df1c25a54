package cards_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core/cards"
)

func TestDecodeFormats(t *testing.T) {
	tests := []struct {
		file, spec, container, chunk, name string
	}{
		{"v1.json", cards.SpecV1, "json", "", "Old Tomas"},
		{"v2.json", cards.SpecV2, "json", "", "Captain Ilse Marrow"},
		{"v3.json", cards.SpecV3, "json", "", "Wrenna Hale"},
		{"chara.png", cards.SpecV2, "png", "chara", "Captain Ilse Marrow"},
		{"ccv3.png", cards.SpecV3, "png", "ccv3", "Wrenna Hale"},
		{"both.png", cards.SpecV3, "png", "ccv3", "Wrenna Hale"}, // ccv3 wins over the chara backfill; "CCV3" matched in any case
		{"card.charx", cards.SpecV3, "charx", "", "Wrenna Hale"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := readFixture(t, tt.file)
			if f.Card == nil {
				t.Fatal("no card")
			}
			if got := f.Spec(); got != tt.spec {
				t.Errorf("spec %q, want %q", got, tt.spec)
			}
			if f.Container != tt.container || f.Chunk != tt.chunk {
				t.Errorf("container %q chunk %q, want %q %q", f.Container, f.Chunk, tt.container, tt.chunk)
			}
			if f.Card.Name != tt.name {
				t.Errorf("name %q, want %q", f.Card.Name, tt.name)
			}
			if len(f.Card.Raw) == 0 {
				t.Errorf("the raw card is not kept")
			}
		})
	}
}

func TestCardFields(t *testing.T) {
	c := readFixture(t, "v2.json").Card
	if c.Description == "Old V1 backfill: readers of V2 must use data, not this." {
		t.Fatal("read the V1 backfill instead of data")
	}
	if got, want := len(c.AlternateGreetings), 2; got != want {
		t.Fatalf("alternate greetings %d, want %d", got, want)
	}
	if got := c.Greetings(); len(got) != 3 || !strings.HasPrefix(got[0], "*The captain leans") {
		t.Fatalf("greetings %q", got)
	}
	if c.Book == nil || len(c.Book.Entries) != 8 || c.Book.ScanDepth != 4 || c.Book.TokenBudget != 512 {
		t.Fatalf("book %+v", c.Book)
	}
	if _, ok := c.Extensions["x_quillwright"]; !ok {
		t.Fatalf("extensions %v", c.Extensions)
	}
	customs := c.Book.Entries[1]
	if customs.Logic != "and_all" || !customs.Selective || len(customs.SecondaryKeys) != 2 || customs.Position != "after_char" {
		t.Fatalf("customs entry %+v", customs)
	}

	v3 := readFixture(t, "v3.json").Card
	if v3.Nickname != "Wren" || v3.CharName() != "Wren" || len(v3.GroupOnlyGreetings) != 1 || len(v3.Source) != 1 {
		t.Fatalf("v3 %+v", v3)
	}
	if _, ok := v3.Extra["assets"]; !ok {
		t.Fatalf("assets not kept: %v", v3.Extra)
	}
	eng := v3.Book.Entries[0]
	if len(eng.Decorators) != 2 || eng.Decorators[0].String() != "@@depth 2" || strings.HasPrefix(eng.Content, "@@") || strings.HasPrefix(eng.Content, "\n") {
		t.Fatalf("decorators %v, content %q", eng.Decorators, eng.Content)
	}
	hum := v3.Book.Entries[5]
	if len(hum.Decorators) != 1 || len(hum.Decorators[0].Fallbacks) != 1 || hum.Decorators[0].Fallbacks[0].Name != "activate" {
		t.Fatalf("fallback decorators %+v", hum.Decorators)
	}

	v1 := readFixture(t, "v1.json").Card
	if !strings.HasPrefix(v1.Description, "<BOT> is the ferryman") || v1.Extra["talkativeness"] == nil {
		t.Fatalf("v1 %+v", v1)
	}
}

func TestDecodeLorebooks(t *testing.T) {
	w := readFixture(t, "st_world.json")
	if w.Book == nil || w.Spec() != cards.SpecWorld || len(w.Book.Entries) != 5 {
		t.Fatalf("world %+v", w)
	}
	// entries keyed by uid, in uid order (10 after 2, not after 1)
	if got := w.Book.Entries[3].Comment; got != "The cloud floor" {
		t.Fatalf("entry 4 is %q", got)
	}
	guild := w.Book.Entries[1]
	if strings.Join(guild.Keys, "|") != "harbourmaster|guild" || strings.Join(guild.SecondaryKeys, "|") != "debt|crowns" {
		t.Fatalf("comma-string keys: %q %q", guild.Keys, guild.SecondaryKeys)
	}
	if guild.Logic != "not_any" || guild.CaseSensitive == nil || !*guild.CaseSensitive || guild.Order != 105 {
		t.Fatalf("guild %+v", guild)
	}
	if w.Book.Entries[4].Enabled {
		t.Fatal("disable: true read as enabled")
	}
	lb := readFixture(t, "lorebook_v3.json")
	if lb.Spec() != cards.SpecLorebook || len(lb.Book.Entries) != 2 || lb.Book.Name != "Gannet crew" {
		t.Fatalf("lorebook_v3 %+v", lb.Book)
	}
}

func TestSubstitute(t *testing.T) {
	got := cards.Substitute("{{char}} and {{CHAR}} meet {{User}}; <BOT> <user> <Char>. {{// hidden}}{{original}} {{random:a,b}}", "Ilse", "Rook")
	want := "Ilse and Ilse meet Rook; Ilse Rook Ilse. {{original}} {{random:a,b}}"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	ex := cards.SplitExamples("<START>\nA: hi\n<start>\n\n<START>B: yo\n")
	if len(ex) != 2 || ex[0] != "A: hi" || ex[1] != "B: yo" {
		t.Fatalf("examples %q", ex)
	}
}

// TestBadInput: every bad input is one line, and says what is wrong.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := filepath.Join(dir, "big.png")
	if f, err := os.Create(big); err == nil {
		f.Truncate(50 << 20) // 50 MB, sparse: refused before it is read
		f.Close()
	}
	png, err := cards.AddPNGText(cards.BlankPNG(), "chara", []byte(base64.StdEncoding.EncodeToString([]byte(`{"spec":"chara_card_v2","data":{"name":"A"`))))
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	zw.Create("readme.txt")
	zw.Close()
	tests := []struct {
		name string
		path string
		want string
		is   error
	}{
		{"PNGWithoutChunk", "testdata/nochunk.png", "no tEXt chunk \"chara\" or \"ccv3\"", cards.ErrNoCard},
		{"BadBase64", "testdata/badbase64.png", "bad base64", nil},
		{"TruncatedJSON", "testdata/truncated.json", "truncated JSON", nil},
		{"TruncatedJSONInPNG", write("trunc.png", png), `PNG chunk "chara": truncated JSON`, nil},
		{"ZipBomb", "testdata/zipbomb.charx", "too large", cards.ErrTooLarge},
		{"FiftyMB", big, "50.0 MB", cards.ErrTooLarge},
		{"WrongSpec", "testdata/wrong_spec.json", `unknown spec "chara_card_v4"`, cards.ErrSpec},
		{"CharxWithoutCard", write("empty.charx", z.Bytes()), "without card.json", cards.ErrNoCard},
		{"TruncatedPNG", write("cut.png", readBytes(t, "testdata/chara.png")[:200]), "truncated PNG", nil},
		{"NotACard", write("notes.txt", []byte("hello")), "not a character card", nil},
		{"NoName", write("noname.json", []byte(`{"spec":"chara_card_v2","data":{"description":"x"}}`)), "without a name", nil},
		{"Array", write("arr.json", []byte(`[1,2]`)), "want a JSON object", nil},
		{"Empty", write("empty.json", nil), "empty file", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cards.ReadFile(tt.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on more than one line: %q", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodePNG(t *testing.T) {
	js := readBytes(t, "testdata/v2.json")
	png, err := cards.EncodePNG(js, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := cards.Decode(png)
	if err != nil || f.Card == nil || f.Card.Name != "Captain Ilse Marrow" || f.Chunk != "chara" {
		t.Fatalf("round trip: %+v %v", f, err)
	}
	// Into a portrait that already carries a card: the old chunks go.
	again, err := cards.EncodePNG([]byte(`{"spec":"chara_card_v2","data":{"name":"New"}}`), readBytes(t, "testdata/both.png"))
	if err != nil {
		t.Fatal(err)
	}
	f, err = cards.Decode(again)
	if err != nil || f.Card.Name != "New" {
		t.Fatalf("re-encoded: %+v %v", f, err)
	}
	if _, err := cards.EncodePNG(js, []byte("not a png")); err == nil {
		t.Fatal("a portrait that is not a PNG: want an error")
	}
}
