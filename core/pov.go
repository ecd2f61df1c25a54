package core

import "sort"

// Line is a said line as a character remembers it.
type Line struct {
	ID        int64 // the line_said event's seq (its memory id); negative while the turn is pending
	Who       string
	Text      string
	Mask      Mask
	WorldTime int64
}

// Recalled is a memory retrieved for a prompt, with why it was chosen.
type Recalled struct {
	ID     int64
	Kind   string // "episodic", "semantic", "summary"
	Text   string
	Mask   Mask
	Pinned bool
	Score  float64
	Parts  map[string]float64
}

// POVFacts builds the structured context of one character's prompt from its
// own point of view only: where it is and what it sees, those present as it
// can perceive them, its own feelings about them (never theirs about it),
// the lines it witnessed and the memories it holds. Everything a template
// can put into a prompt comes from here, so this is the witness boundary:
// lines and memories whose mask lacks the speaker's bit are dropped even if
// a caller passed them.
func POVFacts(st *State, speaker string, lines []Line, memories []Recalled, playerLine string) map[string]any {
	bit := st.Cast.Bit(speaker)
	me := st.Entities[speaker]
	if me == nil || bit < 0 {
		return map[string]any{}
	}
	facts := map[string]any{}
	self := entityFacts(st, me, true)
	if loc := st.Locations[me.Location]; loc != nil {
		self["location_name"] = loc.Name
		self["location_description"] = loc.Description
	}
	if ct := st.Containers[me.Container]; ct != nil {
		self["container_name"] = ct.Name
		if sl := ct.Slots[me.Slot]; sl != nil {
			self["sees"] = stringsAny(sl.Sees)
			self["reaches"] = stringsAny(sl.Reaches)
		}
	}
	facts["speaker"] = self
	if pl := st.Entities[st.Cast.Player]; pl != nil {
		facts["player"] = map[string]any{"id": pl.ID, "name": pl.Name}
	}
	facts["world"] = map[string]any{"id": st.World.ID, "title": st.World.Title, "now": st.NowString(),
		"minutes": float64(st.Clock), "scene": float64(st.Scene)}

	var present, feelings []any
	var edges []any
	for _, id := range st.Cast.Members() {
		if id == speaker {
			continue
		}
		other := st.Entities[id]
		if other == nil || other.Location != me.Location {
			continue
		}
		present = append(present, entityFacts(st, other, false))
		if e := st.Edge(speaker, id); e != nil {
			f := map[string]any{"to": id, "name": other.Name, "affinity": float64(e.Affinity), "trust": float64(e.Trust)}
			if n := len(e.Notes); n > 0 {
				f["note"] = e.Notes[n-1]
			}
			feelings = append(feelings, f)
			edges = append(edges, EdgeKey(speaker, id))
		}
	}
	facts["present"] = orEmpty(present)
	facts["feelings"] = orEmpty(feelings)
	facts["edges"] = orEmpty(edges)
	group := map[string]any{"cohesion": float64(st.Group.Cohesion)}
	facts["group"] = group

	var ls []any
	for _, l := range lines {
		if !l.Mask.Has(bit) {
			continue // not witnessed: never reaches the prompt
		}
		name := l.Who
		if e := st.Entities[l.Who]; e != nil {
			name = e.Name
		}
		ls = append(ls, map[string]any{"id": float64(l.ID), "who": l.Who, "name": name, "text": l.Text})
	}
	facts["lines"] = orEmpty(ls)
	var ms []any
	for _, m := range memories {
		if !m.Mask.Has(bit) {
			continue
		}
		ms = append(ms, map[string]any{"id": float64(m.ID), "kind": m.Kind, "text": m.Text, "score": m.Score, "pinned": m.Pinned})
	}
	facts["memories"] = orEmpty(ms)

	var events, props []any
	for _, id := range sortedKeys(st.Events) {
		ev := st.Events[id]
		if ev.Status != EventActive {
			continue
		}
		events = append(events, map[string]any{"id": ev.ID, "title": ev.Title, "props": stringsAny(ev.Props)})
		for _, p := range ev.Props {
			props = append(props, p)
		}
	}
	facts["events"] = orEmpty(events)
	facts["props"] = orEmpty(props)
	var threads []any
	for _, id := range sortedKeys(st.Threads) {
		if t := st.Threads[id]; t.Status == "open" {
			threads = append(threads, map[string]any{"id": t.ID, "text": t.Text})
		}
	}
	facts["threads"] = orEmpty(threads)
	facts["player_line"] = playerLine
	return facts
}

// entityFacts is what a character knows of an entity: everything of itself;
// of others, what shows (mood, what they do and hold, where they sit), not
// their goals.
func entityFacts(st *State, e *Entity, self bool) map[string]any {
	f := map[string]any{"id": e.ID, "name": e.Name, "bot": e.Bot, "mood": e.Mood, "doing": e.Doing,
		"holding": stringsAny(e.Holding), "location": e.Location, "container": e.Container, "slot": e.Slot,
		"appearance": e.Appearance}
	if self {
		f["persona"] = e.Persona
		f["speech"] = e.Speech
		f["description"] = e.Description
		f["goals"] = stringsAny(e.Goals)
		f["attention"] = e.Attention
	}
	return f
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

// sortLinesByID orders lines oldest first.
func sortLinesByID(ls []Line) {
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := ls[i].ID, ls[j].ID
		// Pending lines (negative ids) come after every written one, in
		// the order they were drafted (-1, -2, …).
		if (a < 0) != (b < 0) {
			return b < 0
		}
		if a < 0 {
			return a > b
		}
		return a < b
	})
}
