package lua_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"diorama/lua"
)

// fuzzModules are the files around the mutated pack.lua: the modules the
// seed packs require (the diner's, and the good pack's lib/util.lua), so
// a mutation of a real pack gets past require to the declarations and the
// validation instead of stopping at a missing module.
var fuzzModules = map[string]string{
	"places.lua":     "../worlds/diner/places.lua",
	"characters.lua": "../worlds/diner/characters.lua",
	"story.lua":      "../worlds/diner/story.lua",
	"rules.lua":      "../worlds/diner/rules.lua",
	"lib/util.lua":   "testdata/good/lib/util.lua",
}

// FuzzLoad is `diorama check` on a mutated pack: a pack folder whose
// pack.lua is the fuzzer's (its modules are real ones). Whatever the source,
// Load returns a pack or a *LoadError; never panics or hangs. A LoadError
// holds at least one problem, each at a file (the pack's or the stdlib's)
// rendered FILE[:LINE]: message as check prints it; a pack that loads has
// a world that passes the core's checks, and its summary (as check prints
// it) can be taken.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"../worlds/diner/pack.lua", "testdata/good/pack.lua", "testdata/syntax/pack.lua",
		"testdata/unknown_field/pack.lua", "testdata/lore/pack.lua", "testdata/bad_slot/pack.lua",
		"testdata/duplicate_id/pack.lua", "testdata/wrong_type/pack.lua", "testdata/unknown_hook/pack.lua"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`while true do end`))
	f.Add([]byte(`string.rep("x", 1e9)`))
	f.Add([]byte(`world{ id = "w", start = { location = "r" } } location{ id = "r" } player{ id = "you" }`))
	f.Add([]byte(`world{ id = "w", start = { location = "r" } } location{ id = "r" } player{ id = "you" } require("lib.util")`))
	modules := map[string][]byte{}
	for name, from := range fuzzModules {
		b, err := os.ReadFile(from)
		if err != nil {
			f.Fatal(err)
		}
		modules[name] = b
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range modules {
			if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, lua.EntryFile), src, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := lua.Load(dir, lua.Options{LoadTimeout: 200 * time.Millisecond, HookTimeout: 20 * time.Millisecond})
		if err != nil {
			var le *lua.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if len(le.Problems) == 0 {
				t.Fatal("a LoadError with no problems")
			}
			for _, pr := range le.Problems {
				if pr.File == "" || (!strings.HasPrefix(pr.File, dir) && !strings.HasPrefix(pr.File, "stdlib/")) {
					t.Fatalf("problem at %q, not a file of the pack or the stdlib: %s", pr.File, pr)
				}
				if pr.Line < 0 {
					t.Fatalf("problem at line %d: %s", pr.Line, pr)
				}
			}
			return
		}
		defer p.Close()
		w := p.World()
		if w == nil || w.ID == "" {
			t.Fatalf("loaded pack without a world: %+v", w)
		}
		if errs := w.Validate(); len(errs) > 0 {
			t.Fatalf("loaded a world the core refuses: %v", errs)
		}
		for _, h := range lua.HookNames() {
			if p.Hooks(h) < 0 {
				t.Fatalf("hook %s: %d handlers", h, p.Hooks(h))
			}
		}
	})
}
