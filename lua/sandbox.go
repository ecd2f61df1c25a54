package lua

import (
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// Limits of the sandbox. Packs are untrusted: gopher-lua has no memory limit
// of its own and its context check runs between VM instructions only, so
// every builtin that can allocate or loop is capped here.
const (
	callStackSize   = 200        // Lua call frames: deep recursion fails fast
	registrySize    = 1024 * 4   // initial Lua value stack
	registryMaxSize = 1024 * 256 // the stack may grow up to this many values
	registryGrow    = 1024       // in steps this big (small steps are quadratic)
	maxString       = 4 << 20    // longest string a builtin may build
	maxResults      = 8000       // most values unpack or string.byte may return
	maxSort         = 200000     // longest table table.sort may sort
	maxLogLines     = 1000       // log lines kept until the host reads them
	maxLogLine      = 2000       // bytes of one log line
	maxInspectDepth = 4          // nesting log shows of a table
	lockedMeta      = "locked"   // what getmetatable returns for protected tables
	roStateMsg      = "state is read-only; use s.act{...}"
)

// newVM builds the sandboxed LState: only the base, string, table and math
// libraries, minus everything that reaches outside, with the shared
// libraries behind read-only proxies and deterministic replacements for
// tostring, math.random and print.
func (p *Pack) newVM() {
	L := glua.NewState(glua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       callStackSize,
		RegistrySize:        registrySize,
		RegistryMaxSize:     registryMaxSize,
		RegistryGrowStep:    registryGrow,
		MinimizeStackMemory: true,
	})
	p.L = L
	for _, lib := range []struct {
		name string
		fn   glua.LGFunction
	}{{"", glua.OpenBase}, {glua.TabLibName, glua.OpenTable}, {glua.StringLibName, glua.OpenString}, {glua.MathLibName, glua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	G := L.G.Global
	p.marker = L.NewUserData()
	p.fnLen = L.NewFunction(p.luaLen)
	p.fnRO = L.NewFunction(func(L *glua.LState) int {
		L.RaiseError(roStateMsg)
		return 0
	})
	p.fnEnvSet = L.NewFunction(p.envSet)
	p.fnNext = L.NewFunction(p.next)
	p.fnIpairsIter = L.NewFunction(p.ipairsIter)

	// string: our capped versions of everything that allocates or loops;
	// strings get their own locked metatable so getmetatable("") does not
	// hand out the library table.
	str := G.RawGetString("string").(*glua.LTable)
	for _, k := range []string{"gfind", "__index"} {
		str.RawSetString(k, glua.LNil)
	}
	str.RawSetString("dump", L.NewFunction(func(L *glua.LState) int {
		L.RaiseError("string.dump is not available in a world pack: %s", removedGlobals["load"])
		return 0
	}))
	for name, fn := range map[string]glua.LGFunction{
		"rep": p.strRep, "format": p.strFormat, "find": p.strFind, "match": p.strMatch,
		"gmatch": p.strGmatch, "gsub": p.strGsub, "byte": p.strByte,
	} {
		str.RawSetString(name, L.NewFunction(fn))
	}
	strMT := L.CreateTable(0, 2)
	strMT.RawSetString("__index", str)
	strMT.RawSetString("__metatable", glua.LString(lockedMeta))
	L.SetMetatable(glua.LString(""), strMT)

	tab := G.RawGetString("table").(*glua.LTable)
	for _, name := range []string{"insert", "remove", "sort"} {
		tab.RawSetString(name, L.NewFunction(p.tableWriter(name, tab.RawGetString(name).(*glua.LFunction))))
	}
	tab.RawSetString("concat", L.NewFunction(p.tableConcat))

	mth := G.RawGetString("math").(*glua.LTable)
	mth.RawSetString("random", L.NewFunction(p.random))
	mth.RawSetString("randomseed", L.NewFunction(func(L *glua.LState) int {
		L.RaiseError("math.randomseed is not available: randomness is seeded from the log, so the same story gives the same rolls")
		return 0
	}))

	base := L.CreateTable(0, 64)
	for _, name := range []string{"assert", "error", "pcall", "xpcall", "select", "tonumber", "type",
		"rawequal", "getmetatable", "setmetatable", "_VERSION"} {
		base.RawSetString(name, G.RawGetString(name))
	}
	for name, fn := range map[string]glua.LGFunction{
		"pairs": p.pairs, "ipairs": p.ipairs, "next": p.next, "rawget": p.rawget, "rawset": p.rawset,
		"tostring": p.tostring, "unpack": p.unpack, "log": p.log, "print": p.log, "require": p.require,
	} {
		base.RawSetString(name, L.NewFunction(fn))
	}
	base.RawSetString("string", p.readOnly(str, p.libRO("string")))
	base.RawSetString("table", p.readOnly(tab, p.libRO("table")))
	base.RawSetString("math", p.readOnly(mth, p.libRO("math")))
	base.RawSetString("clock", p.readOnly(p.clockLib(), p.libRO("clock")))
	p.registerAPI(base)
	p.base = base
	// Reading a global the sandbox removed says so, instead of a bare
	// "attempt to index a nil value".
	baseMT := L.CreateTable(0, 2)
	baseMT.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		if k, ok := L.Get(2).(glua.LString); ok {
			if why, gone := removedGlobals[string(k)]; gone {
				L.RaiseError("%s is not available in a world pack: %s", string(k), why)
			}
		}
		return 0
	}))
	baseMT.RawSetString("__metatable", glua.LString(lockedMeta))
	base.Metatable = baseMT

	// Nothing may reach the original globals (load, io, debug... were never
	// opened, but the base library put more there than we keep).
	var keys []glua.LValue
	G.ForEach(func(k, _ glua.LValue) { keys = append(keys, k) })
	for _, k := range keys {
		G.RawSet(k, glua.LNil)
	}

	p.env = p.newEnv()
	p.modules = map[string]glua.LValue{}
	p.inflight = map[string]bool{}
	p.thawed = map[*glua.LTable]bool{}
	p.stateMT = p.newStateMT()
	p.actObj = p.newActObject()
}

// removedGlobals are the standard globals a pack does not get, and why.
var removedGlobals = map[string]string{
	"io":             "packs are pure rules (no files, network or processes)",
	"os":             "packs see no wall clock and no OS (s.now is the world clock; clock.* does date arithmetic)",
	"debug":          "it would reach past the sandbox",
	"package":        "modules load with require(\"NAME\") from the pack folder or require(\"std.NAME\") only",
	"module":         "modules return a table: local M = {} ... return M",
	"load":           "a pack cannot compile code at run time",
	"loadstring":     "a pack cannot compile code at run time",
	"loadfile":       "a pack cannot read files",
	"dofile":         "a pack cannot read files (use require)",
	"collectgarbage": "memory is the engine's business",
	"gcinfo":         "memory is the engine's business",
	"getfenv":        "environments are fixed",
	"setfenv":        "environments are fixed",
	"newproxy":       "it would reach past the sandbox",
	"_printregs":     "it is a debugging aid of the VM",
	"coroutine":      "hooks run to completion under a deadline",
	"channel":        "hooks run to completion under a deadline",
}

// newEnv returns a fresh global environment over the shared base: reads fall
// through to the base, writes land in the environment's own table while the
// pack loads and are refused afterwards, and the API names cannot be
// reassigned.
func (p *Pack) newEnv() *glua.LTable {
	L := p.L
	data := L.CreateTable(0, 16)
	dataMT := L.CreateTable(0, 1)
	dataMT.RawSetString("__index", p.base)
	data.Metatable = dataMT
	env := p.readOnly(data, p.fnEnvSet)
	data.RawSetString("_G", env)
	return env
}

func (p *Pack) envSet(L *glua.LState) int {
	t := L.CheckTable(1)
	k := L.Get(2)
	v := L.Get(3)
	data := p.dataOf(t)
	if data == nil {
		L.RaiseError("internal: environment without data")
	}
	name := k.String()
	if ks, ok := k.(glua.LString); ok && p.base.RawGetString(string(ks)) != glua.LNil {
		L.RaiseError("cannot assign the global %q: it is part of the pack API (use a local with another name)", name)
	}
	if p.frozen && !p.thawed[data] {
		L.RaiseError("cannot set the global %q after the pack has loaded: hooks must not keep state in globals (use a local, or change the world with s.act{...})", name)
	}
	data.RawSet(k, v)
	return 0
}

// libRO returns the __newindex of a shared library's proxy.
func (p *Pack) libRO(lib string) *glua.LFunction {
	return p.L.NewFunction(func(L *glua.LState) int {
		L.RaiseError("the %s library is read-only: a pack cannot change how it behaves for stdlib or other hooks (define a local function instead)", lib)
		return 0
	})
}

// readOnly returns an empty proxy for data: reads go through to data,
// writes call newindex, # and our pairs, ipairs, next, unpack, rawget and
// table.concat see data, and the metatable is locked.
func (p *Pack) readOnly(data *glua.LTable, newindex *glua.LFunction) *glua.LTable {
	L := p.L
	mt := L.CreateTable(0, 5)
	mt.RawSetString("__index", data)
	mt.RawSetString("__newindex", newindex)
	mt.RawSetString("__len", p.fnLen)
	mt.RawSetString("__metatable", glua.LString(lockedMeta))
	mt.RawSet(p.marker, data)
	proxy := L.CreateTable(0, 0)
	proxy.Metatable = mt
	return proxy
}

// dataOf returns the table behind a read-only proxy, or nil if t is not one.
func (p *Pack) dataOf(t *glua.LTable) *glua.LTable {
	mt, ok := t.Metatable.(*glua.LTable)
	if !ok {
		return nil
	}
	d, _ := mt.RawGet(p.marker).(*glua.LTable)
	return d
}

// guard returns the __newindex guarding t when t is one of the sandbox's
// protected tables (read-only views, environments, locked libraries, s and
// s.act: their metatables carry the marker), or nil. rawset, table.insert,
// table.remove and table.sort go through it, so they cannot write past it.
func (p *Pack) guard(t *glua.LTable) *glua.LFunction {
	mt, ok := t.Metatable.(*glua.LTable)
	if !ok || mt.RawGet(p.marker) == glua.LNil {
		return nil
	}
	fn, _ := mt.RawGetString("__newindex").(*glua.LFunction)
	if fn == nil {
		fn = p.fnRO
	}
	return fn
}

// resolve returns the table reads of t should see.
func (p *Pack) resolve(t *glua.LTable) *glua.LTable {
	if d := p.dataOf(t); d != nil {
		return d
	}
	return t
}

func (p *Pack) luaLen(L *glua.LState) int {
	t := L.CheckTable(1)
	L.Push(glua.LNumber(p.resolve(t).Len()))
	return 1
}

func (p *Pack) next(L *glua.LState) int {
	t := p.resolve(L.CheckTable(1))
	k, v := t.Next(L.Get(2))
	if k == glua.LNil {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(k)
	L.Push(v)
	return 2
}

func (p *Pack) pairs(L *glua.LState) int {
	t := L.CheckTable(1)
	L.Push(p.fnNext)
	L.Push(t)
	L.Push(glua.LNil)
	return 3
}

func (p *Pack) ipairsIter(L *glua.LState) int {
	t := p.resolve(L.CheckTable(1))
	i := L.CheckInt(2) + 1
	v := t.RawGetInt(i)
	if v == glua.LNil {
		return 0
	}
	L.Push(glua.LNumber(i))
	L.Push(v)
	return 2
}

func (p *Pack) ipairs(L *glua.LState) int {
	t := L.CheckTable(1)
	L.Push(p.fnIpairsIter)
	L.Push(t)
	L.Push(glua.LNumber(0))
	return 3
}

func (p *Pack) rawget(L *glua.LState) int {
	t := p.resolve(L.CheckTable(1))
	L.Push(t.RawGet(L.CheckAny(2)))
	return 1
}

// rawset on a protected table goes through its guard, so it cannot bypass
// read-only views, locked libraries, frozen globals, s or s.act (s.act is
// shared by every call: a raw write there would change what the next
// hook's s.act.OP does).
func (p *Pack) rawset(L *glua.LState) int {
	t := L.CheckTable(1)
	k := L.CheckAny(2)
	v := L.CheckAny(3)
	if g := p.guard(t); g != nil {
		L.Push(g)
		L.Push(t)
		L.Push(k)
		L.Push(v)
		L.Call(3, 0)
		L.SetTop(1)
		return 1
	}
	if k == glua.LNil {
		L.ArgError(2, "table index is nil")
	}
	t.RawSet(k, v)
	L.SetTop(1)
	return 1
}

func (p *Pack) unpack(L *glua.LState) int {
	t := p.resolve(L.CheckTable(1))
	i := L.OptInt(2, 1)
	j := L.OptInt(3, t.Len())
	// j-i as unsigned: a range like unpack(t, -2^62, 2^62) overflows int and
	// would otherwise pass as small (and then push values until the Lua
	// stack is full, quadratically slow).
	if i <= j && uint(j-i) >= maxResults {
		L.RaiseError("unpack: too many results (%.0f, limit %d)", float64(j)-float64(i)+1, maxResults)
	}
	n := 0
	for ; i <= j; i++ {
		L.Push(t.RawGetInt(i))
		n++
	}
	return n
}

// tostring is Lua's, except that tables, functions and userdata do not show
// their memory address (which would differ from run to run).
func (p *Pack) tostring(L *glua.LState) int {
	L.Push(glua.LString(p.toString(L, L.CheckAny(1))))
	return 1
}

func (p *Pack) toString(L *glua.LState, v glua.LValue) string {
	if fn := L.GetMetaField(v, "__tostring"); fn != glua.LNil {
		L.Push(fn)
		L.Push(v)
		L.Call(1, 1)
		r := L.Get(-1)
		L.Pop(1)
		if s, ok := r.(glua.LString); ok {
			return string(s)
		}
		L.RaiseError("'__tostring' must return a string")
	}
	switch v := v.(type) {
	case glua.LString:
		return string(v)
	case glua.LNumber, glua.LBool, *glua.LNilType:
		return v.String()
	default:
		return v.Type().String()
	}
}

// log records a line the host reads with Logs: the arguments separated by
// tabs, tables shown with their contents.
func (p *Pack) log(L *glua.LState) int {
	n := L.GetTop()
	parts := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		v := L.Get(i)
		if t, ok := v.(*glua.LTable); ok && L.GetMetaField(t, "__tostring") == glua.LNil {
			var b strings.Builder
			p.inspect(&b, t, 0)
			parts = append(parts, b.String())
			continue
		}
		parts = append(parts, p.toString(L, v))
	}
	line := strings.Join(parts, "\t")
	if len(line) > maxLogLine {
		line = line[:maxLogLine] + "…"
	}
	if w := where(L, 1); w.File != "" {
		line = w.String() + ": " + line
	}
	if len(p.logs) >= maxLogLines {
		p.logs = p.logs[1:]
	}
	p.logs = append(p.logs, line)
	return 0
}

// inspect writes a table as Lua-like text, keys sorted, nesting bounded.
func (p *Pack) inspect(b *strings.Builder, t *glua.LTable, depth int) {
	if b.Len() > maxLogLine {
		return
	}
	t = p.resolve(t)
	if depth >= maxInspectDepth {
		b.WriteString("{…}")
		return
	}
	type kv struct {
		k string
		v glua.LValue
	}
	var arr []glua.LValue
	var rest []kv
	n := t.Len()
	for i := 1; i <= n; i++ {
		arr = append(arr, t.RawGetInt(i))
	}
	t.ForEach(func(k, v glua.LValue) {
		if num, ok := k.(glua.LNumber); ok && float64(num) == float64(int(num)) && int(num) >= 1 && int(num) <= n {
			return
		}
		ks := k.String()
		if _, ok := k.(glua.LString); !ok {
			ks = "[" + ks + "]"
		}
		rest = append(rest, kv{ks, v})
	})
	sort.Slice(rest, func(i, j int) bool { return rest[i].k < rest[j].k })
	b.WriteString("{")
	first := true
	item := func(v glua.LValue) {
		if !first {
			b.WriteString(", ")
		}
		first = false
		switch v := v.(type) {
		case *glua.LTable:
			p.inspect(b, v, depth+1)
		case glua.LString:
			b.WriteString(quoteLua(string(v)))
		case glua.LNumber, glua.LBool:
			b.WriteString(v.String())
		default:
			b.WriteString(v.Type().String())
		}
	}
	for _, v := range arr {
		item(v)
	}
	for _, e := range rest {
		if !first {
			b.WriteString(", ")
		}
		b.WriteString(e.k)
		b.WriteString(" = ")
		first = true
		item(e.v)
		first = false
	}
	b.WriteString("}")
}

// where returns the position of the first Lua function at least level
// frames up the stack (1: the caller of the running Go function).
func where(L *glua.LState, level int) Problem {
	for ; level < 12; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return Problem{}
		}
		if _, err := L.GetInfo("Sl", dbg, glua.LNil); err != nil || dbg.CurrentLine <= 0 || dbg.Source == "" {
			continue
		}
		return Problem{File: dbg.Source, Line: dbg.CurrentLine}
	}
	return Problem{}
}
