package core

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemLog is an in-memory EventLog: the fake beside the SQLite store, for
// tests and for throwaway sessions. It keeps the same tree shape (parents,
// named heads) and the same guarantees (a turn is all or nothing).
type MemLog struct {
	mu       sync.Mutex
	events   []Event // index i holds seq i+1
	heads    map[string]int64
	paths    map[string][]Event // root path of each head, kept as turns append
	memories map[int64]Mask
	current  string // the checked-out branch (see memlog_branch.go)
}

var (
	_ EventLog    = (*MemLog)(nil)
	_ MemoryIndex = (*MemLog)(nil)
)

// NewMemLog creates a log holding the world_created event on branch "main".
func NewMemLog(w *WorldSpec) (*MemLog, error) {
	if errs := w.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid world: %w", joinErrors(errs))
	}
	l := &MemLog{heads: map[string]int64{"main": 0}, paths: map[string][]Event{}, memories: map[int64]Mask{}, current: "main"}
	_, err := l.AppendTurn(context.Background(), "main", 0, []Draft{{Type: TypeWorldCreated, Payload: &WorldCreated{World: *w}, Mask: MaskAll}},
		func(evs []Event) (*State, error) {
			st := NewState()
			return st, st.ApplyAll(evs)
		})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// AppendTurn implements EventLog.
func (l *MemLog) AppendTurn(ctx context.Context, branch string, parent int64, drafts []Draft, project func([]Event) (*State, error)) ([]Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	head, ok := l.heads[branch]
	if !ok {
		return nil, fmt.Errorf("append turn on %s: %w", branch, ErrNoBranch)
	}
	if head != parent {
		return nil, fmt.Errorf("append turn on %s: %w", branch, ErrHeadMoved)
	}
	var turn int64
	if head > 0 {
		turn = l.events[head-1].Turn + 1
	}
	now := time.Unix(0, 0).UTC()
	events := make([]Event, 0, len(drafts))
	prev := head
	for i, d := range drafts {
		typ, v, payload, err := EncodeDraft(d)
		if err != nil {
			return nil, fmt.Errorf("append turn on %s: %w", branch, err)
		}
		seq := int64(len(l.events) + len(events) + 1)
		caused := d.CausedBy
		if d.CausedByIndex > 0 {
			if d.CausedByIndex > i {
				return nil, fmt.Errorf("append turn on %s: draft %d: caused_by index %d is not an earlier draft", branch, i+1, d.CausedByIndex)
			}
			caused = events[d.CausedByIndex-1].Seq
		}
		events = append(events, Event{Seq: seq, Parent: prev, Branch: branch, Turn: turn, Type: typ, Version: v,
			Payload: payload, Mask: d.Mask, CausedBy: caused, WorldTime: d.WorldTime, CreatedAt: now})
		prev = seq
	}
	if project != nil {
		if _, err := project(events); err != nil {
			return nil, fmt.Errorf("append turn on %s: project: %w", branch, err)
		}
	}
	l.events = append(l.events, events...)
	l.heads[branch] = prev
	l.paths[branch] = append(l.paths[branch], events...)
	for _, e := range events {
		if IsMemoryType(e.Type) {
			l.memories[e.Seq] = e.Mask
		}
	}
	return events, nil
}

// LoadState implements EventLog by folding the branch's whole path.
func (l *MemLog) LoadState(ctx context.Context, branch string) (*State, error) {
	evs, err := l.Events(branch)
	if err != nil {
		return nil, err
	}
	st := NewState()
	if err := st.ApplyAll(evs); err != nil {
		return nil, err
	}
	return st, nil
}

// Events returns the root path of branch, in order.
func (l *MemLog) Events(branch string) ([]Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.heads[branch]; !ok {
		return nil, fmt.Errorf("load %s: %w", branch, ErrNoBranch)
	}
	path := l.paths[branch]
	return path[:len(path):len(path)], nil
}

// Memory implements MemoryIndex: memories on the checked-out branch only.
func (l *MemLog) Memory(id int64) (Mask, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.memories[id]
	if !ok || !l.onPath(l.current, id) {
		return 0, false
	}
	return m, true
}

func joinErrors(errs []error) error {
	msg := errs[0].Error()
	for _, e := range errs[1:] {
		msg += "; " + e.Error()
	}
	return fmt.Errorf("%s", msg)
}

var _ Recall = (*MemLog)(nil)

// RecentLines implements Recall: the last limit lines on the checked-out
// branch whose mask intersects who, oldest first.
func (l *MemLog) RecentLines(ctx context.Context, who Mask, limit int) ([]Line, error) {
	evs, err := l.Events(l.checkedOut())
	if err != nil {
		return nil, err
	}
	var out []Line
	for i := len(evs) - 1; i >= 0 && len(out) < limit; i-- {
		e := evs[i]
		if e.Type != TypeLineSaid || e.Mask&who == 0 {
			continue
		}
		p, err := e.Decode()
		if err != nil {
			return nil, err
		}
		ls := p.(*LineSaid)
		out = append(out, Line{ID: e.Seq, Who: ls.Who, Text: ls.Text, Mask: e.Mask, WorldTime: e.WorldTime})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Recall implements Recall with the facts and scene summaries who holds,
// newest first; the in-memory log does no ranking.
func (l *MemLog) Recall(ctx context.Context, who Mask, query string, k int) ([]Recalled, error) {
	evs, err := l.Events(l.checkedOut())
	if err != nil {
		return nil, err
	}
	var out []Recalled
	for i := len(evs) - 1; i >= 0 && len(out) < k; i-- {
		e := evs[i]
		if (e.Type != TypeFactNoted && e.Type != TypeSummaryWritten) || e.Mask&who == 0 {
			continue
		}
		p, err := e.Decode()
		if err != nil {
			return nil, err
		}
		if kind, _, text, ok := MemoryOf(p); ok {
			out = append(out, Recalled{ID: e.Seq, Kind: kind, Text: text, Mask: e.Mask, Score: 1})
		}
	}
	return out, nil
}
