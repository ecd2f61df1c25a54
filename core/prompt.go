package core

import (
	"fmt"
	"sort"
	"strings"
)

// Section is one part of a prompt, as a template returns it. Templates list
// sections from the most stable (system, persona, world) to the least stable
// (retrieved memories, the latest lines), so that consecutive prompts of a
// bot share a long prefix a server can cache.
type Section struct {
	Name     string
	Role     string // "system" (default), "user" or "assistant"
	Priority int    // higher survives longer when the budget is tight
	Text     string
	// Items, when set, replace Text: one entry per line, trimmed oldest
	// first when the budget is tight instead of dropping the whole section.
	Items []SectionItem
	// Memories and Events list ids the section carries, for the manifest.
	Memories []int64
	Events   []int64
	Edges    []string
}

// SectionItem is one line of a list section, with the ids behind it.
type SectionItem struct {
	Text   string
	Memory int64
	Event  int64
}

// Prompt is a built prompt: chat messages within budget and the manifest
// saying what went in.
type Prompt struct {
	Messages []Message
	Manifest Manifest
}

// Text renders the prompt as one string ("[role]\ncontent" blocks): what
// tests assert on and `diorama prompt` shows.
func (p Prompt) Text() string {
	var b strings.Builder
	for i, m := range p.Messages {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "[%s]\n%s", m.Role, m.Content)
	}
	return b.String()
}

// Manifest says which sections, memories, events and edges went into a
// prompt, with token counts. It is how tests prove that nothing outside the
// speaker's point of view went in.
type Manifest struct {
	Speaker  string          `json:"speaker"`
	Template string          `json:"template"`
	Budget   int             `json:"budget"`
	Tokens   int             `json:"tokens"`
	Sections []SectionReport `json:"sections"`
	Memories []int64         `json:"memories"`
	Events   []int64         `json:"events"`
	Edges    []string        `json:"edges"`
	Scores   []MemoryScore   `json:"scores,omitempty"`
	Lore     []LoreHit       `json:"lore,omitempty"` // lore entries that went in, and the key that fired each
}

// SectionReport is one section's line in the manifest.
type SectionReport struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Priority int    `json:"priority"`
	Tokens   int    `json:"tokens"`
	Included bool   `json:"included"`
	Trimmed  int    `json:"trimmed,omitempty"` // items dropped from the front
}

// MemoryScore is why a memory was chosen: its score and the parts of it.
type MemoryScore struct {
	ID    int64              `json:"id"`
	Score float64            `json:"score"`
	Parts map[string]float64 `json:"parts,omitempty"`
}

// RequiredPriority: sections at or above it are never dropped; a prompt
// whose required sections exceed the budget is an error, not a silent cut.
const RequiredPriority = 100

// messageOverhead is the tokens a chat message costs beyond its text
// (role markers and separators in common chat templates).
const messageOverhead = 4

// BuildPrompt fits sections to budget tokens, dropping the lowest priority
// first (among equals, the least stable, i.e. the latest), trimming list
// sections oldest item first, and merges consecutive sections of the same
// role into one message. count estimates tokens; it must not under-count.
func BuildPrompt(sections []Section, budget int, count func(string) int) (Prompt, error) {
	type part struct {
		sec     Section
		items   []SectionItem
		text    string // the section's text as it stands (items joined by newlines)
		tokens  int    // count(text)
		dropped bool
		trimmed int
	}
	parts := make([]*part, len(sections))
	for i, s := range sections {
		if s.Role == "" {
			s.Role = "system"
		}
		if s.Role != "system" && s.Role != "user" && s.Role != "assistant" {
			return Prompt{}, fmt.Errorf("section %q: role %q: want system, user or assistant", s.Name, s.Role)
		}
		p := &part{sec: s, items: append([]SectionItem(nil), s.Items...), text: s.Text}
		if len(s.Items) > 0 {
			lines := make([]string, len(s.Items))
			for i, it := range s.Items {
				lines[i] = it.Text
			}
			p.text = strings.Join(lines, "\n")
		}
		p.tokens = count(p.text)
		parts[i] = p
	}
	joint := count("\n\n")
	total := func() int {
		n, prevRole := 0, ""
		for _, p := range parts {
			if p.dropped || p.text == "" {
				continue
			}
			n += p.tokens
			if p.sec.Role != prevRole {
				n += messageOverhead
				prevRole = p.sec.Role
			} else {
				n += joint
			}
		}
		return n
	}
	// Drop order: lowest priority first; among equals, the latest first.
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		pa, pb := parts[order[a]].sec.Priority, parts[order[b]].sec.Priority
		if pa != pb {
			return pa < pb
		}
		return order[a] > order[b]
	})
	for oi := 0; total() > budget; {
		if oi >= len(order) || parts[order[oi]].sec.Priority >= RequiredPriority {
			return Prompt{}, fmt.Errorf("prompt does not fit its budget of %d tokens: the required sections alone need %d (raise the context size or shorten the persona)", budget, total())
		}
		p := parts[order[oi]]
		if len(p.items) > 1 {
			// The text without its first item: that item and the newline
			// joining it to the rest.
			p.text = p.text[len(p.items[0].Text)+1:]
			p.tokens = count(p.text)
			p.items = p.items[1:]
			p.trimmed++
			continue
		}
		p.dropped = true
		oi++
	}
	var pr Prompt
	pr.Manifest.Budget = budget
	pr.Manifest.Memories = []int64{}
	pr.Manifest.Events = []int64{}
	pr.Manifest.Edges = []string{}
	seenMem, seenEv, seenEdge := map[int64]bool{}, map[int64]bool{}, map[string]bool{}
	addMem := func(id int64) {
		if id != 0 && !seenMem[id] {
			seenMem[id] = true
			pr.Manifest.Memories = append(pr.Manifest.Memories, id)
		}
	}
	addEv := func(id int64) {
		if id != 0 && !seenEv[id] {
			seenEv[id] = true
			pr.Manifest.Events = append(pr.Manifest.Events, id)
		}
	}
	for _, p := range parts {
		t := p.text
		included := !p.dropped && t != ""
		pr.Manifest.Sections = append(pr.Manifest.Sections, SectionReport{Name: p.sec.Name, Role: p.sec.Role,
			Priority: p.sec.Priority, Tokens: p.tokens, Included: included, Trimmed: p.trimmed})
		if !included {
			continue
		}
		if n := len(pr.Messages); n > 0 && pr.Messages[n-1].Role == p.sec.Role {
			pr.Messages[n-1].Content += "\n\n" + t
		} else {
			pr.Messages = append(pr.Messages, Message{Role: p.sec.Role, Content: t})
		}
		if len(p.sec.Items) > 0 {
			for _, it := range p.items {
				addMem(it.Memory)
				addEv(it.Event)
			}
		}
		for _, id := range p.sec.Memories {
			addMem(id)
		}
		for _, id := range p.sec.Events {
			addEv(id)
		}
		for _, e := range p.sec.Edges {
			if !seenEdge[e] {
				seenEdge[e] = true
				pr.Manifest.Edges = append(pr.Manifest.Edges, e)
			}
		}
	}
	pr.Manifest.Tokens = total()
	return pr, nil
}

// SectionsFromValue converts a template's result (decoded from Lua: a list
// of tables) into sections, strictly: unknown keys are errors.
func SectionsFromValue(v any) ([]Section, error) {
	list, ok := v.([]any)
	if !ok {
		if m, isMap := v.(map[string]any); isMap && len(m) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("template must return a list of sections, got %T", v)
	}
	out := make([]Section, 0, len(list))
	for i, raw := range list {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("section %d: want a table, got %T", i+1, raw)
		}
		var s Section
		for k, val := range m {
			var err error
			switch k {
			case "name":
				s.Name, err = asString(val)
			case "role":
				s.Role, err = asString(val)
			case "text":
				s.Text, err = asString(val)
			case "priority":
				var f float64
				f, err = asNumber(val)
				s.Priority = int(f)
			case "items":
				s.Items, err = asItems(val)
			case "memories":
				s.Memories, err = asIDs(val)
			case "events":
				s.Events, err = asIDs(val)
			case "edges":
				s.Edges, err = asStrings(val)
			case "memory", "line":
				// One section per memory or line: the id it renders.
				var f float64
				if f, err = asNumber(val); err == nil {
					if k == "memory" {
						s.Memories = append(s.Memories, int64(f))
					} else {
						s.Events = append(s.Events, int64(f))
					}
				}
			default:
				err = fmt.Errorf("unknown key (name, role, priority, text, items, memories, events, edges, memory, line)")
			}
			if err != nil {
				return nil, fmt.Errorf("section %d (%s): %s: %w", i+1, s.Name, k, err)
			}
		}
		if s.Name == "" {
			return nil, fmt.Errorf("section %d: name is required", i+1)
		}
		out = append(out, s)
	}
	return out, nil
}

func asString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %T", v)
	}
	return s, nil
}

func asNumber(v any) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	}
	return 0, fmt.Errorf("want a number, got %T", v)
}

func asList(v any) ([]any, error) {
	switch l := v.(type) {
	case []any:
		return l, nil
	case map[string]any:
		if len(l) == 0 {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("want a list, got %T", v)
}

func asStrings(v any) ([]string, error) {
	l, err := asList(v)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, err := asString(x)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func asIDs(v any) ([]int64, error) {
	l, err := asList(v)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(l))
	for _, x := range l {
		f, err := asNumber(x)
		if err != nil {
			return nil, err
		}
		out = append(out, int64(f))
	}
	return out, nil
}

func asItems(v any) ([]SectionItem, error) {
	l, err := asList(v)
	if err != nil {
		return nil, err
	}
	out := make([]SectionItem, 0, len(l))
	for i, x := range l {
		switch it := x.(type) {
		case string:
			out = append(out, SectionItem{Text: it})
		case map[string]any:
			var si SectionItem
			for k, val := range it {
				var err error
				var f float64
				switch k {
				case "text":
					si.Text, err = asString(val)
				case "memory":
					f, err = asNumber(val)
					si.Memory = int64(f)
				case "event":
					f, err = asNumber(val)
					si.Event = int64(f)
				default:
					err = fmt.Errorf("unknown key %q (text, memory, event)", k)
				}
				if err != nil {
					return nil, fmt.Errorf("item %d: %w", i+1, err)
				}
			}
			out = append(out, si)
		default:
			return nil, fmt.Errorf("item %d: want a string or a table, got %T", i+1, x)
		}
	}
	return out, nil
}
