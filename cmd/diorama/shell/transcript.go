package shell

import (
	"hash/fnv"
	"strconv"

	"github.com/gdamore/tcell/v2"
)

// kind is what an entry of the transcript is.
type kind uint8

const (
	kindSpeech    kind = iota // a line said by the player or a bot
	kindNarration             // narration
	kindPending               // a turn started, no speaker yet: a spinner
	kindSystem                // a command's output
	kindNotice                // an asynchronous notice (hot reload …)
	kindError                 // an error, one line
)

// entry is one transcript entry with its wrapped layout cached.
type entry struct {
	Entry
	kind        kind
	raw         []byte // text streamed so far
	streaming   bool   // text is still arriving
	spin        bool   // waiting for the first token
	provisional bool   // part of a turn that is not committed yet

	lay    layout
	layW   int
	layGen int
	layOK  bool
}

func newEntry(e Entry) *entry {
	k := kindSpeech
	if e.Narration {
		k = kindNarration
	}
	return &entry{Entry: e, kind: k}
}

func systemEntry(k kind, text string) *entry {
	return &entry{Entry: Entry{Text: text}, kind: k}
}

// pos is a position in the transcript: a row of an entry.
type pos struct{ ei, row int }

// Styles of the transcript.
var (
	stSpeech    = tcell.StyleDefault
	stAction    = tcell.StyleDefault.Italic(true).Dim(true)
	stNarration = tcell.StyleDefault.Italic(true).Foreground(tcell.PaletteColor(180))
	stSystem    = tcell.StyleDefault
	stMarker    = tcell.StyleDefault.Dim(true)
	stNotice    = tcell.StyleDefault.Dim(true)
	stError     = tcell.StyleDefault.Foreground(tcell.ColorRed)
	stMore      = tcell.StyleDefault.Reverse(true)
)

// palette holds the speaker colours: readable on dark and light
// backgrounds, distinct from each other.
var palette = []tcell.Color{
	tcell.PaletteColor(39),  // blue
	tcell.PaletteColor(208), // orange
	tcell.PaletteColor(170), // orchid
	tcell.PaletteColor(71),  // green
	tcell.PaletteColor(178), // gold
	tcell.PaletteColor(167), // red
	tcell.PaletteColor(73),  // teal
	tcell.PaletteColor(141), // purple
}

// hashColor is the palette slot of an id.
func hashColor(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(len(palette)))
}

// castColors gives each cast member a stable colour: the hash of its id,
// moved to the next free slot when an earlier member (in cast order) has it.
func castColors(members []string) map[string]tcell.Color {
	out := map[string]tcell.Color{}
	used := map[int]bool{}
	for _, id := range members {
		i := hashColor(id)
		for k := 0; k < len(palette) && used[i]; k++ {
			i = (i + 1) % len(palette)
		}
		used[i] = true
		out[id] = palette[i]
	}
	return out
}

// transcript is the scrolling list of entries. Only the visible window is
// laid out and drawn; layouts are cached per entry and width, so a redraw
// costs the same with ten lines or ten thousand.
type transcript struct {
	entries []*entry
	pinned  bool // follow the bottom
	top     pos  // first visible row when not pinned

	width, height int
	gen           int // bumped to invalidate every layout
	showIDs       bool
	spinFrame     string
	colors        map[string]tcell.Color
}

func newTranscript() *transcript { return &transcript{pinned: true, spinFrame: "⠋"} }

func (t *transcript) colorOf(who string) tcell.Color {
	if c, ok := t.colors[who]; ok {
		return c
	}
	return palette[hashColor(who)]
}

// invalidate drops every cached layout (width, ids or colours changed).
func (t *transcript) invalidate() { t.gen++ }

// text is what an entry shows now.
func (e *entry) text() string {
	if e.streaming {
		return sanitize(validPrefix(e.raw, true))
	}
	return sanitize(e.Text)
}

// render styles an entry.
func (t *transcript) render(e *entry) (styled, int) {
	var s styled
	cont := 0
	if t.showIDs && e.Event > 0 {
		s.add("#"+strconv.FormatInt(e.Event, 10)+" ", stMarker)
	}
	switch e.kind {
	case kindSpeech:
		name := e.Name
		if name == "" {
			name = e.Who
		}
		if name == "" {
			name = "?"
		}
		ns := tcell.StyleDefault.Bold(true).Foreground(t.colorOf(e.Who))
		s.add(sanitizeName(name)+":", ns)
		s.add(" ", stSpeech)
		if e.spin {
			s.add(t.spinFrame, ns)
		} else {
			s.addActions(e.text(), stSpeech, stAction)
		}
		cont = 2
	case kindNarration:
		s.add(e.text(), stNarration)
	case kindPending:
		s.add(t.spinFrame+" …", stMarker)
	case kindSystem:
		s.add("» ", stMarker)
		s.add(e.text(), stSystem)
		cont = 2
	case kindNotice:
		s.add("· "+e.text(), stNotice)
		cont = 2
	case kindError:
		s.add("! "+e.text(), stError)
		cont = 2
	}
	if s.s == "" {
		s.add(" ", stSpeech)
	}
	return s, cont
}

// sanitizeName keeps a name on one line.
func sanitizeName(n string) string { return oneLine(n) }

// layout returns entry ei laid out at the current width.
func (t *transcript) layout(ei int) *layout {
	e := t.entries[ei]
	animated := e.spin || e.kind == kindPending
	if !e.layOK || e.layW != t.width || e.layGen != t.gen || animated {
		s, cont := t.render(e)
		e.lay = wrap(s, t.width, 0, cont, cont, true)
		e.layW, e.layGen, e.layOK = t.width, t.gen, true
	}
	return &e.lay
}

// changed marks an entry's text as changed.
func (e *entry) changed() { e.layOK = false }

func (t *transcript) nrows(ei int) int { return len(t.layout(ei).rows) }

// visibleTop returns the first row to show for the current height,
// re-pinning when the view reaches the end.
func (t *transcript) visibleTop() pos {
	if len(t.entries) == 0 || t.width <= 0 || t.height <= 0 {
		return pos{}
	}
	if !t.pinned {
		t.clamp()
		// Pin again when the rows from top to the end fit on the screen.
		n := 0
		for ei := t.top.ei; ei < len(t.entries) && n <= t.height; ei++ {
			if ei == t.top.ei {
				n += t.nrows(ei) - t.top.row
			} else {
				n += t.nrows(ei)
			}
		}
		if n > t.height {
			return t.top
		}
		t.pinned = true
	}
	// Walk back from the end.
	need := t.height
	for ei := len(t.entries) - 1; ei >= 0; ei-- {
		n := t.nrows(ei)
		if n >= need {
			return pos{ei, n - need}
		}
		need -= n
	}
	return pos{}
}

// clamp keeps top inside the transcript.
func (t *transcript) clamp() {
	if t.top.ei >= len(t.entries) {
		t.pinned = true
		t.top = pos{}
		return
	}
	if t.top.ei < 0 {
		t.top = pos{}
	}
	if n := t.nrows(t.top.ei); t.top.row >= n {
		t.top.row = n - 1
	}
	if t.top.row < 0 {
		t.top.row = 0
	}
}

// scroll moves the view by n rows (negative: up, into the past).
func (t *transcript) scroll(n int) {
	if len(t.entries) == 0 || t.width <= 0 {
		return
	}
	p := t.visibleTop()
	if n < 0 {
		for k := -n; k > 0; {
			if p.row > 0 {
				d := min(k, p.row)
				p.row -= d
				k -= d
				continue
			}
			if p.ei == 0 {
				break
			}
			p.ei--
			p.row = t.nrows(p.ei)
		}
		t.top, t.pinned = p, false
		return
	}
	if t.pinned {
		return
	}
	p.row += n
	for p.row >= t.nrows(p.ei) {
		p.row -= t.nrows(p.ei)
		p.ei++
		if p.ei >= len(t.entries) {
			t.pinned = true
			return
		}
	}
	t.top = p
}

func (t *transcript) page() int { return max(t.height-1, 1) }

func (t *transcript) home() {
	t.top, t.pinned = pos{}, len(t.entries) == 0
}

func (t *transcript) end() { t.pinned = true }

// add appends entries.
func (t *transcript) add(es ...*entry) { t.entries = append(t.entries, es...) }

// remove drops the entries for which drop is true and returns the index of
// the first one dropped (or len(entries)).
func (t *transcript) remove(drop func(*entry) bool) int {
	first := -1
	out := t.entries[:0]
	for i, e := range t.entries {
		if drop(e) {
			if first < 0 {
				first = i
			}
			if !t.pinned && t.top.ei > len(out) {
				t.top.ei--
			}
			continue
		}
		out = append(out, e)
	}
	clear(t.entries[len(out):])
	t.entries = out
	if first < 0 {
		first = len(out)
	}
	return first
}

// insert puts es at index i.
func (t *transcript) insert(i int, es ...*entry) {
	if !t.pinned && t.top.ei >= i {
		t.top.ei += len(es)
	}
	t.entries = append(t.entries[:i], append(es, t.entries[i:]...)...)
}

// reset replaces every entry and follows the bottom.
func (t *transcript) reset(es []*entry) {
	t.entries = es
	t.pinned = true
	t.top = pos{}
}

// draw shows the visible window in the rectangle.
func (t *transcript) draw(s tcell.Screen, x, y, w, h int) {
	t.width, t.height = w, h
	if w <= 0 || h <= 0 || len(t.entries) == 0 {
		return
	}
	p := t.visibleTop()
	yy := y
	for ei := p.ei; ei < len(t.entries) && yy < y+h; ei++ {
		l := t.layout(ei)
		r := 0
		if ei == p.ei {
			r = p.row
		}
		for ; r < len(l.rows) && yy < y+h; r++ {
			l.drawRow(s, r, x, yy, w)
			yy++
		}
	}
	if !t.pinned && h >= 2 {
		msg := truncate(" ▼ more below · End follows the story ", w)
		for i := 0; i < w; i++ {
			s.Put(x+i, y+h-1, " ", stMore)
		}
		putString(s, x, y+h-1, w, msg, stMore)
	}
}
