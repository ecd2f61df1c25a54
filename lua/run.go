package lua

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"diorama/core"
)

const (
	denyConditions = "s.act is not available in starts_when / ends_when: a condition only decides (issue commands from on_start or on_complete)"
	denyCall       = "s.act is not available here: this call only reads the state"
)

// lock takes the VM for one call.
func (p *Pack) lock() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// failure turns a failed call into a *HookError.
func (p *Pack) failure(label string, decl Problem, ce *callErr) error {
	he := &HookError{Hook: label, Decl: decl, Msg: ce.msg, Err: ce.cause}
	if ce.rejected != nil && ce.cause == nil {
		he.Err = ce.rejected
	}
	if file, line, rest, ok := splitWhere(ce.msg); ok {
		he.File, he.Line, he.Msg = file, line, rest
	} else if pos := ce.position(""); pos.File != "" {
		he.File, he.Line = pos.File, pos.Line
	}
	return he
}

// luaArgs converts host arguments for a call.
func (p *Pack) luaArgs(label string, args []any) ([]glua.LValue, error) {
	out := make([]glua.LValue, 0, len(args))
	for i, a := range args {
		v, err := p.toLua(a, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: argument %d: %w", label, i+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// RunHook runs every handler of hook in declaration order with s (a
// read-only view of st) and args (strings, numbers, bools, maps, slices or
// structs, passed as plain Lua values). Each handler sees the commands of
// the ones before it applied. It returns the accepted commands, in order, or
// an error naming the hook and FILE:LINE and no commands at all: a hook's
// commands are all or nothing. seed seeds s.random (and math.random).
func (p *Pack) RunHook(ctx context.Context, hook string, st *core.State, seed uint64, args ...any) ([]core.Command, error) {
	if !slices.Contains(hookNames, hook) {
		return nil, fmt.Errorf("unknown hook %q (hooks: %s)", hook, strings.Join(HookNames(), ", "))
	}
	hs := p.hooks[hook]
	if len(hs) == 0 {
		return nil, nil
	}
	if st == nil {
		return nil, errors.New("RunHook: nil state")
	}
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	cs := &callState{st: st, canAct: true}
	label := fmt.Sprintf("hook %q", hook)
	for i, h := range hs {
		largs, err := p.luaArgs(label, args)
		if err != nil {
			return nil, err
		}
		cs.rng = newRand(seed, fmt.Sprintf("hook %s %d", hook, i))
		if _, ce := p.invoke(ctx, cs, p.opts.HookTimeout, h.fn, 0, append([]glua.LValue{p.newS()}, largs...)...); ce != nil {
			return nil, p.failure(label, h.where, ce)
		}
	}
	return cs.cmds, nil
}

// EventConditions evaluates the story events' conditions against st, in
// declaration order: start_event for each planned event whose starts_when
// holds (and whose `at` time, if any, has come; an event with an `at` and
// no starts_when starts at that time), complete_event for each active event
// whose ends_when holds. Each command is applied before the next condition
// runs. Conditions cannot act.
func (p *Pack) EventConditions(ctx context.Context, st *core.State, seed uint64) ([]core.Command, error) {
	if len(p.events) == 0 {
		return nil, nil
	}
	if st == nil {
		return nil, errors.New("EventConditions: nil state")
	}
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	cs := &callState{st: st, actDeny: denyConditions}
	for _, ev := range p.events {
		cur := cs.state().Events[ev.id]
		if cur == nil {
			continue
		}
		var cond *handler
		var op, label string
		switch cur.Status {
		case core.EventPlanned:
			if ev.at != "" && !reached(cs.state(), ev.at) {
				continue
			}
			if ev.startsWhen == nil && ev.at == "" {
				continue
			}
			cond, op, label = ev.startsWhen, "start_event", fmt.Sprintf("starts_when of story event %q", ev.id)
		case core.EventActive:
			if ev.endsWhen == nil {
				continue
			}
			cond, op, label = ev.endsWhen, "complete_event", fmt.Sprintf("ends_when of story event %q", ev.id)
		default:
			continue
		}
		fire := true
		if cond != nil {
			cs.rng = newRand(seed, label)
			rets, ce := p.invoke(ctx, cs, p.opts.HookTimeout, cond.fn, 1, p.newS())
			if ce != nil {
				return nil, p.failure(label, cond.where, ce)
			}
			fire = glua.LVAsBool(rets[0])
		}
		if !fire {
			continue
		}
		if err := p.accept(cs, core.Command{Op: op, Event: ev.id}); err != nil {
			return nil, &HookError{Hook: label, Decl: ev.where, Msg: err.Error(), Err: err}
		}
	}
	return cs.cmds, nil
}

// reached reports whether the world clock has come to at.
func reached(st *core.State, at string) bool {
	t, err := time.Parse(core.TimeLayout, at)
	if err != nil {
		return false
	}
	return !st.Now().Before(t)
}

// StoryEventHook runs a story event's on_start (phase "start") or
// on_complete (phase "complete") with s and the event's view, and returns
// the commands it issued. Call it with the state after the start_event or
// complete_event was applied: on_start may then hold the event's props.
func (p *Pack) StoryEventHook(ctx context.Context, event, phase string, st *core.State, seed uint64) ([]core.Command, error) {
	ev := p.eventByID[event]
	if ev == nil {
		return nil, fmt.Errorf("unknown story event %q", event)
	}
	var h *handler
	switch phase {
	case "start":
		h = ev.onStart
	case "complete":
		h = ev.onComplete
	default:
		return nil, fmt.Errorf("story event phase %q: want \"start\" or \"complete\"", phase)
	}
	if h == nil {
		return nil, nil
	}
	if st == nil {
		return nil, errors.New("StoryEventHook: nil state")
	}
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	label := fmt.Sprintf("on_%s of story event %q", phase, event)
	cs := &callState{st: st, canAct: true, rng: newRand(seed, label)}
	s := p.newS()
	p.cur = cs
	evView := glua.LValue(glua.LNil)
	if events, ok := p.stateField(p.L, cs, "events").(*glua.LTable); ok {
		evView = p.resolve(events).RawGetString(event)
	}
	p.cur = nil
	if _, ce := p.invoke(ctx, cs, p.opts.HookTimeout, h.fn, 0, s, evView); ce != nil {
		return nil, p.failure(label, h.where, ce)
	}
	return cs.cmds, nil
}

// TimeSkip runs the pack's timeskip rules, in declaration order, with s and
// the skip as { kind, minutes, label }, and returns their commands. A pack
// that declares none gets the stdlib default (std.timeskip's rule).
func (p *Pack) TimeSkip(ctx context.Context, st *core.State, seed uint64, skip core.Skip) ([]core.Command, error) {
	if st == nil {
		return nil, errors.New("TimeSkip: nil state")
	}
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	cs := &callState{st: st, canAct: true}
	rules := p.timeskips
	if len(rules) == 0 {
		fn, err := p.stdFunc(ctx, "std.timeskip", "rule")
		if err != nil {
			return nil, err
		}
		if fn == nil {
			return nil, nil
		}
		rules = []*handler{{fn: fn, where: Problem{File: "stdlib/timeskip.lua"}}}
	}
	for i, h := range rules {
		label := "timeskip rule"
		if len(rules) > 1 {
			label = fmt.Sprintf("timeskip rule %d", i+1)
		}
		skipT := p.L.CreateTable(0, 3)
		skipT.RawSetString("kind", glua.LString(skip.Kind))
		skipT.RawSetString("minutes", glua.LNumber(skip.Minutes))
		if skip.Label != "" {
			skipT.RawSetString("label", glua.LString(skip.Label))
		}
		cs.rng = newRand(seed, fmt.Sprintf("timeskip %d", i))
		if _, ce := p.invoke(ctx, cs, p.opts.HookTimeout, h.fn, 0, p.newS(), skipT); ce != nil {
			return nil, p.failure(label, h.where, ce)
		}
	}
	return cs.cmds, nil
}

// stdFunc returns function name of a module (loading it if need be), or nil
// when the module or the function does not exist. p.mu must be held.
func (p *Pack) stdFunc(ctx context.Context, module, name string) (*glua.LFunction, error) {
	mod, err := p.module(ctx, module)
	if err != nil || mod == nil {
		return nil, err
	}
	fn, _ := mod.RawGetString(name).(*glua.LFunction)
	return fn, nil
}

// module returns the table a module returns (what reads of it see), loading
// it under the hook deadline if it is not loaded yet; nil if it does not
// exist. p.mu must be held.
func (p *Pack) module(ctx context.Context, module string) (*glua.LTable, error) {
	v, ok := p.modules[module]
	if !ok {
		if strings.HasPrefix(module, "std.") && !slices.Contains(stdModules(), module) {
			return nil, nil
		}
		req, _ := p.base.RawGetString("require").(*glua.LFunction)
		cs := &callState{rng: newRand(0, "require "+module)}
		rets, ce := p.invoke(ctx, cs, p.opts.HookTimeout, req, 1, glua.LString(module))
		if ce != nil {
			return nil, p.failure(fmt.Sprintf("require %q", module), Problem{}, ce)
		}
		v = rets[0]
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil, nil
	}
	return p.resolve(t), nil
}

// CallPrompt runs the pack's prompt(name, fn) template as fn(arg, std),
// where arg is the prompt context converted to a Lua table and std is the
// stdlib prompts module (std.prompts), and returns its result converted to
// Go (tables become map[string]any or []any).
func (p *Pack) CallPrompt(ctx context.Context, name string, arg map[string]any) (any, error) {
	h := p.prompts[name]
	if h == nil {
		return nil, fmt.Errorf("prompt %q: %w (the pack declares: %s)", name, ErrNoPrompt, strings.Join(p.promptIDs, ", "))
	}
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	label := fmt.Sprintf("prompt %q", name)
	actx, err := p.toLua(arg, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	std := glua.LValue(glua.LNil)
	if slices.Contains(stdModules(), "std.prompts") {
		if _, err := p.module(ctx, "std.prompts"); err != nil {
			return nil, err
		}
		std = p.modules["std.prompts"]
	}
	cs := &callState{actDeny: denyCall, rng: newRand(0, label)}
	rets, ce := p.invoke(ctx, cs, p.opts.HookTimeout, h.fn, 1, actx, std)
	if ce != nil {
		return nil, p.failure(label, h.where, ce)
	}
	out, err := p.toGo(rets[0], 0)
	if err != nil {
		return nil, &HookError{Hook: label, Decl: h.where, Msg: "its result: " + err.Error()}
	}
	return out, nil
}

// BuildPrompt builds a whole prompt with the stdlib: it calls
// std.prompts.build(template, arg, overrides), where overrides maps each of
// the pack's prompt(NAME, fn) declarations to its function, and returns the
// result converted to Go.
func (p *Pack) BuildPrompt(ctx context.Context, template string, arg map[string]any) (any, error) {
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	label := fmt.Sprintf("prompt template %q", template)
	build, err := p.stdFunc(ctx, "std.prompts", "build")
	if err != nil {
		return nil, err
	}
	if build == nil {
		return nil, fmt.Errorf("%s: the stdlib has no std.prompts.build", label)
	}
	actx, err := p.toLua(arg, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	cs := &callState{actDeny: denyCall, rng: newRand(0, label)}
	rets, ce := p.invoke(ctx, cs, p.opts.HookTimeout, build, 1, glua.LString(template), actx, p.promptOverrides())
	if ce != nil {
		return nil, p.failure(label, Problem{File: "stdlib/prompts.lua"}, ce)
	}
	out, err := p.toGo(rets[0], 0)
	if err != nil {
		return nil, &HookError{Hook: label, Msg: "its result: " + err.Error()}
	}
	return out, nil
}

// promptOverrides returns the table of the pack's prompt(NAME, fn)
// functions std.prompts.build takes, made once per pack: each wrapper
// hands its function the read-only view of the stdlib module, never the
// module itself, so a template cannot change how the stdlib builds the next
// prompt.
func (p *Pack) promptOverrides() *glua.LTable {
	if p.overrides != nil {
		return p.overrides
	}
	std := p.modules["std.prompts"]
	overrides := p.L.CreateTable(0, len(p.prompts))
	for _, n := range p.promptIDs {
		fn := p.prompts[n].fn
		overrides.RawSetString(n, p.L.NewFunction(func(L *glua.LState) int {
			L.Push(fn)
			L.Push(L.Get(1))
			L.Push(std)
			L.Call(2, 1)
			return 1
		}))
	}
	p.overrides = overrides
	return overrides
}

// Call runs function fn of a module ("std.speakers", or one of the pack's
// own) and returns its first result converted to Go. With a non-nil st the
// function gets s (read-only: it cannot act) before args.
func (p *Pack) Call(ctx context.Context, st *core.State, seed uint64, module, fn string, args ...any) (any, error) {
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	label := fmt.Sprintf("%s.%s", module, fn)
	f, err := p.stdFunc(ctx, module, fn)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, fmt.Errorf("%s: no such function", label)
	}
	largs, err := p.luaArgs(label, args)
	if err != nil {
		return nil, err
	}
	if st != nil {
		largs = append([]glua.LValue{p.newS()}, largs...)
	}
	cs := &callState{st: st, actDeny: denyCall, rng: newRand(seed, label)}
	rets, ce := p.invoke(ctx, cs, p.opts.HookTimeout, f, 1, largs...)
	if ce != nil {
		return nil, p.failure(label, Problem{}, ce)
	}
	out, err := p.toGo(rets[0], 0)
	if err != nil {
		return nil, &HookError{Hook: label, Msg: "its result: " + err.Error()}
	}
	return out, nil
}
