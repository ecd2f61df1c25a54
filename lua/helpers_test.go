package lua_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"diorama/core"
	"diorama/lua"
)

// baseWorld declares a small world on lines 1-8; test packs add their
// lines after it (so their first own line is line 9).
const baseWorld = `world{ id = "t", start = { location = "road", time = "2000-01-01T20:00" }, minutes_per_turn = 2 }
location{ id = "road" }
location{ id = "lake" }
container{ id = "car", location = "road", slots = { driver = {}, passenger = {}, back = {} } }
player{ id = "you", at = { container = "car", slot = "back" } }
character{ id = "mara", name = "Mara", mood = "tense", at = { container = "car", slot = "driver" } }
character{ id = "jun", name = "Jun", holding = { "map" }, at = { container = "car", slot = "passenger" } }
relationship("mara", "jun", { affinity = -20, trust = 10, note = "resents him" })
`

// writePack writes files (slash paths relative to the pack) into a new
// temporary pack folder and returns it.
func writePack(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, src := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// mustLoad loads a pack made of baseWorld followed by src.
func mustLoad(tb testing.TB, src string, opts lua.Options) *lua.Pack {
	tb.Helper()
	p, err := lua.Load(writePack(tb, map[string]string{"pack.lua": baseWorld + src}), opts)
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

// loadErr loads a pack that must fail and returns its problems as strings
// with the pack folder replaced by "PACK".
func loadErr(tb testing.TB, files map[string]string) []string {
	tb.Helper()
	dir := writePack(tb, files)
	p, err := lua.Load(dir, lua.Options{})
	if err == nil {
		p.Close()
		tb.Fatalf("load succeeded, want an error")
	}
	le, ok := err.(*lua.LoadError)
	if !ok {
		tb.Fatalf("error %T %v, want *lua.LoadError", err, err)
	}
	var out []string
	for _, pr := range le.Problems {
		out = append(out, strings.ReplaceAll(pr.String(), dir, "PACK"))
	}
	return out
}

// stateOf builds the state a save of w starts from.
func stateOf(tb testing.TB, w *core.WorldSpec) *core.State {
	tb.Helper()
	payload, err := json.Marshal(core.WorldCreated{World: *w})
	if err != nil {
		tb.Fatal(err)
	}
	st := core.NewState()
	ev := core.Event{Seq: 1, Type: core.TypeWorldCreated, Version: core.CurrentVersion(core.TypeWorldCreated), Payload: payload}
	if err := st.Apply(&ev); err != nil {
		tb.Fatal(err)
	}
	return st
}

// apply folds commands into st as the engine would commit them.
func apply(tb testing.TB, st *core.State, cmds ...core.Command) *core.State {
	tb.Helper()
	st = st.Clone()
	for _, c := range cmds {
		drafts, err := core.Decide(st, c, nil)
		if err != nil {
			tb.Fatalf("decide %v: %v", c, err)
		}
		for _, d := range drafts {
			typ, v, payload, err := core.EncodeDraft(d)
			if err != nil {
				tb.Fatal(err)
			}
			ev := core.Event{Seq: st.LastSeq + 1, Parent: st.LastSeq, Type: typ, Version: v, Payload: payload, Mask: d.Mask, WorldTime: d.WorldTime}
			if err := st.Apply(&ev); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return st
}

func cmdStrings(cmds []core.Command) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.String()
	}
	return out
}

var bg = context.Background()

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func symlink(oldname, newname string) error { return os.Symlink(oldname, newname) }
