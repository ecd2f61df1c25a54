package lua

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"diorama/core"
)

// declarations collects what the pack's top-level code declares, with the
// place of every declaration so problems found later point at it.
type declarations struct {
	spec     core.WorldSpec
	worldAt  *Problem
	playerAt *Problem
	groupAt  *Problem
	pos      map[string]Problem // "kind id" or "relationship from->to" -> where declared
	ids      map[string]string  // id -> "a location (FILE:LINE)", for duplicates across kinds
	problems []Problem
}

func newDeclarations() *declarations {
	return &declarations{pos: map[string]Problem{}, ids: map[string]string{}}
}

var reID = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]*$`)

// The fields each constructor accepts.
var (
	worldFields     = []string{"id", "title", "version", "start", "minutes_per_turn", "lore_budget"}
	loreFields      = []string{"id", "keys", "text", "constant", "priority", "order", "case_sensitive", "regex", "secondary_keys", "selective", "known_by", "enabled"}
	startFields     = []string{"location", "time"}
	characterFields = []string{"id", "name", "description", "persona", "speech", "appearance", "mood", "goals", "holding", "at"}
	atFields        = []string{"location", "container", "slot"}
	locationFields  = []string{"id", "name", "description"}
	containerFields = []string{"id", "name", "location", "slots"}
	slotFields      = []string{"sees", "reaches"}
	edgeFields      = []string{"affinity", "trust", "note"}
	groupFields     = []string{"cohesion", "note"}
	eventFields     = []string{"id", "title", "props", "at", "starts_when", "ends_when", "on_start", "on_complete", "promote"}
	promoteFields   = []string{"items", "facts"}
)

// registerAPI puts the authoring API into the base environment.
func (p *Pack) registerAPI(base *glua.LTable) {
	L := p.L
	for name, fn := range map[string]glua.LGFunction{
		"world":        p.declWorld,
		"player":       func(L *glua.LState) int { return p.declCharacter(L, "player") },
		"character":    func(L *glua.LState) int { return p.declCharacter(L, "character") },
		"location":     p.declLocation,
		"container":    p.declContainer,
		"relationship": p.declRelationship,
		"group":        p.declGroup,
		"story_event":  p.declStoryEvent,
		"timeskip":     p.declTimeskip,
		"prompt":       p.declPrompt,
		"on":           p.declOn,
		"speakers":     p.declSpeakers,
		"lore":         p.declLore,
		"retrieval":    p.declRetrieval,
	} {
		base.RawSetString(name, L.NewFunction(fn))
	}
}

// fieldReader reads a constructor's table strictly: every problem is
// recorded at the constructor's call site and reading goes on, so one
// check run reports them all.
type fieldReader struct {
	p       *Pack
	ctor    string // e.g. "character{}", "character{}.at"
	at      Problem
	t       *glua.LTable
	allowed []string
}

func (p *Pack) problem(at Problem, format string, args ...any) {
	at.Msg = fmt.Sprintf(format, args...)
	p.decl.problems = append(p.decl.problems, at)
}

// loadOnly refuses a constructor outside loading and returns its call site.
func (p *Pack) loadOnly(L *glua.LState, name string) Problem {
	if !p.loading || p.decl == nil {
		L.RaiseError("%s can only be called while the pack loads (at the top level of a file), not from a hook or template", name)
	}
	return where(L, 1)
}

// tableArg returns argument n as a table, or records a problem and nil.
func (p *Pack) tableArg(L *glua.LState, n int, ctor string, at Problem, example string) *glua.LTable {
	switch v := L.Get(n).(type) {
	case *glua.LTable:
		return v
	case *glua.LNilType:
		p.problem(at, "%s: missing its table, e.g. %s", ctor, example)
	default:
		p.problem(at, "%s: want a table, got a %s (e.g. %s)", ctor, v.Type(), example)
	}
	return nil
}

func (p *Pack) fields(ctor string, at Problem, t *glua.LTable, allowed []string) *fieldReader {
	f := &fieldReader{p: p, ctor: ctor, at: at, t: t, allowed: allowed}
	t.ForEach(func(k, _ glua.LValue) {
		ks, ok := k.(glua.LString)
		if !ok {
			p.problem(at, "%s: unexpected positional value [%s]; use named fields (%s)", ctor, k.String(), strings.Join(allowed, ", "))
			return
		}
		if !slices.Contains(allowed, string(ks)) {
			p.problem(at, "%s: unknown field %q%s (fields: %s)", ctor, string(ks), didYouMean(string(ks), allowed), strings.Join(allowed, ", "))
		}
	})
	return f
}

func (f *fieldReader) bad(format string, args ...any) {
	f.p.problem(f.at, "%s: %s", f.ctor, fmt.Sprintf(format, args...))
}

func (f *fieldReader) str(name string, required bool) string {
	switch v := f.t.RawGetString(name).(type) {
	case glua.LString:
		if required && strings.TrimSpace(string(v)) == "" {
			f.bad("%s must not be empty", name)
		}
		return string(v)
	case *glua.LNilType:
		if required {
			f.bad("%s is required", name)
		}
	default:
		f.bad("%s: want a string, got a %s", name, v.Type())
	}
	return ""
}

// id reads a required id and checks its spelling.
func (f *fieldReader) id(name string) string {
	s := f.str(name, true)
	if s != "" && !reID.MatchString(s) {
		f.bad("%s %q: use letters, digits, _ . - (no spaces)", name, s)
		return ""
	}
	return s
}

func (f *fieldReader) boolean(name string) bool {
	switch v := f.t.RawGetString(name).(type) {
	case glua.LBool:
		return bool(v)
	case *glua.LNilType:
	default:
		f.bad("%s: want true or false, got a %s", name, v.Type())
	}
	return false
}

func (f *fieldReader) integer(name string) int {
	switch v := f.t.RawGetString(name).(type) {
	case glua.LNumber:
		if float64(v) != float64(int64(v)) {
			f.bad("%s: want a whole number, got %v", name, v)
			return 0
		}
		return int(v)
	case *glua.LNilType:
	default:
		f.bad("%s: want a number, got a %s", name, v.Type())
	}
	return 0
}

func (f *fieldReader) strList(name string) []string {
	switch v := f.t.RawGetString(name).(type) {
	case *glua.LTable:
		return f.p.stringList(f.at, f.ctor+" "+name, v)
	case *glua.LNilType:
	default:
		f.bad("%s: want a list of strings, got a %s", name, v.Type())
	}
	return nil
}

func (p *Pack) stringList(at Problem, what string, t *glua.LTable) []string {
	var out []string
	n := t.Len()
	t.ForEach(func(k, v glua.LValue) {
		i, ok := k.(glua.LNumber)
		if !ok || int(i) < 1 || int(i) > n || float64(i) != float64(int(i)) {
			p.problem(at, "%s: want a list like {\"a\", \"b\"}, found the key %s", what, k.String())
			return
		}
		s, ok := v.(glua.LString)
		if !ok {
			p.problem(at, "%s: item %d: want a string, got a %s", what, int(i), v.Type())
			return
		}
		out = append(out, string(s))
	})
	return out
}

// promotions reads promote.items or promote.facts: a list whose entries are
// a string (the item or fact; the engine picks who keeps it) or a table
// { item|fact = ..., to = ID }.
func (f *fieldReader) promotions(name, key string) []Promotion {
	list := f.table(name)
	if list == nil {
		return nil
	}
	var out []Promotion
	n := list.Len()
	for i := 1; i <= n; i++ {
		var pm Promotion
		switch v := list.RawGetInt(i).(type) {
		case glua.LString:
			pm = Promotion{To: ""}
			if key == "item" {
				pm.Item = string(v)
			} else {
				pm.Fact = string(v)
			}
		case *glua.LTable:
			ef := f.p.fields(fmt.Sprintf("%s.%s[%d]", f.ctor, name, i), f.at, v, []string{key, "to"})
			pm.To = ef.str("to", false)
			if key == "item" {
				pm.Item = ef.str("item", true)
			} else {
				pm.Fact = ef.str("fact", true)
			}
		default:
			f.bad("%s[%d]: want a string or { %s = ..., to = ... }, got a %s", name, i, key, v.Type())
			continue
		}
		out = append(out, pm)
	}
	count := 0
	list.ForEach(func(_, _ glua.LValue) { count++ })
	if count != n {
		f.bad("%s: want a list (no gaps, no named keys)", name)
	}
	return out
}

func (f *fieldReader) table(name string) *glua.LTable {
	switch v := f.t.RawGetString(name).(type) {
	case *glua.LTable:
		return v
	case *glua.LNilType:
	default:
		f.bad("%s: want a table, got a %s", name, v.Type())
	}
	return nil
}

func (f *fieldReader) fn(name string) *handler {
	switch v := f.t.RawGetString(name).(type) {
	case *glua.LFunction:
		return &handler{fn: v, where: f.at}
	case *glua.LNilType:
	default:
		f.bad("%s: want a function, got a %s", name, v.Type())
	}
	return nil
}

// claim records the declaration of id; a second declaration of the same id
// is a problem at the second one and is dropped.
func (p *Pack) claim(at Problem, kind, id string) bool {
	if id == "" {
		return false
	}
	if prev, dup := p.decl.ids[id]; dup {
		p.problem(at, "%s %q: duplicate id (already %s)", kind, id, prev)
		return false
	}
	p.decl.ids[id] = fmt.Sprintf("a %s at %s", kind, at.String())
	p.decl.pos[kind+" "+id] = at
	return true
}

func (p *Pack) declWorld(L *glua.LState) int {
	at := p.loadOnly(L, "world{}")
	t := p.tableArg(L, 1, "world{}", at, `world{ id = "night_drive", start = { location = "road" } }`)
	if t == nil {
		return 0
	}
	if p.decl.worldAt != nil {
		p.problem(at, "world{}: declared twice (first at %s)", p.decl.worldAt.String())
		return 0
	}
	p.decl.worldAt = &at
	f := p.fields("world{}", at, t, worldFields)
	w := &p.decl.spec
	w.ID = f.id("id")
	w.Title = f.str("title", false)
	w.Version = f.str("version", false)
	w.MinutesPerTurn = f.integer("minutes_per_turn")
	w.LoreBudget = f.integer("lore_budget")
	if st := f.table("start"); st != nil {
		sf := p.fields("world{}.start", at, st, startFields)
		w.Start.Location = sf.str("location", true)
		w.Start.Time = sf.str("time", false)
	} else {
		f.bad("start is required: start = { location = \"...\", time = \"YYYY-MM-DDTHH:MM\" }")
	}
	L.Push(glua.LString(w.ID))
	return 1
}

func (p *Pack) declCharacter(L *glua.LState, kind string) int {
	ctor := kind + "{}"
	at := p.loadOnly(L, ctor)
	t := p.tableArg(L, 1, ctor, at, kind+`{ id = "mara", name = "Mara" }`)
	if t == nil {
		return 0
	}
	f := p.fields(ctor, at, t, characterFields)
	ch := core.CharacterSpec{
		ID:          f.id("id"),
		Name:        f.str("name", false),
		Description: f.str("description", false),
		Persona:     f.str("persona", false),
		Speech:      f.str("speech", false),
		Appearance:  f.str("appearance", false),
		Mood:        f.str("mood", false),
		Goals:       f.strList("goals"),
		Holding:     f.strList("holding"),
	}
	if a := f.table("at"); a != nil {
		af := p.fields(ctor+".at", at, a, atFields)
		ch.At = &core.AtSpec{Location: af.str("location", false), Container: af.str("container", false), Slot: af.str("slot", false)}
		if ch.At.Location == "" && ch.At.Container == "" {
			af.bad("give a location, or a container and slot")
		}
	}
	if kind == "player" && p.decl.playerAt != nil {
		p.problem(at, "player{}: declared twice (first at %s)", p.decl.playerAt.String())
		return 0
	}
	if !p.claim(at, kind, ch.ID) {
		return 0
	}
	if kind == "player" {
		p.decl.playerAt = &at
		p.decl.spec.Player = ch
	} else {
		p.decl.spec.Characters = append(p.decl.spec.Characters, ch)
	}
	L.Push(glua.LString(ch.ID))
	return 1
}

func (p *Pack) declLocation(L *glua.LState) int {
	at := p.loadOnly(L, "location{}")
	t := p.tableArg(L, 1, "location{}", at, `location{ id = "diner", name = "The diner" }`)
	if t == nil {
		return 0
	}
	f := p.fields("location{}", at, t, locationFields)
	l := core.LocationSpec{ID: f.id("id"), Name: f.str("name", false), Description: f.str("description", false)}
	if !p.claim(at, "location", l.ID) {
		return 0
	}
	p.decl.spec.Locations = append(p.decl.spec.Locations, l)
	L.Push(glua.LString(l.ID))
	return 1
}

func (p *Pack) declContainer(L *glua.LState) int {
	at := p.loadOnly(L, "container{}")
	t := p.tableArg(L, 1, "container{}", at, `container{ id = "car", location = "road", slots = { driver = {}, passenger = {} } }`)
	if t == nil {
		return 0
	}
	f := p.fields("container{}", at, t, containerFields)
	c := core.ContainerSpec{ID: f.id("id"), Name: f.str("name", false), Location: f.str("location", true), Slots: map[string]core.SlotSpec{}}
	if slots := f.table("slots"); slots != nil {
		slots.ForEach(func(k, v glua.LValue) {
			if _, isIndex := k.(glua.LNumber); isIndex {
				// The list form: slots = { "driver", "passenger" }.
				name, ok := v.(glua.LString)
				if !ok || !reID.MatchString(string(name)) {
					f.bad("slots: item %s: want a slot name", k.String())
					return
				}
				c.Slots[string(name)] = core.SlotSpec{}
				return
			}
			name, ok := k.(glua.LString)
			if !ok || !reID.MatchString(string(name)) {
				f.bad("slots: %q is not a slot name (letters, digits, _ . -)", k.String())
				return
			}
			st, ok := v.(*glua.LTable)
			if !ok {
				f.bad("slots.%s: want a table like { sees = {...}, reaches = {...} }, got a %s", name, v.Type())
				return
			}
			sf := p.fields("container{}.slots."+string(name), at, st, slotFields)
			c.Slots[string(name)] = core.SlotSpec{Sees: sf.strList("sees"), Reaches: sf.strList("reaches")}
		})
	} else {
		f.bad("slots is required: slots = { driver = {}, passenger = { sees = {...}, reaches = {...} } }")
	}
	if !p.claim(at, "container", c.ID) {
		return 0
	}
	p.decl.spec.Containers = append(p.decl.spec.Containers, c)
	L.Push(glua.LString(c.ID))
	return 1
}

func (p *Pack) declRelationship(L *glua.LState) int {
	at := p.loadOnly(L, "relationship()")
	from, ok1 := L.Get(1).(glua.LString)
	to, ok2 := L.Get(2).(glua.LString)
	if !ok1 || !ok2 {
		p.problem(at, "relationship(): want relationship(FROM, TO, { affinity = ..., trust = ..., note = ... }) with two character ids")
		return 0
	}
	e := core.EdgeSpec{From: string(from), To: string(to)}
	switch opt := L.Get(3).(type) {
	case *glua.LTable:
		f := p.fields("relationship()", at, opt, edgeFields)
		e.Affinity = f.integer("affinity")
		e.Trust = f.integer("trust")
		e.Note = f.str("note", false)
	case *glua.LNilType:
	default:
		p.problem(at, "relationship(): the third argument: want a table { affinity, trust, note }, got a %s", opt.Type())
	}
	key := "relationship " + e.From + "->" + e.To
	if prev, dup := p.decl.pos[key]; dup {
		p.problem(at, "relationship %s->%s: declared twice (first at %s)", e.From, e.To, prev.String())
		return 0
	}
	p.decl.pos[key] = at
	p.decl.spec.Relationships = append(p.decl.spec.Relationships, e)
	return 0
}

func (p *Pack) declGroup(L *glua.LState) int {
	at := p.loadOnly(L, "group{}")
	t := p.tableArg(L, 1, "group{}", at, `group{ cohesion = 10, note = "..." }`)
	if t == nil {
		return 0
	}
	if p.decl.groupAt != nil {
		p.problem(at, "group{}: declared twice (first at %s)", p.decl.groupAt.String())
		return 0
	}
	p.decl.groupAt = &at
	f := p.fields("group{}", at, t, groupFields)
	p.decl.spec.Group = &core.GroupSpec{Cohesion: f.integer("cohesion"), Note: f.str("note", false)}
	return 0
}

func (p *Pack) declStoryEvent(L *glua.LState) int {
	at := p.loadOnly(L, "story_event{}")
	t := p.tableArg(L, 1, "story_event{}", at, `story_event{ id = "picnic", props = { "basket" } }`)
	if t == nil {
		return 0
	}
	f := p.fields("story_event{}", at, t, eventFields)
	se := core.StoryEventSpec{ID: f.id("id"), Title: f.str("title", false), Props: f.strList("props"), At: f.str("at", false)}
	ev := &eventDecl{id: se.ID, where: at, at: se.At,
		startsWhen: f.fn("starts_when"), endsWhen: f.fn("ends_when"),
		onStart: f.fn("on_start"), onComplete: f.fn("on_complete")}
	if pr := f.table("promote"); pr != nil {
		pf := p.fields("story_event{}.promote", at, pr, promoteFields)
		ev.promotions = append(pf.promotions("items", "item"), pf.promotions("facts", "fact")...)
		for _, pm := range ev.promotions {
			if pm.Item != "" && !slices.Contains(se.Props, pm.Item) {
				pf.bad("items: %q is not one of the event's props (%s)", pm.Item, strings.Join(se.Props, ", "))
			}
		}
	}
	if !p.claim(at, "story_event", se.ID) {
		return 0
	}
	p.decl.spec.StoryEvents = append(p.decl.spec.StoryEvents, se)
	p.events = append(p.events, ev)
	p.eventByID[se.ID] = ev
	L.Push(glua.LString(se.ID))
	return 1
}

func (p *Pack) declLore(L *glua.LState) int {
	at := p.loadOnly(L, "lore{}")
	t := p.tableArg(L, 1, "lore{}", at, `lore{ id = "lake_mercy", keys = { "lake" }, text = "Lake Mercy froze over in 1979." }`)
	if t == nil {
		return 0
	}
	f := p.fields("lore{}", at, t, loreFields)
	lo := core.LoreSpec{ID: f.id("id"), Keys: f.strList("keys"), SecondaryKeys: f.strList("secondary_keys"),
		Selective: f.str("selective", false), Text: f.str("text", true), Constant: f.boolean("constant"),
		Priority: f.integer("priority"), Order: f.integer("order"), CaseSensitive: f.boolean("case_sensitive"),
		Regex: f.boolean("regex"), KnownBy: f.strList("known_by")}
	if t.RawGetString("enabled") != glua.LNil {
		lo.Disabled = !f.boolean("enabled")
	}
	if !p.claim(at, "lore", lo.ID) {
		return 0
	}
	p.decl.spec.Lore = append(p.decl.spec.Lore, lo)
	L.Push(glua.LString(lo.ID))
	return 1
}

func (p *Pack) declTimeskip(L *glua.LState) int {
	at := p.loadOnly(L, "timeskip()")
	fn, ok := L.Get(1).(*glua.LFunction)
	if !ok {
		p.problem(at, "timeskip(): want timeskip(function(s, skip) ... end), got a %s", L.Get(1).Type())
		return 0
	}
	p.timeskips = append(p.timeskips, &handler{fn: fn, where: at})
	return 0
}

func (p *Pack) declPrompt(L *glua.LState) int {
	at := p.loadOnly(L, "prompt()")
	name, ok := L.Get(1).(glua.LString)
	if !ok || name == "" {
		p.problem(at, "prompt(): want prompt(NAME, function(ctx) ... end) with a name")
		return 0
	}
	fn, ok := L.Get(2).(*glua.LFunction)
	if !ok {
		p.problem(at, "prompt(%q): want a function(ctx) ... end, got a %s", string(name), L.Get(2).Type())
		return 0
	}
	if prev := p.prompts[string(name)]; prev != nil {
		p.problem(at, "prompt(%q): declared twice (first at %s)", string(name), prev.where.String())
		return 0
	}
	p.prompts[string(name)] = &handler{fn: fn, where: at}
	p.promptIDs = append(p.promptIDs, string(name))
	return 0
}

func (p *Pack) declSpeakers(L *glua.LState) int {
	at := p.loadOnly(L, "speakers()")
	fn, ok := L.Get(1).(*glua.LFunction)
	if !ok {
		p.problem(at, "speakers(): want speakers(function(s, line) ... end) returning a list of bot ids, got a %s", L.Get(1).Type())
		return 0
	}
	if p.speakers != nil {
		p.problem(at, "speakers(): declared twice (first at %s)", p.speakers.where.String())
		return 0
	}
	p.speakers = &handler{fn: fn, where: at}
	return 0
}

func (p *Pack) declOn(L *glua.LState) int {
	at := p.loadOnly(L, "on()")
	name, ok := L.Get(1).(glua.LString)
	if !ok {
		p.problem(at, "on(): want on(HOOK, function(s, ...) ... end) with a hook name (%s)", strings.Join(HookNames(), ", "))
		return 0
	}
	if !slices.Contains(hookNames, string(name)) {
		p.problem(at, "on(): unknown hook %q%s (hooks: %s)", string(name), didYouMean(string(name), HookNames()), strings.Join(HookNames(), ", "))
		return 0
	}
	fn, ok := L.Get(2).(*glua.LFunction)
	if !ok {
		p.problem(at, "on(%q): want a function(s, ...) ... end, got a %s", string(name), L.Get(2).Type())
		return 0
	}
	p.hooks[string(name)] = append(p.hooks[string(name)], &handler{fn: fn, where: at})
	return 0
}

// reValidation splits a core.WorldSpec.Validate message into the kind and
// id it names: `character "mara": ...`, `relationship a->b: ...`, `world: ...`.
var reValidation = regexp.MustCompile(`^(\w+)(?: ("(?:[^"\\]|\\.)*")| (\S+?)->(\S+?))?: `)

// validate runs the core's checks on the collected spec and maps each
// problem to the declaration it names.
func (p *Pack) validate(entry string) {
	d := p.decl
	fallback := Problem{File: entry, Line: 1}
	if d.worldAt == nil {
		p.problem(fallback, "no world{...} declared: world{ id = ..., start = { location = ... } }")
	}
	if d.playerAt == nil {
		p.problem(fallback, "no player{...} declared: player{ id = \"you\", name = ... }")
	}
	for _, err := range d.spec.Validate() {
		msg := err.Error()
		at := fallback
		if d.worldAt != nil {
			at = *d.worldAt
		}
		if m := reValidation.FindStringSubmatch(msg); m != nil {
			kind := m[1]
			switch {
			case kind == "world":
				if d.worldAt == nil {
					continue // already reported: no world{} at all
				}
			case kind == "group" && d.groupAt != nil:
				at = *d.groupAt
			case kind == "player" && m[2] == "":
				continue // no player{} at all: reported above
			case m[2] != "":
				id, _ := strconv.Unquote(m[2])
				if pos, ok := d.pos[kind+" "+id]; ok {
					at = pos
				}
			case m[3] != "":
				if pos, ok := d.pos["relationship "+m[3]+"->"+m[4]]; ok {
					at = pos
				}
			}
		}
		p.problem(at, "%s", msg)
	}
}

// sortedIDs returns the keys of m, sorted.
func sortedIDs[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
