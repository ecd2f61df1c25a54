package store

import (
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// TestASCIITokensMatchFTS: the memories added since a word was last looked
// up are matched in Go (newMemories, termDelta, termDF); for the texts it
// takes (ASCII and general punctuation) the Go split must find exactly what
// FTS5's unicode61 prefix query finds.
func TestASCIITokensMatchFTS(t *testing.T) {
	db, err := sql.Open(driverName, filepath.Join(t.TempDir(), "fts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE VIRTUAL TABLE f USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')`); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	alphabet := []rune("abcdeABCDE0123 ,.'!?-_()\"\t\n:;*/—’“”…\u200b")
	texts := map[int64][]string{}
	for id := int64(1); id <= 400; id++ {
		b := make([]rune, 1+r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		toks, ok := asciiTokens(string(b))
		if !ok {
			t.Fatalf("%q has only ASCII and general punctuation", string(b))
		}
		texts[id] = toks
		if _, err := db.Exec(`INSERT INTO f(rowid, text) VALUES (?, ?)`, id, string(b)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"a", "ab", "abc", "b", "0", "01", "a0", "e", "dd", "c3", "abcde", "x"} {
		if !plainPrefix(p) {
			t.Fatalf("%q should be a plain prefix", p)
		}
		var want []int64
		rows, err := db.Query(`SELECT rowid FROM f WHERE f MATCH ? ORDER BY rowid`, "text : "+ftsPrefix(p))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			want = append(want, id)
		}
		rows.Close()
		var got []int64
		for id := int64(1); id <= 400; id++ {
			if hasPrefixToken(texts[id], prefixOf(p)) {
				got = append(got, id)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("prefix %q: Go finds %v, FTS5 %v", p, got, want)
		}
	}
	for _, text := range []string{"café", "naïve", "東京", "x²", "ﬁle"} {
		if _, ok := asciiTokens(text); ok {
			t.Fatalf("%q must be left to the index", text)
		}
	}
	for _, p := range []string{"don't", "é", "", "a b"} {
		if plainPrefix(p) {
			t.Fatalf("%q is not a plain prefix", p)
		}
	}
}

// FuzzPostWords: the memories copy's word index (wordIndex.post) lists a
// row under exactly the words of its text (splitPlain's split, which
// TestASCIITokensMatchFTS holds to FTS5's), once under each, finds each by
// its own prefix, and lists nothing for a text left to the lexical index.
func FuzzPostWords(f *testing.F) {
	for _, s := range []string{"", "the Thermos, the thermos!", "café", "a—b…c “d” e’s", "x\u200by", "ラジオ radio", "A1b2 C3d4 a1B2", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		x := newWordIndex(0)
		x.sort()
		ok := x.post(7, text)
		toks, want := asciiTokens(text)
		if ok != want {
			t.Fatalf("%q: post splits it: %v, asciiTokens: %v", text, ok, want)
		}
		if !ok {
			if len(x.words) != 0 {
				t.Fatalf("%q: a foreign text was listed under %v", text, x.words)
			}
			return
		}
		uniq := slices.Compact(slices.Sorted(slices.Values(toks)))
		got := slices.Sorted(slices.Values(x.words))
		if !slices.Equal(got, uniq) || len(x.fresh) != len(uniq) {
			t.Fatalf("%q: post finds %v (%d fresh), asciiTokens %v", text, got, len(x.fresh), uniq)
		}
		for _, w := range got {
			if !slices.Equal(x.rows(w), []int32{7}) {
				t.Fatalf("%q: word %q lists rows %v, want [7]", text, w, x.rows(w))
			}
			if ls := x.prefixed(w); len(ls) == 0 {
				t.Fatalf("%q: no word found with the prefix %q", text, w)
			}
		}
	})
}
