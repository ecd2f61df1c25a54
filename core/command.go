package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Command is a proposed change of state: the one vocabulary shared by Lua
// rules, the model's state updates, pack tests and the CLI. Decide validates
// it against the state and turns it into events, or rejects it.
type Command struct {
	Op        string   `json:"op"`
	Who       string   `json:"who,omitempty"`
	Location  string   `json:"location,omitempty"`
	Container string   `json:"container,omitempty"`
	Slot      string   `json:"slot,omitempty"`
	Mood      string   `json:"mood,omitempty"`
	Goals     []string `json:"goals,omitempty"`
	Doing     string   `json:"doing,omitempty"`
	Item      string   `json:"item,omitempty"`
	To        string   `json:"to,omitempty"`
	Target    string   `json:"target,omitempty"`
	Affinity  *int     `json:"affinity,omitempty"`
	Trust     *int     `json:"trust,omitempty"`
	Note      string   `json:"note,omitempty"`
	Fact      string   `json:"fact,omitempty"`
	Minutes   *int64   `json:"minutes,omitempty"`
	Kind      string   `json:"kind,omitempty"`
	Label     string   `json:"label,omitempty"`
	Event     string   `json:"event,omitempty"`
	Gist      string   `json:"gist,omitempty"`
	Thread    string   `json:"thread,omitempty"`
	Text      string   `json:"text,omitempty"`
	Memory    int64    `json:"memory,omitempty"`
}

// opFields lists, per op, its required and optional fields (the contract of
// DESIGN.md section 4a). Any other field is an error.
var opFields = map[string]struct{ required, optional []string }{
	"move":           {[]string{"who"}, []string{"location", "container", "slot"}},
	"set_mood":       {[]string{"who", "mood"}, nil},
	"set_goals":      {[]string{"who", "goals"}, nil},
	"set_activity":   {[]string{"who", "doing"}, nil},
	"hold":           {[]string{"who", "item"}, nil},
	"drop":           {[]string{"who", "item"}, nil},
	"give":           {[]string{"who", "to", "item"}, nil},
	"attend":         {[]string{"who", "target"}, nil},
	"adjust":         {[]string{"who", "to"}, []string{"affinity", "trust", "note"}},
	"note_fact":      {[]string{"who", "fact"}, nil},
	"advance_time":   {[]string{"minutes"}, nil},
	"skip":           {[]string{"kind"}, []string{"minutes", "label"}},
	"end_scene":      {nil, nil},
	"start_event":    {[]string{"event"}, []string{"gist"}},
	"complete_event": {[]string{"event"}, []string{"gist"}},
	"cancel_event":   {[]string{"event"}, []string{"gist"}},
	"promote":        {[]string{"event", "to"}, []string{"item", "fact"}},
	"open_thread":    {[]string{"thread", "text"}, nil},
	"resolve_thread": {[]string{"thread"}, nil},
	"pin":            {[]string{"memory"}, nil},
}

// Ops lists the command ops, sorted.
func Ops() []string {
	out := make([]string, 0, len(opFields))
	for op := range opFields {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// Rejection is the error Decide and ParseCommand return: the reason a command
// was refused, naming the field at fault.
type Rejection struct {
	Op     string
	Field  string // may be empty when the command as a whole is at fault
	Reason string
}

func (r *Rejection) Error() string {
	var b strings.Builder
	if r.Op != "" {
		b.WriteString(r.Op)
		b.WriteString(": ")
	}
	if r.Field != "" {
		b.WriteString(r.Field)
		b.WriteString(": ")
	}
	b.WriteString(r.Reason)
	return b.String()
}

func reject(op, field, format string, args ...any) error {
	return &Rejection{Op: op, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// IsRejection reports whether err is (or wraps) a Rejection.
func IsRejection(err error) bool {
	var r *Rejection
	return errors.As(err, &r)
}

// ParseCommand decodes one command from JSON strictly: the op must be known,
// every field must belong to it with the right type, and required fields
// must be present.
func ParseCommand(data []byte) (Command, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&fields); err != nil {
		return Command{}, fmt.Errorf("malformed command JSON: %s", jsonErr(err))
	}
	if dec.More() {
		return Command{}, errors.New("malformed command JSON: trailing data after the object")
	}
	if fields == nil {
		return Command{}, errors.New("malformed command JSON: want an object like {\"op\":\"move\",...}")
	}
	return commandFromFields(fields)
}

// CommandFromMap builds a command from decoded values (a Lua table, a
// model's JSON), with the same strict checks as ParseCommand.
func CommandFromMap(m map[string]any) (Command, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return Command{}, fmt.Errorf("command: %w", err)
	}
	return ParseCommand(b)
}

func commandFromFields(fields map[string]json.RawMessage) (Command, error) {
	rawOp, ok := fields["op"]
	if !ok {
		return Command{}, reject("", "op", "missing (one of %s)", strings.Join(Ops(), ", "))
	}
	var op string
	if err := json.Unmarshal(rawOp, &op); err != nil {
		return Command{}, reject("", "op", "want a string")
	}
	spec, ok := opFields[op]
	if !ok {
		return Command{}, reject("", "op", "unknown op %q (one of %s)", op, strings.Join(Ops(), ", "))
	}
	allowed := map[string]bool{"op": true}
	for _, f := range spec.required {
		allowed[f] = true
	}
	for _, f := range spec.optional {
		allowed[f] = true
	}
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	var c Command
	c.Op = op
	for _, f := range names {
		if !allowed[f] {
			return Command{}, reject(op, f, "unknown field for %s (fields: %s)", op, fieldList(spec.required, spec.optional))
		}
		if f == "op" {
			continue
		}
		if err := setField(&c, f, fields[f]); err != nil {
			return Command{}, reject(op, f, "%v", err)
		}
	}
	for _, f := range spec.required {
		if _, ok := fields[f]; !ok {
			return Command{}, reject(op, f, "required")
		}
	}
	return c, nil
}

func fieldList(req, opt []string) string {
	parts := append([]string(nil), req...)
	for _, o := range opt {
		parts = append(parts, o+"?")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// stringFields are the command's fields that hold one string, by name:
// the parser fills them and Decide's shape check finds a required one
// missing through the same table.
var stringFields = map[string]func(*Command) *string{
	"who":       func(c *Command) *string { return &c.Who },
	"location":  func(c *Command) *string { return &c.Location },
	"container": func(c *Command) *string { return &c.Container },
	"slot":      func(c *Command) *string { return &c.Slot },
	"mood":      func(c *Command) *string { return &c.Mood },
	"doing":     func(c *Command) *string { return &c.Doing },
	"item":      func(c *Command) *string { return &c.Item },
	"to":        func(c *Command) *string { return &c.To },
	"target":    func(c *Command) *string { return &c.Target },
	"note":      func(c *Command) *string { return &c.Note },
	"fact":      func(c *Command) *string { return &c.Fact },
	"kind":      func(c *Command) *string { return &c.Kind },
	"label":     func(c *Command) *string { return &c.Label },
	"event":     func(c *Command) *string { return &c.Event },
	"gist":      func(c *Command) *string { return &c.Gist },
	"thread":    func(c *Command) *string { return &c.Thread },
	"text":      func(c *Command) *string { return &c.Text },
}

func setField(c *Command, name string, raw json.RawMessage) error {
	str := func(dst *string) error {
		if err := json.Unmarshal(raw, dst); err != nil {
			return errors.New("want a string")
		}
		if strings.TrimSpace(*dst) == "" {
			return errors.New("must not be empty")
		}
		return nil
	}
	integer := func() (int64, error) {
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&n); err != nil {
			return 0, errors.New("want a whole number")
		}
		v, err := n.Int64()
		if err != nil {
			return 0, errors.New("want a whole number")
		}
		return v, nil
	}
	if field := stringFields[name]; field != nil {
		return str(field(c))
	}
	switch name {
	case "goals":
		var g []string
		if err := json.Unmarshal(raw, &g); err != nil {
			return errors.New("want a list of strings")
		}
		if g == nil {
			g = []string{}
		}
		c.Goals = g
	case "affinity", "trust":
		v, err := integer()
		if err != nil {
			return err
		}
		iv := int(v)
		if v < -2*MaxScore || v > 2*MaxScore {
			return fmt.Errorf("value out of range: delta %d (want %d..%d)", v, -2*MaxScore, 2*MaxScore)
		}
		if name == "affinity" {
			c.Affinity = &iv
		} else {
			c.Trust = &iv
		}
	case "minutes":
		v, err := integer()
		if err != nil {
			return err
		}
		c.Minutes = &v
	case "memory":
		v, err := integer()
		if err != nil {
			return err
		}
		if v <= 0 {
			return errors.New("want a memory id (a positive number)")
		}
		c.Memory = v
	default:
		return errors.New("unknown field")
	}
	return nil
}

// JSON encodes the command compactly; ParseCommand reads it back.
func (c Command) JSON() []byte {
	if c.Op == "set_goals" && c.Goals == nil {
		c.Goals = []string{}
	}
	b, _ := json.Marshal(c)
	if c.Op == "set_goals" && len(c.Goals) == 0 {
		// omitempty drops an empty list, but goals is required for set_goals.
		b = append(b[:len(b)-1], []byte(`,"goals":[]}`)...)
	}
	return b
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "want an object like {\"op\":\"move\",...}"
	}
	if err.Error() == "EOF" {
		return "empty input"
	}
	return err.Error()
}
