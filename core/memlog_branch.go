package core

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"
)

// The in-memory log's branches: the same Timeline the SQLite store offers,
// kept simple (paths are folded from the root; it is a fake for tests).

var _ Timeline = (*MemLog)(nil)

// checkedOut returns the checked-out branch.
func (l *MemLog) checkedOut() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current
}

// event returns event seq; l.mu is held.
func (l *MemLog) event(seq int64) (*Event, error) {
	if seq < 1 || seq > int64(len(l.events)) {
		return nil, fmt.Errorf("event %d: %w", seq, ErrNoEvent)
	}
	return &l.events[seq-1], nil
}

// pathTo returns a fresh copy of the path from the root to seq; l.mu is held.
func (l *MemLog) pathTo(seq int64) ([]Event, error) {
	var out []Event
	for at := seq; at != 0; {
		e, err := l.event(at)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
		at = e.Parent
	}
	slices.Reverse(out)
	return out, nil
}

// onPath reports whether event id is on branch's path; l.mu is held.
func (l *MemLog) onPath(branch string, id int64) bool {
	return onPathOf(l.paths[branch], id)
}

func foldPath(evs []Event) (*State, error) {
	st := NewState()
	if err := st.ApplyAll(evs); err != nil {
		return nil, err
	}
	return st, nil
}

// Event implements Timeline.
func (l *MemLog) Event(ctx context.Context, seq int64) (Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := l.event(seq)
	if err != nil {
		return Event{}, err
	}
	return *e, nil
}

// Tail implements Timeline.
func (l *MemLog) Tail(ctx context.Context, head int64, n int) ([]Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for at := head; at != 0 && len(out) < n; {
		e, err := l.event(at)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
		at = e.Parent
	}
	slices.Reverse(out)
	return out, nil
}

// PathAfter implements Timeline.
func (l *MemLog) PathAfter(ctx context.Context, from, head int64) ([]Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	at := head
	for at != from {
		if at == 0 || at < from {
			return nil, fmt.Errorf("event %d is not on the path to %d: %w", from, head, ErrNotOnBranch)
		}
		e, err := l.event(at)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
		at = e.Parent
	}
	slices.Reverse(out)
	return out, nil
}

// StateAt implements Timeline.
func (l *MemLog) StateAt(ctx context.Context, seq int64) (*State, error) {
	l.mu.Lock()
	path, err := l.pathTo(seq)
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return foldPath(path)
}

// CommonAncestor implements Timeline.
func (l *MemLog) CommonAncestor(ctx context.Context, a, b int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for a != b && a != 0 && b != 0 {
		x := &a
		if b > a {
			x = &b
		}
		e, err := l.event(*x)
		if err != nil {
			return 0, err
		}
		*x = e.Parent
	}
	if a == 0 || b == 0 {
		return 0, nil
	}
	return a, nil
}

// Heads implements Timeline.
func (l *MemLog) Heads(ctx context.Context) ([]Head, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Head, 0, len(l.heads))
	for name, seq := range l.heads {
		h := Head{Name: name, Seq: seq, Depth: int64(len(l.paths[name])) - 1}
		if seq > 0 {
			h.Turn = l.events[seq-1].Turn
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CurrentBranch implements Timeline.
func (l *MemLog) CurrentBranch(ctx context.Context) (string, error) { return l.checkedOut(), nil }

// CreateBranch implements Timeline.
func (l *MemLog) CreateBranch(ctx context.Context, name string, at int64) error {
	if err := CheckBranchName(name); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.heads[name]; ok {
		return fmt.Errorf("branch %q: %w", name, ErrBranchExists)
	}
	path, err := l.pathTo(at)
	if err != nil {
		return err
	}
	l.heads[name], l.paths[name] = at, path
	return nil
}

// MoveBranch implements Timeline.
func (l *MemLog) MoveBranch(ctx context.Context, name string, seq int64) (*State, error) {
	l.mu.Lock()
	if _, ok := l.heads[name]; !ok {
		l.mu.Unlock()
		return nil, fmt.Errorf("branch %q: %w", name, ErrNoBranch)
	}
	path, err := l.pathTo(seq)
	if err == nil {
		l.heads[name], l.paths[name] = seq, path
	}
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return foldPath(path)
}

// Checkout implements Timeline.
func (l *MemLog) Checkout(ctx context.Context, name string) (*State, error) {
	l.mu.Lock()
	if _, ok := l.heads[name]; !ok {
		l.mu.Unlock()
		return nil, fmt.Errorf("branch %q: %w", name, ErrNoBranch)
	}
	l.current = name
	path := l.paths[name]
	l.mu.Unlock()
	return foldPath(path)
}

// RenameBranch implements Timeline.
func (l *MemLog) RenameBranch(ctx context.Context, from, to string) error {
	if err := CheckBranchName(to); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seq, ok := l.heads[from]
	if !ok {
		return fmt.Errorf("branch %q: %w", from, ErrNoBranch)
	}
	if _, taken := l.heads[to]; taken {
		return fmt.Errorf("branch %q: %w", to, ErrBranchExists)
	}
	l.heads[to], l.paths[to] = seq, l.paths[from]
	delete(l.heads, from)
	delete(l.paths, from)
	if l.current == from {
		l.current = to
	}
	return nil
}

// DeleteBranch implements Timeline.
func (l *MemLog) DeleteBranch(ctx context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.heads[name]; !ok {
		return fmt.Errorf("branch %q: %w", name, ErrNoBranch)
	}
	if name == l.current {
		return fmt.Errorf("branch %q: %w", name, ErrCheckedOut)
	}
	delete(l.heads, name)
	delete(l.paths, name)
	return nil
}

// Graft implements Timeline.
func (l *MemLog) Graft(ctx context.Context, name string, parent int64, evs []Event) (*State, []Event, error) {
	if err := CheckBranchName(name); err != nil {
		return nil, nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.heads[name]; ok {
		return nil, nil, fmt.Errorf("branch %q: %w", name, ErrBranchExists)
	}
	path, err := l.pathTo(parent)
	if err != nil {
		return nil, nil, err
	}
	st, err := foldPath(path)
	if err != nil {
		return nil, nil, err
	}
	out, err := graftEvents(st, name, parent, int64(len(l.events)), evs, func(seq int64) bool {
		return seq > 0 && seq <= parent && onPathOf(path, seq)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("graft %s: %w", name, err)
	}
	l.events = append(l.events, out...)
	l.heads[name] = parent
	if len(out) > 0 {
		l.heads[name] = out[len(out)-1].Seq
	}
	l.paths[name] = append(path, out...)
	for _, e := range out {
		if IsMemoryType(e.Type) {
			l.memories[e.Seq] = e.Mask
		}
	}
	l.current = name
	return st, out, nil
}

// onPathOf reports whether event id is on path (sorted by seq).
func onPathOf(path []Event, id int64) bool {
	i := sort.Search(len(path), func(i int) bool { return path[i].Seq >= id })
	return i < len(path) && path[i].Seq == id
}

// graftEvents numbers evs after event parent (whose turn st holds) from
// seq last+1, rewrites their causes and payload references, checks their
// turns and folds them into st. onPrefix says whether a cause outside evs
// is on the path up to parent.
func graftEvents(st *State, branch string, parent, last int64, evs []Event, onPrefix func(int64) bool) ([]Event, error) {
	m := make(map[int64]int64, len(evs))
	out := make([]Event, 0, len(evs))
	prev, turn := parent, st.Turn
	for i := range evs {
		e := evs[i]
		if e.Turn != turn && e.Turn != turn+1 {
			return nil, fmt.Errorf("event %d of %d: turn %d does not follow turn %d", i+1, len(evs), e.Turn, turn)
		}
		if c, ok := m[e.CausedBy]; ok {
			e.CausedBy = c
		} else if e.CausedBy != 0 && !onPrefix(e.CausedBy) {
			return nil, fmt.Errorf("event %d of %d (%s): caused by %d, which is not before it", i+1, len(evs), e.Type, e.CausedBy)
		}
		if err := RemapPayload(&e, m); err != nil {
			return nil, err
		}
		seq := last + int64(i) + 1
		m[evs[i].Seq] = seq
		e.Seq, e.Parent, e.Branch = seq, prev, branch
		if e.CreatedAt.IsZero() {
			e.CreatedAt = time.Unix(0, 0).UTC()
		}
		if err := st.Apply(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
		prev, turn = seq, e.Turn
	}
	return out, nil
}
