package lua

import (
	"diorama/core"

	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Sentinel errors; a *HookError wraps one of them when it is the cause.
var (
	// ErrTimeout: a call into the pack ran past its deadline.
	ErrTimeout = errors.New("timed out")
	// ErrMemory: a call allocated more than Options.MaxMemory.
	ErrMemory = errors.New("memory limit exceeded")
	// ErrClosed: the pack was closed.
	ErrClosed = errors.New("pack is closed")
	// ErrNoPrompt: CallPrompt named a prompt the pack does not declare.
	ErrNoPrompt = errors.New("no such prompt")
)

// Problem is one thing wrong with a pack, at the place an author can fix it.
type Problem struct {
	File string // the pack's file as given to Load (dir joined with the file's path), or stdlib/NAME.lua
	Line int    // 1-based; 0 when the problem has no line (a missing file)
	Msg  string
}

// String renders "FILE:LINE: msg", the form editors jump to ("FILE:LINE"
// alone when Msg is empty).
func (p Problem) String() string {
	pos := p.File
	if p.File != "" && p.Line > 0 {
		pos += ":" + strconv.Itoa(p.Line)
	}
	switch {
	case pos == "":
		return p.Msg
	case p.Msg == "":
		return pos
	}
	return pos + ": " + p.Msg
}

// LoadError lists every problem found while loading a pack.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// HookError is the error of one call into a pack: which handler failed
// (Hook, declared at Decl), where (File, Line, when known) and why. It wraps
// ErrTimeout, ErrMemory or the *core.Rejection of a refused s.act when one
// of them is the cause.
type HookError struct {
	Hook string  // e.g. `hook "user_message"`, `starts_when of story event "picnic"`, `prompt "system"`
	Decl Problem // where the handler was declared (Msg empty)
	File string  // where it failed; empty when unknown
	Line int
	Msg  string
	Err  error
}

func (e *HookError) Error() string {
	var b strings.Builder
	b.WriteString(e.Hook)
	if e.Decl.File != "" {
		b.WriteString(" (")
		b.WriteString(e.Decl.String())
		b.WriteString(")")
	}
	b.WriteString(": ")
	if e.File != "" {
		b.WriteString(Problem{File: e.File, Line: e.Line, Msg: e.Msg}.String())
	} else {
		b.WriteString(e.Msg)
	}
	return b.String()
}

func (e *HookError) Unwrap() error { return e.Err }

var (
	// "FILE.lua:LINE: message" as gopher-lua and our own raises write it.
	reWhere = regexp.MustCompile(`(?s)^(.+?\.lua):(\d+):\s?(.*)$`)
	// gopher-lua syntax errors: "FILE line:3(column:5) near 'x':   syntax error".
	reSyntax = regexp.MustCompile(`(?s)^(.+?\.lua) line:(\d+)\(column:(\d+)\) near '(.*)':\s+(.*?)\s*$`)
	// gopher-lua syntax errors at the end of the file: "FILE at EOF:   syntax error".
	reSyntaxEOF = regexp.MustCompile(`(?s)^(.+?\.lua) at EOF:\s+(.*?)\s*$`)
)

// splitWhere splits "FILE.lua:LINE: msg" into its parts; ok is false when msg
// carries no position.
func splitWhere(msg string) (file string, line int, rest string, ok bool) {
	m := reWhere.FindStringSubmatch(msg)
	if m == nil {
		return "", 0, msg, false
	}
	n, _ := strconv.Atoi(m[2])
	return m[1], n, m[3], true
}

// sortProblems orders problems by file and line, keeping the order of
// problems on the same line.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}

// didYouMean suggests the closest candidate to s, or "".
func didYouMean(s string, candidates []string) string { return core.DidYouMean(s, candidates) }
