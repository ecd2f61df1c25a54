package lua

import "fmt"

// maxSyntaxLevel bounds how deep a pack file's code may nest, counted by
// syntaxLevel. gopher-lua parses and compiles recursively, with costs that
// grow faster than the depth: before this check a 1 MiB file of nested
// table constructors took 15 s and 1 GiB to load, a chain of 200000 ".."
// a minute, outside every deadline and memory cap (compiling is not a
// call). Reference Lua refuses more than 200 levels ("chunk has too many
// syntax levels"); this limit is looser, so code that runs on Lua runs here.
const maxSyntaxLevel = 1000

// syntaxLevel scans Lua source the way the parser will nest it and returns
// the first line where the level passes maxSyntaxLevel, or 0. The level is
// an upper bound on the parser's nesting: one per open bracket or block
// ( [ { function do if repeat, one per elseif of an open if (the syntax
// tree nests them), plus the operators, field accesses and call or index
// suffixes of every expression still open (the tree nests a chain a.b.c,
// f(x)(y) or 1 + 2 + 3 once per link). A statement boundary, "=", "," or
// ";" ends an expression. Strings and comments are skipped; the scan never
// fails, the parser reports malformed code.
func syntaxLevel(src []byte) int {
	type open struct{ chain, extra int }
	stack := []open{{}}
	level, line := 0, 1
	ended := false // the previous token can end an expression (a name, a literal, a closing bracket)
	top := func() *open { return &stack[len(stack)-1] }
	reset := func() {
		level -= top().chain
		top().chain = 0
	}
	link := func() {
		top().chain++
		level++
	}
	push := func() {
		stack = append(stack, open{})
		level++
	}
	pop := func() {
		if len(stack) > 1 {
			o := stack[len(stack)-1]
			level -= 1 + o.extra + o.chain
			stack = stack[:len(stack)-1]
		}
	}
	// longBracket returns the level of a long bracket [=*[ at i, or -1.
	longBracket := func(i int) int {
		j := i + 1
		for j < len(src) && src[j] == '=' {
			j++
		}
		if j < len(src) && src[j] == '[' {
			return j - i - 1
		}
		return -1
	}
	// skipLong skips a long string or comment of level eq opening at i.
	skipLong := func(i, eq int) int {
		for i += eq + 2; i < len(src); i++ {
			switch src[i] {
			case '\n':
				line++
			case ']':
				j := i + 1
				for j < len(src) && src[j] == '=' {
					j++
				}
				if j < len(src) && src[j] == ']' && j-i-1 == eq {
					return j + 1
				}
			}
		}
		return len(src)
	}
	for i := 0; i < len(src); {
		if level > maxSyntaxLevel {
			return line
		}
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < len(src) && src[i+1] == '-': // comment
			if i+2 < len(src) && src[i+2] == '[' {
				if eq := longBracket(i + 2); eq >= 0 {
					i = skipLong(i+2, eq)
					continue
				}
			}
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '"' || c == '\'':
			if ended {
				link() // f"x": a call
			}
			for i++; i < len(src) && src[i] != c && src[i] != '\n'; i++ {
				if src[i] == '\\' && i+1 < len(src) {
					if src[i+1] == '\n' {
						line++
					}
					i++
				}
			}
			i++
			ended = true
			continue
		case c == '[' && longBracket(i) >= 0:
			if ended {
				link() // f[[x]]: a call
			}
			i = skipLong(i, longBracket(i))
			ended = true
			continue
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(src) && (src[j] == '_' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			word := src[i:j]
			i = j
			switch string(word) {
			case "and", "or", "not":
				link()
				ended = false
			case "function":
				push()
				ended = false
			case "do", "if", "repeat":
				reset()
				push()
				ended = false
			case "elseif":
				reset()
				top().extra++
				level++
				ended = false
			case "end":
				pop()
				ended = true
			case "until":
				pop()
				reset()
				ended = false
			case "local", "return", "then", "else", "while", "for", "in", "break", "goto":
				reset()
				ended = false
			default: // a name, nil, true or false
				if ended {
					reset() // two operands in a row: a new statement
				}
				ended = true
			}
			continue
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			if ended {
				reset()
			}
			for i++; i < len(src); i++ {
				d := src[i]
				if (d == '+' || d == '-') && (src[i-1] == 'e' || src[i-1] == 'E' || src[i-1] == 'p' || src[i-1] == 'P') {
					continue
				}
				if d != '.' && d != '_' && !(d >= '0' && d <= '9') && !(d >= 'a' && d <= 'z') && !(d >= 'A' && d <= 'Z') {
					break
				}
			}
			ended = true
			continue
		}
		switch c {
		case '(', '[', '{':
			if ended {
				link() // a call or an index
			}
			push()
			ended = false
		case ')', ']', '}':
			pop()
			ended = true
		case '=', ',', ';':
			if c == '=' && i+1 < len(src) && src[i+1] == '=' {
				link()
				i++
			} else {
				reset()
			}
			ended = false
		case '.':
			if i+2 < len(src) && src[i+1] == '.' && src[i+2] == '.' { // ...
				i += 2
				if ended {
					reset()
				}
				ended = true
			} else {
				if i+1 < len(src) && src[i+1] == '.' {
					i++
				}
				link()
				ended = false
			}
		default: // + - * / % ^ # < > ~ : and anything the parser will refuse
			if (c == '<' || c == '>' || c == '~') && i+1 < len(src) && src[i+1] == '=' {
				i++
			}
			link()
			ended = false
		}
		i++
	}
	if level > maxSyntaxLevel {
		return line
	}
	return 0
}

// syntaxLevelProblem returns the problem of code nested too deep, or nil.
func syntaxLevelProblem(src []byte, name string) *Problem {
	line := syntaxLevel(src)
	if line == 0 {
		return nil
	}
	return &Problem{File: name, Line: line, Msg: fmt.Sprintf(
		"code nested too deep (more than %d levels of brackets, blocks and operators in open expressions): split it up with local variables or functions", maxSyntaxLevel)}
}
