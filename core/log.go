package core

import "context"

// EventLog is what the engine needs from the store: append a whole turn
// atomically on a branch, and load a branch's projected state.
type EventLog interface {
	// AppendTurn writes drafts as one turn on branch, in one transaction.
	// parent is the head the caller projected from; if the branch moved since,
	// AppendTurn fails with ErrHeadMoved and writes nothing. project is called
	// inside the transaction with the written events and must return the
	// state after them; the store writes its projection rows from it.
	AppendTurn(ctx context.Context, branch string, parent int64, drafts []Draft, project func([]Event) (*State, error)) ([]Event, error)
	// LoadState returns the projected state at the head of branch.
	LoadState(ctx context.Context, branch string) (*State, error)
}
