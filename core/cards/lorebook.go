package cards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Lorebook is a lorebook of any origin: a card's character_book, a
// standalone lorebook_v3, or a SillyTavern World Info file.
type Lorebook struct {
	Spec              string // SpecBook (embedded or bare), SpecLorebook, SpecWorld
	Name              string
	Description       string
	ScanDepth         int // 0: unset
	TokenBudget       int // 0: unset
	RecursiveScanning *bool
	Entries           []Entry
	Extensions        map[string]json.RawMessage
	Extra             map[string]json.RawMessage
}

// Entry is one lorebook entry, normalised from V2/V3 snake_case or
// SillyTavern camelCase.
type Entry struct {
	ID            string // id / uid as written ("" when absent)
	Name          string
	Comment       string
	Keys          []string
	SecondaryKeys []string
	Selective     bool   // secondary keys apply
	Logic         string // "and_any" (default), "and_all", "not_any", "not_all"
	Content       string // decorators removed
	Decorators    []Decorator
	Constant      bool
	Enabled       bool
	Order         int  // insertion_order / order
	Priority      int  // V2/V3 priority
	HasPriority   bool // priority was given
	CaseSensitive *bool
	UseRegex      bool
	WholeWords    *bool  // SillyTavern matchWholeWords (nil: the default, whole words)
	Position      string // "before_char", "after_char", or SillyTavern's number as text

	// Kept verbatim: the entry's extensions and fields with no mapping
	// (depth, probability, group, ...).
	Extensions map[string]json.RawMessage
	Extra      map[string]json.RawMessage
}

// Decorator is a V3 @@decorator line at the start of an entry's content,
// with the @@@ fallbacks that follow it.
type Decorator struct {
	Name      string
	Value     string
	Fallbacks []Decorator
}

// String renders the decorator as written: "@@depth 4".
func (d Decorator) String() string {
	if d.Value == "" {
		return "@@" + d.Name
	}
	return "@@" + d.Name + " " + d.Value
}

// MaxEntries caps the entries read from one lorebook.
const MaxEntries = 20000

var bookFields = []string{"name", "description", "scan_depth", "token_budget", "recursive_scanning", "extensions", "entries"}

// bookFrom reads a lorebook object: entries as a list (V2/V3) or as an
// object keyed by uid (SillyTavern).
func bookFrom(o obj, spec string) (*Lorebook, error) {
	lb := &Lorebook{Spec: spec, Name: strings.TrimSpace(o.str("name")), Description: o.str("description"),
		Extra: o.rest(bookFields...)}
	lb.ScanDepth, _ = o.integer("scan_depth")
	lb.TokenBudget, _ = o.integer("token_budget")
	if v, ok := o.boolean("recursive_scanning"); ok {
		lb.RecursiveScanning = &v
	}
	if ext := o.object("extensions"); len(ext) > 0 {
		lb.Extensions = ext
	}
	raw := bytes.TrimSpace(o["entries"])
	var items []json.RawMessage
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '[':
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("entries: %v", err)
		}
	case raw[0] == '{':
		m := obj{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("entries: %v", err)
		}
		for _, k := range m.keys() {
			items = append(items, m[k])
		}
	default:
		return nil, errors.New("entries: want a list or an object of entries")
	}
	if len(items) > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries (at most %d)", ErrTooLarge, len(items), MaxEntries)
	}
	for i, it := range items {
		var eo obj
		if err := json.Unmarshal(it, &eo); err != nil || eo == nil {
			return nil, fmt.Errorf("entry %d: not an object", i+1)
		}
		lb.Entries = append(lb.Entries, entryFrom(eo))
	}
	return lb, nil
}

// The entry fields that map onto Entry (both spellings).
var entryFields = []string{"id", "uid", "name", "comment", "keys", "key", "secondary_keys", "keysecondary",
	"selective", "selectiveLogic", "content", "constant", "enabled", "disable", "insertion_order", "order",
	"priority", "case_sensitive", "caseSensitive", "use_regex", "matchWholeWords", "position", "extensions"}

func entryFrom(o obj) Entry {
	pick := func(a, b string) string {
		if o.has(a) {
			return a
		}
		return b
	}
	e := Entry{
		ID:   o.str(pick("id", "uid")),
		Name: strings.TrimSpace(o.str("name")), Comment: strings.TrimSpace(o.str("comment")),
		Keys:          o.strs(pick("keys", "key")),
		SecondaryKeys: o.strs(pick("secondary_keys", "keysecondary")),
		Enabled:       true,
		Position:      o.str("position"),
		Extra:         o.rest(entryFields...),
	}
	ext := o.object("extensions")
	if len(ext) > 0 {
		e.Extensions = ext
	}
	e.Selective, _ = o.boolean("selective")
	if !o.has("selective") && len(e.SecondaryKeys) > 0 {
		e.Selective = true
	}
	e.Logic = logicName(o["selectiveLogic"])
	if e.Logic == "" && ext != nil {
		e.Logic = logicName(ext["selectiveLogic"])
	}
	if e.Logic == "" {
		e.Logic = "and_any"
	}
	e.Constant, _ = o.boolean("constant")
	if v, ok := o.boolean("enabled"); ok {
		e.Enabled = v
	}
	if v, ok := o.boolean("disable"); ok && v {
		e.Enabled = false
	}
	e.Order, _ = o.integer(pick("insertion_order", "order"))
	e.Priority, e.HasPriority = o.integer("priority")
	for _, src := range []obj{o, ext} {
		for _, k := range []string{"case_sensitive", "caseSensitive"} {
			if v, ok := src.boolean(k); ok && e.CaseSensitive == nil {
				e.CaseSensitive = &v
			}
		}
		for _, k := range []string{"matchWholeWords", "match_whole_words"} {
			if v, ok := src.boolean(k); ok && e.WholeWords == nil {
				e.WholeWords = &v
			}
		}
	}
	e.UseRegex, _ = o.boolean("use_regex")
	e.Decorators, e.Content = parseDecorators(o.str("content"))
	return e
}

// logicName reads a selective logic: SillyTavern's number (0 AND ANY,
// 1 NOT ALL, 2 NOT ANY, 3 AND ALL) or a name.
func logicName(v json.RawMessage) string {
	if n, ok := rawInt(v); ok {
		switch n {
		case 0:
			return "and_any"
		case 1:
			return "not_all"
		case 2:
			return "not_any"
		case 3:
			return "and_all"
		}
		return ""
	}
	s := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(rawString(v)), " ", "_"))
	switch s {
	case "and_any", "and_all", "not_any", "not_all":
		return s
	}
	return ""
}

// MaxDecorators caps the decorator lines read from one entry.
const MaxDecorators = 64

// parseDecorators splits the V3 decorators off the start of content:
// lines "@@name value" (and "@@@name value" fallbacks of the decorator
// before), then the content with the blank lines around it trimmed.
func parseDecorators(content string) ([]Decorator, string) {
	if !strings.HasPrefix(strings.TrimLeft(content, " \t\n"), "@@") {
		return nil, content
	}
	var decs []Decorator
	rest := strings.TrimLeft(content, " \t\n")
	for strings.HasPrefix(rest, "@@") && len(decs) < MaxDecorators {
		line, after, _ := strings.Cut(rest, "\n")
		fallback := strings.HasPrefix(line, "@@@")
		body := strings.TrimSpace(strings.TrimLeft(line, "@"))
		name, value, _ := strings.Cut(body, " ")
		d := Decorator{Name: strings.ToLower(strings.TrimSpace(name)), Value: strings.TrimSpace(value)}
		switch {
		case d.Name == "":
		case fallback && len(decs) > 0:
			last := &decs[len(decs)-1]
			if len(last.Fallbacks) < MaxDecorators {
				last.Fallbacks = append(last.Fallbacks, d)
			}
		default:
			decs = append(decs, d)
		}
		rest = after
		if t := strings.TrimLeft(rest, " \t"); strings.HasPrefix(t, "@@") {
			rest = t
		}
	}
	return decs, strings.Trim(rest, "\n")
}
