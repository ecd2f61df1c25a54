package cards

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/yuin/gopher-lua/parse"
)

// The fuzz targets: whatever the bytes, the readers return a card, a book,
// a chat or one-line error, never panic, and a pack built from what they
// read is valid (its world passes the core's checks) with character
// modules export-card can read back. Seed corpora: testdata/fuzz/.

func addFiles(f *testing.F, pattern string) {
	names, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
}

func oneLineErr(t *testing.T, err error) {
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Fatalf("error on more than one line: %q", err)
	}
}

// checkBuilt builds a pack from cards and books and checks what must hold.
func checkBuilt(t *testing.T, in Import) {
	p, err := BuildPack(in, PackOptions{})
	if err != nil {
		if strings.Contains(err.Error(), "internal error") {
			t.Fatal(err)
		}
		oneLineErr(t, err)
		return
	}
	for name, body := range p.Files {
		if len(body) > 1<<20 {
			t.Fatalf("%s: %d bytes, over a pack file's limit", name, len(body))
		}
		if strings.HasSuffix(name, ".lua") {
			if !utf8.Valid(body) {
				t.Fatalf("%s: invalid UTF-8", name)
			}
			if _, err := parse.Parse(bytes.NewReader(body), name); err != nil {
				t.Fatalf("%s: not valid Lua: %v\n%s", name, err, body)
			}
		}
	}
	for i, id := range p.Characters {
		data, err := ParseReturnTable(p.Files["characters/"+id+".lua"])
		if err != nil {
			t.Fatalf("characters/%s.lua does not read back: %v", id, err)
		}
		if got, want := tableString(data, "name"), in.Cards[i].Name; got != want {
			t.Fatalf("name %q read back as %q", want, got)
		}
	}
}

func FuzzDecodeCard(f *testing.F) {
	addFiles(f, "*.json")
	addFiles(f, "*.png")
	addFiles(f, "card.charx")
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		oneLineErr(t, err)
		if err != nil {
			return
		}
		if file.Card == nil && file.Book == nil {
			t.Fatal("no card, no book and no error")
		}
		if file.Card != nil {
			checkBuilt(t, Import{Cards: []*Card{file.Card}})
		}
	})
}

func FuzzLorebook(f *testing.F) {
	addFiles(f, "st_world.json")
	addFiles(f, "lorebook_v3.json")
	f.Add([]byte(`{"entries":{"1":{"key":"a,b","content":"@@additional_keys x\n@@@activate\ntext","keysecondary":["/(?=x)/i"],"selectiveLogic":3}}}`))
	f.Add([]byte(`{"spec":"lorebook_v3","data":{"entries":[{"keys":["[unclosed"],"use_regex":true,"content":"c"},{"keys":[],"constant":true,"content":"k"}]}}`))
	card := &Card{Spec: SpecV2, Name: "Tester"}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := decodeJSON(b)
		oneLineErr(t, err)
		if err != nil || file.Book == nil {
			return
		}
		checkBuilt(t, Import{Cards: []*Card{card}, Books: []*Lorebook{file.Book}})
	})
}

func FuzzParseChat(f *testing.F) {
	addFiles(f, "*.jsonl")
	f.Add([]byte(`{"name":"A","mes":"x","swipes":["x","y",3,null],"swipe_id":"0"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseChat(bytes.NewReader(b))
		oneLineErr(t, err)
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				t.Fatal("a small input reported as too large")
			}
			return
		}
		for _, m := range c.Messages {
			for _, s := range m.Swipes {
				if strings.TrimSpace(s) == strings.TrimSpace(m.Text) {
					t.Fatalf("the chosen text is among the swipes: %q", s)
				}
			}
		}
	})
}

// FuzzLuaString: any text written into a pack reads back unchanged.
func FuzzLuaString(f *testing.F) {
	for _, s := range []string{"", "plain", "two\nlines", "]]", "a]]b\n]=]", "x]\n", "\"quoted\" \\ back", "tab\tand\x01ctl", "\n\nlead"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = clean(s)
		src := "return { v = " + luaString(s) + " }"
		got, err := ParseReturnTable([]byte(src))
		if err != nil {
			t.Fatalf("%q: %v\n%s", s, err, src)
		}
		if got["v"] != s && !(s == "" && got["v"] == "") {
			t.Fatalf("wrote %q, read %q", s, got["v"])
		}
	})
}

func FuzzParseReturnTable(f *testing.F) {
	f.Add([]byte("return { a = [[x]], b = { 1, 2, 'c' .. \"d\" }, [\"k\"] = -1 }"))
	f.Add([]byte("--[==[ c ]==]\nreturn {}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := ParseReturnTable(b)
		oneLineErr(t, err)
	})
}
