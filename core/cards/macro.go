package cards

import (
	"strings"
)

// Substitute replaces the name macros of card text, case-insensitively:
// {{char}}, <BOT> and <CHAR> by char; {{user}} and <USER> by user. It drops
// {{// comments}} and writes {{original}} in lower case (the templates
// look for it), and leaves every other macro as written.
func Substitute(text, char, user string) string {
	if !strings.ContainsAny(text, "{<") {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		c := text[i]
		if c != '{' && c != '<' {
			j := i + 1
			for j < len(text) && text[j] != '{' && text[j] != '<' {
				j++
			}
			b.WriteString(text[i:j])
			i = j
			continue
		}
		rest := text[i:]
		switch {
		case hasFold(rest, "{{char}}"):
			b.WriteString(char)
			i += len("{{char}}")
		case hasFold(rest, "{{user}}"):
			b.WriteString(user)
			i += len("{{user}}")
		case hasFold(rest, "{{original}}"):
			b.WriteString("{{original}}")
			i += len("{{original}}")
		case hasFold(rest, "<bot>"):
			b.WriteString(char)
			i += len("<bot>")
		case hasFold(rest, "<char>"):
			b.WriteString(char)
			i += len("<char>")
		case hasFold(rest, "<user>"):
			b.WriteString(user)
			i += len("<user>")
		case strings.HasPrefix(rest, "{{//"):
			if end := strings.Index(rest, "}}"); end >= 0 {
				i += end + 2
				continue
			}
			b.WriteByte(c)
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// hasFold reports whether s starts with prefix, ignoring ASCII case;
// prefix must be ASCII lower case.
func hasFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// SplitExamples splits a mes_example on <START> (any case) into the
// example dialogues, each trimmed; empty ones are dropped.
func SplitExamples(mes string) []string {
	var out []string
	for {
		i := indexFold(mes, "<start>")
		part := mes
		if i >= 0 {
			part = mes[:i]
		}
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
		if i < 0 {
			return out
		}
		mes = mes[i+len("<start>"):]
	}
}

// indexFold is strings.Index ignoring ASCII case; sub must be ASCII.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if hasFold(s[i:], sub) {
			return i
		}
	}
	return -1
}
