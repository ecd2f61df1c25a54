package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RegenResult says what a regeneration wrote.
type RegenResult struct {
	Branch  string    // the new sibling branch, now checked out
	From    string    // the branch the old reply stays on
	Reply   Reply     // the new reply
	Old     Event     // the old reply's event
	Dropped []Dropped // what went with the old reply (its state update, …)
	Events  []Event   // the events written
}

// regenWindow is how far back from the head Regenerate looks for a bot line.
const regenWindow = 512

// Regenerate ("swipe") writes a new reply for the last bot line on the
// engine's branch as a sibling of it: a new branch forks at the reply's
// parent, the bot generates again from the state there (its prompt sees
// nothing from the old reply on), its state update runs, and the events
// that followed the old reply are replayed after it minus what the old
// reply caused. The new branch is checked out; the old reply stays on its
// branch, so the player can flip between them with Checkout.
func (s *Session) Regenerate(ctx context.Context, obs TurnObserver) (*RegenResult, error) {
	eng := s.Engine
	tl, err := eng.timeline()
	if err != nil {
		return nil, err
	}
	heads, err := eng.checkHead(ctx, tl)
	if err != nil {
		return nil, err
	}
	head := eng.state.LastSeq
	tail, err := tl.Tail(ctx, head, regenWindow)
	if err != nil {
		return nil, err
	}
	var old *Event
	var bot string
	for i := len(tail) - 1; i >= 0 && old == nil; i-- {
		if tail[i].Type != TypeLineSaid {
			continue
		}
		p, err := tail[i].Decode()
		if err != nil {
			return nil, err
		}
		if who := p.(*LineSaid).Who; eng.state.Cast.IsBot(who) {
			old, bot = &tail[i], who
		}
	}
	if old == nil {
		return nil, errors.New("there is no bot line to regenerate near the end of this branch")
	}
	var line string
	if old.CausedBy != 0 {
		cause, err := tl.Event(ctx, old.CausedBy)
		if err != nil {
			return nil, err
		}
		if cause.Type == TypeLineSaid {
			p, err := cause.Decode()
			if err != nil {
				return nil, err
			}
			line = p.(*LineSaid).Text
		}
	}
	base, err := tl.StateAt(ctx, old.Parent)
	if err != nil {
		return nil, err
	}
	rest, err := tl.PathAfter(ctx, old.Parent, head)
	if err != nil {
		return nil, err
	}
	// A copy of the session on the reply's parent, whose recall sees
	// nothing from the old reply on.
	rs := *s
	rs.Engine = &Engine{log: eng.log, mem: eng.mem, branch: eng.branch, state: base}
	if s.Recall != nil {
		rs.Recall = recallBefore{innerRecall: s.Recall, before: old.Seq}
	}
	p := &pendingTurn{s: &rs, scratch: base.Clone(), res: &TurnResult{Prompts: map[string]Prompt{}}, obs: obs,
		seed: Seed(base) ^ uint64(old.Seq)}
	if err := rs.reply(ctx, p, bot, line, 0); err != nil {
		return nil, err
	}
	p.drafts[0].CausedBy = old.CausedBy
	w := newRewriter(base, eng.mem)
	if err := w.fresh(p.drafts, old.Turn); err != nil {
		return nil, err
	}
	w.dropped[old.Seq] = "the reply regenerated"
	if err := w.replay(ctx, rest); err != nil {
		return nil, err
	}
	name := siblingName(heads, eng.branch)
	st, evs, err := tl.Graft(ctx, name, old.Parent, w.kept)
	if err != nil {
		return nil, fmt.Errorf("regenerate: %w", err)
	}
	res := &RegenResult{Branch: name, From: eng.branch, Old: *old, Events: evs}
	if len(p.res.Replies) > 0 {
		res.Reply = p.res.Replies[0]
	}
	for _, d := range w.drops {
		if d.Event.Seq != old.Seq {
			res.Dropped = append(res.Dropped, d)
		}
	}
	eng.branch, eng.state = name, st
	s.LastPrompts = map[string]Prompt{}
	if pr, ok := p.res.Prompts[bot]; ok {
		s.LastPrompts[bot] = pr
	}
	return res, nil
}

// siblingName names a regenerated reply's branch: BASE~2, BASE~3… where
// BASE is the branch's name without such a suffix.
func siblingName(heads []Head, branch string) string {
	base := branch
	if i := strings.LastIndexByte(base, '~'); i > 0 {
		if _, err := strconv.Atoi(base[i+1:]); err == nil {
			base = base[:i]
		}
	}
	taken := map[string]bool{}
	for _, h := range heads {
		taken[h.Name] = true
	}
	for i := 2; ; i++ {
		if n := base + "~" + strconv.Itoa(i); !taken[n] {
			return n
		}
	}
}

// recallBefore is a Recall that forgets everything from event before on:
// a regenerated reply must not see the reply it replaces, nor what came
// after it.
type recallBefore struct {
	innerRecall
	before int64
}

// innerRecall names the embedded Recall (the method Recall shadows it).
type innerRecall = Recall

func (r recallBefore) RecentLines(ctx context.Context, who Mask, limit int) ([]Line, error) {
	lines, err := r.innerRecall.RecentLines(ctx, who, limit+regenWindow)
	if err != nil {
		return nil, err
	}
	kept := lines[:0]
	for _, l := range lines {
		if l.ID < r.before {
			kept = append(kept, l)
		}
	}
	if len(kept) > limit {
		kept = kept[len(kept)-limit:]
	}
	return kept, nil
}

func (r recallBefore) Recall(ctx context.Context, who Mask, query string, k int) ([]Recalled, error) {
	mems, err := r.innerRecall.Recall(ctx, who, query, k+regenWindow)
	if err != nil {
		return nil, err
	}
	kept := mems[:0]
	for _, m := range mems {
		if m.ID < r.before && len(kept) < k {
			kept = append(kept, m)
		}
	}
	return kept, nil
}
