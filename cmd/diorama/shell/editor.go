package shell

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"

	"diorama/core"
)

// maxInput bounds the input buffer (a paste beyond it is cut, and said so):
// four times what a turn accepts, so an over-long line can still be edited.
const maxInput = 4 * core.MaxLineBytes

// historyMax is how many sent lines Up/Down can recall.
const historyMax = 500

// editor is the input line: multi-line text with a cursor, history and
// bracketed paste. Text never holds control characters other than "\n".
type editor struct {
	text string
	cur  int // byte offset, always on a grapheme boundary

	hist  []string
	hi    int    // index into hist while browsing; len(hist) when not
	draft string // the text being edited before browsing history

	pasting bool
	paste   strings.Builder

	prompt string // shown before the first row
	lay    layout
	layOK  bool
	layW   int
}

var (
	stPrompt = tcell.StyleDefault.Bold(true)
	stInput  = tcell.StyleDefault
)

func newEditor() *editor { return &editor{prompt: "> "} }

func (e *editor) set(s string) {
	e.text = sanitize(s)
	e.cur = len(e.text)
	e.layOK = false
}

// insert puts s at the cursor. It reports false when the input is full.
func (e *editor) insert(s string) bool {
	s = clean(s, e.cur == 0 || e.text[e.cur-1] == '\n')
	ok := true
	if len(e.text)+len(s) > maxInput {
		s = strings.ToValidUTF8(s[:max(maxInput-len(e.text), 0)], "")
		ok = false
	}
	e.text = e.text[:e.cur] + s + e.text[e.cur:]
	e.cur += len(s)
	e.layOK = false
	e.hi = len(e.hist)
	return ok
}

func (e *editor) del(from, to int) {
	if from > to {
		from, to = to, from
	}
	e.text = e.text[:from] + e.text[to:]
	e.cur = from
	e.layOK = false
}

// next returns the offset after the grapheme cluster at i.
func (e *editor) next(i int) int {
	if i >= len(e.text) {
		return len(e.text)
	}
	c, _, _, _ := uniseg.FirstGraphemeClusterInString(e.text[i:], -1)
	return i + len(c)
}

// prev returns the offset of the grapheme cluster before i.
func (e *editor) prev(i int) int {
	if i <= 0 {
		return 0
	}
	start := strings.LastIndexByte(e.text[:i], '\n') + 1
	if start == i {
		return i - 1 // just after a line end
	}
	p := start
	for rest, state := e.text[start:i], -1; len(rest) > 0; {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if len(rest) == 0 {
			break
		}
		p += len(c)
	}
	return p
}

func isSpaceRune(r rune) bool { return unicode.IsSpace(r) }

// wordLeft returns the start of the word before i.
func (e *editor) wordLeft(i int) int {
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(e.text[:i])
		if !isSpaceRune(r) {
			break
		}
		i -= n
	}
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(e.text[:i])
		if isSpaceRune(r) {
			break
		}
		i -= n
	}
	return i
}

// wordRight returns the end of the word after i.
func (e *editor) wordRight(i int) int {
	for i < len(e.text) {
		r, n := utf8.DecodeRuneInString(e.text[i:])
		if !isSpaceRune(r) {
			break
		}
		i += n
	}
	for i < len(e.text) {
		r, n := utf8.DecodeRuneInString(e.text[i:])
		if isSpaceRune(r) {
			break
		}
		i += n
	}
	return i
}

func (e *editor) lineStart(i int) int { return strings.LastIndexByte(e.text[:i], '\n') + 1 }

func (e *editor) lineEnd(i int) int {
	if j := strings.IndexByte(e.text[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(e.text)
}

// column is the cluster count from the line start to i.
func (e *editor) column(i int) int { return uniseg.GraphemeClusterCount(e.text[e.lineStart(i):i]) }

// atColumn returns the offset col clusters into the line starting at start.
func (e *editor) atColumn(start, col int) int {
	i := start
	end := e.lineEnd(start)
	for ; col > 0 && i < end; col-- {
		i = e.next(i)
	}
	return i
}

// up moves to the line above; it reports false on the first line.
func (e *editor) up() bool {
	ls := e.lineStart(e.cur)
	if ls == 0 {
		return false
	}
	col := e.column(e.cur)
	e.cur = e.atColumn(e.lineStart(ls-1), col)
	return true
}

// down moves to the line below; it reports false on the last line.
func (e *editor) down() bool {
	le := e.lineEnd(e.cur)
	if le == len(e.text) {
		return false
	}
	col := e.column(e.cur)
	e.cur = e.atColumn(le+1, col)
	return true
}

// remember adds a sent line to the history.
func (e *editor) remember(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	if n := len(e.hist); n == 0 || e.hist[n-1] != s {
		e.hist = append(e.hist, s)
	}
	if len(e.hist) > historyMax {
		e.hist = e.hist[len(e.hist)-historyMax:]
	}
	e.hi = len(e.hist)
}

func (e *editor) histPrev() {
	if e.hi == 0 || len(e.hist) == 0 {
		return
	}
	if e.hi >= len(e.hist) {
		e.hi = len(e.hist)
		e.draft = e.text
	}
	e.hi--
	e.text, e.cur, e.layOK = e.hist[e.hi], len(e.hist[e.hi]), false
}

func (e *editor) histNext() {
	if e.hi >= len(e.hist) {
		return
	}
	e.hi++
	if e.hi == len(e.hist) {
		e.text = e.draft
	} else {
		e.text = e.hist[e.hi]
	}
	e.cur, e.layOK = len(e.text), false
}

// take empties the editor and returns what it held.
func (e *editor) take() string {
	s := e.text
	e.text, e.cur, e.layOK = "", 0, false
	e.hi = len(e.hist)
	e.draft = ""
	return s
}

// key edits the text. It reports whether the key was used.
func (e *editor) key(ev *tcell.EventKey) bool {
	mod := ev.Modifiers()
	alt := mod&(tcell.ModAlt|tcell.ModMeta) != 0
	ctrl := mod&tcell.ModCtrl != 0
	switch ev.Key() {
	case tcell.KeyRune:
		r := ev.Rune()
		if alt {
			switch r {
			case 'b', 'B':
				e.cur = e.wordLeft(e.cur)
			case 'f', 'F':
				e.cur = e.wordRight(e.cur)
			case 'd', 'D':
				e.del(e.cur, e.wordRight(e.cur))
			default:
				return false
			}
			return true
		}
		e.insert(string(r))
	case tcell.KeyEnter, tcell.KeyCtrlJ, tcell.KeyLF:
		// Plain Enter is handled by the shell (send); these insert a line end.
		e.insert("\n")
	case tcell.KeyBackspace, tcell.KeyBackspace2:
		if alt || ctrl {
			e.del(e.wordLeft(e.cur), e.cur)
		} else if e.cur > 0 {
			e.del(e.prev(e.cur), e.cur)
		}
	case tcell.KeyCtrlW:
		e.del(e.wordLeft(e.cur), e.cur)
	case tcell.KeyDelete, tcell.KeyCtrlD:
		if alt || ctrl && ev.Key() == tcell.KeyDelete {
			e.del(e.cur, e.wordRight(e.cur))
		} else if e.cur < len(e.text) {
			e.del(e.cur, e.next(e.cur))
		}
	case tcell.KeyLeft:
		if alt || ctrl {
			e.cur = e.wordLeft(e.cur)
		} else {
			e.cur = e.prev(e.cur)
		}
	case tcell.KeyRight:
		if alt || ctrl {
			e.cur = e.wordRight(e.cur)
		} else {
			e.cur = e.next(e.cur)
		}
	case tcell.KeyCtrlB:
		e.cur = e.prev(e.cur)
	case tcell.KeyCtrlF:
		e.cur = e.next(e.cur)
	case tcell.KeyCtrlA:
		e.cur = e.lineStart(e.cur)
	case tcell.KeyCtrlE:
		e.cur = e.lineEnd(e.cur)
	case tcell.KeyCtrlU:
		e.del(e.lineStart(e.cur), e.cur)
	case tcell.KeyCtrlK:
		e.del(e.cur, e.lineEnd(e.cur))
	case tcell.KeyUp, tcell.KeyCtrlP:
		if !e.up() {
			e.histPrev()
		}
	case tcell.KeyDown, tcell.KeyCtrlN:
		if !e.down() {
			e.histNext()
		}
	default:
		return false
	}
	return true
}

// pasteKey buffers a key of a bracketed paste.
func (e *editor) pasteKey(ev *tcell.EventKey) {
	switch ev.Key() {
	case tcell.KeyRune:
		e.paste.WriteRune(ev.Rune())
	case tcell.KeyEnter, tcell.KeyCtrlJ, tcell.KeyLF:
		e.paste.WriteByte('\n')
	case tcell.KeyTab:
		e.paste.WriteString("    ")
	}
}

// endPaste inserts the buffered paste at once. It reports false when the
// paste was cut to fit.
func (e *editor) endPaste() bool {
	s := e.paste.String()
	e.paste.Reset()
	e.pasting = false
	return e.insert(s)
}

// layout wraps the input (prompt included) to width.
func (e *editor) layout(width int) *layout {
	if !e.layOK || e.layW != width {
		var s styled
		s.add(e.text, stInput)
		if e.text == "" {
			s.add(" ", stInput)
		}
		pw := textWidth(e.prompt)
		e.lay = wrap(s, width, pw, pw, pw, false)
		e.layOK, e.layW = true, width
	}
	return &e.lay
}

// cursorAt returns the row and column of the cursor in the layout.
func (e *editor) cursorAt(l *layout, width int) (int, int) {
	for ri, r := range l.rows {
		col := int(r.indent)
		for _, c := range l.cells[r.start:r.end] {
			if int(c.off) >= e.cur {
				return ri, min(col, width-1)
			}
			if c.flags&cellTooWide != 0 {
				col++
			} else {
				col += int(c.w)
			}
		}
		last := ri == len(l.rows)-1
		if last {
			if col >= width {
				return ri + 1, int(l.rows[0].indent)
			}
			return ri, col
		}
	}
	return 0, int(textWidth(e.prompt))
}

// height is how many rows the input needs at width, at most limit.
func (e *editor) height(width, limit int) int {
	l := e.layout(width)
	n := len(l.rows)
	if r, _ := e.cursorAt(l, width); r >= n {
		n = r + 1
	}
	return max(min(n, limit), 1)
}

// draw shows the rows around the cursor in the rectangle and places the
// terminal cursor.
func (e *editor) draw(s tcell.Screen, x, y, w, h int, prompt string, pst tcell.Style) {
	if w <= 0 || h <= 0 {
		return
	}
	if prompt != e.prompt {
		e.prompt, e.layOK = prompt, false
	}
	l := e.layout(w)
	cr, cc := e.cursorAt(l, w)
	first := 0
	if cr >= h {
		first = cr - h + 1
	}
	for i := 0; i < h; i++ {
		ri := first + i
		if ri >= len(l.rows) {
			break
		}
		if ri == 0 {
			putString(s, x, y+i, w, truncate(prompt, w), pst)
		}
		l.drawRow(s, ri, x, y+i, w)
	}
	s.ShowCursor(x+cc, y+cr-first)
}
