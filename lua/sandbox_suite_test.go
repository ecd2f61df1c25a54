package lua_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"diorama/core"
	"diorama/lua"
)

// The sandbox suite (issue #10, "proof under load"): one table of escape and
// exhaustion attempts against the Lua runtime. Each row runs its Lua at one
// place the engine runs pack code (the top level of a pack file, every hook
// kind, story-event callbacks, rules, templates, pack tests) and must fail
// with a clear error: one line, no Go panic or stack trace, naming the pack
// file:line where the row says the runtime knows it. After each attempt the
// engine must still work: the same pack (or, when the attempt stopped the
// load, a fresh load of a good pack) runs a hook that acts and a prompt
// template, the state it was given is unchanged, and the same attempt fails
// the same way a second time.

// suiteSite is where a row's Lua runs.
type suiteSite string

const (
	atTop        suiteSite = "top-level"       // pack.lua's top-level code, run by Load
	atModule     suiteSite = "module"          // top-level code of lib/evil.lua, required by pack.lua
	atCall       suiteSite = "module function" // lib/evil.lua's M.f(s), run by Pack.Call (as the engine runs std.speakers.select, std.significance.score)
	atStartsWhen suiteSite = "starts_when"     // story_event{} callbacks
	atEndsWhen   suiteSite = "ends_when"
	atOnStart    suiteSite = "on_start"
	atOnComplete suiteSite = "on_complete"
	atTimeskip   suiteSite = "timeskip rule" // timeskip(fn), run by Pack.TimeSkip
	atSpeakers   suiteSite = "speakers rule" // speakers(fn), run by Pack.Speakers
	atPrompt     suiteSite = "prompt"        // prompt("system", fn), run by Pack.CallPrompt
	atTemplate   suiteSite = "template"      // the same override, run by std.prompts.build (Pack.BuildPrompt)
	atTest       suiteSite = "pack test"     // the body of test("attempt", function(t) ... end), t the test handle
	atTestFile   suiteSite = "test file"     // a test file's top-level code
)

// atHook is the site of a hook registered with on(HOOK, fn).
func atHook(hook string) suiteSite { return suiteSite("on " + hook) }

type suiteRow struct {
	category string
	name     string
	at       suiteSite
	code     string // the Lua of the attempt (s is the state view in hooks, t the test handle in pack tests)
	want     string // in the error
	line     int    // the error names FILE:LINE at this line of code (1-based); 0: no position required
	cause    error  // errors.Is target, or nil
	same     bool   // both runs must fail with the very same message (determinism)
	bomb     bool   // run with bombOpts: a cap to reach (memory, or a builtin's), with time to reach it
}

// The suite's limits: the default deadline of a call and a short one for
// loading, so the runaway rows stay fast. Deadlines are on CPU time, so a
// busy machine does not make the good calls fail; the race detector gets
// ten times as long.
var (
	suiteOpts = lua.Options{HookTimeout: lua.DefaultHookTimeout, LoadTimeout: 150 * time.Millisecond, MaxMemory: 32 << 20}
	bombOpts  = lua.Options{HookTimeout: 5 * time.Second, LoadTimeout: 5 * time.Second, MaxMemory: 8 << 20}
)

var suiteHookSites = []string{"turn_start", "user_message", "reply", "scene_end", "time_skip", "event_start", "event_complete"}

func sandboxSuite() []suiteRow {
	ts := atHook("turn_start")
	rows := []suiteRow{
		// Filesystem: no io, no file loaders, require takes dotted names in the pack only.
		{category: "filesystem", name: "io.open", at: atTop, code: `local f = io.open("/etc/passwd")`, want: "io is not available in a world pack", line: 1},
		{category: "filesystem", name: "io via _G", at: ts, code: `local f = _G["i" .. "o"].lines("/etc/passwd")`, want: "io is not available in a world pack", line: 1},
		{category: "filesystem", name: "dofile", at: atModule, code: `dofile("/etc/passwd")`, want: "dofile is not available", line: 1},
		{category: "filesystem", name: "loadfile", at: atHook("user_message"), code: `local f = loadfile("pack.lua")`, want: "loadfile is not available", line: 1},
		{category: "filesystem", name: "require a path", at: atHook("reply"), code: `require("../../../etc/passwd")`, want: "a module name is a dotted name", line: 1},
		{category: "filesystem", name: "require a test file", at: atCall, code: `return require("tests.attempt_test")`, want: "tests/ holds the pack's tests, not rules", line: 1},
		{category: "filesystem", name: "package.loadlib", at: atHook("scene_end"), code: `package.loadlib("libc.so.6", "system")`, want: "package is not available", line: 1},
		{category: "filesystem", name: "require a standard library", at: atTimeskip, code: `local os = require("os")`, want: `require "os": no file`, line: 1},
		// Processes.
		{category: "process", name: "os.execute", at: atTestFile, code: `os.execute("rm -rf /")`, want: "os is not available", line: 1},
		{category: "process", name: "io.popen", at: atTest, code: `io.popen("id")`, want: "io is not available", line: 1},
		{category: "process", name: "os.exit", at: atHook("time_skip"), code: `os.exit(1)`, want: "os is not available", line: 1},
		{category: "process", name: "os.getenv", at: atStartsWhen, code: `return os.getenv("HOME") ~= nil`, want: "os is not available", line: 1},
		// Network: there is no socket library to require.
		{category: "network", name: "require socket", at: atHook("event_start"), code: `local socket = require("socket")`, want: `require "socket": no file`, line: 1},
		{category: "network", name: "require std.socket.http", at: atOnStart, code: `local http = require("std.socket.http")`, want: "no such stdlib module", line: 1},
		// Bytecode: no compiler at run time, no dump, and files are source only.
		{category: "bytecode", name: "load a binary chunk", at: atHook("event_complete"), code: `load("\27LuaQ\0\1\4\8\4\8\0")()`, want: "load is not available", line: 1},
		{category: "bytecode", name: "loadstring a binary chunk", at: atPrompt, code: `return loadstring(string.char(27, 76, 117, 97, 81))`, want: "loadstring is not available", line: 1},
		{category: "bytecode", name: "string.dump", at: atSpeakers, code: `return string.dump(print)`, want: "string.dump is not available", line: 1},
		{category: "bytecode", name: "string.dump through the string metatable", at: atEndsWhen, code: `return ("").dump(function() end)`, want: "string.dump is not available", line: 1},
		{category: "bytecode", name: "a binary chunk as a module", at: atModule, code: "\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00", want: `Invalid token near '\x1b'`, line: 1},
		{category: "bytecode", name: "a binary chunk as a test file", at: atTestFile, code: "\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00", want: `Invalid token near '\x1b'`, line: 1},
		// Metatables of what the engine hands a hook: s and s.act.
		{category: "metatable", name: "getmetatable(s)", at: ts, code: `error("mt=" .. tostring(getmetatable(s)) .. " " .. tostring(getmetatable(s.act)))`, want: "mt=locked locked", line: 1, same: true},
		{category: "metatable", name: "setmetatable(s)", at: ts, code: `setmetatable(s, nil)`, want: "cannot change a protected metatable", line: 1},
		{category: "metatable", name: "rawset(s)", at: ts, code: `rawset(s, "now", "1999-01-01T00:00")`, want: "state is read-only", line: 1},
		{category: "metatable", name: "rawset(s.act) to hijack later hooks' acts", at: ts, code: `rawset(s.act, "set_mood", function() end)`, want: "state is read-only", line: 1},
		{category: "metatable", name: "table.insert(s.act)", at: ts, code: `table.insert(s.act, print)`, want: "table.insert: the table is read-only", line: 1},
		{category: "metatable", name: "s's functions with a wrong receiver", at: ts, code: `s.edge(s, s)`, want: "s.edge: argument 1: want a string id, got a table", line: 1},
		{category: "metatable", name: "s.act with a wrong receiver", at: ts, code: `s.act.move(s.act, s.act)`, want: "s.act.move rejected", line: 1},
		// Metatables of the pack-test facades: t and its expectations.
		{category: "metatable", name: "getmetatable(t)", at: atTest, code: `getmetatable(t).__index = function() end`, want: "attempt to index", line: 1},
		{category: "metatable", name: "rawset(t)", at: atTest, code: `rawset(t, "say", print)`, want: "table expected, got userdata", line: 1},
		{category: "metatable", name: "t's fields and Go names", at: atTest, code: `error("h=" .. tostring(t.h) .. " v=" .. tostring(t:expect(1).v) .. " " .. tostring(t.Reply))`, want: "h=nil v=nil nil", line: 1},
		{category: "metatable", name: "t's method without a receiver", at: atTest, code: `t.state()`, want: "t:state(...): call it with a colon on the test handle (got a nil in its place)", line: 1},
		{category: "metatable", name: "t's method on a table", at: atTest, code: `t.say({}, "hello")`, want: "t:say(...): call it with a colon on the test handle (got a table in its place)", line: 1},
		{category: "metatable", name: "t's method on an expectation", at: atTest, code: `t.say(t:expect(1), "hello")`, want: "t:say(...): call it with a colon on the test handle (got a userdata in its place)", line: 1},
		{category: "metatable", name: "an expectation's method on t", at: atTest, code: `t:expect(1).equals(t, 1)`, want: "t:expect(V):equals(...): call it with a colon on an expectation", line: 1},
		{category: "metatable", name: "t's method with a wrong argument", at: atTest, code: `t:act(print)`, want: "bad argument #2 to act (table expected, got function)", line: 1},
		{category: "metatable", name: "t's method with an unknown bot", at: atTest, code: `t:reply("nobody", "hi")`, want: `"nobody" is not a bot of this pack`, line: 1},
		{category: "metatable", name: "s.random with too many arguments", at: ts, code: `return s.random(1, 2, 3)`, want: "wrong number of arguments to random", line: 1},
		{category: "metatable", name: "overwrite t with ^", at: atTest, code: "local _ = t ^ {}\nt:say(\"hello\")", want: "cannot perform pow operation between userdata and table", line: 1},
		{category: "metatable", name: "t = t.x", at: atTest, code: `t.say = print`, want: "the test handle is read-only", line: 1},
		{category: "metatable", name: "tostring(t)", at: atTest, code: `error("t=" .. tostring(t) .. ", e=" .. tostring(t:expect(1)))`, want: "t=the test handle, e=an expectation", line: 1, same: true},
		// String bombs.
		{category: "string bomb", name: "string.rep huge", at: atHook("user_message"), code: `local x = string.rep("ab", 2^40)`, want: "string.rep: result would be", line: 1},
		{category: "string bomb", name: "concatenation doubling", at: atHook("event_complete"), code: `local x = "x" while true do x = x .. x end`, want: "memory limit exceeded (8 MiB per call)", line: 1, cause: lua.ErrMemory, bomb: true},
		{category: "string bomb", name: "string.format width", at: atHook("scene_end"), code: `local x = string.format("%0999999999d", 1)`, want: "width or precision longer than two digits", line: 1},
		{category: "string bomb", name: "gsub explosion", at: atTimeskip, code: `local x = string.gsub(string.rep("x", 1e4), "", string.rep("y", 500))`, want: "string.gsub: result longer than 4 MiB", line: 1, bomb: true},
		{category: "string bomb", name: "gmatch of every empty match", at: atHook("reply"), code: `for w in string.gmatch(string.rep("x", 4e6), "") do end`, want: "memory limit exceeded", line: 1, cause: lua.ErrMemory, bomb: true},
		{category: "string bomb", name: "pattern backtracking", at: atSpeakers, code: `return string.find(string.rep("a", 5000), ".-.-.-.-.-b")`, want: "timed out", line: 1, cause: lua.ErrTimeout},
		{category: "string bomb", name: "nested captures", at: atPrompt, code: `return string.find("x", string.rep("(", 4e6))`, want: "too many captures (limit 32)", line: 1, bomb: true},
		{category: "string bomb", name: "a capture inside itself", at: ts, code: `string.find("aa", "(a%1)")`, want: "invalid capture index", line: 1},
		// Table bombs.
		{category: "table bomb", name: "table.insert in a loop", at: ts, code: `local t = {} while true do table.insert(t, { t }) end`, want: "memory limit exceeded", line: 1, cause: lua.ErrMemory, bomb: true},
		{category: "table bomb", name: "table.concat with a huge separator", at: ts, code: `local x = table.concat({ 1, 2, 3, 4, 5 }, string.rep(",", 2e6))`, want: "table.concat: result longer than 4 MiB", line: 1, bomb: true},
		{category: "table bomb", name: "huge array indices", at: ts, code: `local t = {} t[2^31] = 1 t[2^53] = 2 table.insert(t, 2^30, 3) error("len " .. #t)`, want: "len 0", line: 1},
		{category: "table bomb", name: "unpack a huge range", at: ts, code: `return unpack({}, 1, 2^31)`, want: "unpack: too many results (2147483648, limit 8000)", line: 1},
		{category: "table bomb", name: "unpack a range that overflows", at: ts, code: `return unpack({}, -2^62, 2^62)`, want: "unpack: too many results (9223372036854775808, limit 8000)", line: 1},
		// Deep recursion.
		{category: "recursion", name: "Lua recursion while loading", at: atTop, code: `local function f() return 1 + f() end f()`, want: "call stack overflow", line: 1},
		{category: "recursion", name: "through __index", at: ts, code: `local t = setmetatable({}, { __index = function(t, k) return t[k] end }) return t.x`, want: "call stack overflow", line: 1},
		{category: "recursion", name: "an __index cycle", at: ts, code: `local a, b = {}, {} setmetatable(a, { __index = b }) setmetatable(b, { __index = a }) return a.x`, want: "too many recursions in gettable", line: 1},
		{category: "recursion", name: "through pcall", at: ts, code: `local function f() local ok, e = pcall(f) error(e, 0) end f()`, want: "call stack overflow", line: 1},
		{category: "recursion", name: "through gsub callbacks", at: ts, code: `local function f() return (string.gsub("a", "a", f)) end f()`, want: "call stack overflow", line: 1},
		{category: "recursion", name: "through table.sort comparators", at: ts, code: `local function cmp(a, b) table.sort({ 2, 1 }, cmp) return a < b end table.sort({ 2, 1 }, cmp)`, want: "call stack overflow", line: 1},
		{category: "recursion", name: "through __tostring", at: ts, code: `tostring(setmetatable({}, { __tostring = function(x) return tostring(x) end }))`, want: "call stack overflow", line: 1},
		{category: "recursion", name: "in an xpcall handler", at: ts, code: `local function h(e) return 1 + h(e) end local ok, e = xpcall(function() error("x") end, h) error("xpcall gave " .. tostring(ok))`, want: "xpcall gave false", line: 1},
		{category: "recursion", name: "a circular require", at: atModule, code: `local m = require("lib.evil")`, want: `require "lib.evil": circular require`, line: 1},
		// Coroutines are not there, however they are reached.
		{category: "coroutine", name: "coroutine.create", at: ts, code: `coroutine.create(print)`, want: "coroutine is not available", line: 1},
		{category: "coroutine", name: "coroutine.wrap in pcall", at: ts, code: `local ok, e = pcall(function() return coroutine.wrap(print) end) error(e, 0)`, want: "coroutine is not available", line: 1},
		{category: "coroutine", name: "coroutine.yield in xpcall", at: ts, code: `local ok, e = xpcall(function() coroutine.yield() end, function(e) return "caught: " .. e end) error(e, 0)`, want: "caught: PACK/pack.lua:10: coroutine is not available"},
		// Error objects that are not strings, or not small, or not one line.
		{category: "error object", name: "error({})", at: ts, code: `error({})`, want: "error object is a table value", line: 1},
		{category: "error object", name: "a __tostring that errors", at: ts, code: `error(setmetatable({}, { __tostring = function() error("x") end }))`, want: "error object is a table value", line: 1},
		{category: "error object", name: "error(function)", at: ts, code: `error(function() end)`, want: "error object is a function value", line: 1},
		{category: "error object", name: "error(nil)", at: ts, code: `error(nil)`, want: "error(nil)", line: 1},
		{category: "error object", name: "a huge message", at: ts, code: `error(string.rep("x", 4e6))`, want: "xxx… (3.8 MiB in all)", line: 1, bomb: true},
		{category: "error object", name: "a multi-line message", at: ts, code: `error("one\ntwo")`, want: `one\ntwo`, line: 1},
		{category: "error object", name: "terminal escapes", at: atOnComplete, code: `error("\27[2J\27[31mred\r\194\155")`, want: `\x1b[2J\x1b[31mred\r\u009b`, line: 1},
		// Shared libraries and frozen globals.
		{category: "shared", name: "string.x =", at: ts, code: `string.x = 1`, want: "the string library is read-only", line: 1},
		{category: "shared", name: "the string metatable", at: ts, code: `getmetatable("").__newindex = print`, want: "attempt to index", line: 1},
		{category: "shared", name: "a stdlib module", at: atTemplate, code: `require("std.prompts").sections.system = nil`, want: "the std.prompts library is read-only", line: 1},
		{category: "shared", name: "a global after loading", at: ts, code: `counter = 1`, want: `cannot set the global "counter" after the pack has loaded`, line: 1},
		{category: "shared", name: "rawset(rawget(_G, '_G'))", at: ts, code: `rawset(rawget(_G, "_G"), "counter", 1)`, want: `cannot set the global "counter"`, line: 1},
		{category: "shared", name: "rawget the environment's metatable", at: ts, code: `rawget(getmetatable(_G), "__index")`, want: "table expected, got string", line: 1},
		{category: "shared", name: "rawequal and rawget on the frozen globals", at: ts, code: `error("raw " .. tostring(rawequal(_G, _G._G)) .. " " .. tostring(rawget(_G, "string")) .. " " .. tostring(rawget(_G, "os")))`, want: "raw true nil nil", line: 1},
		{category: "shared", name: "setmetatable(_G)", at: ts, code: `setmetatable(_G, nil)`, want: "cannot change a protected metatable", line: 1},
		{category: "shared", name: "getfenv", at: ts, code: `getfenv(1).counter = 1`, want: "getfenv is not available", line: 1},
		{category: "shared", name: "setfenv", at: ts, code: `setfenv(1, {})`, want: "setfenv is not available", line: 1},
		{category: "shared", name: "collectgarbage", at: ts, code: `collectgarbage("count")`, want: "collectgarbage is not available", line: 1},
		// Determinism: no wall clock, no OS randomness, no addresses.
		{category: "determinism", name: "os.time", at: ts, code: `local t = os.time()`, want: "os is not available", line: 1},
		{category: "determinism", name: "os.clock", at: ts, code: `local t = os.clock()`, want: "os is not available", line: 1},
		{category: "determinism", name: "a wall clock in clock", at: ts, code: `local t = clock.now()`, want: "attempt to call", line: 1},
		{category: "determinism", name: "math.randomseed", at: ts, code: `math.randomseed(42)`, want: "math.randomseed is not available", line: 1},
		{category: "determinism", name: "rolls and addresses", at: ts, code: `error("roll " .. math.random(1e9) .. " " .. s.random(1e9) .. " " .. tostring({}) .. " " .. tostring(print) .. " " .. string.format("%s", s))`, want: "roll ", line: 1, same: true},
	}
	// Source nested deep enough to make the parser and compiler recurse (a
	// pack file may be 1 MiB): refused before parsing.
	for _, n := range []struct {
		name string
		at   suiteSite
		code string
	}{
		{"parentheses", atTop, "local x = " + strings.Repeat("(", 200000) + "1" + strings.Repeat(")", 200000)},
		{"table constructors", atTop, "local x = " + strings.Repeat("{", 500000) + strings.Repeat("}", 500000)},
		{"a concatenation chain", atTop, "local x = 'a'" + strings.Repeat("..'a'", 200000)},
		{"a call chain", atModule, "local x = f" + strings.Repeat("''", 500000)},
		{"blocks", atTop, strings.Repeat("do ", 140000) + strings.Repeat("end ", 140000)},
		{"elseif", atTestFile, "if x then " + strings.Repeat("elseif x then ", 70000) + "end"},
	} {
		rows = append(rows, suiteRow{category: "recursion", name: "source nesting: " + n.name, at: n.at, code: n.code, want: "code nested too deep (more than 1000 levels", line: 1})
	}
	// Endless loops in every place pack code runs.
	const loop = `while true do end`
	for _, h := range suiteHookSites {
		rows = append(rows, suiteRow{category: "endless loop", name: "on " + h, at: atHook(h), code: loop, want: "timed out after", line: 1, cause: lua.ErrTimeout})
	}
	for _, at := range []suiteSite{atStartsWhen, atEndsWhen, atOnStart, atOnComplete, atTimeskip, atSpeakers, atPrompt, atTemplate, atCall} {
		rows = append(rows, suiteRow{category: "endless loop", name: string(at), at: at, code: loop, want: "timed out after", line: 1, cause: lua.ErrTimeout})
	}
	for _, at := range []suiteSite{atTop, atModule, atTest, atTestFile} {
		rows = append(rows, suiteRow{category: "endless loop", name: string(at), at: at, code: loop, want: "timed out after", line: 1})
	}
	rows = append(rows, suiteRow{category: "endless loop", name: "in pcall", at: ts, code: `while true do pcall(function() while true do end end) end`, want: "timed out after", line: 1, cause: lua.ErrTimeout})
	return rows
}

// TestSandboxSuite runs the sandbox suite.
func TestSandboxSuite(t *testing.T) {
	for _, r := range sandboxSuite() {
		t.Run(r.category+"/"+r.name+"@"+string(r.at), func(t *testing.T) {
			if err := runSuiteRow(t, r); err != nil {
				t.Fatalf("%s: %q at %s:\n%s\n got: %v\nwant: %q", r.category, r.name, r.at, clipCode(r.code), err, r.want)
			}
		})
	}
}

// clipCode shortens a row's code for a failure message.
func clipCode(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// suiteFiles builds the pack for a row: the files, the file the attempt is
// in and the line its code starts on.
func suiteFiles(r suiteRow) (files map[string]string, file string, first int) {
	canaryHook := "reply"
	if r.at == atHook("reply") {
		canaryHook = "scene_end"
	}
	canary := suiteCanaryCode(canaryHook)
	pack := func(decl string) map[string]string {
		return map[string]string{"pack.lua": baseWorld + decl + "\n" + r.code + "\nend" + suiteClosing(decl) + "\n" + canary}
	}
	const testCanary = `
test("canary", function(t)
  t:expect(t:state().entities.mara.mood):equals("tense")
  t:act({ op = "set_mood", who = "mara", mood = "calm" })
  t:expect(t:state().entities.mara.mood):equals("calm")
end)
`
	switch r.at {
	case atTop:
		return map[string]string{"pack.lua": baseWorld + "-- the attempt\n" + r.code + "\n" + canary}, "pack.lua", 10
	case atModule:
		return map[string]string{"pack.lua": baseWorld + `local evil = require("lib.evil")` + "\n" + canary,
			"lib/evil.lua": r.code + "\nreturn {}\n"}, "lib/evil.lua", 1
	case atCall:
		return map[string]string{"pack.lua": baseWorld + `local evil = require("lib.evil")` + "\n" + canary,
			"lib/evil.lua": "local M = {}\nfunction M.f(s)\n" + r.code + "\nend\nreturn M\n"}, "lib/evil.lua", 3
	case atStartsWhen, atEndsWhen, atOnStart, atOnComplete:
		return pack(`story_event{ id = "evil", ` + string(r.at) + ` = function(s, ev)`), "pack.lua", 10
	case atTimeskip:
		return pack(`timeskip(function(s, skip)`), "pack.lua", 10
	case atSpeakers:
		return pack(`speakers(function(s, line)`), "pack.lua", 10
	case atPrompt, atTemplate:
		return pack(`prompt("system", function(ctx, std)`), "pack.lua", 10
	case atTest:
		return map[string]string{"pack.lua": baseWorld + canary,
			"tests/attempt_test.lua": "test(\"attempt\", function(t)\n" + r.code + "\nend)\n" + testCanary}, "tests/attempt_test.lua", 2
	case atTestFile:
		return map[string]string{"pack.lua": baseWorld + canary,
			"tests/attempt_test.lua": "-- the attempt\n" + r.code + "\n" + testCanary}, "tests/attempt_test.lua", 2
	}
	hook, ok := strings.CutPrefix(string(r.at), "on ")
	if !ok {
		panic("unknown site " + r.at)
	}
	return pack(fmt.Sprintf("on(%q, function(s, ...)", hook)), "pack.lua", 10
}

// suiteClosing returns what closes a declaration opened by decl after its
// function's end.
func suiteClosing(decl string) string {
	if strings.HasPrefix(decl, "story_event{") {
		return " }"
	}
	return ")"
}

// runSuiteRow runs a row's attempt twice, checking its error and then that
// the engine still works: when the pack loaded, the attempt runs twice on
// the same pack, and after each the pack's canary hook and prompt answer and
// the state is unchanged; an attempt that stops the load (or a test file)
// is loaded twice, and after each a fresh good pack answers.
func runSuiteRow(t *testing.T, r suiteRow) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("a Go panic escaped: %v", v)
		}
	}()
	opts := suiteOpts
	if r.bomb {
		opts = bombOpts
	}
	if raceEnabled {
		opts.HookTimeout *= 10
		opts.LoadTimeout *= 10
	}
	files, file, first := suiteFiles(r)
	dir := writePack(t, files)
	pos := fmt.Sprintf("%s:%d: ", filepath.Join("PACK", filepath.FromSlash(file)), first+r.line-1)
	canaryHook := "reply"
	if r.at == atHook("reply") {
		canaryHook = "scene_end"
	}
	var msgs []string
	check := func(got error) error {
		if got == nil {
			return errors.New("no error")
		}
		msg := strings.ReplaceAll(got.Error(), dir, "PACK")
		msgs = append(msgs, msg)
		if err := suiteClearError(msg); err != nil {
			return err
		}
		if !strings.Contains(msg, r.want) {
			return fmt.Errorf("%q does not contain %q", msg, r.want)
		}
		if r.line > 0 && !strings.Contains(msg, pos) {
			return fmt.Errorf("%q does not name %s", msg, pos)
		}
		if r.cause != nil && !errors.Is(got, r.cause) {
			return fmt.Errorf("%q is not %v", msg, r.cause)
		}
		return nil
	}
	switch r.at {
	case atTop, atModule, atTest, atTestFile:
		good := writePack(t, map[string]string{"pack.lua": baseWorld + suiteCanaryCode(canaryHook)})
		for range 2 {
			var got error
			if r.at == atTest || r.at == atTestFile {
				got = suiteTests(dir, opts)
			} else if p, err := lua.Load(dir, opts); err == nil {
				p.Close()
			} else {
				got = err
			}
			if err := check(got); err != nil {
				return err
			}
			p, err := lua.Load(good, opts)
			if err != nil {
				return fmt.Errorf("after the attempt a good pack does not load: %v", err)
			}
			err = suiteCanary(p, stateOf(t, p.World()), canaryHook)
			p.Close()
			if err != nil {
				return err
			}
		}
	default:
		p, err := lua.Load(dir, opts)
		if err != nil {
			return fmt.Errorf("load: %v", err)
		}
		defer p.Close()
		st := stateOf(t, p.World())
		if r.at == atEndsWhen || r.at == atOnComplete {
			st = apply(t, st, core.Command{Op: "start_event", Event: "evil"})
		}
		for range 2 {
			if err := check(suiteAttempt(p, r.at, st)); err != nil {
				return err
			}
			if err := suiteCanary(p, st, canaryHook); err != nil {
				return err
			}
		}
	}
	if r.same && msgs[0] != msgs[1] {
		return fmt.Errorf("two runs failed differently:\n%s\n%s", msgs[0], msgs[1])
	}
	return nil
}

// suiteCanaryCode declares the hook and the prompt that show a pack still works.
func suiteCanaryCode(hook string) string {
	return fmt.Sprintf(`
on(%q, function(s) s.act.set_mood{ who = "jun", mood = "fine" } end)
prompt("canary", function(ctx) return "alive " .. ctx.n end)
`, hook)
}

// suiteCanary checks that p still runs its canary hook and prompt, and that st
// is as it was.
func suiteCanary(p *lua.Pack, st *core.State, hook string) error {
	before := st.Hash()
	cmds, err := p.RunHook(bg, hook, st, 1)
	if got := cmdStrings(cmds); err != nil || len(got) != 1 || got[0] != `{"op":"set_mood","who":"jun","mood":"fine"}` {
		return fmt.Errorf("after the attempt the canary hook gives %q, %v", got, err)
	}
	if out, err := p.CallPrompt(bg, "canary", map[string]any{"n": 1}); err != nil || out != "alive 1" {
		return fmt.Errorf("after the attempt the canary prompt gives %#v, %v", out, err)
	}
	if st.Hash() != before {
		return errors.New("the attempt changed the state it was given")
	}
	return nil
}

// suiteTests runs the pack tests of a row at atTest or atTestFile and
// returns the attempt's failure: the error of a test file that does not
// load, or the failed result of test "attempt", after checking that test
// "canary", run after it in the same VM, passed.
func suiteTests(dir string, opts lua.Options) error {
	rep, err := lua.RunTests(bg, dir, lua.TestOptions{Timeout: opts.HookTimeout, Options: opts})
	if err != nil {
		return err
	}
	var attempt, canary *lua.TestResult
	for i := range rep.Results {
		switch rep.Results[i].Name {
		case "attempt":
			attempt = &rep.Results[i]
		case "canary":
			canary = &rep.Results[i]
		}
	}
	switch {
	case attempt == nil || canary == nil:
		return fmt.Errorf("results %v", rep.Results)
	case attempt.Passed:
		return nil
	case !canary.Passed:
		return fmt.Errorf("after the attempt the test VM broke: %s", canary)
	}
	return errors.New(attempt.String())
}

// suiteAttempt runs the pack code at site.
func suiteAttempt(p *lua.Pack, at suiteSite, st *core.State) error {
	ctx := context.Background()
	var err error
	switch at {
	case atCall:
		_, err = p.Call(ctx, st, 1, "lib.evil", "f")
	case atStartsWhen, atEndsWhen:
		_, err = p.EventConditions(ctx, st, 1)
	case atOnStart:
		_, err = p.StoryEventHook(ctx, "evil", "start", st, 1)
	case atOnComplete:
		_, err = p.StoryEventHook(ctx, "evil", "complete", st, 1)
	case atTimeskip:
		_, err = p.TimeSkip(ctx, st, 1, core.Skip{Kind: "jump", Minutes: 600, Label: "later"})
	case atSpeakers:
		_, err = p.Speakers(ctx, st, "Mara?", 1)
	case atPrompt:
		_, err = p.CallPrompt(ctx, "system", map[string]any{"speaker": map[string]any{"name": "Mara"}})
	case atTemplate:
		_, err = p.BuildPrompt(ctx, "reply", map[string]any{"speaker": map[string]any{"id": "mara", "name": "Mara"}, "world": map[string]any{"id": "t"}})
	case atTop, atModule:
		return nil // the attempt ran while loading
	default:
		hook, _ := strings.CutPrefix(string(at), "on ")
		_, err = p.RunHook(ctx, hook, st, 1, map[string]any{"who": "you", "text": "hello"})
	}
	return err
}

// suiteClearError says what makes msg unclear: more than one line, Go internals
// or a memory address, or a length nobody reads.
func suiteClearError(msg string) error {
	if strings.ContainsAny(msg, "\n\r") {
		return fmt.Errorf("%q is not one line", msg)
	}
	for _, bad := range []string{"goroutine ", "panic", "runtime error", "stack traceback", ".go:", "0x", "reflect", "gopher-lua", "*lua."} {
		if strings.Contains(msg, bad) {
			return fmt.Errorf("%q shows Go internals (%q)", msg, bad)
		}
	}
	if len(msg) > 4000 {
		return fmt.Errorf("a %d-byte error message", len(msg))
	}
	return nil
}
