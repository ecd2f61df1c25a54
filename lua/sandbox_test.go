package lua_test

import (
	"errors"
	"strings"
	"testing"

	"diorama/core"
	"diorama/lua"
)

// goodHook is a second hook every sandbox pack has: after an escape
// attempt fails, it must still run and act normally.
const goodHook = `
on("reply", function(s) s.act.set_mood{ who = "jun", mood = "fine" } end)
`

// TestSandbox runs each escape attempt as a turn_start hook: it must fail
// with a clear error naming the hook and the pack file:line, and the pack
// must keep working afterwards.
func TestSandbox(t *testing.T) {
	cases := []struct {
		name, code, want string
	}{
		{"io", `io.open("/etc/passwd")`, "io is not available in a world pack"},
		{"os.execute", `os.execute("rm -rf /")`, "os is not available in a world pack"},
		{"os.time", `local t = os.time()`, "os is not available"},
		{"debug", `debug.getinfo(1)`, "debug is not available"},
		{"load", `load(function() return "x = 1" end)`, "load is not available"},
		{"loadstring", `loadstring("return 1")()`, "loadstring is not available"},
		{"dofile", `dofile("/etc/passwd")`, "dofile is not available"},
		{"loadfile", `loadfile("pack.lua")`, "loadfile is not available"},
		{"string.dump", `string.dump(function() end)`, "string.dump is not available"},
		{"collectgarbage", `collectgarbage("collect")`, "collectgarbage is not available"},
		{"getfenv", `getfenv(1).x = 1`, "getfenv is not available"},
		{"setfenv", `setfenv(1, {})`, "setfenv is not available"},
		{"newproxy", `newproxy(true)`, "newproxy is not available"},
		{"module", `module("x")`, "module is not available"},
		{"package", `package.loaded.string.upper = nil`, "package is not available"},
		{"_printregs", `_printregs()`, "_printregs is not available"},
		{"coroutine", `coroutine.wrap(function() end)()`, "coroutine is not available"},
		{"string.upper=nil", `string.upper = nil`, "the string library is read-only"},
		{"math.floor=", `math.floor = function() return 0 end`, "the math library is read-only"},
		{"table.insert=", `table.insert = nil`, "the table library is read-only"},
		{"rawset string", `rawset(string, "upper", print)`, "the string library is read-only"},
		{"table.insert on lib", `table.insert(string, print)`, "table.insert: the table is read-only"},
		{"string metatable", `getmetatable("").__index.upper = nil`, "attempt to index"},
		{"setmetatable string lib", `setmetatable(string, {})`, "cannot change a protected metatable"},
		{"clock=", `clock.add = nil`, "the clock library is read-only"},
		{"stdlib module", `require("std.helpers").has = nil`, "the std.helpers library is read-only"},
		{"stdlib nested", `require("std.timeskip").settles.angry = "furious"`, "read-only"},
		{"global in hook", `counter = 1`, `cannot set the global "counter" after the pack has loaded`},
		{"_G in hook", `_G.counter = 1`, `cannot set the global "counter"`},
		{"rawset _G", `rawset(_G, "counter", 1)`, `cannot set the global "counter"`},
		{"API global", `on = nil`, `cannot assign the global "on": it is part of the pack API`},
		{"math.randomseed", `math.randomseed(42)`, "math.randomseed is not available"},
		{"format %v", `string.format("%v", {})`, "invalid option '%v' to 'format'"},
		{"format %p", `string.format("%p", s)`, "invalid option '%p'"},
		{"format width", `string.format("%999999999d", 1)`, "width or precision longer than two digits"},
		{"require path", `require("../secret")`, "a module name is a dotted name"},
		{"require absolute", `require("/etc/passwd")`, "a module name is a dotted name"},
		{"constructor in hook", `world{ id = "x", start = { location = "road" } }`, "world{} can only be called while the pack loads"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustLoad(t, "on(\"turn_start\", function(s)\n  "+tc.code+"\nend)\n"+goodHook, lua.Options{})
			st := stateOf(t, p.World())
			cmds, err := p.RunHook(bg, "turn_start", st, 1)
			if err == nil {
				t.Fatalf("no error (commands %v), want %q", cmds, tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not contain %q", msg, tc.want)
			}
			if !strings.HasPrefix(msg, `hook "turn_start" (`) || !strings.Contains(msg, "pack.lua:10: ") {
				t.Fatalf("error %q does not name the hook and pack.lua:10", msg)
			}
			cmds, err = p.RunHook(bg, "reply", st, 1)
			if err != nil || len(cmds) != 1 {
				t.Fatalf("after the escape attempt the pack broke: %v %v", cmds, err)
			}
		})
	}
}

func TestSandboxAtLoad(t *testing.T) {
	cases := []struct{ name, code, want string }{
		{"string.upper=", `string.upper = function() return "pwned" end`, "PACK/pack.lua:9: the string library is read-only"},
		{"API global", `world = nil`, `PACK/pack.lua:9: cannot assign the global "world"`},
		{"string global", `string = {}`, `PACK/pack.lua:9: cannot assign the global "string"`},
		{"io", `local f = io.open("x")`, "PACK/pack.lua:9: io is not available"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := loadErr(t, map[string]string{"pack.lua": baseWorld + tc.code})
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Fatalf("got %q, want %q...", got, tc.want)
			}
		})
	}
}

// TestSharedLibraries: what one pack does to its globals cannot change how
// the libraries behave, for its own hooks or for another pack.
func TestSharedLibraries(t *testing.T) {
	p := mustLoad(t, `
local function shout(x) return string.upper(x) .. "!" end
pcall(function() string.upper = function() return "pwned" end end)
pcall(function() getmetatable("").__index = {} end)
pcall(function() rawset(string, "lower", nil) end)
on("turn_start", function(s)
  log(shout("hi"), ("abc"):upper(), string.lower("ABC"), require("std.helpers").humanize("a_b"), getmetatable(""), getmetatable(s))
end)
`, lua.Options{})
	if _, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1); err != nil {
		t.Fatal(err)
	}
	logs := p.Logs()
	if len(logs) != 1 || !strings.HasSuffix(logs[0], "pack.lua:15: HI!\tABC\tabc\ta b\tlocked\tlocked") {
		t.Fatalf("logs %q", logs)
	}
}

// TestStateReadOnly: every way of writing to s fails with the same advice.
func TestStateReadOnly(t *testing.T) {
	for _, code := range []string{
		`s.now = "2001-01-01T00:00"`,
		`s.entities.mara.mood = "happy"`,
		`s.entities.mara = nil`,
		`s.entities.ghost = {}`,
		`s.events.picnic = { status = "active" }`,
		`s.containers.car.slots.driver.sees[1] = "x"`,
		`s.edge("mara", "jun").affinity = 100`,
		`s.group.cohesion = 100`,
		`rawset(s.entities, "mara", 1)`,
		`s.act = nil`,
		`s.act.move = nil`,
	} {
		t.Run(code, func(t *testing.T) {
			p := mustLoad(t, "on(\"turn_start\", function(s)\n  "+code+"\nend)\n", lua.Options{})
			_, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1)
			if err == nil || !strings.Contains(err.Error(), "pack.lua:10: state is read-only; use s.act{...}") {
				t.Fatalf("err %v", err)
			}
		})
	}
	t.Run("table functions", func(t *testing.T) {
		p := mustLoad(t, `on("turn_start", function(s)
  table.insert(s.entities.jun.holding, "gun")
end)
on("reply", function(s)
  table.sort(s.entities.jun.holding)
end)`, lua.Options{})
		for _, hook := range []string{"turn_start", "reply"} {
			_, err := p.RunHook(bg, hook, stateOf(t, p.World()), 1)
			if err == nil || !strings.Contains(err.Error(), "the table is read-only") {
				t.Fatalf("%s: err %v", hook, err)
			}
		}
	})
	t.Run("state untouched", func(t *testing.T) {
		p := mustLoad(t, `on("turn_start", function(s)
  pcall(function() s.entities.mara.mood = "happy" end)
  pcall(function() table.insert(s.entities.jun.holding, "gun") end)
  s.act.set_mood{ who = "jun", mood = "sad" }
end)`, lua.Options{})
		st := stateOf(t, p.World())
		before := st.Hash()
		if _, err := p.RunHook(bg, "turn_start", st, 1); err != nil {
			t.Fatal(err)
		}
		if st.Hash() != before {
			t.Fatal("a hook changed the state it was given")
		}
	})
}

// TestReadsThroughViews: the views read like plain tables.
func TestReadsThroughViews(t *testing.T) {
	p := mustLoad(t, `on("turn_start", function(s)
  local ids = {}
  for id in pairs(s.entities) do ids[#ids + 1] = id end
  table.sort(ids)
  local held = {}
  for i, item in ipairs(s.entities.jun.holding) do held[i] = item end
  log(table.concat(ids, ","), #s.entities.jun.holding, held[1], table.concat(s.entities.jun.holding, "+"),
    unpack(s.here("mara")))
  log(next(s.entities.jun.holding), rawget(s.entities, "jun") ~= nil, s.entities.jun.container, s.entities.you.mood,
    s.edge("mara", "jun").note, s.edge("jun", "mara").affinity, s.occupant("car", "driver"), s.holder("map"))
  log(s.now, s.minutes, s.scene, s.turn, s.cast.player, #s.cast.bots, s.world.id, s.locations.lake.name,
    s.containers.car.occupants.back, s.events, s.last_skip)
  log(pcall(function() return s.entites end))
end)`, lua.Options{})
	if _, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1); err != nil {
		t.Fatal(err)
	}
	logs := p.Logs()
	want := []string{
		"jun,mara,you\t1\tmap\tmap\tyou\tmara\tjun",
		"1\ttrue\tcar\tnil\tresents him\t0\tmara\tjun",
		"2000-01-01T20:00\t0\t1\t0\tyou\t2\tt\tlake\tyou\t{}\tnil",
		`false	PACK/pack.lua:21: s has no field "entites" (did you mean "entities"?) (fields: entities, `,
	}
	if len(logs) != len(want) {
		t.Fatalf("logs %q", logs)
	}
	for i := range want {
		got := logs[i][strings.Index(logs[i], ": ")+2:]
		got = strings.ReplaceAll(got, p.Dir(), "PACK")
		if !strings.HasPrefix(got, want[i]) {
			t.Errorf("log %d:\n got %q\nwant %q", i+1, got, want[i])
		}
	}
}

// TestDeterministicValues: nothing a hook can print depends on memory
// addresses or OS randomness.
func TestDeterministicValues(t *testing.T) {
	p := mustLoad(t, `on("turn_start", function(s)
  log(tostring({}), tostring(print), tostring(s), string.format("%s|%5.2f|%x|%q", {}, 1/3, 255, "a\"b"))
end)`, lua.Options{})
	if _, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1); err != nil {
		t.Fatal(err)
	}
	logs := p.Logs()
	if len(logs) != 1 || !strings.HasSuffix(logs[0], "table\tfunction\ttable\ttable| 0.33|ff|\"a\\\"b\"") {
		t.Fatalf("logs %q", logs)
	}
}

func TestHookErrorIs(t *testing.T) {
	p := mustLoad(t, `on("turn_start", function(s)
  error("boom")
end)`, lua.Options{})
	_, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1)
	var he *lua.HookError
	if !errors.As(err, &he) {
		t.Fatalf("err %T %v, want *lua.HookError", err, err)
	}
	if he.Hook != `hook "turn_start"` || he.Line != 10 || he.Decl.Line != 9 || he.Msg != "boom" {
		t.Fatalf("HookError %+v", he)
	}
	if core.IsRejection(err) || errors.Is(err, lua.ErrTimeout) {
		t.Fatalf("a plain error passes for a rejection or a timeout")
	}
}
