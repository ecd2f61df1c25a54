package core

import (
	"fmt"
	"math/rand/v2"
)

// SyntheticCommand returns a plausible random command for s: most are valid,
// some are not (a taken slot, an item not held), as in real play. Tests and
// the benchmark program use it to drive long random histories; r makes it
// reproducible.
func SyntheticCommand(r *rand.Rand, s *State) Command {
	members := s.Cast.Members()
	who := members[r.IntN(len(members))]
	other := members[r.IntN(len(members))]
	locs := sortedKeys(s.Locations)
	conts := sortedKeys(s.Containers)
	events := sortedKeys(s.Events)
	items := []string{"map", "lighter", "coffee", "phone", "keys"}
	for _, id := range events {
		items = append(items, s.Events[id].Props...)
	}
	item := items[r.IntN(len(items))]
	n := func(lo, hi int) *int { v := lo + r.IntN(hi-lo+1); return &v }
	m := func(lo, hi int64) *int64 { v := lo + r.Int64N(hi-lo+1); return &v }
	switch r.IntN(20) {
	case 0, 1:
		return Command{Op: "move", Who: who, Location: locs[r.IntN(len(locs))]}
	case 2, 3:
		if len(conts) == 0 {
			return Command{Op: "move", Who: who, Location: locs[r.IntN(len(locs))]}
		}
		ct := s.Containers[conts[r.IntN(len(conts))]]
		slots := sortedKeys(ct.Slots)
		return Command{Op: "move", Who: who, Container: ct.ID, Slot: slots[r.IntN(len(slots))]}
	case 4:
		if len(conts) > 0 && r.IntN(2) == 0 {
			return Command{Op: "move", Who: conts[r.IntN(len(conts))], Location: locs[r.IntN(len(locs))]}
		}
		return Command{Op: "set_mood", Who: who, Mood: []string{"calm", "tense", "amused", "tired", "wary"}[r.IntN(5)]}
	case 5:
		return Command{Op: "set_mood", Who: who, Mood: []string{"calm", "tense", "amused", "tired", "wary"}[r.IntN(5)]}
	case 6:
		return Command{Op: "set_goals", Who: who, Goals: []string{fmt.Sprintf("goal %d", r.IntN(9))}}
	case 7:
		return Command{Op: "set_activity", Who: who, Doing: []string{"driving", "reading the map", "staring out", "eating"}[r.IntN(4)]}
	case 8:
		return Command{Op: "hold", Who: who, Item: item}
	case 9:
		return Command{Op: "drop", Who: who, Item: item}
	case 10:
		return Command{Op: "give", Who: who, To: other, Item: item}
	case 11:
		return Command{Op: "attend", Who: who, Target: other}
	case 12:
		to := other
		if r.IntN(5) == 0 {
			to = GroupID
			return Command{Op: "adjust", Who: who, To: to, Affinity: n(-20, 20)}
		}
		return Command{Op: "adjust", Who: who, To: to, Affinity: n(-30, 30), Trust: n(-30, 30), Note: fmt.Sprintf("note %d", r.IntN(100))}
	case 13:
		return Command{Op: "note_fact", Who: who, Fact: fmt.Sprintf("fact %d", r.IntN(1000))}
	case 14:
		return Command{Op: "advance_time", Minutes: m(1, 30)}
	case 15:
		if r.IntN(2) == 0 {
			return Command{Op: "skip", Kind: "elision", Minutes: m(10, 120), Label: "later"}
		}
		return Command{Op: "skip", Kind: "jump", Minutes: m(60, 3000)}
	case 16:
		if len(events) > 0 {
			ops := []string{"start_event", "complete_event", "cancel_event"}
			return Command{Op: ops[r.IntN(3)], Event: events[r.IntN(len(events))]}
		}
		return Command{Op: "end_scene"}
	case 17:
		if len(events) > 0 {
			ev := events[r.IntN(len(events))]
			if r.IntN(2) == 0 {
				return Command{Op: "promote", Event: ev, To: who, Item: item}
			}
			return Command{Op: "promote", Event: ev, To: who, Fact: "the lake was cold"}
		}
		return Command{Op: "end_scene"}
	case 18:
		t := fmt.Sprintf("t%d", r.IntN(8))
		if r.IntN(2) == 0 {
			return Command{Op: "open_thread", Thread: t, Text: "who called at midnight?"}
		}
		return Command{Op: "resolve_thread", Thread: t}
	default:
		if s.LastSeq > 0 {
			return Command{Op: "pin", Memory: 1 + r.Int64N(s.LastSeq)}
		}
		return Command{Op: "end_scene"}
	}
}
