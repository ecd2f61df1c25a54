package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Timeline is what time travel needs from a log beyond appending turns: the
// tree of events, its named heads and which head is checked out. The SQLite
// store and MemLog implement it and pass the same acceptance tests
// (core/coretest). Moving between heads must cost in proportion to how far
// they diverge, not to the length of the story.
type Timeline interface {
	EventLog
	// Event returns event seq, or an error wrapping ErrNoEvent.
	Event(ctx context.Context, seq int64) (Event, error)
	// Tail returns up to n events of the path ending at event head, oldest
	// first (fewer when the path is shorter).
	Tail(ctx context.Context, head int64, n int) ([]Event, error)
	// PathAfter returns the events on the path to event head that come after
	// event from (0: the whole path), oldest first. It fails with
	// ErrNotOnBranch when from is not on that path.
	PathAfter(ctx context.Context, from, head int64) ([]Event, error)
	// StateAt returns the projected state after event seq.
	StateAt(ctx context.Context, seq int64) (*State, error)
	// CommonAncestor returns the newest event on the paths of both a and b
	// (0: none).
	CommonAncestor(ctx context.Context, a, b int64) (int64, error)
	// Heads lists the branches by name.
	Heads(ctx context.Context) ([]Head, error)
	// CurrentBranch names the checked-out branch: the one a new session
	// plays on, and the one the projection (memories) reflects.
	CurrentBranch(ctx context.Context) (string, error)
	// CreateBranch adds branch name at event at without checking it out.
	// It fails with ErrBranchExists if the name is taken.
	CreateBranch(ctx context.Context, name string, at int64) error
	// MoveBranch points the existing branch name at event seq (rewind) and
	// returns the state there. Nothing is deleted. If name is checked out,
	// the projection follows.
	MoveBranch(ctx context.Context, name string, seq int64) (*State, error)
	// Checkout makes name the checked-out branch, moves the projection to
	// its head and returns the state there.
	Checkout(ctx context.Context, name string) (*State, error)
	// RenameBranch renames a branch (the checked-out one stays checked out).
	RenameBranch(ctx context.Context, from, to string) error
	// DeleteBranch removes a branch head that is not checked out. Its
	// events stay in the log.
	DeleteBranch(ctx context.Context, name string) error
	// Graft writes evs as the path of a new branch name forking after event
	// parent, all in one transaction, checks it out and returns the state at
	// its head with the written events. Each event keeps its type, version,
	// payload, mask, world time, turn and creation time; the log assigns
	// seq, parent and branch. Seq is the event's id in the caller's
	// numbering: a CausedBy (or a memory id in a payload) naming an earlier
	// event of evs by that id is rewritten to its new seq, any other
	// CausedBy must name an event on the path up to parent. Turns must run
	// on from parent's turn without gaps.
	Graft(ctx context.Context, name string, parent int64, evs []Event) (*State, []Event, error)
}

// Head is a named branch and the event it points at.
type Head struct {
	Name  string
	Seq   int64
	Turn  int64
	Depth int64 // number of ancestors of the head event
}

// Sentinel errors of time travel.
var (
	// ErrNoEvent: no event has that seq.
	ErrNoEvent = errors.New("no such event")
	// ErrBranchExists: a branch of that name exists already.
	ErrBranchExists = errors.New("a branch of that name exists already")
	// ErrNotOnBranch: the event is not on the branch's path.
	ErrNotOnBranch = errors.New("the event is not on this branch")
	// ErrCheckedOut: the branch is checked out and cannot be deleted.
	ErrCheckedOut = errors.New("the branch is checked out")
	// ErrNoTimeline: the engine's log keeps no history operations.
	ErrNoTimeline = errors.New("this log does not support rewind or branches")
)

// MaxBranchName bounds a branch name.
const MaxBranchName = 64

// CheckBranchName reports why name cannot name a branch: names are 1 to 64
// letters, digits and . _ - @ ~ + /, not starting with - or . (so a name
// never reads as a flag or a hidden file).
func CheckBranchName(name string) error {
	switch {
	case name == "":
		return errors.New("a branch needs a name")
	case len(name) > MaxBranchName:
		return fmt.Errorf("branch name %q is too long (at most %d characters)", clip(name, 20), MaxBranchName)
	case name[0] == '-' || name[0] == '.':
		return fmt.Errorf("branch name %q cannot start with %q", name, name[:1])
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@~+/", r)
		if !ok {
			return fmt.Errorf("branch name %q: %q is not allowed (use letters, digits and . _ - @ ~ + /)", name, r)
		}
	}
	return nil
}

// RemapPayload rewrites the event ids an event's payload names (a pinned
// memory is named by its source event's seq) through m, re-encoding the
// payload at the current version when it changes. Logs call it when they
// give events new seqs (Graft, a linear export).
func RemapPayload(e *Event, m map[int64]int64) error {
	if e.Type != TypeMemoryPinned {
		return nil
	}
	p, err := e.Decode()
	if err != nil {
		return err
	}
	mp := p.(*MemoryPinned)
	to, ok := m[mp.Memory]
	if !ok || to == mp.Memory {
		return nil
	}
	mp.Memory = to
	_, v, payload, err := EncodeDraft(Draft{Type: e.Type, Payload: mp})
	if err != nil {
		return err
	}
	e.Version, e.Payload = v, payload
	return nil
}

// timeline returns the engine's log as a Timeline.
func (e *Engine) timeline() (Timeline, error) {
	tl, ok := e.log.(Timeline)
	if !ok {
		return nil, ErrNoTimeline
	}
	return tl, nil
}

// checkHead fails with ErrHeadMoved when another writer moved the engine's
// branch since it was loaded: a history operation must start from what the
// player sees.
func (e *Engine) checkHead(ctx context.Context, tl Timeline) ([]Head, error) {
	heads, err := tl.Heads(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range heads {
		if h.Name == e.branch {
			if h.Seq != e.state.LastSeq {
				return nil, fmt.Errorf("%w (head is event %d, not %d)", ErrHeadMoved, h.Seq, e.state.LastSeq)
			}
			return heads, nil
		}
	}
	return nil, fmt.Errorf("branch %q: %w", e.branch, ErrNoBranch)
}

// uniqueName returns base if no head has that name, else base.2, base.3…
func uniqueName(heads []Head, base string) string {
	taken := map[string]bool{}
	for _, h := range heads {
		taken[h.Name] = true
	}
	if !taken[base] {
		return base
	}
	for i := 2; ; i++ {
		if n := base + "." + strconv.Itoa(i); !taken[n] {
			return n
		}
	}
}

// RewindResult says what a rewind did.
type RewindResult struct {
	From, To int64  // the head before and after
	Turns    int    // story turns undone
	Kept     string // the branch that keeps the old tip ("" when another head already points at it)
}

// Rewind moves the engine's branch back by turns story turns (turns that
// hold more than pack records), or, when to > 0, to event to, which must be
// on the branch. Nothing is lost: unless another branch already points at
// the old tip, a new branch named BRANCH@turnN keeps it.
func (e *Engine) Rewind(ctx context.Context, turns int, to int64) (*RewindResult, error) {
	tl, err := e.timeline()
	if err != nil {
		return nil, err
	}
	heads, err := e.checkHead(ctx, tl)
	if err != nil {
		return nil, err
	}
	head := e.state.LastSeq
	res := &RewindResult{From: head}
	switch {
	case to > 0:
		if to == head {
			return nil, fmt.Errorf("branch %s is at event %d already", e.branch, to)
		}
		after, err := tl.PathAfter(ctx, to, head)
		if err != nil {
			if errors.Is(err, ErrNotOnBranch) || errors.Is(err, ErrNoEvent) {
				return nil, fmt.Errorf("event %d is not on branch %s: %w", to, e.branch, ErrNotOnBranch)
			}
			return nil, err
		}
		res.To = to
		last := int64(-1)
		for _, ev := range after {
			if ev.Turn != last && ev.Type != TypePackLoaded {
				res.Turns++
				last = ev.Turn
			}
		}
	case turns < 1:
		return nil, fmt.Errorf("rewind by at least one turn (got %d)", turns)
	default:
		target, err := turnsBack(ctx, tl, head, turns)
		if err != nil {
			return nil, fmt.Errorf("branch %s: %w", e.branch, err)
		}
		res.To, res.Turns = target, turns
	}
	keep := true
	for _, h := range heads {
		if h.Name != e.branch && h.Seq == head {
			keep = false
		}
	}
	if keep {
		res.Kept = uniqueName(heads, fmt.Sprintf("%s@turn%d", baseName(e.branch), e.state.Turn))
		if err := tl.CreateBranch(ctx, res.Kept, head); err != nil {
			return nil, fmt.Errorf("keep the old tip: %w", err)
		}
	}
	st, err := tl.MoveBranch(ctx, e.branch, res.To)
	if err != nil {
		return nil, err
	}
	e.state = st
	return res, nil
}

// baseName strips the suffixes time travel adds (@turnN, ~N, ~delN), so
// names do not pile up: main@turn12 rewound again keeps main@turn9.
func baseName(name string) string {
	if i := strings.IndexAny(name, "@~"); i > 0 {
		return name[:i]
	}
	return name
}

// storyTurn reports whether an event makes its turn one the player would
// count: anything but the world's creation and pack records.
func storyTurn(ev *Event) bool {
	return ev.Type != TypePackLoaded && ev.Type != TypeWorldCreated
}

// turnsBack finds the event before the n-th most recent story turn on the
// path to head, reading the path backwards in chunks.
func turnsBack(ctx context.Context, tl Timeline, head int64, n int) (int64, error) {
	const chunk = 256
	found := 0
	var lastTurn int64 = -1
	at := head
scan:
	for at != 0 {
		evs, err := tl.Tail(ctx, at, chunk)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			break
		}
		for i := len(evs) - 1; i >= 0; i-- {
			ev := &evs[i]
			if ev.Type == TypeWorldCreated {
				break scan
			}
			if ev.Turn == lastTurn || !storyTurn(ev) {
				continue
			}
			// ev is the last story event of a turn not counted yet; the turn
			// starts at its first event, found by walking on.
			lastTurn = ev.Turn
			found++
			if found == n {
				// The target is the parent of the turn's first event.
				return firstOfTurn(ctx, tl, evs[:i+1], ev.Turn)
			}
		}
		at = evs[0].Parent
	}
	if found == 0 {
		return 0, errors.New("there is no turn to rewind")
	}
	return 0, fmt.Errorf("there are only %d turns to rewind", found)
}

// firstOfTurn returns the parent of the first event of turn, given the path
// ending inside that turn.
func firstOfTurn(ctx context.Context, tl Timeline, evs []Event, turn int64) (int64, error) {
	for {
		for i := len(evs) - 1; i >= 0; i-- {
			if evs[i].Turn != turn {
				return evs[i].Seq, nil
			}
		}
		if evs[0].Parent == 0 {
			return 0, errors.New("cannot rewind past the world's creation")
		}
		more, err := tl.Tail(ctx, evs[0].Parent, 256)
		if err != nil {
			return 0, err
		}
		evs = more
	}
}

// NewBranch creates branch name at event at (0: the engine's head) and,
// with checkout, switches the engine to it.
func (e *Engine) NewBranch(ctx context.Context, name string, at int64, checkout bool) error {
	tl, err := e.timeline()
	if err != nil {
		return err
	}
	if err := CheckBranchName(name); err != nil {
		return err
	}
	if at == 0 {
		at = e.state.LastSeq
	}
	if err := tl.CreateBranch(ctx, name, at); err != nil {
		return err
	}
	if checkout {
		return e.Checkout(ctx, name)
	}
	return nil
}

// Checkout switches the engine to branch name: the log's projection moves
// there (at a cost in proportion to how far the two heads diverge) and the
// engine's state becomes that branch's.
func (e *Engine) Checkout(ctx context.Context, name string) error {
	tl, err := e.timeline()
	if err != nil {
		return err
	}
	st, err := tl.Checkout(ctx, name)
	if err != nil {
		return err
	}
	e.branch, e.state = name, st
	return nil
}

// Rename renames a branch; the engine follows when it is its own.
func (e *Engine) Rename(ctx context.Context, from, to string) error {
	tl, err := e.timeline()
	if err != nil {
		return err
	}
	if err := CheckBranchName(to); err != nil {
		return err
	}
	if err := tl.RenameBranch(ctx, from, to); err != nil {
		return err
	}
	if e.branch == from {
		e.branch = to
	}
	return nil
}

// DeleteBranch removes a branch that is not the engine's.
func (e *Engine) DeleteBranch(ctx context.Context, name string) error {
	tl, err := e.timeline()
	if err != nil {
		return err
	}
	if name == e.branch {
		return fmt.Errorf("branch %s: %w: switch to another branch first", name, ErrCheckedOut)
	}
	return tl.DeleteBranch(ctx, name)
}

// BranchInfo describes a branch for people.
type BranchInfo struct {
	Name    string
	Head    int64 // its newest event
	Turn    int64 // that event's turn
	Events  int64 // events on its path
	Current bool  // the engine's branch
	// Fork is the newest event it shares with another branch (0: none);
	// ForkWith names that branch. Fork == Head means the branch is part of
	// ForkWith's history (nothing of its own).
	Fork     int64
	ForkWith string
	LastLine *Line // the last line on its path, if one is near its head
}

// Branches lists the branches by name, the engine's marked.
func (e *Engine) Branches(ctx context.Context) ([]BranchInfo, error) {
	tl, err := e.timeline()
	if err != nil {
		return nil, err
	}
	heads, err := tl.Heads(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]BranchInfo, len(heads))
	for i, h := range heads {
		bi := BranchInfo{Name: h.Name, Head: h.Seq, Turn: h.Turn, Events: h.Depth + 1, Current: h.Name == e.branch}
		for _, o := range heads {
			if o.Name == h.Name {
				continue
			}
			lca, err := tl.CommonAncestor(ctx, h.Seq, o.Seq)
			if err != nil {
				return nil, err
			}
			// Common ancestors of h are all on h's path: the newest is the
			// largest seq.
			if lca > bi.Fork {
				bi.Fork, bi.ForkWith = lca, o.Name
			}
		}
		tail, err := tl.Tail(ctx, h.Seq, 64)
		if err != nil {
			return nil, err
		}
		for j := len(tail) - 1; j >= 0; j-- {
			if tail[j].Type != TypeLineSaid {
				continue
			}
			p, err := tail[j].Decode()
			if err != nil {
				return nil, err
			}
			ls := p.(*LineSaid)
			bi.LastLine = &Line{ID: tail[j].Seq, Who: ls.Who, Text: ls.Text, Mask: tail[j].Mask, WorldTime: tail[j].WorldTime}
			break
		}
		out[i] = bi
	}
	return out, nil
}

// canonicalPayload is an event's payload in canonical form (upcast, re-encoded),
// for comparing payloads written by different builds.
func canonicalPayload(e *Event) (string, error) {
	p, err := e.Decode()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
