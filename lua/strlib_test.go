package lua_test

import (
	"strings"
	"testing"

	"diorama/lua"
)

// TestStringLib: the capped builtins still behave like Lua's.
func TestStringLib(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`("hello world"):gsub("o", "0")`, "hell0 w0rld\t2"},
		{`("night_drive_home"):gsub("_", " ")`, "night drive home\t2"},
		{`("mara"):gsub("_", " ")`, "mara\t0"},
		{`("aaaa"):gsub("aa", "b")`, "bb\t2"},
		{`("aaa"):gsub("aa", "b")`, "ba\t1"},
		{`("a_b"):gsub("_", "%%")`, "a%b\t1"},
		{`("a.b"):gsub(".", "x")`, "xxx\t3"},
		{`("a_b_c"):gsub("_", "-", 1)`, "a-b_c\t1"},
		{`("abc"):gsub("%w", "%0%0")`, "aabbcc\t3"},
		{`("a,b,,c"):gsub(",", ";", 2)`, "a;b;,c\t2"},
		{`string.gsub("abc", "b", { b = "B" })`, "aBc\t1"},
		{`string.gsub("abc", "(b)", function(x) return x:upper() end)`, "aBc\t1"},
		{`string.gsub("abc", "x*", "-")`, "-a-b-c-\t4"},
		{`string.gsub("hello", "(l)(l)", "%2%1")`, "hello\t1"},
		{`("hello"):find("l")`, "3\t3"},
		{`("hello"):find("l", 4)`, "4\t4"},
		{`("a.b"):find(".", 1, true)`, "2\t2"},
		{`("hello"):find("xyz")`, "nil"},
		{`("key=val"):match("(%w+)=(%w+)")`, "key\tval"},
		{`("  trim  "):match("^%s*(.-)%s*$")`, "trim"},
		{`("f(a(b)c)"):match("%b()")`, "(a(b)c)"},
		{`("x"):match("()")`, "1"},
		{`select("#", ("abc"):byte(1, -1))`, "3"},
		{`string.char(104, 105)`, "hi"},
		{`string.format("%5s|%-5s|%05d|%.3f|%x|%X|%o|%e|%g|%c|%%|%i", "a", "b", 42, 1/3, 255, 255, 8, 12345.678, 0.5, 65, 7)`,
			"    a|b    |00042|0.333|ff|FF|10|1.234568e+04|0.5|A|%|7"},
		{`string.format("%q", "line\nbreak \"q\" \\ \0")`, `"line\nbreak \"q\" \\ \000"`},
		{`string.format("%s %s %s", nil, true, 12)`, "nil true 12"},
		{`string.rep("ab", 3)`, "ababab"},
		{`string.rep("ab", 0)`, ""},
		{`table.concat({ 1, "b", 3 }, "-")`, "1-b-3"},
		{`table.concat({ "a", "b", "c" }, ",", 2, 3)`, "b,c"},
	}
	var b strings.Builder
	b.WriteString("on(\"turn_start\", function(s)\n")
	for _, c := range cases {
		b.WriteString("  log(" + c.expr + ")\n")
	}
	b.WriteString(`  local words = {}
  for w in string.gmatch("one two  three", "%a+") do words[#words + 1] = w end
  log(table.concat(words, "|"))
  local pairs_ = {}
  for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do pairs_[#pairs_ + 1] = k .. v end
  log(table.concat(pairs_, "|"))
end)`)
	p := mustLoad(t, b.String(), lua.Options{})
	if _, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1); err != nil {
		t.Fatal(err)
	}
	logs := p.Logs()
	if len(logs) != len(cases)+2 {
		t.Fatalf("%d logs: %q", len(logs), logs)
	}
	for i, c := range cases {
		got := logs[i][strings.Index(logs[i], ": ")+2:]
		if got != c.want {
			t.Errorf("%s\n got %q\nwant %q", c.expr, got, c.want)
		}
	}
	if got := logs[len(cases)]; !strings.HasSuffix(got, ": one|two|three") {
		t.Errorf("gmatch: %q", got)
	}
	if got := logs[len(cases)+1]; !strings.HasSuffix(got, ": a1|b2") {
		t.Errorf("gmatch captures: %q", got)
	}
}
