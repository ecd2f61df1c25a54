package backend

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"diorama/core"
)

// Scripted is the generator of tests: replies and state updates are queued
// per (speaker, purpose) and handed out in order, streamed in small chunks
// (split at spaces) so streaming paths are exercised. Faults can be queued
// too. It is safe for concurrent use.
type Scripted struct {
	mu       sync.Mutex
	queues   map[scriptKey][]scriptItem
	defaults map[string]string
	calls    []core.GenRequest
}

type scriptKey struct{ speaker, purpose string }

type scriptItem struct {
	text    string
	err     error // fail: at Generate when text is "", else after streaming text
	partial bool  // text then err (a stream cut mid-way)
}

var _ core.Generator = (*Scripted)(nil)

// NewScripted returns an empty script.
func NewScripted() *Scripted {
	return &Scripted{queues: map[scriptKey][]scriptItem{}, defaults: map[string]string{}}
}

// Name is "scripted".
func (s *Scripted) Name() string { return BuiltinScripted }

func normPurpose(p string) string {
	if p == "" {
		return core.PurposeReply
	}
	return p
}

func (s *Scripted) push(speaker, purpose string, it scriptItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := scriptKey{speaker, normPurpose(purpose)}
	s.queues[k] = append(s.queues[k], it)
}

// Push queues the next text speaker generates for purpose
// (core.PurposeReply, core.PurposeStateUpdate, …; "" means reply).
func (s *Scripted) Push(speaker, purpose, text string) {
	s.push(speaker, purpose, scriptItem{text: text})
}

// PushError queues a failure: the next Generate for speaker and purpose
// returns err before any text.
func (s *Scripted) PushError(speaker, purpose string, err error) {
	s.push(speaker, purpose, scriptItem{err: err})
}

// PushPartial queues a stream cut mid-way: text is streamed, then Recv
// returns err (wrap core.ErrIncomplete to mimic a dropped connection).
func (s *Scripted) PushPartial(speaker, purpose, text string, err error) {
	s.push(speaker, purpose, scriptItem{text: text, err: err, partial: true})
}

// SetDefault makes purpose answer text for any speaker with nothing queued
// (e.g. "[]" for state updates when a test queues replies only). An empty
// text removes the default.
func (s *Scripted) SetDefault(purpose, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if text == "" {
		delete(s.defaults, normPurpose(purpose))
		return
	}
	s.defaults[normPurpose(purpose)] = text
}

// Pending counts the queued items not yet used.
func (s *Scripted) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.queues {
		n += len(q)
	}
	return n
}

// PendingList describes the queued items not yet used, sorted by speaker
// and purpose (`mara reply: "Hm."`), for a test's failure message.
func (s *Scripted) PendingList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	keys := make([]scriptKey, 0, len(s.queues))
	for k := range s.queues {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].speaker != keys[j].speaker {
			return keys[i].speaker < keys[j].speaker
		}
		return keys[i].purpose < keys[j].purpose
	})
	for _, k := range keys {
		for _, it := range s.queues[k] {
			what := fmt.Sprintf("%q", clip(it.text, 60))
			if it.err != nil && !it.partial {
				what = "error: " + it.err.Error()
			} else if it.err != nil {
				what += " then error: " + it.err.Error()
			}
			out = append(out, fmt.Sprintf("%s %s: %s", k.speaker, k.purpose, what))
		}
	}
	return out
}

// maxCalls bounds the requests Scripted keeps for Calls, so a long scripted
// session (a soak test, a benchmark) does not grow without limit.
const maxCalls = 256

// Calls returns the requests made so far, in order (the latest 256).
func (s *Scripted) Calls() []core.GenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]core.GenRequest(nil), s.calls...)
}

// Generate hands out the next queued item for the request's speaker and
// purpose; with none queued (and no default) it fails naming the speaker:
// `scripted: no reply queued for "mara"`.
func (s *Scripted) Generate(ctx context.Context, req core.GenRequest) (core.TextStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, &GenError{Backend: BuiltinScripted, What: "generation cancelled", Kind: core.ErrIncomplete, Err: err}
	}
	s.mu.Lock()
	s.calls = append(s.calls, req)
	if len(s.calls) > 2*maxCalls {
		s.calls = append([]core.GenRequest(nil), s.calls[len(s.calls)-maxCalls:]...)
	}
	k := scriptKey{req.Speaker, normPurpose(req.Purpose)}
	q := s.queues[k]
	var it scriptItem
	switch {
	case len(q) > 0:
		it = q[0]
		if len(q) == 1 {
			delete(s.queues, k)
		} else {
			s.queues[k] = q[1:]
		}
	case s.defaults[k.purpose] != "":
		it = scriptItem{text: s.defaults[k.purpose]}
	default:
		s.mu.Unlock()
		return nil, &notQueuedError{Speaker: req.Speaker, Purpose: k.purpose}
	}
	s.mu.Unlock()
	if it.err != nil && !it.partial {
		return nil, it.err
	}
	st := newTextStream(ctx, it.text)
	if it.partial {
		st.err = it.err
	}
	return st, nil
}

// textStream streams a known text in chunks split at spaces; it backs the
// scripted and offline generators.
type textStream struct {
	ctx    context.Context
	chunks []string
	err    error // returned after the chunks instead of io.EOF
	closed bool
}

func newTextStream(ctx context.Context, text string) *textStream {
	return &textStream{ctx: ctx, chunks: splitChunks(text)}
}

// splitChunks splits text before each space; the chunks concatenate back
// to text exactly.
func splitChunks(text string) []string {
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text[1:], ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

func (t *textStream) Recv() (string, error) {
	if t.closed {
		return "", &GenError{What: "the stream was closed before the reply finished", Kind: core.ErrIncomplete}
	}
	if err := t.ctx.Err(); err != nil {
		return "", &GenError{What: "generation cancelled", Kind: core.ErrIncomplete, Err: err}
	}
	if len(t.chunks) > 0 {
		c := t.chunks[0]
		t.chunks = t.chunks[1:]
		return c, nil
	}
	if t.err != nil {
		return "", t.err
	}
	return "", io.EOF
}

func (t *textStream) Close() error {
	t.closed = true
	return nil
}

// FinishReason is "stop" once the text is out (these generators never cut).
func (t *textStream) FinishReason() string {
	if len(t.chunks) == 0 && t.err == nil {
		return "stop"
	}
	return ""
}

// Note is always empty.
func (t *textStream) Note() string { return "" }
