package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	openai "github.com/sashabaranov/go-openai"

	"diorama/core"
)

// stream is one generation in flight.
type stream struct {
	c         *OpenAI
	parent    context.Context
	actx      context.Context
	cancel    context.CancelCauseFunc
	w         *watch
	raw       *openai.ChatCompletionStream // owns the body: Close closes it
	sse       *sseReader                   // reads the body (not raw's reader: see sseReader)
	attempts  int
	maxTokens int

	pending   []string
	text      strings.Builder
	chunks    int
	reasoning bool
	refusal   string
	finish    string
	usage     Usage
	eof       bool     // complete: every pending text is the reply
	fail      *failure // terminal failure
	closed    atomic.Bool
	closeOnce sync.Once
}

// Recv returns the next piece of text, io.EOF after a complete reply, or a
// *GenError (core.ErrIncomplete when the stream broke after text arrived).
func (s *stream) Recv() (string, error) {
	for {
		if len(s.pending) > 0 {
			t := s.pending[0]
			s.pending = s.pending[1:]
			return t, nil
		}
		if s.fail != nil {
			s.Close()
			return "", s.fail.err
		}
		if s.eof {
			s.Close()
			return "", io.EOF
		}
		if s.closed.Load() {
			s.setFail(&failure{err: &GenError{Kind: core.ErrIncomplete, What: "the stream was closed before the reply finished"}})
			continue
		}
		s.step()
	}
}

// Close releases the connection; it is safe to call more than once and from
// another goroutine.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.w.stop()
		s.cancel(nil)
		s.raw.Close()
	})
	return nil
}

// FinishReason is the finish_reason the server sent ("stop", "length", …),
// "" if none arrived yet.
func (s *stream) FinishReason() string { return s.finish }

// Note says what the player should know about a complete reply: that it
// hit max_tokens or a content filter. "" when nothing.
func (s *stream) Note() string {
	switch s.finish {
	case "length":
		return fmt.Sprintf("the reply hit the token limit (max_tokens %d) and may end mid-sentence; raise max_tokens in config.lua", s.maxTokens)
	case "content_filter":
		return "the provider's content filter stopped the reply"
	}
	return ""
}

// Usage is the token accounting the server reported (zero if none).
func (s *stream) Usage() Usage { return s.usage }

// step reads one event and updates the state.
func (s *stream) step() {
	ev, err := s.sse.next()
	switch {
	case err != nil:
		s.end(err)
		return
	case ev.done:
		s.done()
		return
	}
	s.w.progressed()
	s.chunks++
	if s.finish == "" && s.runaway() {
		s.setFail(&failure{err: &GenError{Kind: kindFor(s.text.String()), Err: ErrRunaway,
			What: fmt.Sprintf("the server kept streaming far past max_tokens (%d) without finishing (%d chunks, %d bytes of text)", s.maxTokens, s.chunks, s.text.Len()),
			Hint: "the server ignores max_tokens or is looping; try again, or try another server or model"}})
		return
	}
	ch, err := decodeChunk(ev.data)
	if err != nil {
		if s.finish != "" {
			s.eof = true // trailing junk after a finished reply does not void it
			return
		}
		s.setFail(&failure{err: &GenError{Kind: kindFor(s.text.String()), Err: err,
			What: "the server sent an invalid chunk",
			Hint: "the server's OpenAI compatibility may be broken; try another server version or backend"}})
		return
	}
	if ev.error && ch.Err == nil {
		if ch.Err = decodeStreamErr(ev.data); ch.Err == nil {
			ch.Err = &streamErr{Message: clip(string(ev.data), 200)}
		}
	}
	if ch.Usage != nil {
		s.usage = *ch.Usage
	}
	if ch.Err != nil {
		if s.finish != "" {
			s.eof = true
			return
		}
		s.setFail(s.inStreamFailure(ch.Err))
		return
	}
	if ch.Text != "" {
		s.text.WriteString(ch.Text)
		s.pending = append(s.pending, ch.Text)
	}
	s.reasoning = s.reasoning || ch.Reasoning
	s.refusal += ch.Refusal
	if ch.Finish != "" && s.finish == "" {
		s.finish = ch.Finish
		switch {
		case s.text.Len() == 0:
			s.setFail(s.emptyFailure())
		case s.c.cfg.IncludeUsage:
			s.w.shorten(afterFinishIdle) // the usage chunk and [DONE] follow
		default:
			s.eof = true // complete: no need to wait for [DONE]
		}
	}
}

// runaway reports a stream that went on far beyond what max_tokens allows
// (a token is one chunk and a few bytes; the bounds leave a wide margin for
// servers that send extra chunks or long tokens): left alone it would
// stream forever, every keep-alive and token re-arming the idle watchdog.
func (s *stream) runaway() bool {
	mt := s.maxTokens
	if mt <= 0 {
		mt = 1 << 14 // no cap was asked for: still not forever
	}
	return s.chunks > 4*mt+256 || s.text.Len() > 256*mt+64<<10
}

// done handles data: [DONE], the server's explicit end of the stream. With
// a finish_reason, or with text (servers that omit finish_reason but do
// send [DONE]: a cut connection cannot produce [DONE]), the reply is
// complete.
func (s *stream) done() {
	switch {
	case s.finish != "":
		s.eof = true
	case s.text.Len() > 0:
		s.finish = "stop"
		s.eof = true
	case s.chunks == 0:
		s.setFail(s.emptyStream())
	default:
		s.finish = "stop"
		s.setFail(s.emptyFailure())
	}
}

// end handles the end of the body without [DONE]: clean or not, the reply
// is complete only if a finish_reason arrived.
func (s *stream) end(err error) {
	text := s.text.String()
	switch {
	case s.finish != "":
		s.eof = true
	case s.parent.Err() != nil:
		s.setFail(&failure{err: s.c.cancelled(s.parent.Err(), text, s.attempts)})
	case errors.Is(context.Cause(s.actx), errNoProgress):
		s.setFail(&failure{err: &GenError{Kind: kindFor(text), Err: ErrIdle,
			What: fmt.Sprintf("the server sent only keep-alives, no data, for %s", s.c.cfg.HeaderTimeout),
			Hint: "the model may be queued or stuck on the server; try again, or raise header_timeout in config.lua if it is just slow to start"}})
	case errors.Is(context.Cause(s.actx), errIdleTimeout):
		s.setFail(&failure{err: &GenError{Kind: kindFor(text), Err: ErrIdle,
			What: fmt.Sprintf("no data from the server for %s", s.c.cfg.IdleTimeout),
			Hint: "the server stalled; try again, or raise idle_timeout in config.lua if the model is just slow"}})
	case errors.Is(err, ErrMalformed):
		s.setFail(&failure{err: &GenError{Kind: kindFor(text), Err: err, What: "the server sent an invalid stream"}})
	case errors.Is(err, io.EOF) && s.chunks == 0:
		s.setFail(s.emptyStream())
	case errors.Is(err, io.EOF):
		s.setFail(&failure{err: &GenError{Kind: kindFor(text), Err: ErrCut,
			What: "the stream ended before the model finished (no finish_reason)",
			Hint: "the server or a proxy dropped the connection; try again"}, retry: text == ""})
	default:
		s.setFail(&failure{err: &GenError{Kind: kindFor(text), Err: fmt.Errorf("%w: %w", ErrCut, noEOF(err)),
			What: "the connection broke mid-stream",
			Hint: "the server or a proxy dropped the connection; try again"}, retry: text == ""})
	}
}

// emptyStream explains a 200 answer that carried no event at all.
func (s *stream) emptyStream() *failure {
	return &failure{err: &GenError{Kind: core.ErrEmpty,
		What: "the server answered with an empty stream (no chunks, no finish_reason)",
		Hint: "LM Studio does this when the prompt exceeds the model's context length: raise the context length in LM Studio's model settings, or lower `context` for this backend in config.lua"}}
}

// noEOF keeps io.EOF out of an error chain: callers read errors.Is(err,
// io.EOF) from Recv as "complete".
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New(err.Error())
	}
	return err
}

// inStreamFailure explains an error the server sent inside a 200 stream.
// Before any text, rate limits and server errors are retried like their
// HTTP counterparts.
func (s *stream) inStreamFailure(e *streamErr) *failure {
	text := s.text.String()
	ge := &GenError{Kind: kindFor(text), Err: e, Status: e.Code, What: "the server reported an error mid-stream"}
	retry := false
	switch {
	case e.Code == http.StatusTooManyRequests:
		ge.Err = fmt.Errorf("%w: %w", ErrRateLimited, e)
		ge.Hint = "the provider is rate limiting; wait a moment and try again"
		retry = text == ""
	case e.Code >= 500:
		ge.Err = fmt.Errorf("%w: %w", ErrServer, e)
		ge.Hint = "the provider failed upstream; try again or pick another model"
		retry = text == ""
	default:
		ge.Hint = "try again; if it persists, pick another model or backend"
	}
	return &failure{err: ge, retry: retry}
}

// emptyFailure explains a finished stream with no text.
func (s *stream) emptyFailure() *failure {
	ge := &GenError{Kind: core.ErrEmpty, What: fmt.Sprintf("the model finished (%s) without any text", s.finish),
		Hint: "regenerate; if it keeps happening, check the prompt template and stop sequences"}
	switch {
	case s.refusal != "":
		ge.What = "the model declined to answer: " + clip(s.refusal, 200)
		ge.Hint = "rephrase, or use another model"
	case s.finish == "length" && s.reasoning:
		ge.What = fmt.Sprintf("the model spent its whole budget (max_tokens %d) thinking and wrote no reply", s.maxTokens)
		ge.Hint = "raise max_tokens in config.lua, or turn the model's thinking off"
	case s.finish == "length":
		ge.What = fmt.Sprintf("the model hit the token limit (max_tokens %d) before writing any text", s.maxTokens)
		ge.Hint = "raise max_tokens in config.lua"
	}
	return &failure{err: ge}
}

// setFail records a terminal failure, completing the error with what the
// stream knows.
func (s *stream) setFail(f *failure) {
	if s.fail != nil {
		return
	}
	f.err.Backend = s.c.Name()
	f.err.Attempts = s.attempts
	f.err.Err = noEOF(f.err.Err)
	if f.err.Partial == "" && f.err.Kind != core.ErrEmpty {
		f.err.Partial = s.text.String()
	}
	s.fail = f
}
