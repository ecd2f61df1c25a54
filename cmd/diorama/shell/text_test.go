package shell

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"
)

var wrapSamples = []string{
	"",
	"hello world, this is a line that needs wrapping at narrow widths",
	"漢字かな交じり文は幅が二つの文字で書かれている。句読点も、そう。",
	"emoji 👩‍👩‍👧 family 🇯🇵🇫🇷 flags ❤️ heart 👍🏽 thumb",
	"combining e\u0301te\u0301 and a\u0308\u0304 stacked; Hangul 한국어 가나다",
	"mixed 日本語とEnglish together withaverylongwordthatcannotbreakanywhereatall",
	"para one\nparagraph two\n\nafter a blank",
	"  leading spaces   and    runs of spaces  ",
	"\u0301 a lone combining mark first",
	"zero\u200bwidth\u200bspaces",
}

// checkLayout verifies the wrapping invariants: no row wider than width,
// clusters never split, every visible cluster kept in order.
func checkLayout(t *testing.T, text string, width, first, cont int, words bool) {
	t.Helper()
	var s styled
	s.add(sanitize(text), tcell.StyleDefault)
	l := wrap(s, width, first, cont, cont, words)
	if len(l.rows) == 0 {
		t.Fatalf("%q at %d: no rows", text, width)
	}
	var got []string
	for ri, r := range l.rows {
		if w := int(r.indent) + l.rowWidth(r); w > width && !(r.end-r.start == 1 && l.cells[r.start].flags&cellTooWide != 0) && int(r.indent) < width {
			t.Fatalf("%q at %d: row %d is %d wide", text, width, ri, w)
		}
		for _, c := range l.cells[r.start:r.end] {
			if c.flags&cellNewline != 0 {
				continue
			}
			g := l.text[c.off : c.off+uint32(c.n)]
			if !utf8.ValidString(g) {
				t.Fatalf("%q at %d: a cell holds a broken character %q", text, width, g)
			}
			if c.flags&cellSpace == 0 {
				got = append(got, g)
			}
		}
	}
	// The visible clusters, in order.
	var want []string
	lastWasBreak := true
	state := -1
	for rest := l.text; rest != ""; {
		var c string
		var w int
		c, rest, w, state = uniseg.FirstGraphemeClusterInString(rest, state)
		switch {
		case c == "\n" || c == " " || c == "\u3000":
		case w == 0:
			// Zero-width clusters belong to the cluster before them.
			if n := len(want); n > 0 && !lastWasBreak {
				want[n-1] += c
			}
		default:
			want = append(want, c)
		}
		lastWasBreak = c == "\n" || c == " " || c == "\u3000"
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%q at %d: clusters\n got %q\nwant %q", text, width, got, want)
	}
}

func TestWrapInvariants(t *testing.T) {
	for _, text := range wrapSamples {
		for width := 1; width <= 40; width++ {
			checkLayout(t, text, width, 0, 2, true)
			checkLayout(t, text, width, 2, 2, false)
		}
	}
}

func TestWrapWideNeverOverflows(t *testing.T) {
	var s styled
	s.add("漢字漢字漢字漢字漢字", tcell.StyleDefault)
	l := wrap(s, 5, 0, 0, 0, true)
	for _, r := range l.rows {
		if w := l.rowWidth(r); w != 4 {
			t.Fatalf("row width %d, want 4 (a wide character never straddles the edge)", w)
		}
	}
	if len(l.rows) != 5 {
		t.Fatalf("%d rows, want 5", len(l.rows))
	}
}

func TestWrapWords(t *testing.T) {
	var s styled
	s.add("hi there friend", tcell.StyleDefault)
	l := wrap(s, 8, 0, 0, 0, true)
	var rows []string
	for _, r := range l.rows {
		var b strings.Builder
		for _, c := range l.cells[r.start:r.end] {
			b.WriteString(l.text[c.off : c.off+uint32(c.n)])
		}
		rows = append(rows, b.String())
	}
	if got, want := strings.Join(rows, "/"), "hi there/friend"; got != want {
		t.Fatalf("rows = %q, want %q", got, want)
	}
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"crlf\r\nline\rend", "crlf\nline\nend"},
		{"tab\there", "tab    here"},
		{"esc\x1b[31mred", "esc\uFFFD[31mred"},
		{"c1\u0085x", "c1\uFFFDx"},
		{"\u0301x", "\u25cc\u0301x"},
		{"ok\u2028next", "ok\nnext"},
	} {
		if got := sanitize(tc.in); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	b := []byte("caf\xc3")
	if got := validPrefix(b, true); got != "caf" {
		t.Fatalf("validPrefix while streaming = %q", got)
	}
	if got := validPrefix(b, false); got != "caf\xc3" {
		t.Fatalf("validPrefix at the end = %q", got)
	}
	if got := validPrefix([]byte("日本"), true); got != "日本" {
		t.Fatalf("validPrefix of whole text = %q", got)
	}
}

func TestActions(t *testing.T) {
	var s styled
	speech, action := tcell.StyleDefault, tcell.StyleDefault.Italic(true)
	s.addActions("Hi *waves* there, 5 * 3 is **fifteen**", speech, action)
	if s.s != "Hi waves there, 5 * 3 is fifteen" {
		t.Fatalf("text = %q", s.s)
	}
	var acts []string
	for i, r := range s.runs {
		end := len(s.s)
		if i+1 < len(s.runs) {
			end = s.runs[i+1].start
		}
		if r.st == action {
			acts = append(acts, s.s[r.start:end])
		}
	}
	if got := strings.Join(acts, ","); got != "waves,fifteen" {
		t.Fatalf("actions = %q", got)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		w    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello world", 6, "hello…"},
		{"漢字漢字", 5, "漢字…"},
		{"abc", 0, ""},
	} {
		if got := truncate(tc.in, tc.w); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
	}
}

func FuzzWrap(f *testing.F) {
	for _, s := range wrapSamples {
		f.Add(s, 7)
	}
	f.Add("\xff\xfe\x00\x1b", 3)
	f.Fuzz(func(t *testing.T, text string, width int) {
		if width < 1 || width > 200 || len(text) > 4096 {
			return
		}
		checkLayout(t, text, width, 0, 2, true)
		checkLayout(t, text, width, 2, 2, false)
	})
}
