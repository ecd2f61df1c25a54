package lua

import (
	"context"
	"fmt"
	glua "github.com/yuin/gopher-lua"

	"diorama/core"
)

// The turn loop drives a pack through core.Rules.
var _ core.Rules = (*Pack)(nil)

// Hook implements core.Rules with RunHook.
func (p *Pack) Hook(ctx context.Context, hook string, st *core.State, seed uint64, args ...any) ([]core.Command, error) {
	return p.RunHook(ctx, hook, st, seed, args...)
}

// Speakers implements core.Rules: the pack's speakers(fn) rule when it
// declares one, else std.speakers.select. Either gets s and the line and
// returns a list of bot ids.
func (p *Pack) Speakers(ctx context.Context, st *core.State, line string, seed uint64) ([]string, error) {
	var v any
	var err error
	if p.speakers != nil {
		v, err = p.callSpeakers(ctx, st, seed, line)
	} else {
		v, err = p.Call(ctx, st, seed, "std.speakers", "select", line)
	}
	if err != nil {
		return nil, err
	}
	return idList(v)
}

func (p *Pack) callSpeakers(ctx context.Context, st *core.State, seed uint64, line string) (any, error) {
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	h := p.speakers
	cs := &callState{st: st, actDeny: denyCall, rng: newRand(seed, "speakers")}
	largs, err := p.luaArgs("speakers", []any{line})
	if err != nil {
		return nil, err
	}
	rets, ce := p.invoke(ctx, cs, p.opts.HookTimeout, h.fn, 1, append([]glua.LValue{p.newS()}, largs...)...)
	if ce != nil {
		return nil, p.failure("speakers", h.where, ce)
	}
	out, err := p.toGo(rets[0], 0)
	if err != nil {
		return nil, &HookError{Hook: "speakers", Decl: h.where, Msg: "its result: " + err.Error()}
	}
	return out, nil
}

// idList reads a Lua list of strings.
func idList(v any) ([]string, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if len(l) == 0 {
			return nil, nil
		}
	case []any:
		out := make([]string, 0, len(l))
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("speaker rule: item %d: want a bot id, got %T", i+1, x)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("speaker rule: want a list of bot ids, got %T", v)
}

// Template implements core.Rules with the stdlib's prompt builder and the
// pack's prompt(NAME, fn) overrides.
func (p *Pack) Template(ctx context.Context, name string, facts map[string]any) (any, error) {
	return p.BuildPrompt(ctx, name, facts)
}

var _ core.StoryRules = (*Pack)(nil)

// StoryPromotions implements core.StoryRules with the story event's promote
// table.
func (p *Pack) StoryPromotions(event string) []core.Promotion {
	var out []core.Promotion
	for _, pm := range p.PromotionsFor(event) {
		out = append(out, core.Promotion{Item: pm.Item, Fact: pm.Fact, To: pm.To})
	}
	return out
}

var _ core.SkipRules = (*Pack)(nil)
