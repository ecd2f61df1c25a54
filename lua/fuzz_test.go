package lua_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"diorama/lua"
)

// FuzzLoad mutates a pack's entry file: whatever the source, Load returns a
// pack or a *LoadError with file:line problems; it never panics or hangs.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/good/pack.lua", "testdata/syntax/pack.lua", "testdata/unknown_field/pack.lua", "testdata/lore/pack.lua"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`while true do end`))
	f.Add([]byte(`string.rep("x", 1e9)`))
	f.Add([]byte(`world{ id = "w", start = { location = "r" } } location{ id = "r" } player{ id = "you" }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "pack.lua"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := lua.Load(dir, lua.Options{LoadTimeout: 200 * time.Millisecond, HookTimeout: 20 * time.Millisecond})
		if err != nil {
			if _, ok := err.(*lua.LoadError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		p.Close()
	})
}
