package core

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors shared by the engine and its stores.
var (
	// ErrHeadMoved: another writer advanced the branch since it was loaded.
	ErrHeadMoved = errors.New("the branch moved on since it was loaded (another diorama process wrote to this save); reload and try again")
	// ErrNoBranch: the named branch does not exist.
	ErrNoBranch = errors.New("no such branch")
)

// Engine applies commands to one branch of a save: it validates them
// against the projected state, appends the resulting events as one turn and
// keeps the in-memory projection current.
type Engine struct {
	log    EventLog
	mem    MemoryIndex
	branch string
	state  *State
}

// NewEngine loads branch from log. mem may be nil.
func NewEngine(ctx context.Context, log EventLog, mem MemoryIndex, branch string) (*Engine, error) {
	st, err := log.LoadState(ctx, branch)
	if err != nil {
		return nil, err
	}
	return &Engine{log: log, mem: mem, branch: branch, state: st}, nil
}

// State returns the current projected state. Callers must not modify it.
func (e *Engine) State() *State { return e.state }

// Branch returns the branch the engine writes to.
func (e *Engine) Branch() string { return e.branch }

// Do validates the commands in order, each against the state left by the
// ones before it, and appends all their events as one turn. If any command
// is rejected nothing is written and the error names it.
func (e *Engine) Do(ctx context.Context, cmds ...Command) ([]Event, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	scratch := e.state.Clone()
	var drafts []Draft
	for i, c := range cmds {
		ds, err := Decide(scratch, c, e.mem)
		if err != nil {
			if len(cmds) > 1 {
				return nil, fmt.Errorf("command %d: %w", i+1, err)
			}
			return nil, err
		}
		// Apply to the scratch state so the next command sees this one's effect.
		for _, d := range ds {
			if err := applyDraft(scratch, d); err != nil {
				return nil, fmt.Errorf("command %d: %w", i+1, err)
			}
		}
		drafts = append(drafts, ds...)
	}
	return e.Append(ctx, drafts)
}

// Plan validates commands in order, each against the state left by the
// accepted ones before it, and returns the drafts of the accepted commands
// and the rejections of the others. Nothing is written: Append does that.
// This is the shape of a model's state update, where one bad command must
// not void the good ones.
func (e *Engine) Plan(cmds []Command) (drafts []Draft, rejected []error) {
	scratch := e.state.Clone()
	for i, c := range cmds {
		ds, err := Decide(scratch, c, e.mem)
		if err == nil {
			for _, d := range ds {
				if err = applyDraft(scratch, d); err != nil {
					break
				}
			}
		}
		if err != nil {
			rejected = append(rejected, fmt.Errorf("command %d %s: %w", i+1, c, err))
			// The scratch state may hold part of a multi-event command: start
			// again from the accepted drafts so far.
			scratch = e.state.Clone()
			for _, d := range drafts {
				_ = applyDraft(scratch, d)
			}
			continue
		}
		drafts = append(drafts, ds...)
	}
	return drafts, rejected
}

// Append writes drafts as one turn and advances the projection.
func (e *Engine) Append(ctx context.Context, drafts []Draft) ([]Event, error) {
	var next *State
	events, err := e.log.AppendTurn(ctx, e.branch, e.state.LastSeq, drafts, func(evs []Event) (*State, error) {
		st := e.state.Clone()
		if err := st.ApplyAll(evs); err != nil {
			return nil, err
		}
		next = st
		return st, nil
	})
	if err != nil {
		return nil, err
	}
	e.state = next
	return events, nil
}

// applyDraft folds a not-yet-written draft into a scratch state.
func applyDraft(s *State, d Draft) error {
	typ, v, payload, err := EncodeDraft(d)
	if err != nil {
		return err
	}
	ev := Event{Seq: s.LastSeq + 1, Parent: s.LastSeq, Type: typ, Version: v, Payload: payload, Mask: d.Mask, WorldTime: d.WorldTime}
	return s.Apply(&ev)
}
