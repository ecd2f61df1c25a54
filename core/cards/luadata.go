package cards

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// This file writes card text as Lua literals and reads a module's
// `return { ... }` table back without running any Lua: export-card reads
// the card part of a character module that way, so a pack's code never
// runs outside the sandbox.

// luaString renders s as a Lua string literal: a long bracket string for
// multi-line text (readable, no escapes), a quoted string otherwise.
func luaString(s string) string {
	if strings.Contains(s, "\n") && !strings.ContainsAny(s, "\r\x00") {
		eqs := ""
		for {
			closer := "]" + eqs + "]"
			if !strings.Contains(s+closer[:len(closer)-1], closer) {
				break
			}
			eqs += "="
		}
		// The newline after the opening bracket is skipped by Lua: s is kept whole.
		return "[" + eqs + "[\n" + s + "]" + eqs + "]"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\%03d`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// luaList renders a list of strings on one line: { "a", "b" }.
func luaList(items []string) string {
	if len(items) == 0 {
		return "{}"
	}
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = luaString(s)
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// luaComment renders text as Lua line comments, one per line, with prefix.
func luaComment(prefix, text string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(strings.TrimRight(prefix+"-- "+line, " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// reading

// MaxLuaData caps the size of a module ParseReturnTable reads.
const MaxLuaData = 4 << 20

// ErrNoTable: the module does not end with `return { ... }`.
var ErrNoTable = errors.New("the module does not end with `return { ... }`")

// ParseReturnTable reads the table a Lua module returns with its last
// statement, `return { ... }`, without running the module. The table may
// hold only literals: strings (quoted or long brackets, joined with ..),
// numbers, booleans, nil and tables. A list becomes []any, a record
// map[string]any (list items of a mixed table are keyed "1", "2", ...).
func ParseReturnTable(src []byte) (map[string]any, error) {
	if len(src) > MaxLuaData {
		return nil, fmt.Errorf("%w: %s of Lua", ErrTooLarge, size(int64(len(src))))
	}
	toks, err := lexLua(string(src))
	if err != nil {
		return nil, err
	}
	at := -1
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].kind == tName && toks[i].text == "return" {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, ErrNoTable
	}
	p := &luaParser{toks: toks, i: at + 1}
	if !p.is(tSym, "{") {
		return nil, ErrNoTable
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if p.is(tSym, ";") {
		p.i++
	}
	if p.i < len(p.toks) {
		return nil, p.errorf("unexpected %q after the returned table", p.toks[p.i].text)
	}
	switch t := v.(type) {
	case map[string]any:
		return t, nil
	case []any:
		if len(t) == 0 {
			return map[string]any{}, nil
		}
	}
	return nil, errors.New("the module returns a list, not a table of named fields")
}

type tokKind int

const (
	tName tokKind = iota
	tString
	tNumber
	tSym
)

type luaTok struct {
	kind tokKind
	text string // the name, symbol, number text or the string's value
	line int
}

// lexLua splits Lua source into tokens, dropping comments.
func lexLua(s string) ([]luaTok, error) {
	var toks []luaTok
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			i += 2
			if lvl, ok := longOpen(s[i:]); ok {
				_, n, err := longBody(s, i+lvl+2, lvl)
				if err != nil {
					return nil, fmt.Errorf("line %d: unfinished long comment", line)
				}
				line += strings.Count(s[i:n], "\n")
				i = n
				continue
			}
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			v, n, err := quoted(s, i)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", line, err)
			}
			toks = append(toks, luaTok{tString, v, line})
			i = n
		case c == '[':
			if lvl, ok := longOpen(s[i:]); ok {
				start := i + lvl + 2
				body, n, err := longBody(s, start, lvl)
				if err != nil {
					return nil, fmt.Errorf("line %d: unfinished long string", line)
				}
				toks = append(toks, luaTok{tString, body, line})
				line += strings.Count(s[i:n], "\n")
				i = n
				continue
			}
			toks = append(toks, luaTok{tSym, "[", line})
			i++
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '.' || ((s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E'))) {
				j++
			}
			toks = append(toks, luaTok{tNumber, s[i:j], line})
			i = j
		case isAlpha(c):
			j := i
			for j < len(s) && isAlnum(s[j]) {
				j++
			}
			toks = append(toks, luaTok{tName, s[i:j], line})
			i = j
		case strings.HasPrefix(s[i:], ".."):
			n := 2
			if strings.HasPrefix(s[i:], "...") {
				n = 3
			}
			toks = append(toks, luaTok{tSym, s[i : i+n], line})
			i += n
		case strings.HasPrefix(s[i:], "==") || strings.HasPrefix(s[i:], "~=") || strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">="):
			toks = append(toks, luaTok{tSym, s[i : i+2], line})
			i += 2
		default:
			toks = append(toks, luaTok{tSym, s[i : i+1], line})
			i++
		}
	}
	return toks, nil
}

// longOpen reports whether s starts a long bracket "[[" or "[==[" and its level.
func longOpen(s string) (int, bool) {
	if !strings.HasPrefix(s, "[") {
		return 0, false
	}
	n := 1
	for n < len(s) && s[n] == '=' {
		n++
	}
	if n < len(s) && s[n] == '[' {
		return n - 1, true
	}
	return 0, false
}

// longBody reads a long bracket body from start up to "]" + level "=" + "]",
// returning the text (a first newline skipped, as Lua does) and where it ends.
func longBody(s string, start, level int) (string, int, error) {
	closer := "]" + strings.Repeat("=", level) + "]"
	end := strings.Index(s[start:], closer)
	if end < 0 {
		return "", 0, errors.New("unfinished")
	}
	body := s[start : start+end]
	if strings.HasPrefix(body, "\r\n") {
		body = body[2:]
	} else if strings.HasPrefix(body, "\n") {
		body = body[1:]
	}
	return strings.ReplaceAll(body, "\r\n", "\n"), start + end + len(closer), nil
}

// quoted reads a quoted string starting at s[i] with Lua 5.1 escapes.
func quoted(s string, i int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == q:
			return b.String(), j + 1, nil
		case c == '\n':
			return "", 0, errors.New("unfinished string")
		case c == '\\':
			j++
			if j >= len(s) {
				return "", 0, errors.New("unfinished string")
			}
			switch e := s[j]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case '\\', '"', '\'', '\n':
				b.WriteByte(e)
			default:
				if !isDigit(e) {
					return "", 0, fmt.Errorf("invalid escape \\%c in a string", e)
				}
				k, n := j, 0
				for k < len(s) && k < j+3 && isDigit(s[k]) {
					n = n*10 + int(s[k]-'0')
					k++
				}
				if n > 255 {
					return "", 0, errors.New("escape \\ddd over 255 in a string")
				}
				b.WriteByte(byte(n))
				j = k - 1
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unfinished string")
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

type luaParser struct {
	toks []luaTok
	i    int
}

func (p *luaParser) is(k tokKind, text string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == k && p.toks[p.i].text == text
}

func (p *luaParser) errorf(format string, args ...any) error {
	line := 0
	if p.i < len(p.toks) {
		line = p.toks[p.i].line
	} else if len(p.toks) > 0 {
		line = p.toks[len(p.toks)-1].line
	}
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

const maxLuaDepth = 32

// value reads one literal: a string (with .. joins), a number, true,
// false, nil or a table.
func (p *luaParser) value(depth int) (any, error) {
	if depth > maxLuaDepth {
		return nil, p.errorf("tables nested too deep")
	}
	if p.i >= len(p.toks) {
		return nil, p.errorf("unexpected end of the module")
	}
	t := p.toks[p.i]
	switch {
	case t.kind == tString || t.kind == tNumber:
		var b strings.Builder
		var num any
		for {
			t := p.toks[p.i]
			switch t.kind {
			case tString:
				b.WriteString(t.text)
			case tNumber:
				f, err := strconv.ParseFloat(t.text, 64)
				if err != nil {
					if n, err2 := strconv.ParseInt(t.text, 0, 64); err2 == nil {
						f = float64(n)
					} else {
						return nil, p.errorf("bad number %q", t.text)
					}
				}
				num = f
				b.WriteString(t.text)
			default:
				return nil, p.errorf("want a string after .., got %q", t.text)
			}
			p.i++
			if !p.is(tSym, "..") {
				break
			}
			num = nil
			p.i++
			if p.i >= len(p.toks) {
				return nil, p.errorf("unexpected end after ..")
			}
		}
		if num != nil {
			return num, nil
		}
		return b.String(), nil
	case t.kind == tSym && t.text == "-":
		p.i++
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		f, ok := v.(float64)
		if !ok {
			return nil, p.errorf("want a number after -")
		}
		return -f, nil
	case t.kind == tName && (t.text == "true" || t.text == "false"):
		p.i++
		return t.text == "true", nil
	case t.kind == tName && t.text == "nil":
		p.i++
		return nil, nil
	case t.kind == tSym && t.text == "{":
		return p.table(depth + 1)
	}
	return nil, p.errorf("export-card reads this table as plain data: found %q (a variable or a call?); use literal strings, numbers and tables", t.text)
}

func (p *luaParser) table(depth int) (any, error) {
	p.i++ // {
	var list []any
	rec := map[string]any{}
	for {
		if p.is(tSym, "}") {
			p.i++
			break
		}
		if p.i >= len(p.toks) {
			return nil, p.errorf("unfinished table: want }")
		}
		switch {
		case p.is(tSym, "["):
			p.i++
			k, err := p.value(depth)
			if err != nil {
				return nil, err
			}
			if !p.is(tSym, "]") {
				return nil, p.errorf("want ] after a table key")
			}
			p.i++
			if !p.is(tSym, "=") {
				return nil, p.errorf("want = after [key]")
			}
			p.i++
			v, err := p.value(depth)
			if err != nil {
				return nil, err
			}
			if v != nil {
				rec[fmt.Sprint(k)] = v
			}
		case p.i+1 < len(p.toks) && p.toks[p.i].kind == tName && p.toks[p.i+1].kind == tSym && p.toks[p.i+1].text == "=":
			name := p.toks[p.i].text
			p.i += 2
			v, err := p.value(depth)
			if err != nil {
				return nil, err
			}
			if v != nil {
				rec[name] = v
			}
		default:
			v, err := p.value(depth)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if p.is(tSym, ",") || p.is(tSym, ";") {
			p.i++
			continue
		}
		if !p.is(tSym, "}") {
			if p.i >= len(p.toks) {
				return nil, p.errorf("unfinished table: want }")
			}
			return nil, p.errorf("want , or } in a table, got %q", p.toks[p.i].text)
		}
	}
	if len(rec) == 0 {
		if list == nil {
			list = []any{}
		}
		return list, nil
	}
	for i, v := range list {
		rec[strconv.Itoa(i+1)] = v
	}
	return rec, nil
}

// Helpers to read a parsed table.

func tableString(t map[string]any, k string) string {
	if s, ok := t[k].(string); ok {
		return s
	}
	if f, ok := t[k].(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}

func tableStrings(t map[string]any, k string) []string {
	var out []string
	switch v := t[k].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case string:
		if v != "" {
			out = append(out, v)
		}
	case map[string]any: // a list with holes or named keys: the numbered items, in order
		var ks []int
		for k := range v {
			if n, err := strconv.Atoi(k); err == nil {
				ks = append(ks, n)
			}
		}
		sort.Ints(ks)
		for _, n := range ks {
			if s, ok := v[strconv.Itoa(n)].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func tableInt(t map[string]any, k string) (int, bool) {
	f, ok := t[k].(float64)
	if !ok || f != f || f > 1e9 || f < -1e9 {
		return 0, false
	}
	return int(f), true
}
