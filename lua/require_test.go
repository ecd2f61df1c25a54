package lua_test

import (
	"strings"
	"testing"

	"diorama/lua"
)

func TestRequire(t *testing.T) {
	t.Run("modules", func(t *testing.T) {
		p, err := lua.Load(writePack(t, map[string]string{
			"pack.lua": baseWorld + `local a = require("lib.a")
local again = require("lib.a")
log(a.name, a == again, require("lib.b"), require("std.helpers").humanize("x_y"))
helper_from_pack = "shared"
on("turn_start", function(s) log(require("lib.a").name) end)`,
			"lib/a.lua": `log("loading a") return { name = "a" }`,
			"lib/b.lua": `log(helper_from_pack == nil) -- pack modules share the pack's globals`,
		}), lua.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		logs := p.Logs()
		if len(logs) != 3 || !strings.HasSuffix(logs[0], "lib/a.lua:1: loading a") || !strings.HasSuffix(logs[1], "lib/b.lua:1: true") || !strings.HasSuffix(logs[2], "a\ttrue\ttrue\tx y") {
			t.Fatalf("logs %q", logs)
		}
	})
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"parent", map[string]string{"pack.lua": `require("..secret")`}, `PACK/pack.lua:1: require "..secret": a module name is a dotted name`},
		{"slash", map[string]string{"pack.lua": `require("lib/a")`}, `PACK/pack.lua:1: require "lib/a": a module name is a dotted name`},
		{"absolute", map[string]string{"pack.lua": `require("/etc/passwd")`}, `PACK/pack.lua:1: require "/etc/passwd": a module name`},
		{"missing", map[string]string{"pack.lua": `require("nope")`}, `PACK/pack.lua:1: require "nope": no file PACK/nope.lua in the pack`},
		{"tests", map[string]string{"pack.lua": `require("tests.basic")`, "tests/basic.lua": ``}, `PACK/pack.lua:1: require "tests.basic": tests/ holds the pack's tests, not rules`},
		{"stdlib missing", map[string]string{"pack.lua": `require("std.nope")`}, `PACK/pack.lua:1: require "std.nope": no such stdlib module (stdlib has: std.helpers`},
		{"circular", map[string]string{"pack.lua": `require("a")`, "a.lua": `require("b")`, "b.lua": `require("a")`}, `PACK/b.lua:1: require "a": circular require`},
		{"syntax in module", map[string]string{"pack.lua": `require("a")`, "a.lua": "local x = = 1"}, `PACK/a.lua:1: syntax error near '='`},
		{"not a string", map[string]string{"pack.lua": `require({})`}, `PACK/pack.lua:1: bad argument #1 to require`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := loadErr(t, tc.files)
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Fatalf("got %q\nwant %q...", got, tc.want)
			}
		})
	}
	t.Run("symlink", func(t *testing.T) {
		dir := writePack(t, map[string]string{"pack.lua": baseWorld})
		outside := writePack(t, map[string]string{"secret.lua": `return "secret"`})
		if err := symlink(outside+"/secret.lua", dir+"/secret.lua"); err != nil {
			t.Skip(err)
		}
		_, err := lua.Load(dir, lua.Options{})
		if err == nil || !strings.Contains(err.Error(), "symlinks are not followed") {
			t.Fatalf("err %v", err)
		}
	})
}
