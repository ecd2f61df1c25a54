package shell

import (
	"strings"

	"github.com/gdamore/tcell/v2"
)

var (
	stStatus     = tcell.StyleDefault.Reverse(true)
	stStatusBusy = tcell.StyleDefault.Reverse(true).Bold(true)
	stHint       = tcell.StyleDefault.Reverse(true).Foreground(tcell.ColorYellow)
)

// field is one part of the status bar; the lowest priority goes first when
// the bar is too narrow.
type field struct {
	text string
	prio int
}

// statusFields lists the status bar, left to right.
func (u *ui) statusFields() []field {
	var fs []field
	add := func(prio int, text string) {
		if text = oneLine(text); text != "" {
			fs = append(fs, field{text, prio})
		}
	}
	if j := u.job; j != nil {
		add(10, u.spinner()+" "+j.phase)
	}
	add(3, u.info.Pack)
	if st := u.st; st != nil {
		if pl := st.Entities[st.Cast.Player]; pl != nil {
			loc := pl.Location
			if l := st.Locations[pl.Location]; l != nil && l.Name != "" {
				loc = l.Name
			}
			if c := st.Containers[pl.Container]; c != nil && c.Name != "" {
				loc += " · " + c.Name
			}
			add(9, loc)
			add(8, st.Now().Format("Mon 2 Jan 15:04"))
			var here []string
			for _, id := range st.Cast.Members() {
				e := st.Entities[id]
				if e == nil || e.Location != pl.Location {
					continue
				}
				s := e.Name
				if s == "" {
					s = id
				}
				if e.Slot != "" {
					s += " (" + e.Slot + ")"
				}
				here = append(here, s)
			}
			add(7, strings.Join(here, ", "))
		}
	}
	if u.info.Branch != "" {
		add(5, "branch "+u.info.Branch)
	}
	backend := u.info.Backend
	if backend == "" {
		backend = "OFFLINE"
	}
	add(6, backend)
	add(4, u.rate)
	add(1, "F1 help")
	return fs
}

// fitFields drops the lowest-priority fields until the rest fit width.
func fitFields(fs []field, width int, sep string) string {
	for {
		parts := make([]string, len(fs))
		for i, f := range fs {
			parts[i] = f.text
		}
		line := " " + strings.Join(parts, sep)
		if textWidth(line) <= width || len(fs) <= 1 {
			return truncate(line, width)
		}
		low := 0
		for i, f := range fs {
			if f.prio < fs[low].prio {
				low = i
			}
		}
		fs = append(fs[:low:low], fs[low+1:]...)
	}
}

// drawStatus paints the status bar on row y.
func (u *ui) drawStatus(s tcell.Screen, y, w int) {
	st := stStatus
	var line string
	switch {
	case u.hint != "":
		st, line = stHint, truncate(" "+oneLine(u.hint), w)
	default:
		line = fitFields(u.statusFields(), w, " │ ")
		if u.job != nil {
			st = stStatusBusy
		}
	}
	for x := 0; x < w; x++ {
		s.Put(x, y, " ", st)
	}
	putString(s, 0, y, w, line, st)
}
