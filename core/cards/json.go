package cards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// obj is a JSON object read leniently: cards in the wild put numbers in
// strings, strings in lists, null everywhere, and keys as comma strings.
// Getters never fail on a wrong type; they return the zero value.
type obj map[string]json.RawMessage

// decodeObject decodes b as one JSON object, with an error message a user
// can act on (truncated, not an object, trailing garbage).
func decodeObject(b []byte) (obj, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	dec := json.NewDecoder(bytes.NewReader(b))
	var o obj
	if err := dec.Decode(&o); err != nil {
		return nil, jsonProblem(b, err)
	}
	if o == nil {
		return nil, errors.New("not a JSON object (got null)")
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object at byte %d", dec.InputOffset())
	}
	return o, nil
}

// jsonProblem turns a decoding error into one line.
func jsonProblem(b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(b)) == 0:
		return errors.New("empty file: no JSON in it")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		n := fmt.Sprintf("%d bytes", len(b))
		if len(b) == 1 {
			n = "1 byte"
		}
		return fmt.Errorf("truncated JSON: it ends after %s, in the middle of a value", n)
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return fmt.Errorf("want a JSON object, got %s", te.Value)
	}
	return fmt.Errorf("malformed JSON: %v", err)
}

func (o obj) has(k string) bool {
	v, ok := o[k]
	return ok && !isNull(v)
}

func isNull(v json.RawMessage) bool {
	return len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null"
}

// str reads a string; a number or boolean reads as its text.
func (o obj) str(k string) string {
	return rawString(o[k])
}

func rawString(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return clean(s)
		}
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(v)
	}
	return ""
}

// strs reads a list of strings. A string is a comma-separated list (how
// some editors store keys); numbers in the list read as their text; empty
// items are dropped.
func (o obj) strs(k string) []string {
	return rawStrings(o[k], true)
}

// texts reads a list of strings keeping each whole (greetings contain commas).
func (o obj) texts(k string) []string {
	return rawStrings(o[k], false)
}

func rawStrings(v json.RawMessage, split bool) []string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil
	}
	var out []string
	switch v[0] {
	case '"':
		s := rawString(v)
		if !split {
			if strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
			return out
		}
		for _, part := range strings.Split(s, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			return nil
		}
		for _, it := range items {
			s := rawString(it)
			if split {
				s = strings.TrimSpace(s)
			}
			if strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// boolean reads true/false, "true"/"false", 1/0; set says whether it was there.
func (o obj) boolean(k string) (v, set bool) {
	raw := bytes.TrimSpace(o[k])
	switch strings.ToLower(strings.Trim(string(raw), `"`)) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// integer reads a whole number from a number (truncated) or a numeric string.
func (o obj) integer(k string) (int, bool) {
	return rawInt(o[k])
}

func rawInt(v json.RawMessage) (int, bool) {
	s := strings.Trim(string(bytes.TrimSpace(v)), `"`)
	if s == "" || s == "null" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 1e15 || f < -1e15 {
		return 0, false
	}
	return int(f), true
}

// object reads a nested object (nil when absent or not an object).
func (o obj) object(k string) obj {
	v := bytes.TrimSpace(o[k])
	if len(v) == 0 || v[0] != '{' {
		return nil
	}
	var out obj
	if json.Unmarshal(v, &out) != nil {
		return nil
	}
	return out
}

// rest returns the fields of o not named in known, for keeping what we do
// not map (nothing is lost on export).
func (o obj) rest(known ...string) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	for k, v := range o {
		if containsStr(known, k) {
			continue
		}
		if out == nil {
			out = map[string]json.RawMessage{}
		}
		out[k] = v
	}
	return out
}

// keys returns o's keys in a stable order: numerically when they are
// numbers (SillyTavern uids), else as strings.
func (o obj) keys() []string {
	ks := make([]string, 0, len(o))
	for k := range o {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		a, errA := strconv.Atoi(ks[i])
		b, errB := strconv.Atoi(ks[j])
		switch {
		case errA == nil && errB == nil:
			return a < b
		case errA == nil:
			return true
		case errB == nil:
			return false
		}
		return ks[i] < ks[j]
	})
	return ks
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// clean makes card text safe to write into Lua and prompts: valid UTF-8,
// \n line ends, no control characters but tab and newline.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f:
			return -1
		}
		return r
	}, s)
}
