package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// ParseStateUpdate reads the commands a model proposed, leniently in form
// and strictly in content: it accepts a JSON array of commands, an object
// {"commands": [...]}, or a single command object, wrapped in code fences or
// surrounded by prose, and takes the first JSON value it finds. Each element
// is then parsed strictly; the bad ones come back as reasons, never as
// commands. Output with no JSON at all is an error and proposes nothing.
func ParseStateUpdate(raw string) (cmds []Command, rejected []string, err error) {
	text := strings.TrimSpace(raw)
	if text == "" {
		return nil, nil, fmt.Errorf("state update: empty output")
	}
	start := strings.IndexAny(text, "[{")
	if start < 0 {
		return nil, nil, fmt.Errorf("state update: no JSON found in %q", clip(text, 60))
	}
	var v any
	var lastErr error
	// Try each candidate start until one decodes: prose may hold a stray brace.
	for start >= 0 {
		dec := json.NewDecoder(strings.NewReader(text[start:]))
		dec.UseNumber()
		if lastErr = dec.Decode(&v); lastErr == nil {
			break
		}
		next := strings.IndexAny(text[start+1:], "[{")
		if next < 0 {
			return nil, nil, fmt.Errorf("state update: malformed JSON: %v", lastErr)
		}
		start += next + 1
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case map[string]any:
		if c, ok := x["commands"]; ok {
			list, ok := c.([]any)
			if !ok {
				return nil, nil, fmt.Errorf("state update: \"commands\" must be a list")
			}
			items = list
		} else {
			items = []any{x}
		}
	}
	for i, it := range items {
		b, _ := json.Marshal(it)
		c, err := ParseCommand(b)
		if err != nil {
			rejected = append(rejected, fmt.Sprintf("command %d %s: %v", i+1, clip(string(b), 80), err))
			continue
		}
		cmds = append(cmds, c)
	}
	return cmds, rejected, nil
}

func clip(s string, n int) string {
	s = string(bytes.ToValidUTF8([]byte(s), []byte("?")))
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// CommandHelp describes the command vocabulary for a state-update prompt.
func CommandHelp() string { return commandHelp() }

// commandHelp is CommandHelp's text, written once: the vocabulary is fixed.
var commandHelp = sync.OnceValue(func() string {
	var b strings.Builder
	for _, op := range Ops() {
		spec := opFields[op]
		fmt.Fprintf(&b, "- %s: %s\n", op, fieldList(spec.required, spec.optional))
	}
	return b.String()
})
