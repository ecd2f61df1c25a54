package core

import "fmt"

// MaxMinutes bounds any single clock change (ten years), so a typo cannot
// throw the world clock out of range.
const MaxMinutes = 10 * 366 * 24 * 60

// MemoryIndex answers whether a memory exists on the current branch and who
// witnessed it. The store implements it; nil means the branch has none.
type MemoryIndex interface {
	Memory(id int64) (mask Mask, ok bool)
}

// Decide validates c against s and returns the events it becomes. It never
// changes s. A refused command returns a *Rejection naming the field.
func Decide(s *State, c Command, mem MemoryIndex) ([]Draft, error) {
	d := decider{s: s, c: c, mem: mem}
	return d.decide()
}

type decider struct {
	s   *State
	c   Command
	mem MemoryIndex
}

func (d *decider) fail(field, format string, args ...any) error {
	return reject(d.c.Op, field, format, args...)
}

func (d *decider) draft(typ string, payload any, mask Mask) Draft {
	return Draft{Type: typ, Payload: payload, Mask: mask, WorldTime: d.s.Clock}
}

// entity checks that field names a cast member.
func (d *decider) entity(field, id string) (*Entity, error) {
	e := d.s.Entities[id]
	if e == nil {
		return nil, d.fail(field, "unknown entity %q (cast: %s)", id, joinIDs(d.s.Cast.Members()))
	}
	return e, nil
}

func (d *decider) decide() ([]Draft, error) {
	s, c := d.s, d.c
	if err := checkShape(c); err != nil {
		return nil, err
	}
	switch c.Op {
	case "move":
		return d.move()
	case "set_mood":
		if _, err := d.entity("who", c.Who); err != nil {
			return nil, err
		}
		return []Draft{d.draft(TypeMoodSet, &MoodSet{Who: c.Who, Mood: c.Mood}, s.Earshot(c.Who))}, nil
	case "set_goals":
		if _, err := d.entity("who", c.Who); err != nil {
			return nil, err
		}
		for i, g := range c.Goals {
			if g == "" {
				return nil, d.fail("goals", "goal %d is empty", i+1)
			}
		}
		// Goals are private: only who knows them.
		return []Draft{d.draft(TypeGoalsSet, &GoalsSet{Who: c.Who, Goals: c.Goals}, s.Cast.MaskOf(c.Who))}, nil
	case "set_activity":
		if _, err := d.entity("who", c.Who); err != nil {
			return nil, err
		}
		return []Draft{d.draft(TypeActivitySet, &ActivitySet{Who: c.Who, Doing: c.Doing}, s.Earshot(c.Who))}, nil
	case "hold":
		e, err := d.entity("who", c.Who)
		if err != nil {
			return nil, err
		}
		if contains(e.Holding, c.Item) {
			return nil, d.fail("item", "%s already holds %q", c.Who, c.Item)
		}
		if h := s.Holder(c.Item); h != "" {
			return nil, d.fail("item", "%q is held by %s", c.Item, h)
		}
		if ev := s.PropOwner(c.Item); ev != nil && ev.Status != EventActive {
			return nil, d.fail("item", "%q belongs to story event %q, which is %s", c.Item, ev.ID, ev.Status)
		}
		return []Draft{d.draft(TypeItemHeld, &ItemHeld{Who: c.Who, Item: c.Item}, s.Earshot(c.Who))}, nil
	case "drop":
		e, err := d.entity("who", c.Who)
		if err != nil {
			return nil, err
		}
		if !contains(e.Holding, c.Item) {
			return nil, d.fail("item", "item not held: %s does not hold %q", c.Who, c.Item)
		}
		return []Draft{d.draft(TypeItemDropped, &ItemDropped{Who: c.Who, Item: c.Item}, s.Earshot(c.Who))}, nil
	case "give":
		e, err := d.entity("who", c.Who)
		if err != nil {
			return nil, err
		}
		to, err := d.entity("to", c.To)
		if err != nil {
			return nil, err
		}
		if c.Who == c.To {
			return nil, d.fail("to", "%s cannot give to themselves", c.Who)
		}
		if !contains(e.Holding, c.Item) {
			return nil, d.fail("item", "item not held: %s does not hold %q", c.Who, c.Item)
		}
		if to.Location != e.Location {
			return nil, d.fail("to", "entity not present: %s is at %s, %s is at %s", c.To, to.Location, c.Who, e.Location)
		}
		return []Draft{d.draft(TypeItemGiven, &ItemGiven{Who: c.Who, To: c.To, Item: c.Item}, s.Earshot(c.Who))}, nil
	case "attend":
		if _, err := d.entity("who", c.Who); err != nil {
			return nil, err
		}
		return []Draft{d.draft(TypeAttentionSet, &AttentionSet{Who: c.Who, Target: c.Target}, s.Earshot(c.Who))}, nil
	case "adjust":
		return d.adjust()
	case "note_fact":
		if _, err := d.entity("who", c.Who); err != nil {
			return nil, err
		}
		return []Draft{d.draft(TypeFactNoted, &FactNoted{Who: c.Who, Fact: c.Fact}, s.Cast.MaskOf(c.Who))}, nil
	case "advance_time":
		if *c.Minutes <= 0 || *c.Minutes > MaxMinutes {
			return nil, d.fail("minutes", "value out of range: %d (want 1..%d)", *c.Minutes, MaxMinutes)
		}
		dr := d.draft(TypeTimeAdvanced, &TimeAdvanced{Minutes: *c.Minutes}, MaskAll)
		dr.WorldTime = s.Clock + *c.Minutes
		return []Draft{dr}, nil
	case "skip":
		return d.skip()
	case "end_scene":
		return []Draft{d.draft(TypeSceneEnded, &SceneEnded{Reason: "explicit"}, MaskAll)}, nil
	case "start_event", "complete_event", "cancel_event":
		return d.storyEvent()
	case "promote":
		return d.promote()
	case "open_thread":
		if t := s.Threads[c.Thread]; t != nil {
			return nil, d.fail("thread", "thread %q already exists (%s)", c.Thread, t.Status)
		}
		return []Draft{d.draft(TypeThreadOpened, &ThreadOpened{Thread: c.Thread, Text: c.Text}, MaskAll)}, nil
	case "resolve_thread":
		t := s.Threads[c.Thread]
		if t == nil {
			return nil, d.fail("thread", "unknown thread %q", c.Thread)
		}
		if t.Status != "open" {
			return nil, d.fail("thread", "thread %q is already %s", c.Thread, t.Status)
		}
		return []Draft{d.draft(TypeThreadResolved, &ThreadResolved{Thread: c.Thread}, MaskAll)}, nil
	case "pin":
		var mask Mask
		ok := false
		if d.mem != nil {
			mask, ok = d.mem.Memory(c.Memory)
		}
		if !ok {
			return nil, d.fail("memory", "unknown memory %d", c.Memory)
		}
		if s.Pinned[c.Memory] {
			return nil, d.fail("memory", "memory %d is already pinned", c.Memory)
		}
		return []Draft{d.draft(TypeMemoryPinned, &MemoryPinned{Memory: c.Memory}, mask)}, nil
	}
	return nil, d.fail("op", "unknown op %q", c.Op)
}

func (d *decider) move() ([]Draft, error) {
	s, c := d.s, d.c
	if ct := s.Containers[c.Who]; ct != nil {
		// Moving a container (the car drives on): everyone inside goes along.
		if c.Container != "" || c.Slot != "" {
			return nil, d.fail("container", "a container moves to a location only")
		}
		if c.Location == "" {
			return nil, d.fail("location", "required to move container %q", c.Who)
		}
		if s.Locations[c.Location] == nil {
			return nil, d.fail("location", "unknown location %q", c.Location)
		}
		if ct.Location == c.Location {
			return nil, d.fail("location", "container %q is already at %s", c.Who, c.Location)
		}
		var mask Mask
		for _, id := range s.Cast.Members() {
			if e := s.Entities[id]; e != nil && (e.Location == ct.Location || e.Location == c.Location) {
				mask |= 1 << s.Cast.Bit(id)
			}
		}
		drafts := []Draft{d.draft(TypeContainerMoved, &ContainerMoved{Container: c.Who, Location: c.Location}, mask)}
		if pl := s.Entities[s.Cast.Player]; pl != nil && pl.Container == c.Who {
			drafts = append(drafts, d.sceneEnd(c.Location))
		}
		return drafts, nil
	}
	e, err := d.entity("who", c.Who)
	if err != nil {
		return nil, err
	}
	if c.Location == "" && c.Container == "" {
		return nil, d.fail("location", "required: give a location, or a container (and slot)")
	}
	to := EntityMoved{Who: c.Who, Location: c.Location}
	if c.Location != "" && s.Locations[c.Location] == nil {
		return nil, d.fail("location", "unknown location %q", c.Location)
	}
	if c.Container == "" {
		if c.Slot != "" {
			return nil, d.fail("slot", "slot %q given without a container", c.Slot)
		}
		if e.Location == c.Location && e.Container == "" {
			return nil, d.fail("location", "%s is already at %s", c.Who, c.Location)
		}
	} else {
		ct := s.Containers[c.Container]
		if ct == nil {
			return nil, d.fail("container", "unknown container %q", c.Container)
		}
		if c.Location != "" && c.Location != ct.Location {
			return nil, d.fail("location", "container %q is at %s, not %s", c.Container, ct.Location, c.Location)
		}
		if e.Location != ct.Location {
			return nil, d.fail("who", "entity not present: %s is at %s, container %q is at %s", c.Who, e.Location, c.Container, ct.Location)
		}
		slot := c.Slot
		if slot == "" {
			for _, n := range sortedKeys(ct.Slots) {
				if occ := s.Occupant(ct.ID, n); occ == "" || occ == c.Who {
					slot = n
					break
				}
			}
			if slot == "" {
				return nil, d.fail("container", "container %q is full", c.Container)
			}
		}
		if ct.Slots[slot] == nil {
			return nil, d.fail("slot", "slot does not exist: %q in %q (slots: %s)", slot, c.Container, joinIDs(sortedKeys(ct.Slots)))
		}
		if occ := s.Occupant(ct.ID, slot); occ != "" && occ != c.Who {
			return nil, d.fail("slot", "slot taken: %q of %q is taken by %s", slot, c.Container, occ)
		}
		if e.Container == c.Container && e.Slot == slot {
			return nil, d.fail("slot", "%s is already in slot %q of %q", c.Who, slot, c.Container)
		}
		to = EntityMoved{Who: c.Who, Location: ct.Location, Container: ct.ID, Slot: slot}
	}
	// Witnesses: those where who was and those where who arrives.
	mask := s.Earshot(c.Who) | s.PresentAt(to.Location)
	drafts := []Draft{d.draft(TypeEntityMoved, &to, mask)}
	if c.Who == s.Cast.Player && to.Location != e.Location {
		drafts = append(drafts, d.sceneEnd(to.Location))
	}
	return drafts, nil
}

// sceneEnd is the scene_ended that follows the player's change of place: a
// scene is bounded by a location change.
func (d *decider) sceneEnd(location string) Draft {
	name := location
	if l := d.s.Locations[location]; l != nil {
		name = l.Name
	}
	return d.draft(TypeSceneEnded, &SceneEnded{Reason: "moved to " + name}, MaskAll)
}

func (d *decider) adjust() ([]Draft, error) {
	s, c := d.s, d.c
	if _, err := d.entity("who", c.Who); err != nil {
		return nil, err
	}
	if c.Affinity == nil && c.Trust == nil && c.Note == "" {
		return nil, d.fail("affinity", "give at least one of affinity, trust, note")
	}
	p := RelationshipAdjusted{Who: c.Who, To: c.To, Note: c.Note}
	if c.Affinity != nil {
		p.Affinity = *c.Affinity
	}
	if c.Trust != nil {
		p.Trust = *c.Trust
	}
	if c.To == GroupID {
		if c.Trust != nil {
			return nil, d.fail("trust", "the group node has cohesion only: use affinity")
		}
		return []Draft{d.draft(TypeRelationshipAdjust, &p, s.Cast.MaskOf(c.Who))}, nil
	}
	if _, err := d.entity("to", c.To); err != nil {
		return nil, err
	}
	if c.To == c.Who {
		return nil, d.fail("to", "an edge joins two different characters")
	}
	// A feeling is private to the one who feels it.
	return []Draft{d.draft(TypeRelationshipAdjust, &p, s.Cast.MaskOf(c.Who))}, nil
}

func (d *decider) skip() ([]Draft, error) {
	s, c := d.s, d.c
	if c.Kind != "elision" && c.Kind != "jump" {
		return nil, d.fail("kind", "want \"elision\" or \"jump\", got %q", c.Kind)
	}
	var minutes int64
	if c.Minutes != nil {
		minutes = *c.Minutes
		if minutes <= 0 || minutes > MaxMinutes {
			return nil, d.fail("minutes", "value out of range: %d (want 1..%d)", minutes, MaxMinutes)
		}
	} else if c.Label == "" {
		return nil, d.fail("minutes", "give minutes or a label")
	}
	dr := d.draft(TypeTimeSkipped, &TimeSkipped{Kind: c.Kind, Minutes: minutes, Label: c.Label}, MaskAll)
	dr.WorldTime = s.Clock + minutes
	return []Draft{dr}, nil
}

func (d *decider) storyEvent() ([]Draft, error) {
	s, c := d.s, d.c
	ev := s.Events[c.Event]
	if ev == nil {
		return nil, d.fail("event", "unknown story event %q", c.Event)
	}
	var typ string
	switch c.Op {
	case "start_event":
		if ev.Status != EventPlanned {
			return nil, d.fail("event", "story event %q is %s, not planned", c.Event, ev.Status)
		}
		typ = TypeEventStarted
	case "complete_event":
		if ev.Status != EventActive {
			return nil, d.fail("event", "story event %q is %s, not active", c.Event, ev.Status)
		}
		typ = TypeEventCompleted
	case "cancel_event":
		if ev.Status != EventPlanned && ev.Status != EventActive {
			return nil, d.fail("event", "story event %q is already %s", c.Event, ev.Status)
		}
		typ = TypeEventCancelled
	}
	return []Draft{d.draft(typ, &StoryEventChanged{Event: c.Event, Gist: c.Gist}, MaskAll)}, nil
}

func (d *decider) promote() ([]Draft, error) {
	s, c := d.s, d.c
	ev := s.Events[c.Event]
	if ev == nil {
		return nil, d.fail("event", "unknown story event %q", c.Event)
	}
	if ev.Status == EventPlanned || ev.Status == EventCancelled {
		return nil, d.fail("event", "story event %q is %s: only an active or completed event promotes", c.Event, ev.Status)
	}
	to, err := d.entity("to", c.To)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Item != "" && c.Fact != "":
		return nil, d.fail("item", "give item or fact, not both")
	case c.Item != "":
		if !contains(ev.Props, c.Item) {
			return nil, d.fail("item", "%q is not a prop of story event %q (props: %s)", c.Item, c.Event, joinIDs(ev.Props))
		}
		if h := s.Holder(c.Item); h != "" && h != c.To {
			if s.Entities[h].Location != to.Location {
				return nil, d.fail("to", "entity not present: %s holds %q at %s, %s is at %s", h, c.Item, s.Entities[h].Location, c.To, to.Location)
			}
		}
		return []Draft{d.draft(TypeItemPromoted, &ItemPromoted{Event: c.Event, To: c.To, Item: c.Item}, s.Earshot(c.To))}, nil
	case c.Fact != "":
		return []Draft{d.draft(TypeFactNoted, &FactNoted{Who: c.To, Fact: c.Fact}, s.Cast.MaskOf(c.To))}, nil
	}
	return nil, d.fail("item", "give item or fact")
}

func joinIDs(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	out := ids[0]
	for _, id := range ids[1:] {
		out += ", " + id
	}
	return out
}

// String renders a command for messages: its compact JSON.
func (c Command) String() string { return string(c.JSON()) }

var _ fmt.Stringer = Command{}

// checkShape verifies that a command built in Go (not parsed from JSON) has
// its op's required fields, so Decide never trusts a hand-made Command.
func checkShape(c Command) error {
	spec, ok := opFields[c.Op]
	if !ok {
		return reject("", "op", "unknown op %q (one of %s)", c.Op, joinIDs(Ops()))
	}
	for _, f := range spec.required {
		missing := false
		if field := stringFields[f]; field != nil {
			missing = *field(&c) == ""
		}
		switch f {
		case "minutes":
			missing = c.Minutes == nil
		case "memory":
			missing = c.Memory <= 0
		case "goals":
			// nil goals clear them: allowed.
		}
		if missing {
			return reject(c.Op, f, "required")
		}
	}
	return nil
}
