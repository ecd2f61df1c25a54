package backend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// chunk is what we read from one `data:` line of a chat-completion stream.
// We decode raw lines ourselves (go-openai's RecvRaw) because servers put
// things in a 200 stream that go-openai's typed Recv drops: OpenRouter's
// in-stream error object with finish_reason "error", vLLM's {"object":
// "error"}, a usage chunk with no choices, reasoning deltas.
type chunk struct {
	Text      string // content delta of choice 0
	Reasoning bool   // a reasoning/thinking delta arrived (not shown)
	Refusal   string // an OpenAI refusal delta
	Finish    string // finish_reason of choice 0, "" while streaming
	Usage     *Usage // the usage chunk (often with no choices)
	Err       *streamErr
}

// Usage is the token accounting a server reports at the end of a stream.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// streamErr is an error the server reported inside a 200 stream.
type streamErr struct {
	Code    int    // HTTP-like status when the server gave one (502, 429), else 0
	Message string // the server's words
}

func (e *streamErr) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%d: %s", e.Code, e.Message)
	}
	return e.Message
}

type rawChunk struct {
	Object  string            `json:"object"`
	Message string            `json:"message"` // vLLM {"object":"error","message":…}
	Code    json.RawMessage   `json:"code"`
	Choices []json.RawMessage `json:"choices"`
	Usage   *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

type rawChoice struct {
	Index int `json:"index"`
	Delta struct {
		Content          *string `json:"content"`
		Reasoning        *string `json:"reasoning"`
		ReasoningContent *string `json:"reasoning_content"`
		Refusal          *string `json:"refusal"`
	} `json:"delta"`
	// Some servers (old llama.cpp, text-completion style) put the text in
	// "text" or a full "message"; accept both.
	Text    *string `json:"text"`
	Message *struct {
		Content *string `json:"content"`
	} `json:"message"`
	FinishReason *string         `json:"finish_reason"`
	Error        json.RawMessage `json:"error"`
}

// decodeChunk parses one data line (without the "data:" prefix). It never
// panics on any input; a line that is not a JSON object is ErrMalformed.
func decodeChunk(line []byte) (chunk, error) {
	var c chunk
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return c, fmt.Errorf("%w: not a JSON object: %q", ErrMalformed, clip(string(line), 80))
	}
	var r rawChunk
	if err := json.Unmarshal(line, &r); err != nil {
		return c, fmt.Errorf("%w: invalid JSON chunk %q: %v", ErrMalformed, clip(string(line), 80), err)
	}
	if r.Usage != nil {
		c.Usage = &Usage{PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens}
	}
	if e := decodeStreamErr(r.Error); e != nil {
		c.Err = e
	}
	if r.Object == "error" && c.Err == nil {
		c.Err = &streamErr{Code: codeOf(r.Code), Message: clip(r.Message, 300)}
		if c.Err.Message == "" {
			c.Err.Message = "the server reported an error"
		}
	}
	for _, raw := range r.Choices {
		var ch rawChoice
		if err := json.Unmarshal(raw, &ch); err != nil {
			return chunk{}, fmt.Errorf("%w: invalid choice in chunk %q: %v", ErrMalformed, clip(string(line), 80), err)
		}
		if ch.Index != 0 {
			continue // we ask for one choice; ignore extras
		}
		switch {
		case ch.Delta.Content != nil:
			c.Text += *ch.Delta.Content
		case ch.Text != nil:
			c.Text += *ch.Text
		case ch.Message != nil && ch.Message.Content != nil:
			c.Text += *ch.Message.Content
		}
		if ch.Delta.Reasoning != nil && *ch.Delta.Reasoning != "" || ch.Delta.ReasoningContent != nil && *ch.Delta.ReasoningContent != "" {
			c.Reasoning = true
		}
		if ch.Delta.Refusal != nil {
			c.Refusal += *ch.Delta.Refusal
		}
		if ch.FinishReason != nil {
			c.Finish = *ch.FinishReason
		}
		if e := decodeStreamErr(ch.Error); e != nil && c.Err == nil {
			c.Err = e
		}
	}
	if c.Finish == "error" && c.Err == nil {
		c.Err = &streamErr{Message: "the provider reported an error mid-stream (finish_reason \"error\")"}
	}
	return c, nil
}

// decodeStreamErr reads an "error" member: an object {code, message, type,
// metadata} or a plain string; null or absent is no error.
func decodeStreamErr(raw json.RawMessage) *streamErr {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil
		}
		if s = clip(s, 300); s == "" {
			s = "the server reported an error"
		}
		return &streamErr{Message: s}
	}
	var o struct {
		Code     json.RawMessage `json:"code"`
		Message  json.RawMessage `json:"message"`
		Type     string          `json:"type"`
		Metadata struct {
			ProviderName string          `json:"provider_name"`
			Raw          json.RawMessage `json:"raw"`
		} `json:"metadata"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return &streamErr{Message: clip(string(raw), 200)}
	}
	e := &streamErr{Code: codeOf(o.Code)}
	var msg string
	if json.Unmarshal(o.Message, &msg) != nil {
		msg = strings.TrimSpace(string(o.Message))
	}
	if msg == "" {
		msg = o.Type
	}
	if msg == "" {
		msg = "the server reported an error"
	}
	if o.Metadata.ProviderName != "" {
		msg += " (provider " + o.Metadata.ProviderName + ")"
	}
	e.Message = clip(msg, 300)
	return e
}

// codeOf reads a status-like code given as a number or a numeric string;
// anything else is 0.
func codeOf(raw json.RawMessage) int {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil && f >= 100 && f < 600 {
		return int(f)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if n, err := strconv.Atoi(s); err == nil && n >= 100 && n < 600 {
			return n
		}
	}
	return 0
}
