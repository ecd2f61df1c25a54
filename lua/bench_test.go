package lua_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"diorama/core"
	"diorama/lua"
)

// BenchmarkLoad loads a small but complete pack (testdata/good: a world,
// three characters, a container, two story events, hooks, a module and a
// stdlib require) into a fresh VM. Budget: well under 50 ms.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		p, err := lua.Load("testdata/good", lua.Options{})
		if err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}

// BenchmarkHook is the overhead of one call into a pack: a no-op handler
// under its deadline and memory guard. Budget: well under 1 ms.
func BenchmarkHook(b *testing.B) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	st := stateOf(b, p.World())
	for b.Loop() {
		if _, err := p.RunHook(bg, "turn_start", st, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHookActs is a handler that reads the state and issues a command
// (view building, conversion, validation against a scratch clone).
func BenchmarkHookActs(b *testing.B) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	st := stateOf(b, p.World())
	msg := map[string]any{"who": "mara", "text": "hm"}
	for b.Loop() {
		if _, err := p.RunHook(bg, "reply", st, 1, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventConditions evaluates two story events' conditions.
func BenchmarkEventConditions(b *testing.B) {
	p, err := lua.Load("testdata/good", lua.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	st := stateOf(b, p.World())
	for b.Loop() {
		if _, err := p.EventConditions(bg, st, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReload is hot reload from the write of a file to the new rules
// in the host's hands, with the default debounce. Budget: 100 ms.
func BenchmarkReload(b *testing.B) {
	dir := writePack(b, map[string]string{"pack.lua": baseWorld})
	got := make(chan *lua.Pack, 1)
	w, err := lua.Watch(dir, lua.Options{}, 0, func(p *lua.Pack) { got <- p }, func(err error) { b.Error(err) })
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	i := 0
	for b.Loop() {
		i++
		if err := os.WriteFile(filepath.Join(dir, "pack.lua"), []byte(baseWorld+fmt.Sprintf("-- save %d\n", i)), 0o644); err != nil {
			b.Fatal(err)
		}
		select {
		case p := <-got:
			p.Close()
		case <-time.After(5 * time.Second):
			b.Fatal("no reload")
		}
	}
}

// BenchmarkBuildPrompt builds a bot's reply prompt (the stdlib template)
// from a full context: a scene's 40 lines, 8 memories, the night_drive cast.
// The state update prompt after it is BenchmarkBuildStateUpdate.
func BenchmarkBuildPrompt(b *testing.B) { benchTemplate(b, "reply") }

// BenchmarkBuildStateUpdate builds the state update prompt.
func BenchmarkBuildStateUpdate(b *testing.B) { benchTemplate(b, "state_update") }

func benchTemplate(b *testing.B, template string) {
	p, err := lua.Load("../worlds/night_drive", lua.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	st := stateOf(b, p.World())
	bot := st.Cast.Bots[0]
	var lines []core.Line
	for i := range 40 {
		who := []string{st.Cast.Player, bot, st.Cast.Bots[1]}[i%3]
		lines = append(lines, core.Line{ID: int64(100 + i), Who: who, Text: fmt.Sprintf("Line %d: the radio keeps cutting out and we passed that diner twice, right?", i), Mask: core.MaskAll})
	}
	var mems []core.Recalled
	for i := range 8 {
		mems = append(mems, core.Recalled{ID: int64(10 + i), Kind: "episodic", Text: fmt.Sprintf("Memory %d: the picnic basket is in the trunk.", i), Mask: core.MaskAll, Score: float64(i) / 10})
	}
	facts := core.POVFacts(st, bot, lines, mems, "Mara, Jun, what now?")
	facts["commands"] = core.CommandHelp()
	for b.Loop() {
		if _, err := p.BuildPrompt(bg, template, facts); err != nil {
			b.Fatal(err)
		}
	}
}
