package lua

// The string and table builtins that can allocate without bound or loop
// without returning to the VM, rewritten with caps. find, match, gmatch and
// gsub follow gopher-lua's stringlib (MIT licence, Copyright (c) 2015 Yusuke
// Inuzuka) on top of the budgeted matcher in internal/pm.

import (
	"fmt"
	"strings"
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"diorama/lua/internal/pm"
)

func readOnlyBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func (p *Pack) match(L *glua.LState, pattern, str string, offset, limit int) []*pm.MatchData {
	mds, err := pm.Find(pattern, readOnlyBytes(str), offset, limit, &pm.Budget{Check: p.checkBudget})
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return mds
}

func (p *Pack) strRep(L *glua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	if n <= 0 || s == "" {
		L.Push(glua.LString(""))
		return 1
	}
	if n > maxString/len(s) {
		L.RaiseError("string.rep: result would be %s (limit %s)", sizeString(int64(len(s))*int64(n)), sizeString(maxString))
	}
	p.charge(L, "string.rep", len(s)*n)
	L.Push(glua.LString(strings.Repeat(s, n)))
	return 1
}

func (p *Pack) strByte(L *glua.LState) int {
	s := L.CheckString(1)
	i := strIndex(s, L.OptInt(2, 1), true)
	j := strIndex(s, L.OptInt(3, L.OptInt(2, 1)), false)
	if j < i {
		return 0
	}
	if j-i > maxResults {
		L.RaiseError("string.byte: too many results (%d, limit %d)", j-i, maxResults)
	}
	for k := i; k < j; k++ {
		L.Push(glua.LNumber(s[k]))
	}
	return j - i
}

// strIndex converts a Lua string index (1-based, negative from the end) to
// a Go one: a start offset, or an exclusive end.
func strIndex(s string, i int, start bool) int {
	if start && i != 0 {
		i--
	}
	l := len(s)
	if i < 0 {
		i = l + i + 1
	}
	i = max(0, i)
	if i > l {
		i = l
	}
	return i
}

// strFormat is Lua 5.1's string.format: flags "-+ #0", width and precision
// of at most two digits each (so "%999999999d" cannot allocate a gigabyte),
// and only Lua's conversions (Go's %v, %T and %p would leak internals).
func (p *Pack) strFormat(L *glua.LState) int {
	f := L.CheckString(1)
	arg := 1
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			L.RaiseError("invalid option '%%' at the end of the format string")
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		start := i
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		if i-start > 5 {
			L.RaiseError("invalid format (repeated flags)")
		}
		digits := func() {
			n := 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
				n++
			}
			if n > 2 {
				L.RaiseError("invalid format (width or precision longer than two digits)")
			}
		}
		digits()
		if i < len(f) && f[i] == '.' {
			i++
			digits()
		}
		if i >= len(f) {
			L.RaiseError("invalid format (missing conversion)")
		}
		spec := "%" + f[start:i]
		conv := f[i]
		arg++
		switch conv {
		case 'd', 'i', 'u':
			n := L.CheckNumber(arg)
			fmt.Fprintf(&b, spec+"d", int64(n))
		case 'c':
			b.WriteByte(byte(L.CheckInt(arg)))
		case 'o', 'x', 'X':
			n := L.CheckNumber(arg)
			fmt.Fprintf(&b, spec+string(conv), uint64(int64(n)))
		case 'e', 'E', 'f', 'g', 'G':
			n := L.CheckNumber(arg)
			fmt.Fprintf(&b, spec+string(conv), float64(n))
		case 'q':
			b.WriteString(quoteLua(L.CheckString(arg)))
		case 's':
			fmt.Fprintf(&b, spec+"s", p.toString(L, L.CheckAny(arg)))
		default:
			L.RaiseError("invalid option '%%%c' to 'format' (Lua conversions: d i u c o x X e E f g G q s)", conv)
		}
		if b.Len() > maxString {
			L.RaiseError("string.format: result longer than %s", sizeString(maxString))
		}
	}
	p.charge(L, "string.format", b.Len())
	L.Push(glua.LString(b.String()))
	return 1
}

// quoteLua quotes s the way %q does: readable back by Lua.
func quoteLua(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString("\\n")
		case '\r':
			b.WriteString("\\r")
		case 0:
			b.WriteString("\\000")
		default:
			if c < 32 || c == 127 {
				fmt.Fprintf(&b, "\\%03d", c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (p *Pack) strFind(L *glua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	if pattern == "" {
		L.Push(glua.LNumber(1))
		L.Push(glua.LNumber(0))
		return 2
	}
	init := strIndex(str, L.OptInt(3, 1), true)
	plain := L.GetTop() >= 4 && glua.LVAsBool(L.Get(4))
	if plain || !strings.ContainsAny(pattern, "^$*+?.([%-") {
		pos := strings.Index(str[init:], pattern)
		if pos < 0 {
			L.Push(glua.LNil)
			return 1
		}
		L.Push(glua.LNumber(init + pos + 1))
		L.Push(glua.LNumber(init + pos + len(pattern)))
		return 2
	}
	mds := p.match(L, pattern, str, init, 1)
	if len(mds) == 0 {
		L.Push(glua.LNil)
		return 1
	}
	md := mds[0]
	L.Push(glua.LNumber(md.Capture(0) + 1))
	L.Push(glua.LNumber(md.Capture(1)))
	for i := 2; i < md.CaptureLength(); i += 2 {
		pushCapture(L, md, str, i)
	}
	return md.CaptureLength()/2 + 1
}

func pushCapture(L *glua.LState, md *pm.MatchData, str string, i int) {
	if md.IsPosCapture(i) {
		L.Push(glua.LNumber(md.Capture(i)))
	} else {
		L.Push(glua.LString(str[md.Capture(i):md.Capture(i+1)]))
	}
}

// pushCaptures pushes a match's captures, or the whole match when the
// pattern has none, and returns how many it pushed.
func pushCaptures(L *glua.LState, md *pm.MatchData, str string) int {
	if md.CaptureLength() <= 2 {
		L.Push(glua.LString(str[md.Capture(0):md.Capture(1)]))
		return 1
	}
	n := 0
	for i := 2; i < md.CaptureLength(); i += 2 {
		pushCapture(L, md, str, i)
		n++
	}
	return n
}

func (p *Pack) strMatch(L *glua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	offset := L.OptInt(3, 1)
	if offset < 0 {
		offset = len(str) + offset + 1
	}
	offset = max(offset-1, 0)
	mds := p.match(L, pattern, str, offset, 1)
	if len(mds) == 0 {
		L.Push(glua.LNil)
		return 1
	}
	return pushCaptures(L, mds[0], str)
}

func (p *Pack) strGmatch(L *glua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	mds := p.match(L, pattern, str, 0, -1)
	i := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		if i >= len(mds) {
			return 0
		}
		md := mds[i]
		i++
		return pushCaptures(L, md, str)
	}))
	return 1
}

// plainPattern reports whether a Lua pattern matches only itself: not
// empty and without a magic character.
func plainPattern(pattern string) bool {
	return pattern != "" && !strings.ContainsAny(pattern, "^$*+?.([%-]")
}

func (p *Pack) strGsub(L *glua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	L.CheckTypes(3, glua.LTString, glua.LTNumber, glua.LTTable, glua.LTFunction)
	repl := L.Get(3)
	limit := L.OptInt(4, -1)
	if r, ok := repl.(glua.LString); ok && L.GetTop() < 4 && plainPattern(pattern) && !strings.ContainsRune(string(r), '%') {
		// A literal pattern and replacement (humanize's "_" -> " "): the
		// same result without the matcher.
		n := strings.Count(str, pattern)
		if n == 0 {
			L.Push(glua.LString(str))
			L.Push(glua.LNumber(0))
			return 2
		}
		if len(str)+n*(len(r)-len(pattern)) > maxString {
			L.RaiseError("string.gsub: result longer than %s", sizeString(maxString))
		}
		out := strings.ReplaceAll(str, pattern, string(r))
		p.charge(L, "string.gsub", len(out))
		L.Push(glua.LString(out))
		L.Push(glua.LNumber(n))
		return 2
	}
	mds := p.match(L, pattern, str, 0, limit)
	var b strings.Builder
	prev := 0
	grow := func(s string) {
		if b.Len()+len(s) > maxString {
			L.RaiseError("string.gsub: result longer than %s", sizeString(maxString))
		}
		b.WriteString(s)
	}
	for _, md := range mds {
		start, end := md.Capture(0), md.Capture(1)
		grow(str[prev:start])
		prev = end
		whole := str[start:end]
		var value glua.LValue
		switch r := repl.(type) {
		case glua.LString, glua.LNumber:
			grow(expandRepl(L, r.String(), md, str))
			continue
		case *glua.LTable:
			key := glua.LValue(glua.LString(whole))
			if md.CaptureLength() > 2 {
				key = captureValue(md, str, 2)
			}
			value = L.GetTable(r, key)
		case *glua.LFunction:
			L.Push(r)
			n := pushCaptures(L, md, str)
			L.Call(n, 1)
			value = L.Get(-1)
			L.Pop(1)
		}
		switch v := value.(type) {
		case glua.LString:
			grow(string(v))
		case glua.LNumber:
			grow(v.String())
		case *glua.LNilType:
			grow(whole)
		case glua.LBool:
			if v {
				L.RaiseError("invalid replacement value (a boolean)")
			}
			grow(whole)
		default:
			L.RaiseError("invalid replacement value (a %s)", value.Type())
		}
	}
	grow(str[prev:])
	p.charge(L, "string.gsub", b.Len())
	L.Push(glua.LString(b.String()))
	L.Push(glua.LNumber(len(mds)))
	return 2
}

func captureValue(md *pm.MatchData, str string, i int) glua.LValue {
	if md.IsPosCapture(i) {
		return glua.LNumber(md.Capture(i))
	}
	return glua.LString(str[md.Capture(i):md.Capture(i+1)])
}

// expandRepl expands %0-%9 and %% in a gsub replacement string.
func expandRepl(L *glua.LState, repl string, md *pm.MatchData, str string) string {
	if !strings.Contains(repl, "%") {
		return repl
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '%' || i+1 >= len(repl) {
			b.WriteByte(c)
			continue
		}
		i++
		d := repl[i]
		if d < '0' || d > '9' {
			b.WriteByte(d)
			continue
		}
		n := int(d - '0')
		switch {
		case n == 0 || (n == 1 && md.CaptureLength() <= 2):
			b.WriteString(str[md.Capture(0):md.Capture(1)])
		case 2*n < md.CaptureLength():
			b.WriteString(captureValue(md, str, 2*n).String())
		default:
			L.RaiseError("invalid capture index %%%d in replacement string", n)
		}
	}
	return b.String()
}

// tableConcat is table.concat with a cap on the result (and it reads
// through read-only views, so table.concat(s.entities.you.holding, ", ")
// works).
func (p *Pack) tableConcat(L *glua.LState) int {
	t := p.resolve(L.CheckTable(1))
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, t.Len())
	var b strings.Builder
	for k := i; k <= j; k++ {
		v := t.RawGetInt(k)
		switch v.(type) {
		case glua.LString, glua.LNumber:
		default:
			L.RaiseError("invalid value (a %s) at index %d in table for 'concat'", v.Type(), k)
		}
		s := v.String()
		if b.Len()+len(s)+len(sep) > maxString {
			L.RaiseError("table.concat: result longer than %s", sizeString(maxString))
		}
		b.WriteString(s)
		if k < j {
			b.WriteString(sep)
		}
	}
	p.charge(L, "table.concat", b.Len())
	L.Push(glua.LString(b.String()))
	return 1
}

// tableWriter wraps table.insert, table.remove and table.sort: they write
// with rawset, so on a protected table (see guard) they would bypass its
// guard.
func (p *Pack) tableWriter(name string, orig *glua.LFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		t := L.CheckTable(1)
		if p.guard(t) != nil {
			L.RaiseError("table.%s: the table is read-only", name)
		}
		if name == "sort" && t.Len() > maxSort {
			L.RaiseError("table.sort: table too long (%d, limit %d)", t.Len(), maxSort)
		}
		return orig.GFunction(L)
	}
}

// random is math.random and s.random: the call's PRNG, seeded by the host
// from the log. random() is a float in [0,1), random(n) an integer in
// [1,n], random(m,n) an integer in [m,n].
func (p *Pack) random(L *glua.LState) int {
	cs := p.cur
	if cs == nil || cs.rng == nil {
		L.RaiseError("random numbers are only available inside a hook, rule or template")
	}
	first := 1
	if _, ok := L.Get(1).(*glua.LTable); ok { // s:random(...)
		first = 2
	}
	switch L.GetTop() - first + 1 {
	case 0:
		L.Push(glua.LNumber(cs.rng.Float64()))
	case 1:
		n := L.CheckInt(first)
		if n < 1 {
			L.ArgError(first, "interval is empty")
		}
		L.Push(glua.LNumber(cs.rng.Int64N(int64(n)) + 1))
	case 2:
		lo, hi := L.CheckInt(first), L.CheckInt(first+1)
		if lo > hi {
			L.ArgError(first+1, "interval is empty")
		}
		L.Push(glua.LNumber(int64(lo) + cs.rng.Int64N(int64(hi)-int64(lo)+1)))
	default:
		L.RaiseError("wrong number of arguments to random (want none, n, or m and n)")
	}
	return 1
}
