package shell

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gdamore/tcell/v2"

	"diorama/core"
)

// panel is the side panel: the state as the player may see it. It shows
// the player's own goals and feelings only: other characters' goals and
// their feelings about anyone are private, and never drawn.
type panel struct {
	u     *ui
	dirty bool
	lay   layout
	layW  int
}

var (
	stHead  = tcell.StyleDefault.Bold(true).Underline(true)
	stLabel = tcell.StyleDefault.Dim(true)
	stBody  = tcell.StyleDefault
)

// content builds the panel's text.
func (p *panel) content() styled {
	u := p.u
	var s styled
	nl := func() { s.add("\n", stBody) }
	head := func(t string) {
		if s.s != "" {
			nl()
		}
		s.add(t, stHead)
		nl()
	}
	item := func(label, text string) {
		if text = oneLine(text); text == "" {
			return
		}
		if label != "" {
			s.add(label+" ", stLabel)
		}
		s.add(text, stBody)
		nl()
	}
	st := u.st
	if st == nil {
		s.add("no state yet", stLabel)
		return s
	}
	me := st.Cast.Player
	pl := st.Entities[me]
	if pl == nil {
		s.add("no player in this story", stLabel)
		return s
	}
	head(nameOr(pl) + " (you)")
	item("mood", pl.Mood)
	if len(pl.Goals) > 0 {
		item("goals", strings.Join(pl.Goals, "; "))
	}
	item("doing", pl.Doing)
	if len(pl.Holding) > 0 {
		item("holding", strings.Join(pl.Holding, ", "))
	}

	head("Others")
	for _, id := range st.Cast.Bots {
		e := st.Entities[id]
		if e == nil {
			continue
		}
		name := nameOr(e)
		if e.Location != pl.Location {
			s.add(name, tcell.StyleDefault.Foreground(u.tr.colorOf(id)))
			s.add(" not here", stLabel)
			nl()
			continue
		}
		s.add(name, tcell.StyleDefault.Bold(true).Foreground(u.tr.colorOf(id)))
		if e.Slot != "" {
			s.add(" ("+oneLine(e.Slot)+")", stLabel)
		}
		nl()
		item("  mood", e.Mood)
		item("  doing", e.Doing)
		if len(e.Holding) > 0 {
			item("  holding", strings.Join(e.Holding, ", "))
		}
	}

	head("You feel")
	felt := false
	for _, id := range st.Cast.Bots {
		ed := st.Edge(me, id) // the player's own edges only
		if ed == nil {
			continue
		}
		felt = true
		s.add(nameOr(st.Entities[id]), tcell.StyleDefault.Foreground(u.tr.colorOf(id)))
		s.add(fmt.Sprintf(" affinity %+d · trust %+d", ed.Affinity, ed.Trust), stBody)
		nl()
		notes := ed.Notes
		if len(notes) > 2 {
			notes = notes[len(notes)-2:]
		}
		for _, n := range notes {
			item("  ", "“"+n+"”")
		}
	}
	if !felt {
		item("", "nothing recorded yet")
	}
	item("group cohesion", strconv.Itoa(st.Group.Cohesion))

	var evs []*core.StoryEvent
	for _, ev := range st.Events {
		if ev.Status == core.EventActive {
			evs = append(evs, ev)
		}
	}
	if len(evs) > 0 {
		sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
		head("Story")
		for _, ev := range evs {
			t := ev.Title
			if t == "" {
				t = ev.ID
			}
			item("●", t)
			if len(ev.Props) > 0 {
				item("  props", strings.Join(ev.Props, ", "))
			}
		}
	}

	var threads []*core.Thread
	for _, t := range st.Threads {
		if t.Status == "open" {
			threads = append(threads, t)
		}
	}
	if len(threads) > 0 {
		sort.Slice(threads, func(i, j int) bool { return threads[i].ID < threads[j].ID })
		head("Open threads")
		for _, t := range threads {
			item("•", t.Text)
		}
	}

	if len(st.Cast.Bots) > 0 {
		bot := st.Cast.Bots[min(u.bot, len(st.Cast.Bots)-1)]
		head("Memories of " + nameOr(st.Entities[bot]) + " (F3)")
		m, ok := u.manifests[bot]
		switch {
		case !ok:
			item("", "no prompt yet: after "+nameOr(st.Entities[bot])+"'s next reply")
		default:
			item("prompt", fmt.Sprintf("%d of %d tokens", m.Tokens, m.Budget))
			if len(m.Memories) == 0 {
				item("", "no memory retrieved")
			}
			score := map[int64]float64{}
			for _, sc := range m.Scores {
				score[sc.ID] = sc.Score
			}
			text := p.linesByEvent(m.Memories)
			for _, id := range m.Memories {
				label := "#" + strconv.FormatInt(id, 10)
				if sc, ok := score[id]; ok {
					label += fmt.Sprintf(" %.2f", sc)
				}
				t := text[id]
				if t == "" {
					t = "(not in your transcript)"
				}
				item(label, t)
			}
		}
	}
	return s
}

// linesByEvent finds the transcript text of the given events.
func (p *panel) linesByEvent(ids []int64) map[int64]string {
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	out := map[int64]string{}
	for _, e := range p.u.tr.entries {
		if e.Event > 0 && want[e.Event] {
			name := e.Name
			if name == "" {
				name = e.Who
			}
			if name != "" && !e.Narration {
				out[e.Event] = name + ": " + e.Text
			} else {
				out[e.Event] = e.Text
			}
		}
	}
	return out
}

func nameOr(e *core.Entity) string {
	if e == nil {
		return "?"
	}
	if e.Name != "" {
		return oneLine(e.Name)
	}
	return e.ID
}

func (p *panel) draw(s tcell.Screen, x, y, w, h int) {
	if w <= 1 || h <= 0 {
		return
	}
	if p.dirty || p.layW != w {
		p.lay = wrap(p.content(), w, 1, 1, 3, true)
		p.layW, p.dirty = w, false
	}
	n := len(p.lay.rows)
	for i := 0; i < h && i < n; i++ {
		if i == h-1 && n > h {
			putString(s, x+1, y+i, w-1, "…", stLabel)
			break
		}
		p.lay.drawRow(s, i, x, y+i, w)
	}
}
