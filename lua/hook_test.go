package lua_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"diorama/core"
	"diorama/lua"
)

func TestActs(t *testing.T) {
	p := mustLoad(t, `on("turn_start", function(s)
  s.act{ op = "move", who = "car", location = "lake" }
  -- later acts and reads see earlier ones
  log(s.entities.mara.location, s.containers.car.location)
  s.act.move{ who = "mara", location = "lake" }
  s.act.move{ who = "jun", container = "car", slot = "driver" }
  s.act:set_goals{ who = "jun", goals = {} }
  s.act.set_goals{ who = "mara", goals = { "swim", "forget" } }
  s.act.adjust{ who = "mara", to = "jun", affinity = -5, note = "still" }
  log(s.edge("mara", "jun").affinity, s.edge("mara", "jun").note, #s.edge("mara", "jun").notes)
end)
on("turn_start", function(s)
  -- a second handler sees the first one's commands applied
  log(s.entities.jun.slot, s.entities.mara.container)
  s.act.set_mood{ who = "mara", mood = "lighter" }
end)`, lua.Options{})
	st := stateOf(t, p.World())
	cmds, err := p.RunHook(bg, "turn_start", st, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"op":"move","who":"car","location":"lake"}`,
		`{"op":"move","who":"mara","location":"lake"}`,
		`{"op":"move","who":"jun","container":"car","slot":"driver"}`,
		`{"op":"set_goals","who":"jun","goals":[]}`,
		`{"op":"set_goals","who":"mara","goals":["swim","forget"]}`,
		`{"op":"adjust","who":"mara","to":"jun","affinity":-5,"note":"still"}`,
		`{"op":"set_mood","who":"mara","mood":"lighter"}`,
	}
	if got := cmdStrings(cmds); !reflect.DeepEqual(got, want) {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	logs := p.Logs()
	for i, w := range []string{"lake\tlake", "-25\tstill\t2", "driver\tnil"} {
		if !strings.HasSuffix(logs[i], w) {
			t.Errorf("log %d %q, want suffix %q", i+1, logs[i], w)
		}
	}
	// The engine accepts what the hook proposed.
	apply(t, st, cmds...)
}

func TestActRejected(t *testing.T) {
	p := mustLoad(t, `on("turn_start", function(s)
  s.act.set_mood{ who = "jun", mood = "ok" }
  s.act.move{ who = "mara", container = "car", slot = "trunk" }
end)
on("reply", function(s)
  s.act{ op = "fly", who = "mara" }
end)
on("scene_end", function(s)
  s.act.set_mood{ who = "mara", mood = "x", colour = "red" }
end)
on("user_message", function(s)
  local ok, err = pcall(s.act.give, { who = "you", to = "mara", item = "map" })
  log(ok, err)
end)`, lua.Options{})
	st := stateOf(t, p.World())
	cmds, err := p.RunHook(bg, "turn_start", st, 1)
	if cmds != nil {
		t.Errorf("commands %v from a failed hook: want none", cmds)
	}
	if !core.IsRejection(err) {
		t.Errorf("%v is not a core rejection", err)
	}
	var he *lua.HookError
	if !errors.As(err, &he) || he.Line != 11 {
		t.Fatalf("err %#v, want a HookError at line 11", err)
	}
	if want := `s.act.move rejected: move: slot: slot does not exist: "trunk" in "car" (slots: back, driver, passenger)`; he.Msg != want {
		t.Fatalf("msg %q\nwant %q", he.Msg, want)
	}
	_, err = p.RunHook(bg, "reply", st, 1)
	if err == nil || !strings.Contains(err.Error(), `pack.lua:14: s.act rejected: op: unknown op "fly"`) {
		t.Fatalf("err %v", err)
	}
	_, err = p.RunHook(bg, "scene_end", st, 1)
	if err == nil || !strings.Contains(err.Error(), `pack.lua:17: s.act.set_mood rejected: set_mood: colour: unknown field for set_mood`) {
		t.Fatalf("err %v", err)
	}
	if _, err = p.RunHook(bg, "user_message", st, 1); err != nil {
		t.Fatal(err)
	}
	if logs := p.Logs(); len(logs) != 1 || !strings.Contains(logs[0], `pack.lua:21: false	`) || !strings.HasSuffix(logs[0], `pack.lua:20: s.act.give rejected: give: item: item not held: you does not hold "map"`) {
		t.Fatalf("logs %q", logs)
	}
}

func TestRunHookArgs(t *testing.T) {
	p := mustLoad(t, `on("reply", function(s, reply, n, flags, list)
  log(reply.who, reply.text, n, flags.loud, list[2], #list)
  reply.who = "changed"
end)
on("reply", function(s, reply)
  log(reply.who)
end)`, lua.Options{})
	_, err := p.RunHook(bg, "reply", stateOf(t, p.World()), 1,
		map[string]any{"who": "jun", "text": "remember when"}, 42, struct {
			Loud bool `json:"loud"`
		}{true}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	logs := p.Logs()
	if len(logs) != 2 || !strings.HasSuffix(logs[0], "jun\tremember when\t42\ttrue\tb\t2") || !strings.HasSuffix(logs[1], "jun") {
		t.Fatalf("logs %q", logs)
	}
	if _, err := p.RunHook(bg, "nope", stateOf(t, p.World()), 1); err == nil {
		t.Fatal("unknown hook: no error")
	}
	if _, err := p.RunHook(bg, "reply", stateOf(t, p.World()), 1, func() {}); err == nil {
		t.Fatal("a func argument: no error")
	}
}

// TestDeterminism: the same seed gives the same rolls, hence the same
// commands; randomness comes from nowhere else.
func TestDeterminism(t *testing.T) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	st := stateOf(t, p.World())
	run := func(p *lua.Pack, seed uint64) string {
		var out []string
		for i := 0; i < 8; i++ {
			cmds, err := p.RunHook(bg, "reply", st, seed+uint64(i), map[string]any{"who": "mara", "text": "hm"})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, cmdStrings(cmds)...)
		}
		return strings.Join(out, "\n")
	}
	a, b, c := run(p, 1), run(q, 1), run(p, 1000)
	if a != b {
		t.Fatalf("same seed, different commands:\n%s\n--\n%s", a, b)
	}
	if a == c {
		t.Fatalf("different seeds, same 8 rolls: the seed is not used")
	}
	r := mustLoad(t, `on("turn_start", function(s)
  log(s.random(), s.random(1, 6), s.random(3), math.random(), math.random(10, 20), s:random(2))
end)`, lua.Options{})
	roll := func(seed uint64) string {
		if _, err := r.RunHook(bg, "turn_start", st, seed); err != nil {
			t.Fatal(err)
		}
		return strings.Join(r.Logs(), "")
	}
	if x, y := roll(7), roll(7); x != y {
		t.Fatalf("same seed: %q vs %q", x, y)
	}
}

func TestEventConditions(t *testing.T) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st := stateOf(t, p.World())
	cmds, err := p.EventConditions(bg, st, 1)
	if err != nil || len(cmds) != 0 {
		t.Fatalf("at the start: %v %v, want nothing", cmds, err)
	}
	st = apply(t, st, core.Command{Op: "move", Who: "car", Location: "lake"})
	cmds, err = p.EventConditions(bg, st, 1)
	if got, want := cmdStrings(cmds), []string{`{"op":"start_event","event":"picnic"}`}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("at the lake: %v %v, want %v", got, err, want)
	}
	st = apply(t, st, cmds...)
	cmds, err = p.StoryEventHook(bg, "picnic", "start", st, 1)
	if got, want := cmdStrings(cmds), []string{`{"op":"hold","who":"mara","item":"basket"}`}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("on_start: %v %v, want %v", got, err, want)
	}
	st = apply(t, st, cmds...)
	st = apply(t, st, core.Command{Op: "move", Who: "car", Location: "road"})
	cmds, err = p.EventConditions(bg, st, 1)
	if got, want := cmdStrings(cmds), []string{`{"op":"complete_event","event":"picnic"}`}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("back on the road: %v %v, want %v", got, err, want)
	}
	st = apply(t, st, cmds...)
	cmds, err = p.StoryEventHook(bg, "picnic", "complete", st, 1)
	if got, want := cmdStrings(cmds), []string{`{"op":"set_mood","who":"jun","mood":"content"}`}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("on_complete: %v %v, want %v", got, err, want)
	}
	// dawn has only an `at`: it starts when the clock gets there.
	minutes := int64(10 * 60)
	st = apply(t, st, core.Command{Op: "advance_time", Minutes: &minutes})
	cmds, err = p.EventConditions(bg, st, 1)
	if got, want := cmdStrings(cmds), []string{`{"op":"start_event","event":"dawn"}`}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("at dawn: %v %v, want %v", got, err, want)
	}
	if _, err := p.StoryEventHook(bg, "nope", "start", st, 1); err == nil {
		t.Fatal("unknown event: no error")
	}
}

func TestConditionsCannotAct(t *testing.T) {
	p := mustLoad(t, `story_event{ id = "e", starts_when = function(s)
  s.act.set_mood{ who = "mara", mood = "x" }
  return true
end }`, lua.Options{})
	_, err := p.EventConditions(bg, stateOf(t, p.World()), 1)
	if err == nil || !strings.Contains(err.Error(), `starts_when of story event "e"`) || !strings.Contains(err.Error(), "pack.lua:10: s.act is not available in starts_when / ends_when") {
		t.Fatalf("err %v", err)
	}
}

func TestTimeSkip(t *testing.T) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st := stateOf(t, p.World())
	cmds, err := p.TimeSkip(bg, st, 1, core.Skip{Kind: "jump", Minutes: 600, Label: "next morning"})
	if got, want := cmdStrings(cmds), []string{`{"op":"set_activity","who":"mara","doing":"stretching"}`}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("jump: %v %v, want %v", got, err, want)
	}
	cmds, err = p.TimeSkip(bg, st, 1, core.Skip{Kind: "elision", Minutes: 30})
	if err != nil || len(cmds) != 0 {
		t.Fatalf("elision: %v %v", cmds, err)
	}
	// A pack without timeskip rules gets the stdlib default: strong moods
	// settle on a jump.
	d := mustLoad(t, `-- no timeskip rule`, lua.Options{})
	st = apply(t, stateOf(t, d.World()), core.Command{Op: "set_mood", Who: "mara", Mood: "angry"})
	cmds, err = d.TimeSkip(bg, st, 1, core.Skip{Kind: "jump", Minutes: 3 * 24 * 60})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cmds {
		if c.Op == "set_mood" && c.Who == "mara" {
			found = true
		}
	}
	if !found {
		t.Fatalf("default rule: %v, want mara's anger to settle", cmdStrings(cmds))
	}
}

func TestPrompts(t *testing.T) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out, err := p.CallPrompt(bg, "system", map[string]any{"speaker": map[string]any{"name": "Mara"}})
	if err != nil || out != "You are Mara." {
		t.Fatalf("CallPrompt = %#v, %v", out, err)
	}
	if _, err := p.CallPrompt(bg, "nope", nil); !errors.Is(err, lua.ErrNoPrompt) {
		t.Fatalf("unknown prompt: %v", err)
	}
	q := mustLoad(t, `prompt("sections", function(ctx, std)
  return { { name = "a", text = ctx.x, priority = 10 }, { name = "b", text = std.feeling(70) } }
end)
prompt("bad", function(ctx) return function() end end)`, lua.Options{})
	out, err = q.CallPrompt(bg, "sections", map[string]any{"x": "hello"})
	want := []any{map[string]any{"name": "a", "text": "hello", "priority": int64(10)}, map[string]any{"name": "b", "text": "close"}}
	if err != nil || !reflect.DeepEqual(out, want) {
		t.Fatalf("CallPrompt = %#v, %v", out, err)
	}
	if _, err := q.CallPrompt(bg, "bad", nil); err == nil || !strings.Contains(err.Error(), "a function cannot be converted") {
		t.Fatalf("bad result: %v", err)
	}
}

func TestBuildPromptAndCall(t *testing.T) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	score, err := p.Call(bg, nil, 0, "std.significance", "score", "I never told you this, but I crashed the car.")
	if n, ok := score.(int64); err != nil || !ok || n < 5 {
		t.Fatalf("std.significance.score = %#v, %v", score, err)
	}
	st := stateOf(t, p.World())
	who, err := p.Call(bg, st, 1, "std.speakers", "select", map[string]any{"who": "you", "text": "Jun, what do you think?"})
	if err != nil || !reflect.DeepEqual(who, []any{"jun"}) {
		t.Fatalf("std.speakers.select = %#v, %v", who, err)
	}
	out, err := p.BuildPrompt(bg, "reply", map[string]any{
		"speaker": map[string]any{"id": "mara", "name": "Mara"},
		"world":   map[string]any{"id": "good", "title": "Good"},
	})
	sections, ok := out.([]any)
	if err != nil || !ok || len(sections) == 0 {
		t.Fatalf("BuildPrompt = %#v, %v", out, err)
	}
	if first, _ := sections[0].(map[string]any); first["name"] != "system" || first["text"] != "You are Mara." {
		t.Fatalf("the pack's system override was not used: %#v", sections[0])
	}
	if _, err := p.Call(bg, nil, 0, "std.nope", "x"); err == nil {
		t.Fatal("unknown module: no error")
	}
	if _, err := p.Call(bg, nil, 0, "lib.util", "mentions", "Hi Mara", "mara"); err != nil {
		t.Fatalf("a pack module: %v", err)
	}
}

func TestClosed(t *testing.T) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := stateOf(t, p.World())
	p.Close()
	p.Close()
	if _, err := p.RunHook(bg, "reply", st, 1, map[string]any{"who": "jun"}); !errors.Is(err, lua.ErrClosed) {
		t.Fatalf("err %v, want ErrClosed", err)
	}
}

func TestLogs(t *testing.T) {
	p := mustLoad(t, `log("loading", 1, nil, true, { a = { 1, 2 }, b = "x" })
print("printed")
on("turn_start", function(s) for i = 1, 2000 do log(i) end end)`, lua.Options{})
	logs := p.Logs()
	if len(logs) != 2 || !strings.HasSuffix(logs[0], `pack.lua:9: loading	1	nil	true	{a = {1, 2}, b = "x"}`) || !strings.HasSuffix(logs[1], "pack.lua:10: printed") {
		t.Fatalf("logs %q", logs)
	}
	if len(p.Logs()) != 0 {
		t.Fatal("Logs does not drain")
	}
	if _, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1); err != nil {
		t.Fatal(err)
	}
	logs = p.Logs()
	if len(logs) != 1000 || !strings.HasSuffix(logs[999], ": 2000") {
		t.Fatalf("%d logs, last %q", len(logs), logs[len(logs)-1])
	}
}

func TestClock(t *testing.T) {
	p := mustLoad(t, `on("turn_start", function(s)
  local t = clock.parse(s.now)
  log(t.year, t.month, t.day, t.hour, t.min, t.wday, clock.add(s.now, 90), clock.diff(s.now, "2000-01-02T20:00"),
    clock.format(s.now, "%A %d %B %Y, %I:%M %p"))
  log(pcall(clock.parse, "tomorrow"))
end)`, lua.Options{})
	if _, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1); err != nil {
		t.Fatal(err)
	}
	logs := p.Logs()
	if !strings.HasSuffix(logs[0], "2000\t1\t1\t20\t0\t7\t2000-01-01T21:30\t1440\tSaturday 01 January 2000, 08:00 PM") || !strings.Contains(logs[1], "false") {
		t.Fatalf("logs %q", logs)
	}
}
