package core

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// DiffStates lists how state b differs from state a, one readable line per
// changed value ("Mara: mood "wary" → "tired""), sorted. Bookkeeping that
// every edit changes (the last event, the turn counter, the event a scene
// began at) is left out.
func DiffStates(a, b *State) []string {
	var am, bm map[string]any
	for _, x := range []struct {
		s *State
		m *map[string]any
	}{{a, &am}, {b, &bm}} {
		raw, err := json.Marshal(x.s)
		if err != nil {
			panic("core: marshal state: " + err.Error()) // plain data: cannot fail
		}
		if err := json.Unmarshal(raw, x.m); err != nil {
			panic("core: unmarshal state: " + err.Error())
		}
		for _, k := range []string{"last_seq", "turn", "scene_start"} {
			delete(*x.m, k)
		}
	}
	d := differ{a: a, b: b}
	d.walk(nil, am, bm)
	sort.Strings(d.out)
	return d.out
}

type differ struct {
	a, b *State
	out  []string
}

func (d *differ) walk(path []string, x, y any) {
	xm, xok := x.(map[string]any)
	ym, yok := y.(map[string]any)
	if xok && yok {
		keys := map[string]bool{}
		for k := range xm {
			keys[k] = true
		}
		for k := range ym {
			keys[k] = true
		}
		for k := range keys {
			d.walk(append(path[:len(path):len(path)], k), xm[k], ym[k])
		}
		return
	}
	xs, ys := jsonText(x), jsonText(y)
	if xs == ys {
		return
	}
	if len(path) == 1 && path[0] == "clock" {
		xs, ys = d.a.NowString(), d.b.NowString()
	}
	d.out = append(d.out, fmt.Sprintf("%s: %s → %s", d.label(path), xs, ys))
}

// jsonText renders a value compactly; a missing one is "(none)".
func jsonText(v any) string {
	if v == nil {
		return "(none)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// label names a path of the state's JSON for people.
func (d *differ) label(path []string) string {
	name := func(id string) string {
		for _, s := range []*State{d.b, d.a} {
			if e := s.Entities[id]; e != nil && e.Name != "" {
				return e.Name
			}
		}
		return id
	}
	rest := func(from int) string { return strings.Join(path[from:], ".") }
	switch {
	case len(path) >= 2 && path[0] == "entities":
		if len(path) == 2 {
			return name(path[1])
		}
		return name(path[1]) + ": " + rest(2)
	case len(path) >= 2 && path[0] == "edges":
		from, to, _ := strings.Cut(path[1], ">")
		l := "how " + name(from) + " feels about " + name(to)
		if len(path) > 2 {
			l += ": " + rest(2)
		}
		return l
	case len(path) >= 2 && path[0] == "story_events":
		l := "story event " + path[1]
		if len(path) > 2 {
			l += ": " + rest(2)
		}
		return l
	case len(path) >= 2 && path[0] == "threads":
		l := "thread " + path[1]
		if len(path) > 2 {
			l += ": " + rest(2)
		}
		return l
	case len(path) == 2 && path[0] == "pinned":
		return "memory #" + path[1] + " pinned"
	case len(path) == 1 && path[0] == "clock":
		return "world time"
	case len(path) == 1 && path[0] == "memories":
		return "memories"
	}
	return rest(0)
}
