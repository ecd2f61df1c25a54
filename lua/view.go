package lua

import (
	"strings"

	glua "github.com/yuin/gopher-lua"

	"diorama/core"
)

// maxCommands bounds the commands one call may issue.
const maxCommands = 1000

// The fields of s, for messages.
var stateFields = []string{"entities", "locations", "containers", "events", "threads", "group", "cast", "world",
	"now", "minutes", "scene", "turn", "last_skip", "edge", "here", "occupant", "holder", "random", "act"}

// newStateMT builds the metatable every s shares: reads are answered from
// the current call's state (built lazily, one view per part, rebuilt after
// each accepted act), writes fail.
func (p *Pack) newStateMT() *glua.LTable {
	L := p.L
	fns := map[string]*glua.LFunction{
		"edge":     L.NewFunction(p.stateEdge),
		"here":     L.NewFunction(p.stateHere),
		"occupant": L.NewFunction(p.stateOccupant),
		"holder":   L.NewFunction(p.stateHolder),
		"random":   L.NewFunction(p.random),
	}
	mt := L.CreateTable(0, 3)
	mt.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		key := L.CheckString(2)
		if fn := fns[key]; fn != nil {
			L.Push(fn)
			return 1
		}
		if key == "act" {
			L.Push(p.actObj)
			return 1
		}
		cs := p.stateCall(L)
		L.Push(p.stateField(L, cs, key))
		return 1
	}))
	mt.RawSetString("__newindex", p.fnRO)
	mt.RawSetString("__metatable", glua.LString(lockedMeta))
	mt.RawSet(p.marker, glua.LTrue) // protected (see guard), with no data table behind it
	return mt
}

// newS returns a fresh s for one call.
func (p *Pack) newS() *glua.LTable {
	s := p.L.CreateTable(0, 0)
	s.Metatable = p.stateMT
	return s
}

func (p *Pack) stateCall(L *glua.LState) *callState {
	cs := p.cur
	if cs == nil || cs.st == nil {
		L.RaiseError("s is only valid during the hook or condition it was passed to")
	}
	return cs
}

func (p *Pack) stateField(L *glua.LState, cs *callState, key string) glua.LValue {
	st := cs.state()
	switch key {
	case "now":
		return glua.LString(st.NowString())
	case "minutes":
		return glua.LNumber(st.Clock)
	case "scene":
		return glua.LNumber(st.Scene)
	case "turn":
		return glua.LNumber(st.Turn)
	case "last_skip":
		if st.LastSkip == nil {
			return glua.LNil
		}
	case "entities", "locations", "containers", "events", "threads", "group", "cast", "world":
	default:
		L.RaiseError("s has no field %q%s (fields: %s)", key, didYouMean(key, stateFields), strings.Join(stateFields, ", "))
	}
	if v, ok := cs.cache[key]; ok {
		return v
	}
	var v glua.LValue
	switch key {
	case "entities":
		data := L.CreateTable(0, len(st.Entities))
		for _, id := range sortedIDs(st.Entities) {
			data.RawSetString(id, p.entityView(st.Entities[id]))
		}
		v = p.readOnly(data, p.fnRO)
	case "locations":
		data := L.CreateTable(0, len(st.Locations))
		for _, id := range sortedIDs(st.Locations) {
			l := st.Locations[id]
			data.RawSetString(id, p.record("id", l.ID, "name", l.Name, "description", l.Description))
		}
		v = p.readOnly(data, p.fnRO)
	case "containers":
		data := L.CreateTable(0, len(st.Containers))
		for _, id := range sortedIDs(st.Containers) {
			data.RawSetString(id, p.containerView(st, st.Containers[id]))
		}
		v = p.readOnly(data, p.fnRO)
	case "events":
		data := L.CreateTable(0, len(st.Events))
		for _, id := range sortedIDs(st.Events) {
			ev := st.Events[id]
			data.RawSetString(id, p.record("id", ev.ID, "title", ev.Title, "status", ev.Status, "props", ev.Props,
				"promoted", ev.Promoted, "gist", ev.Gist, "at", ev.At))
		}
		v = p.readOnly(data, p.fnRO)
	case "threads":
		data := L.CreateTable(0, len(st.Threads))
		for _, id := range sortedIDs(st.Threads) {
			t := st.Threads[id]
			data.RawSetString(id, p.record("id", t.ID, "text", t.Text, "status", t.Status))
		}
		v = p.readOnly(data, p.fnRO)
	case "group":
		v = p.record("cohesion", st.Group.Cohesion, "note", last(st.Group.Notes), "notes", st.Group.Notes)
	case "cast":
		v = p.record("player", st.Cast.Player, "bots", st.Cast.Bots)
	case "world":
		w := st.World
		v = p.record("id", w.ID, "title", w.Title, "version", w.Version, "start", w.Start, "minutes_per_turn", w.MinutesPerTurn)
	case "last_skip":
		sk := st.LastSkip
		v = p.record("kind", sk.Kind, "minutes", sk.Minutes, "label", sk.Label)
	}
	if cs.cache == nil {
		cs.cache = map[string]glua.LValue{}
	}
	cs.cache[key] = v
	return v
}

func (p *Pack) entityView(e *core.Entity) glua.LValue {
	return p.record("id", e.ID, "name", e.Name, "bot", e.Bot, "description", e.Description, "persona", e.Persona,
		"speech", e.Speech, "appearance", e.Appearance, "mood", e.Mood, "goals", e.Goals, "status", e.Status,
		"location", e.Location, "container", e.Container, "slot", e.Slot, "doing", e.Doing,
		"holding", e.Holding, "attention", e.Attention)
}

func (p *Pack) containerView(st *core.State, c *core.Container) glua.LValue {
	L := p.L
	slots := L.CreateTable(0, len(c.Slots))
	occupants := L.CreateTable(0, len(c.Slots))
	for _, n := range sortedIDs(c.Slots) {
		sl := c.Slots[n]
		slots.RawSetString(n, p.record("sees", sl.Sees, "reaches", sl.Reaches))
		if who := st.Occupant(c.ID, n); who != "" {
			occupants.RawSetString(n, glua.LString(who))
		}
	}
	return p.record("id", c.ID, "name", c.Name, "location", c.Location,
		"slots", p.readOnly(slots, p.fnRO), "occupants", p.readOnly(occupants, p.fnRO))
}

// record builds a read-only table from key, value pairs: strings (empty
// ones are left out, so `if e.container then` reads naturally), numbers,
// booleans, string lists (always present, possibly empty) and tables.
func (p *Pack) record(kv ...any) glua.LValue {
	L := p.L
	data := L.CreateTable(0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case string:
			if v != "" {
				data.RawSetString(k, glua.LString(v))
			}
		case int:
			data.RawSetString(k, glua.LNumber(v))
		case int64:
			data.RawSetString(k, glua.LNumber(v))
		case bool:
			data.RawSetString(k, glua.LBool(v))
		case []string:
			list := L.CreateTable(len(v), 0)
			for _, s := range v {
				list.Append(glua.LString(s))
			}
			data.RawSetString(k, p.readOnly(list, p.fnRO))
		case glua.LValue:
			data.RawSetString(k, v)
		}
	}
	return p.readOnly(data, p.fnRO)
}

func last(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[len(list)-1]
}

// stringArgs returns the string arguments of a function of s, allowing
// both s.f(a, b) and s:f(a, b).
func stringArgs(L *glua.LState, name string, n int) []string {
	first := 1
	if _, ok := L.Get(1).(*glua.LTable); ok {
		first = 2
	}
	out := make([]string, n)
	for i := range out {
		v, ok := L.Get(first + i).(glua.LString)
		if !ok {
			L.RaiseError("s.%s: argument %d: want a string id, got a %s", name, i+1, L.Get(first+i).Type())
		}
		out[i] = string(v)
	}
	return out
}

// s.edge(FROM, TO) -> { affinity, trust, note (the latest), notes } or nil.
func (p *Pack) stateEdge(L *glua.LState) int {
	cs := p.stateCall(L)
	a := stringArgs(L, "edge", 2)
	st := cs.state()
	if a[1] == core.GroupID {
		L.Push(p.stateField(L, cs, "group"))
		return 1
	}
	e := st.Edge(a[0], a[1])
	if e == nil {
		if st.Entities[a[0]] == nil || st.Entities[a[1]] == nil {
			L.RaiseError("s.edge(%q, %q): unknown entity (cast: %s)", a[0], a[1], strings.Join(st.Cast.Members(), ", "))
		}
		L.Push(glua.LNil)
		return 1
	}
	L.Push(p.record("from", e.From, "to", e.To, "affinity", e.Affinity, "trust", e.Trust, "note", last(e.Notes), "notes", e.Notes))
	return 1
}

// s.here(ID) -> the ids of the cast at ID's location (ID an entity, a
// location or a container), in cast order.
func (p *Pack) stateHere(L *glua.LState) int {
	cs := p.stateCall(L)
	id := stringArgs(L, "here", 1)[0]
	st := cs.state()
	var loc string
	switch {
	case st.Entities[id] != nil:
		loc = st.Entities[id].Location
	case st.Locations[id] != nil:
		loc = id
	case st.Containers[id] != nil:
		loc = st.Containers[id].Location
	default:
		L.RaiseError("s.here(%q): not an entity, location or container", id)
	}
	list := L.CreateTable(3, 0)
	for _, m := range st.Cast.Members() {
		if e := st.Entities[m]; e != nil && e.Location == loc {
			list.Append(glua.LString(m))
		}
	}
	L.Push(list)
	return 1
}

// s.occupant(CONTAINER, SLOT) -> who sits there, or nil.
func (p *Pack) stateOccupant(L *glua.LState) int {
	cs := p.stateCall(L)
	a := stringArgs(L, "occupant", 2)
	if who := cs.state().Occupant(a[0], a[1]); who != "" {
		L.Push(glua.LString(who))
	} else {
		L.Push(glua.LNil)
	}
	return 1
}

// s.holder(ITEM) -> who holds it, or nil.
func (p *Pack) stateHolder(L *glua.LState) int {
	cs := p.stateCall(L)
	a := stringArgs(L, "holder", 1)
	if who := cs.state().Holder(a[0]); who != "" {
		L.Push(glua.LString(who))
	} else {
		L.Push(glua.LNil)
	}
	return 1
}

// newActObject builds s.act: callable with a command table, and indexable
// by op for the sugar s.act.move{ ... } (op filled in).
func (p *Pack) newActObject() *glua.LTable {
	L := p.L
	obj := L.CreateTable(0, 0)
	sugar := map[string]*glua.LFunction{}
	for _, op := range core.Ops() {
		sugar[op] = L.NewFunction(func(L *glua.LState) int {
			n := 1
			if L.Get(1) == obj { // s.act:move{...}
				n = 2
			}
			p.act(L, L.Get(n), op)
			return 0
		})
	}
	mt := L.CreateTable(0, 4)
	mt.RawSetString("__call", L.NewFunction(func(L *glua.LState) int {
		p.act(L, L.Get(2), "")
		return 0
	}))
	mt.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		op := L.CheckString(2)
		fn := sugar[op]
		if fn == nil {
			L.RaiseError("s.act.%s: unknown op%s (ops: %s)", op, didYouMean(op, core.Ops()), strings.Join(core.Ops(), ", "))
		}
		L.Push(fn)
		return 1
	}))
	mt.RawSetString("__newindex", p.fnRO)
	mt.RawSetString("__metatable", glua.LString(lockedMeta))
	mt.RawSet(p.marker, glua.LTrue) // protected (see guard): s.act is shared by every call
	obj.Metatable = mt
	return obj
}

// act turns a command table into a core.Command, validates it at once
// against the call's scratch state and records it, or raises the core's
// reason at the caller's file:line.
func (p *Pack) act(L *glua.LState, arg glua.LValue, op string) {
	cs := p.cur
	if cs == nil || cs.st == nil {
		L.RaiseError("s.act is only available during a hook, rule or story-event callback")
	}
	if !cs.canAct {
		L.RaiseError("%s", cs.actDeny)
	}
	name := "s.act"
	if op != "" {
		name = "s.act." + op
	}
	t, ok := arg.(*glua.LTable)
	if !ok {
		L.RaiseError("%s: want a command table like %s{ op = \"move\", who = ..., location = ... }, got a %s", name, "s.act", arg.Type())
	}
	v, err := p.toGo(t, 0)
	if err != nil {
		L.RaiseError("%s: %v", name, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		if list, isList := v.([]any); isList && len(list) == 0 {
			m = map[string]any{}
		} else {
			L.RaiseError("%s: want named fields, not a list", name)
		}
	}
	if op != "" {
		if prev, ok := m["op"]; ok && prev != op {
			L.RaiseError("%s: the table says op = %v", name, prev)
		}
		m["op"] = op
	}
	cmd, err := core.CommandFromMap(m)
	if err != nil {
		p.raiseRejection(L, cs, name, err)
	}
	if len(cs.cmds) >= maxCommands {
		L.RaiseError("%s: too many commands from one call (limit %d)", name, maxCommands)
	}
	if err := p.accept(cs, cmd); err != nil {
		p.raiseRejection(L, cs, name, err)
	}
}

func (p *Pack) raiseRejection(L *glua.LState, cs *callState, name string, err error) {
	if r, ok := err.(*core.Rejection); ok {
		cs.rejected = r
	}
	L.RaiseError("%s rejected: %v", name, err)
}

// accept validates cmd against the call's current state and applies the
// events it becomes to the scratch state, so later commands see it.
func (p *Pack) accept(cs *callState, cmd core.Command) error {
	st := cs.state()
	var drafts []core.Draft
	if cmd.Op != "pin" { // pins need the save's memory index: the engine checks them on commit
		var err error
		if drafts, err = core.Decide(st, cmd, nil); err != nil {
			return err
		}
	}
	if cs.scratch == nil {
		cs.scratch = cs.st.Clone()
	}
	for _, d := range drafts {
		typ, ver, payload, err := core.EncodeDraft(d)
		if err != nil {
			return err
		}
		s := cs.scratch
		ev := core.Event{Seq: s.LastSeq + 1, Parent: s.LastSeq, Type: typ, Version: ver, Payload: payload, Mask: d.Mask, WorldTime: d.WorldTime}
		if err := s.Apply(&ev); err != nil {
			return err
		}
	}
	cs.cmds = append(cs.cmds, cmd)
	cs.version++
	cs.cache = nil
	return nil
}
