package core

import (
	"context"
	"fmt"
)

// StoryRules drives story events. Rules that implement it (Lua packs) get
// their events' lifecycles run on every turn: conditions checked, on_start
// and on_complete run, promotions applied, event hooks fired.
type StoryRules interface {
	// EventConditions returns start_event / complete_event commands for the
	// events whose conditions (or scheduled time) hold now.
	EventConditions(ctx context.Context, st *State, seed uint64) ([]Command, error)
	// StoryEventHook runs an event's on_start ("start") or on_complete
	// ("complete") with the state after the change.
	StoryEventHook(ctx context.Context, event, phase string, st *State, seed uint64) ([]Command, error)
	// StoryPromotions lists what an event promotes when it completes.
	StoryPromotions(event string) []Promotion
}

// Promotion is something that survives a story event: a prop someone keeps
// or a fact someone learned. To may be empty: the engine then chooses (the
// prop's holder; for a fact, everyone present with the player).
type Promotion struct {
	Item string
	Fact string
	To   string
}

// Hooks fired when story events change.
const (
	HookEventStart    = "event_start"
	HookEventComplete = "event_complete"
)

// storyEvents checks the pack's story-event conditions and runs what
// follows from each change. Failures are reported like hook failures: the
// turn goes on.
func (p *pendingTurn) storyEvents(ctx context.Context, cause int) error {
	sr, ok := p.s.Rules.(StoryRules)
	if !ok {
		return nil
	}
	cmds, err := sr.EventConditions(ctx, p.scratch, p.seed)
	if err != nil {
		return p.hookFailed(ctx, "story event conditions", err, cause)
	}
	return p.commands(ctx, cmds, cause)
}

// storyChange applies one start_event / complete_event / cancel_event and
// what follows from it: promotions, on_start / on_complete, and the
// event_start / event_complete hooks, which get the event's view.
func (p *pendingTurn) storyChange(ctx context.Context, sr StoryRules, c Command, cause int) ([]string, error) {
	var promotes, facts []Command
	if c.Op == "complete_event" {
		promotes, facts = p.promotions(sr, c.Event)
	}
	// Items are promoted while the event is still active, so the keeper
	// takes them from whoever holds them before the props close away.
	if err := p.commands(ctx, promotes, cause); err != nil {
		return nil, err
	}
	if err := p.addOne(c, cause); err != nil {
		return []string{fmt.Sprintf("%s: %v", c, err)}, nil
	}
	if err := p.commands(ctx, facts, cause); err != nil {
		return nil, err
	}
	phase, hook := "start", HookEventStart
	switch c.Op {
	case "complete_event":
		phase, hook = "complete", HookEventComplete
	case "cancel_event":
		return nil, nil
	}
	cmds, err := sr.StoryEventHook(ctx, c.Event, phase, p.scratch, p.seed)
	if err != nil {
		if err := p.hookFailed(ctx, fmt.Sprintf("on_%s of %s", phase, c.Event), err, cause); err != nil {
			return nil, err
		}
	} else if err := p.commands(ctx, cmds, cause); err != nil {
		return nil, err
	}
	return nil, p.hook(ctx, hook, cause, eventView(p.scratch.Events[c.Event]))
}

// eventView is what event hooks get: { id, title, status, props, gist }.
func eventView(ev *StoryEvent) map[string]any {
	if ev == nil {
		return map[string]any{}
	}
	return map[string]any{"id": ev.ID, "title": ev.Title, "status": ev.Status, "props": stringsAny(ev.Props), "gist": ev.Gist}
}

// promotions turns an event's promote table into commands, choosing the
// keeper where the pack left it open.
func (p *pendingTurn) promotions(sr StoryRules, event string) (items, facts []Command) {
	st := p.scratch
	for _, pm := range sr.StoryPromotions(event) {
		switch {
		case pm.Item != "":
			to := pm.To
			if to == "" {
				to = st.Holder(pm.Item)
			}
			if to != "" {
				items = append(items, Command{Op: "promote", Event: event, To: to, Item: pm.Item})
			}
		case pm.Fact != "":
			keepers := []string{pm.To}
			if pm.To == "" {
				keepers = nil
				here := st.Entities[st.Cast.Player].Location
				for _, id := range st.Cast.Members() {
					if st.Entities[id].Location == here {
						keepers = append(keepers, id)
					}
				}
			}
			for _, to := range keepers {
				facts = append(facts, Command{Op: "promote", Event: event, To: to, Fact: pm.Fact})
			}
		}
	}
	return items, facts
}
