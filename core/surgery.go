package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Dropped is an event an edit of history leaves out of the new path, with
// the reason.
type Dropped struct {
	Event Event
	Why   string
}

// rewriter builds a new path on a state: fresh drafts (a regenerated reply)
// and then the events of the old path replayed in order, leaving out what
// was dropped, what was derived from it (the caused_by closure) and what no
// longer validates against the new state. Kept events keep their payload,
// mask and creation time; their world time moves with the clock and their
// turns are renumbered to run on without gaps. Events keep their old seqs
// (fresh ones get negative placeholders) until the log grafts them.
type rewriter struct {
	st        *State
	mem       memView
	origClock int64 // the old path's clock before the event being replayed
	lastOrig  int64 // old turn of the last kept event
	turn      int64 // new turn of the last kept event
	dropped   map[int64]string
	drops     []Dropped
	kept      []Event
	prev      *Event // the previous old event, kept or not
}

func newRewriter(base *State, mem MemoryIndex) *rewriter {
	w := &rewriter{st: base, origClock: base.Clock, lastOrig: base.Turn, turn: base.Turn, dropped: map[int64]string{}}
	w.mem = memView{base: mem, dropped: w.dropped}
	return w
}

// memView is the log's memory index minus the dropped events.
type memView struct {
	base    MemoryIndex
	dropped map[int64]string
}

func (m memView) Memory(id int64) (Mask, bool) {
	if _, gone := m.dropped[id]; gone || m.base == nil {
		return 0, false
	}
	return m.base.Memory(id)
}

// fresh appends new drafts (written in turn) with placeholder seqs -1, -2…
func (w *rewriter) fresh(drafts []Draft, turn int64) error {
	w.turn, w.lastOrig = turn, turn
	ids := make([]int64, len(drafts))
	for i, d := range drafts {
		typ, v, payload, err := EncodeDraft(d)
		if err != nil {
			return err
		}
		caused := d.CausedBy
		if d.CausedByIndex > 0 && d.CausedByIndex <= i {
			caused = ids[d.CausedByIndex-1]
		}
		ids[i] = -int64(i + 1)
		ev := Event{Seq: ids[i], Parent: w.st.LastSeq, Turn: turn, Type: typ, Version: v, Payload: payload,
			Mask: d.Mask, CausedBy: caused, WorldTime: d.WorldTime}
		if err := w.st.Apply(&ev); err != nil {
			return err
		}
		w.kept = append(w.kept, ev)
	}
	return nil
}

// replay replays old events in path order.
func (w *rewriter) replay(ctx context.Context, evs []Event) error {
	for i := range evs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := evs[i]
		var p any
		var err error
		if e.Type == TypeFactNoted {
			p, err = e.Decode() // validated as note_fact: its content counts
		} else {
			p, err = lazyPayload(&e)
		}
		if err != nil {
			return err
		}
		before := w.origClock
		w.origClock += clockStep(p)
		why := w.judge(&e, p, before)
		if why != "" {
			w.dropped[e.Seq] = why
			w.drops = append(w.drops, Dropped{Event: e, Why: why})
		}
		w.prev = &evs[i]
	}
	return nil
}

// judge keeps e (applying it to the new state) and returns "", or returns
// why it goes.
func (w *rewriter) judge(e *Event, p any, clockBefore int64) string {
	if why, ok := w.dropped[e.Seq]; ok {
		return why
	}
	if e.CausedBy != 0 {
		if _, gone := w.dropped[e.CausedBy]; gone {
			return fmt.Sprintf("derived from #%d", e.CausedBy)
		}
	}
	// The scene end a move of the player brought with it goes with the move.
	if se, ok := p.(*SceneEnded); ok && strings.HasPrefix(se.Reason, "moved to ") && w.prev != nil &&
		(w.prev.Type == TypeEntityMoved || w.prev.Type == TypeContainerMoved) &&
		w.prev.Turn == e.Turn && w.prev.CausedBy == e.CausedBy {
		if _, gone := w.dropped[w.prev.Seq]; gone {
			return fmt.Sprintf("came with the move #%d", w.prev.Seq)
		}
	}
	if c, ok := commandOf(e, p); ok {
		if _, err := Decide(w.st, c, w.mem); err != nil {
			return "no longer valid: " + err.Error()
		}
	}
	ne := *e
	ne.Parent = w.st.LastSeq
	ne.WorldTime += w.st.Clock - clockBefore
	ne.Turn = w.turn
	if e.Turn != w.lastOrig {
		ne.Turn++
	}
	if err := w.st.applyDecoded(&ne, p); err != nil {
		return "no longer valid: " + err.Error()
	}
	w.turn, w.lastOrig = ne.Turn, e.Turn
	w.kept = append(w.kept, ne)
	return ""
}

// clockStep is how far an event moves the clock.
func clockStep(p any) int64 {
	switch p := p.(type) {
	case *TimeAdvanced:
		return p.Minutes
	case *TimeSkipped:
		return p.Minutes
	}
	return 0
}

// lazyPayload returns an event's payload for the projection: the types
// whose content the fold does not read (it only counts memories, or keeps
// records) come back as zero values without decoding their JSON, which is
// most of the cost of replaying a long path; the others are decoded.
func lazyPayload(e *Event) (any, error) {
	switch e.Type {
	case TypeLineSaid:
		return new(LineSaid), nil
	case TypeSummaryWritten:
		return new(SummaryWritten), nil
	case TypeFactNoted:
		return new(FactNoted), nil
	case TypeStateUpdate:
		return new(StateUpdate), nil
	case TypeHookFailed:
		return new(HookFailed), nil
	}
	return e.Decode()
}

// ApplyLazy is Apply for replaying long paths the log already checked:
// payloads whose content the projection does not read (lines, facts,
// summaries, state updates, hook failures) are not decoded. The state is
// the same as Apply's.
func (s *State) ApplyLazy(e *Event) error {
	p, err := lazyPayload(e)
	if err != nil {
		return err
	}
	return s.applyDecoded(e, p)
}

// applyDecoded is Apply with the payload already decoded.
func (s *State) applyDecoded(e *Event, p any) error {
	if e.Parent != s.LastSeq {
		return fmt.Errorf("apply event %d: parent %d is not the last applied event %d", e.Seq, e.Parent, s.LastSeq)
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

// commandOf returns the command an event is the effect of, so a replayed
// event can be validated the way it was when it was written. Events that
// are records (lines, state updates, summaries, pack loads, hook failures)
// and scene ends have none: they always carry over.
func commandOf(e *Event, p any) (Command, bool) {
	switch p := p.(type) {
	case *EntityMoved:
		c := Command{Op: "move", Who: p.Who}
		if p.Container != "" {
			c.Container, c.Slot = p.Container, p.Slot
		} else {
			c.Location = p.Location
		}
		return c, true
	case *ContainerMoved:
		return Command{Op: "move", Who: p.Container, Location: p.Location}, true
	case *MoodSet:
		return Command{Op: "set_mood", Who: p.Who, Mood: p.Mood}, true
	case *GoalsSet:
		if len(p.Goals) == 0 {
			return Command{}, false
		}
		return Command{Op: "set_goals", Who: p.Who, Goals: p.Goals}, true
	case *ActivitySet:
		return Command{Op: "set_activity", Who: p.Who, Doing: p.Doing}, true
	case *ItemHeld:
		return Command{Op: "hold", Who: p.Who, Item: p.Item}, true
	case *ItemDropped:
		return Command{Op: "drop", Who: p.Who, Item: p.Item}, true
	case *ItemGiven:
		return Command{Op: "give", Who: p.Who, To: p.To, Item: p.Item}, true
	case *AttentionSet:
		return Command{Op: "attend", Who: p.Who, Target: p.Target}, true
	case *RelationshipAdjusted:
		c := Command{Op: "adjust", Who: p.Who, To: p.To, Note: p.Note}
		if p.Affinity != 0 || (p.Trust == 0 && p.Note == "") {
			v := p.Affinity
			c.Affinity = &v
		}
		if p.Trust != 0 {
			v := p.Trust
			c.Trust = &v
		}
		return c, true
	case *FactNoted:
		return Command{Op: "note_fact", Who: p.Who, Fact: p.Fact}, true
	case *TimeAdvanced:
		m := p.Minutes
		return Command{Op: "advance_time", Minutes: &m}, true
	case *TimeSkipped:
		c := Command{Op: "skip", Kind: p.Kind, Label: p.Label}
		if p.Minutes > 0 {
			m := p.Minutes
			c.Minutes = &m
		}
		return c, true
	case *StoryEventChanged:
		op := map[string]string{TypeEventStarted: "start_event", TypeEventCompleted: "complete_event", TypeEventCancelled: "cancel_event"}[e.Type]
		if op == "" {
			return Command{}, false
		}
		return Command{Op: op, Event: p.Event, Gist: p.Gist}, true
	case *ItemPromoted:
		return Command{Op: "promote", Event: p.Event, To: p.To, Item: p.Item}, true
	case *ThreadOpened:
		return Command{Op: "open_thread", Thread: p.Thread, Text: p.Text}, true
	case *ThreadResolved:
		return Command{Op: "resolve_thread", Thread: p.Thread}, true
	case *MemoryPinned:
		return Command{Op: "pin", Memory: p.Memory}, true
	}
	return Command{}, false
}

// DeletePlan is a surgical delete worked out but not written: the impact
// preview. Delete writes it.
type DeletePlan struct {
	Branch    string    // the branch edited (it stays as it is)
	NewBranch string    // the branch the edited path is written to
	Target    Event     // the event deleted
	Dropped   []Dropped // every event that goes, in order, the target first
	Diff      []string  // how the state at the head changes, one line each
	Before    *State    // the state at the head now
	After     *State    // the state the edited path ends in (old seqs)

	parent, head int64
	kept         []Event
}

// PlanDelete works out deleting event seq from the engine's branch: the
// events after it are replayed onto its parent, minus everything derived
// from it (the caused_by closure) and minus the events that no longer
// validate without it. Nothing is written.
func (e *Engine) PlanDelete(ctx context.Context, seq int64) (*DeletePlan, error) {
	tl, err := e.timeline()
	if err != nil {
		return nil, err
	}
	heads, err := e.checkHead(ctx, tl)
	if err != nil {
		return nil, err
	}
	x, err := tl.Event(ctx, seq)
	if err != nil {
		if errors.Is(err, ErrNoEvent) {
			return nil, fmt.Errorf("there is no event %d", seq)
		}
		return nil, err
	}
	if x.Parent == 0 {
		return nil, fmt.Errorf("event %d is the creation of the world: it cannot be deleted", seq)
	}
	head := e.state.LastSeq
	path, err := tl.PathAfter(ctx, x.Parent, head)
	if err != nil && !errors.Is(err, ErrNotOnBranch) {
		return nil, err
	}
	if err != nil || len(path) == 0 || path[0].Seq != seq {
		return nil, fmt.Errorf("event %d is not on branch %s: %w", seq, e.branch, ErrNotOnBranch)
	}
	base, err := tl.StateAt(ctx, x.Parent)
	if err != nil {
		return nil, err
	}
	w := newRewriter(base, e.mem)
	w.dropped[seq] = "the event deleted"
	if err := w.replay(ctx, path); err != nil {
		return nil, err
	}
	return &DeletePlan{
		Branch: e.branch, NewBranch: uniqueName(heads, fmt.Sprintf("%s~del%d", baseName(e.branch), seq)),
		Target: x, Dropped: w.drops, Diff: DiffStates(e.state, w.st), Before: e.state, After: w.st,
		parent: x.Parent, head: head, kept: w.kept,
	}, nil
}

// Delete writes a plan from PlanDelete: the edited path becomes a new
// branch, checked out; the original branch stays as it was.
func (e *Engine) Delete(ctx context.Context, plan *DeletePlan) error {
	tl, err := e.timeline()
	if err != nil {
		return err
	}
	if plan.Branch != e.branch || plan.head != e.state.LastSeq {
		return errors.New("the story moved on since this preview: preview the delete again")
	}
	if _, err := e.checkHead(ctx, tl); err != nil {
		return err
	}
	st, _, err := tl.Graft(ctx, plan.NewBranch, plan.parent, plan.kept)
	if err != nil {
		return fmt.Errorf("delete event %d: %w", plan.Target.Seq, err)
	}
	e.branch, e.state = plan.NewBranch, st
	return nil
}

// Preview renders the plan for people: what goes, why, and what changes.
func (p *DeletePlan) Preview() string {
	var b strings.Builder
	fmt.Fprintf(&b, "delete #%d: %s\n", p.Target.Seq, Describe(&p.Target, p.Before))
	n := len(p.Dropped)
	fmt.Fprintf(&b, "%d event%s would go:\n", n, plural(n))
	for _, d := range p.Dropped {
		fmt.Fprintf(&b, "  #%d turn %d  %s  (%s)\n", d.Event.Seq, d.Event.Turn, Describe(&d.Event, p.Before), d.Why)
	}
	if len(p.Diff) == 0 {
		b.WriteString("the state would not change\n")
	} else {
		b.WriteString("the state would change:\n")
		for _, l := range p.Diff {
			b.WriteString("  " + l + "\n")
		}
	}
	fmt.Fprintf(&b, "the edited story would be branch %s; %s stays as it is", p.NewBranch, p.Branch)
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Describe renders an event on one line for people: a line as WHO: "TEXT",
// anything else as its type and payload, clipped.
func Describe(e *Event, st *State) string {
	name := func(id string) string {
		if st != nil {
			if en := st.Entities[id]; en != nil && en.Name != "" {
				return en.Name
			}
		}
		return id
	}
	p, err := e.Decode()
	if err != nil {
		return e.Type + " (unreadable: " + err.Error() + ")"
	}
	switch p := p.(type) {
	case *LineSaid:
		return fmt.Sprintf("%s: %q", name(p.Who), clip(strings.ReplaceAll(p.Text, "\n", " "), 72))
	case *StateUpdate:
		return fmt.Sprintf("%s's state update (%d accepted, %d refused)", name(p.Who), p.Accepted, len(p.Rejected))
	case *SummaryWritten:
		return fmt.Sprintf("%s's summary of scene %d", name(p.Who), p.Scene)
	case *WorldCreated:
		return "the creation of the world"
	case *PackLoaded:
		return fmt.Sprintf("rules of pack %s loaded", p.Pack)
	}
	return e.Type + " " + clip(string(e.Payload), 80)
}
