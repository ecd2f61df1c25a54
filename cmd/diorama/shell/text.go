package shell

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"
)

// This file turns text into rows of cells: sanitising what models and
// pastes send, splitting into grapheme clusters with their display width
// (uniseg, the same widths tcell uses), and wrapping to a width without
// ever splitting a cluster or letting a wide one overflow.

// sanitize makes text safe to lay out: invalid UTF-8 becomes U+FFFD, line
// ends become "\n", tabs become spaces, other control characters become
// U+FFFD, and a combining mark with nothing to combine with gets a dotted
// circle to sit on.
func sanitize(s string) string { return clean(s, true) }

// clean is sanitize for text inserted after other text: lineStart says
// whether s starts a line (a leading combining mark then needs a base).
func clean(s string, lineStart bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteRune('\uFFFD')
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue // the \n that follows ends the line
			}
			b.WriteByte('\n')
			lineStart = true
			continue
		case r == '\n' || r == '\u2028' || r == '\u2029':
			b.WriteByte('\n')
			lineStart = true
			continue
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20 || r >= 0x7f && r < 0xa0:
			b.WriteRune('\uFFFD')
		case lineStart && unicode.Is(unicode.M, r):
			b.WriteRune('\u25CC')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		lineStart = false
	}
	return b.String()
}

// validPrefix returns the part of a streamed byte buffer that can be shown
// now: a multi-byte character split across chunks is held back until its
// last byte arrives (while more may come).
func validPrefix(b []byte, more bool) string {
	if !more {
		return string(b)
	}
	// Look back at most utf8.UTFMax bytes for an incomplete sequence.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return string(b[:i])
			}
			break
		}
	}
	return string(b)
}

// styled is display text with style runs (sorted by start, the first at 0).
type styled struct {
	s    string
	runs []run
}

type run struct {
	start int
	st    tcell.Style
}

func (t *styled) add(s string, st tcell.Style) {
	if s == "" {
		return
	}
	if n := len(t.runs); n == 0 || t.runs[n-1].st != st {
		t.runs = append(t.runs, run{start: len(t.s), st: st})
	}
	t.s += s
}

// addActions adds speech where *actions* (between asterisks) take the
// action style. A run of asterisks is one delimiter and is not shown; an
// asterisk opens an action only before a non-space and closes one only
// after a non-space, so "5 * 3" stays as it is. While an action is open
// its style holds to the end (useful while streaming).
func (t *styled) addActions(s string, speech, action tcell.Style) {
	in := false
	start := 0
	for i := 0; i < len(s); {
		if s[i] != '*' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '*' {
			j++
		}
		before := i > 0 && !isSpaceByte(s[i-1])
		after := j < len(s) && !isSpaceByte(s[j])
		switch {
		case !in && after:
			t.add(s[start:i], speech)
			in, start = true, j
		case in && before:
			t.add(s[start:i], action)
			in, start = false, j
		}
		i = j
	}
	if in {
		t.add(s[start:], action)
	} else {
		t.add(s[start:], speech)
	}
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\n' || c == '\t' }

// cell is one grapheme cluster placed in a row: text[off:off+n].
type cell struct {
	off   uint32
	n     uint16
	st    uint16 // index into layout.styles
	w     uint8  // display width in cells
	flags uint8
}

const (
	cellBreak   = 1 << iota // a line may break after this cell
	cellNewline             // an explicit line end (width 0)
	cellSpace               // white space: dropped at soft line ends
	cellTooWide             // wider than the row: shown as '?'
)

// maxCluster bounds the bytes kept of one grapheme cluster (a flood of
// combining marks is cut, not laid out).
const maxCluster = 64

// row is a range of cells shown on one screen line, after indent columns.
type row struct {
	start, end int32
	indent     uint16
}

// layout is text wrapped to a width.
type layout struct {
	text   string
	styles []tcell.Style
	cells  []cell
	rows   []row
}

// tokenize splits text into grapheme clusters with widths, styles and line
// break opportunities.
func tokenize(t styled) []cell {
	cells := make([]cell, 0, len(t.s))
	state := -1
	ri := 0
	rest := t.s
	for len(rest) > 0 {
		off := len(t.s) - len(rest)
		var c string
		var b int
		c, rest, b, state = uniseg.StepString(rest, state)
		for ri+1 < len(t.runs) && t.runs[ri+1].start <= off {
			ri++
		}
		n := len(c)
		if n > maxCluster {
			n = 0
			for _, r := range c {
				if n+utf8.RuneLen(r) > maxCluster {
					break
				}
				n += utf8.RuneLen(r)
			}
		}
		w := b >> uniseg.ShiftWidth
		cl := cell{off: uint32(off), n: uint16(n), st: uint16(ri), w: uint8(min(w, 2))}
		switch {
		case c == "\n" || c == "\r\n":
			cl.flags |= cellNewline
			cl.w = 0
		case w == 0:
			// Zero-width: belongs to the cell before it, if adjacent.
			if k := len(cells) - 1; k >= 0 && cells[k].flags&cellNewline == 0 &&
				int(cells[k].off)+int(cells[k].n) == off && int(cells[k].n)+n <= maxCluster {
				cells[k].n += uint16(n)
				if b&uniseg.MaskLine == uniseg.LineCanBreak {
					cells[k].flags |= cellBreak
				}
			}
			continue
		case c == " " || c == "\u3000":
			cl.flags |= cellSpace
		}
		if b&uniseg.MaskLine == uniseg.LineCanBreak {
			cl.flags |= cellBreak
		}
		cells = append(cells, cl)
	}
	return cells
}

// wrap lays t out in rows of at most width cells. The first row is indented
// by first, rows after an explicit line end by para, the others by cont. With words set, rows break at line break
// opportunities (white space, between ideographs …) and white space at a
// soft break is dropped; otherwise rows are cut at the width exactly and
// every cell is kept (what an editor needs to place its cursor), and an
// explicit line end stays as the last cell of its row.
func wrap(t styled, width, first, para, cont int, words bool) layout {
	l := layout{text: t.s, cells: tokenize(t)}
	l.styles = make([]tcell.Style, len(t.runs))
	for i, r := range t.runs {
		l.styles[i] = r.st
	}
	if len(l.styles) == 0 {
		l.styles = []tcell.Style{tcell.StyleDefault}
	}
	cells := l.cells
	n := len(cells)
	indent := first
	i := 0
	soft := false // the row starts after a soft break: skip white space
	for {
		if words && soft {
			for i < n && cells[i].flags&cellSpace != 0 {
				i++
			}
		}
		avail := max(width-indent, 1)
		j, w := i, 0
		for j < n && cells[j].flags&cellNewline == 0 && w+int(cells[j].w) <= avail {
			w += int(cells[j].w)
			j++
		}
		switch {
		case j == n || cells[j].flags&cellNewline != 0:
			end := j
			if j < n && !words {
				end = j + 1 // keep the line end in the row
			}
			l.rows = append(l.rows, row{start: int32(i), end: int32(end), indent: uint16(indent)})
			if j == n {
				return l
			}
			i, soft = j+1, false
			indent = para
			continue
		case j == i:
			// One cluster wider than the whole row.
			cells[i].flags |= cellTooWide
			l.rows = append(l.rows, row{start: int32(i), end: int32(i + 1), indent: uint16(indent)})
			i, soft = i+1, true
		default:
			k := j
			if words && cells[j].flags&cellSpace == 0 {
				// Break after the last opportunity in the row, if any.
				for k = j; k > i && cells[k-1].flags&cellBreak == 0; k-- {
				}
				if k == i {
					k = j
				}
			}
			end := k
			if words {
				for end > i && cells[end-1].flags&cellSpace != 0 {
					end--
				}
			}
			l.rows = append(l.rows, row{start: int32(i), end: int32(end), indent: uint16(indent)})
			i, soft = k, true
		}
		indent = cont
	}
}

// rowWidth is the display width of a row's cells (indent excluded).
func (l *layout) rowWidth(r row) int {
	w := 0
	for _, c := range l.cells[r.start:r.end] {
		if c.flags&cellTooWide != 0 {
			w++
		} else {
			w += int(c.w)
		}
	}
	return w
}

// drawRow draws row ri at (x, y), clipped to width columns.
func (l *layout) drawRow(s tcell.Screen, ri, x, y, width int) {
	r := l.rows[ri]
	cx := x + int(r.indent)
	limit := x + width
	for _, c := range l.cells[r.start:r.end] {
		switch {
		case c.flags&cellNewline != 0:
			continue
		case c.flags&cellTooWide != 0:
			if cx+1 > limit {
				return
			}
			s.Put(cx, y, "?", l.styles[c.st])
			cx++
			continue
		}
		if cx+int(c.w) > limit {
			return
		}
		s.Put(cx, y, l.text[c.off:c.off+uint32(c.n)], l.styles[c.st])
		cx += int(c.w)
	}
}

// textWidth is the display width of s.
func textWidth(s string) int { return uniseg.StringWidth(s) }

// truncate cuts s to at most width cells, ending with "…" when cut.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if textWidth(s) <= width {
		return s
	}
	ell := "…"
	ew := textWidth(ell)
	if width < ew {
		ell, ew = "", 0
	}
	w := 0
	state := -1
	rest := s
	var b strings.Builder
	for len(rest) > 0 {
		var c string
		var cw int
		c, rest, cw, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if w+cw > width-ew {
			break
		}
		b.WriteString(c)
		w += cw
	}
	return b.String() + ell
}

// putString draws a single-line string at (x, y) within width columns and
// returns the columns used. Control characters must have been removed.
func putString(s tcell.Screen, x, y, width int, str string, st tcell.Style) int {
	used := 0
	state := -1
	for len(str) > 0 {
		var c string
		var w int
		c, str, w, state = uniseg.FirstGraphemeClusterInString(str, state)
		if w == 0 {
			continue
		}
		if used+w > width {
			break
		}
		s.Put(x+used, y, c, st)
		used += w
	}
	return used
}

// oneLine flattens text for a single screen line (status bar, hints).
func oneLine(s string) string {
	s = sanitize(s)
	if strings.IndexByte(s, '\n') >= 0 {
		s = strings.Join(strings.Fields(s), " ")
	}
	return s
}
