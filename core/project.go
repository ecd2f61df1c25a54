package core

import (
	"fmt"
	"sort"
)

// Apply folds one event into the state. It is deterministic: no I/O, no
// clock, no randomness. Events must arrive in path order: an event whose
// parent is not the last applied event is refused, so a gap never goes
// unnoticed.
func (s *State) Apply(e *Event) error {
	if e.Parent != s.LastSeq {
		return fmt.Errorf("apply event %d: parent %d is not the last applied event %d", e.Seq, e.Parent, s.LastSeq)
	}
	p, err := e.Decode()
	if err != nil {
		return err
	}
	if err := s.applyPayload(e, p); err != nil {
		return fmt.Errorf("apply event %d (%s): %w", e.Seq, e.Type, err)
	}
	s.LastSeq = e.Seq
	if e.Turn > s.Turn {
		s.Turn = e.Turn
	}
	return nil
}

// ApplyAll folds events in order.
func (s *State) ApplyAll(events []Event) error {
	for i := range events {
		if err := s.Apply(&events[i]); err != nil {
			return err
		}
	}
	return nil
}

// entity returns the entity or an error: a well-formed log never names an
// unknown one, so this only fires on a corrupt or hand-edited save.
func (s *State) entity(id string) (*Entity, error) {
	if e := s.Entities[id]; e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("unknown entity %q", id)
}

func (s *State) applyPayload(e *Event, p any) error {
	switch p := p.(type) {
	case *WorldCreated:
		if s.World.ID != "" {
			return fmt.Errorf("world already created")
		}
		return s.create(&p.World)
	case *EntityMoved:
		ent, err := s.entity(p.Who)
		if err != nil {
			return err
		}
		ent.Location, ent.Container, ent.Slot = p.Location, p.Container, p.Slot
	case *ContainerMoved:
		ct := s.Containers[p.Container]
		if ct == nil {
			return fmt.Errorf("unknown container %q", p.Container)
		}
		ct.Location = p.Location
		for _, ent := range s.Entities {
			if ent.Container == p.Container {
				ent.Location = p.Location
			}
		}
	case *MoodSet:
		ent, err := s.entity(p.Who)
		if err != nil {
			return err
		}
		ent.Mood = p.Mood
	case *GoalsSet:
		ent, err := s.entity(p.Who)
		if err != nil {
			return err
		}
		ent.Goals = append([]string(nil), p.Goals...)
	case *ActivitySet:
		ent, err := s.entity(p.Who)
		if err != nil {
			return err
		}
		ent.Doing = p.Doing
	case *ItemHeld:
		ent, err := s.entity(p.Who)
		if err != nil {
			return err
		}
		ent.Holding = append(ent.Holding, p.Item)
	case *ItemDropped:
		ent, err := s.entity(p.Who)
		if err != nil {
			return err
		}
		ent.Holding = remove(ent.Holding, p.Item)
	case *ItemGiven:
		from, err := s.entity(p.Who)
		if err != nil {
			return err
		}
		to, err := s.entity(p.To)
		if err != nil {
			return err
		}
		from.Holding = remove(from.Holding, p.Item)
		to.Holding = append(to.Holding, p.Item)
	case *AttentionSet:
		ent, err := s.entity(p.Who)
		if err != nil {
			return err
		}
		ent.Attention = p.Target
	case *RelationshipAdjusted:
		if p.To == GroupID {
			s.Group.Cohesion = clamp(s.Group.Cohesion + p.Affinity)
			if p.Note != "" {
				s.Group.Notes = appendNote(s.Group.Notes, p.Who+": "+p.Note)
			}
			return nil
		}
		key := EdgeKey(p.Who, p.To)
		edge := s.Edges[key]
		if edge == nil {
			edge = &Edge{From: p.Who, To: p.To}
			s.Edges[key] = edge
		}
		edge.Affinity = clamp(edge.Affinity + p.Affinity)
		edge.Trust = clamp(edge.Trust + p.Trust)
		if p.Note != "" {
			edge.Notes = appendNote(edge.Notes, p.Note)
		}
	case *FactNoted, *LineSaid, *SummaryWritten:
		s.Memories++
	case *StateUpdate, *HookFailed:
		// Records only: their effects are the events that follow.
	case *PackLoaded:
		s.Pack = PackInfo{ID: p.Pack, Version: p.Version, Hash: p.Hash, Dir: p.Dir}
	case *TimeAdvanced:
		s.Clock += p.Minutes
	case *TimeSkipped:
		s.Clock += p.Minutes
		s.LastSkip = &Skip{Kind: p.Kind, Minutes: p.Minutes, Label: p.Label}
		if p.Kind == "jump" {
			s.Scene++
			s.SceneStart = e.Seq
		}
	case *SceneEnded:
		s.Scene++
		s.SceneStart = e.Seq
	case *StoryEventChanged:
		ev := s.Events[p.Event]
		if ev == nil {
			return fmt.Errorf("unknown story event %q", p.Event)
		}
		if p.Gist != "" {
			ev.Gist = p.Gist
		}
		switch e.Type {
		case TypeEventStarted:
			ev.Status = EventActive
		case TypeEventCompleted, TypeEventCancelled:
			if e.Type == TypeEventCompleted {
				ev.Status = EventCompleted
			} else {
				ev.Status = EventCancelled
			}
			// The event's props close away with it: nobody holds them any more.
			for _, ent := range s.Entities {
				for _, prop := range ev.Props {
					ent.Holding = remove(ent.Holding, prop)
				}
			}
		}
	case *ItemPromoted:
		ev := s.Events[p.Event]
		if ev == nil {
			return fmt.Errorf("unknown story event %q", p.Event)
		}
		to, err := s.entity(p.To)
		if err != nil {
			return err
		}
		// A promoted prop stops belonging to the event and is kept by To.
		ev.Props = remove(ev.Props, p.Item)
		ev.Promoted = append(ev.Promoted, p.Item)
		for _, ent := range s.Entities {
			ent.Holding = remove(ent.Holding, p.Item)
		}
		to.Holding = append(to.Holding, p.Item)
	case *ThreadOpened:
		s.Threads[p.Thread] = &Thread{ID: p.Thread, Text: p.Text, Status: "open"}
	case *ThreadResolved:
		t := s.Threads[p.Thread]
		if t == nil {
			return fmt.Errorf("unknown thread %q", p.Thread)
		}
		t.Status = "resolved"
	case *MemoryPinned:
		s.Pinned[p.Memory] = true
	default:
		return fmt.Errorf("no projection for payload %T", p)
	}
	return nil
}

// create builds the initial state from a world spec.
func (s *State) create(w *WorldSpec) error {
	if errs := w.Validate(); len(errs) > 0 {
		return fmt.Errorf("invalid world: %w", errs[0])
	}
	start, _ := w.StartTime()
	s.World = WorldInfo{ID: w.ID, Title: w.Title, Version: w.Version, Start: start.Format(TimeLayout), MinutesPerTurn: w.MinutesPerTurn}
	s.Cast = w.Cast()
	s.Scene = 1
	for _, l := range w.Locations {
		name := l.Name
		if name == "" {
			name = l.ID
		}
		s.Locations[l.ID] = &Location{ID: l.ID, Name: name, Description: l.Description}
	}
	for _, c := range w.Containers {
		name := c.Name
		if name == "" {
			name = c.ID
		}
		ct := &Container{ID: c.ID, Name: name, Location: c.Location, Slots: map[string]*Slot{}}
		for n, sl := range c.Slots {
			ct.Slots[n] = &Slot{Sees: append([]string(nil), sl.Sees...), Reaches: append([]string(nil), sl.Reaches...)}
		}
		s.Containers[c.ID] = ct
	}
	add := func(ch CharacterSpec, bot bool) {
		name := ch.Name
		if name == "" {
			name = ch.ID
		}
		ent := &Entity{ID: ch.ID, Name: name, Bot: bot, Description: ch.Description, Persona: ch.Persona,
			Speech: ch.Speech, Appearance: ch.Appearance, Mood: ch.Mood,
			Goals: append([]string(nil), ch.Goals...), Holding: append([]string(nil), ch.Holding...),
			Location: w.Start.Location}
		if at := ch.At; at != nil {
			switch {
			case at.Container != "":
				ent.Container, ent.Slot = at.Container, at.Slot
				ent.Location = s.Containers[at.Container].Location
			case at.Location != "":
				ent.Location = at.Location
			}
		}
		s.Entities[ch.ID] = ent
	}
	add(w.Player, false)
	for _, ch := range w.Characters {
		add(ch, true)
	}
	for _, r := range w.Relationships {
		e := &Edge{From: r.From, To: r.To, Affinity: r.Affinity, Trust: r.Trust}
		if r.Note != "" {
			e.Notes = []string{r.Note}
		}
		s.Edges[EdgeKey(r.From, r.To)] = e
	}
	// Every directed edge exists from the start, so all six are enumerable.
	for _, a := range s.Cast.Members() {
		for _, b := range s.Cast.Members() {
			if a != b && s.Edges[EdgeKey(a, b)] == nil {
				s.Edges[EdgeKey(a, b)] = &Edge{From: a, To: b}
			}
		}
	}
	if w.Group != nil {
		s.Group.Cohesion = w.Group.Cohesion
		if w.Group.Note != "" {
			s.Group.Notes = []string{w.Group.Note}
		}
	}
	s.Lore = append([]LoreSpec(nil), w.Lore...)
	s.LoreBudget = w.LoreBudget
	for _, se := range w.StoryEvents {
		s.Events[se.ID] = &StoryEvent{ID: se.ID, Title: se.Title, Status: EventPlanned, Props: append([]string(nil), se.Props...), At: se.At}
	}
	return nil
}

// MaxNotes is how many notes an edge or the group node keeps: the latest
// ones. Older notes live on in the log; the state (and every prompt and
// snapshot built from it) stays the same size however long the story runs.
const MaxNotes = 8

func appendNote(notes []string, note string) []string {
	notes = append(notes, note)
	if len(notes) > MaxNotes {
		notes = append([]string(nil), notes[len(notes)-MaxNotes:]...)
	}
	return notes
}

func clamp(v int) int {
	if v < MinScore {
		return MinScore
	}
	if v > MaxScore {
		return MaxScore
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
