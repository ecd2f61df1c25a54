package backend

import (
	"errors"
	"fmt"
	"strings"

	"diorama/core"
)

// Errors of this package beyond core's sentinels. GenError wraps them next
// to the core sentinel that classifies the failure.
var (
	// ErrMalformed: the server sent something that is not a valid
	// chat-completion chunk.
	ErrMalformed = errors.New("malformed response from the model server")
	// ErrCut: the stream ended or broke before the model finished.
	ErrCut = errors.New("stream cut")
	// ErrIdle: the stream went silent for longer than the idle timeout, or
	// sent nothing but keep-alives for longer than the header timeout.
	ErrIdle = errors.New("the model server went silent")
	// ErrRunaway: the stream went on far beyond max_tokens without a
	// finish_reason (a server ignoring max_tokens, or one looping).
	ErrRunaway = errors.New("the stream ran past max_tokens")
	// ErrRateLimited: the server answered 429.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer: the server answered 5xx (or sent such an error in-stream).
	ErrServer = errors.New("server error")
	// ErrNotQueued: the scripted generator had nothing queued.
	ErrNotQueued = errors.New("scripted: nothing queued")
)

// GenError is a failed generation: what happened, what to try, and the text
// received before the failure (never a complete reply). errors.Is matches
// its Kind (core.ErrUnavailable, core.ErrIncomplete or core.ErrEmpty) and
// its cause (ErrRateLimited, context.Canceled, …).
type GenError struct {
	Backend  string // the generator's label ("local:llama3")
	What     string // what happened, for people: "cannot connect to http://…"
	Hint     string // what to try; empty when nothing helps
	Status   int    // HTTP status, 0 if none
	Attempts int    // requests made (retries included)
	Partial  string // text received before the failure; not a complete reply
	Kind     error  // core.ErrUnavailable, core.ErrIncomplete or core.ErrEmpty
	Err      error  // the cause, may be nil
}

func (e *GenError) Error() string {
	var b strings.Builder
	if e.Backend != "" {
		b.WriteString(e.Backend)
		b.WriteString(": ")
	}
	b.WriteString(e.What)
	if e.Err != nil && !bare(e.Err) && !strings.Contains(e.What, e.Err.Error()) {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Partial != "" {
		fmt.Fprintf(&b, " (%d characters had arrived)", len([]rune(e.Partial)))
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap exposes both the classifying sentinel and the cause.
func (e *GenError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// bare reports causes that add nothing to What: our own sentinels alone.
func bare(err error) bool {
	switch err {
	case ErrCut, ErrIdle, ErrRunaway, ErrRateLimited, ErrServer, errHeaderTimeout, errIdleTimeout, errNoProgress:
		return true
	}
	return false
}

// notQueuedError is the scripted generator's "nothing queued" failure.
type notQueuedError struct {
	Speaker, Purpose string
}

func (e *notQueuedError) Error() string {
	return fmt.Sprintf("scripted: no %s queued for %q", purposeWord(e.Purpose), e.Speaker)
}

func (e *notQueuedError) Is(target error) bool {
	return target == ErrNotQueued || target == core.ErrNotQueued
}

func purposeWord(p string) string {
	if p == "" {
		return core.PurposeReply
	}
	return p
}

// kindFor classifies a failure after the request was accepted: with text
// already received the reply is incomplete; with none the server failed us.
func kindFor(partial string) error {
	if partial != "" {
		return core.ErrIncomplete
	}
	return core.ErrUnavailable
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
