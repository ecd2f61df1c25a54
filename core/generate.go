package core

import (
	"context"
	"errors"
)

// Message is one chat message of a prompt.
type Message struct {
	Role    string `json:"role"` // "system", "user" or "assistant"
	Content string `json:"content"`
}

// GenParams tunes one generation.
type GenParams struct {
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Temperature float64  `json:"temperature,omitempty"`
	Stop        []string `json:"stop,omitempty"`
}

// Purposes of a generation, so a backend (the scripted one in tests, the
// offline renderer) can tell a reply from a state update.
const (
	PurposeReply        = "reply"
	PurposeStateUpdate  = "state_update"
	PurposeSummary      = "summary"
	PurposeSignificance = "significance"
)

// GenRequest is one call to a generator: a prompt and its parameters. The
// model is stateless: everything it needs is in Messages.
type GenRequest struct {
	Messages []Message
	Params   GenParams
	Purpose  string // PurposeReply, PurposeStateUpdate, …
	Speaker  string // the character the text is for
	// Facts is the structured context the prompt was built from. Backends
	// that render without a model (the offline renderer) read it; model
	// backends ignore it.
	Facts map[string]any
}

// TextStream yields generated text as it arrives. Recv returns io.EOF after
// a complete generation; any other error means the text so far is not a
// complete reply (ErrIncomplete for a cut stream).
type TextStream interface {
	Recv() (string, error)
	Close() error
}

// Generator is the stateless generate(prompt, params) -> stream of text the
// engine renders through. Swapping it never loses state.
type Generator interface {
	Generate(ctx context.Context, req GenRequest) (TextStream, error)
	// Name labels the backend wherever it shows ("offline", "ollama:llama3").
	Name() string
}

// Errors a generator reports. They are wrapped with details.
var (
	// ErrIncomplete: the stream ended before the model said it was done.
	ErrIncomplete = errors.New("the reply was cut off before the model finished")
	// ErrEmpty: the model returned no text.
	ErrEmpty = errors.New("the model returned an empty reply")
	// ErrUnavailable: the backend could not be reached or refused the request.
	ErrUnavailable = errors.New("the model server is unavailable")
)
