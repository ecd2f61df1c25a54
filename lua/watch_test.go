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

type reloads struct {
	packs chan *lua.Pack
	errs  chan error
}

func watch(t *testing.T, dir string, debounce time.Duration) *reloads {
	t.Helper()
	r := &reloads{packs: make(chan *lua.Pack, 16), errs: make(chan error, 16)}
	w, err := lua.Watch(dir, lua.Options{}, debounce, func(p *lua.Pack) { r.packs <- p }, func(err error) { r.errs <- err })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Close()
		close(r.packs)
		for p := range r.packs {
			p.Close()
		}
	})
	return r
}

func (r *reloads) next(t *testing.T) (*lua.Pack, error) {
	t.Helper()
	select {
	case p := <-r.packs:
		return p, nil
	case err := <-r.errs:
		return nil, err
	case <-time.After(5 * time.Second):
		t.Fatal("no reload within 5s")
	}
	return nil, nil
}

// quiet fails if anything is reloaded within d.
func (r *reloads) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case p := <-r.packs:
		t.Fatalf("unexpected reload (world title %q)", p.World().Title)
	case err := <-r.errs:
		t.Fatalf("unexpected reload error: %v", err)
	case <-time.After(d):
	}
}

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func titled(title string) string {
	return strings.Replace(baseWorld, `id = "t",`, `id = "t", title = "`+title+`",`, 1) +
		`on("reply", function(s) s.act.set_mood{ who = "jun", mood = "` + title + `" } end)` + "\n"
}

func TestWatch(t *testing.T) {
	dir := writePack(t, map[string]string{"pack.lua": titled("one")})
	old, err := lua.Load(dir, lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	st := stateOf(t, old.World())
	r := watch(t, dir, 30*time.Millisecond)

	t.Run("GoodChange", func(t *testing.T) {
		start := time.Now()
		write(t, dir, "pack.lua", titled("two"))
		p, err := r.next(t)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("save to new rules: %v (debounce 30ms)", time.Since(start))
		if got := p.World().Title; got != "two" {
			t.Fatalf("title %q, want two", got)
		}
		if p.Hash() == old.Hash() {
			t.Fatal("new rules, same hash")
		}
		cmds, err := p.RunHook(bg, "reply", st, 1)
		if err != nil || len(cmds) != 1 || cmds[0].Mood != "two" {
			t.Fatalf("new rules: %v %v", cmds, err)
		}
	})

	t.Run("BrokenChange", func(t *testing.T) {
		write(t, dir, "pack.lua", titled("three")+"\non(\"reply\", function(s)\n  s.act.set_mood{ who = \"jun\" \nend)\n")
		_, err := r.next(t)
		var le *lua.LoadError
		if !errors.As(err, &le) {
			t.Fatalf("err %v, want a *lua.LoadError", err)
		}
		if got := le.Problems[0].String(); !strings.HasPrefix(got, filepath.Join(dir, "pack.lua")+":13: syntax error near 'end'") {
			t.Fatalf("problem %q, want pack.lua:13", got)
		}
		// The old rules keep running.
		cmds, err := old.RunHook(bg, "reply", st, 1)
		if err != nil || len(cmds) != 1 || cmds[0].Mood != "one" {
			t.Fatalf("old rules: %v %v", cmds, err)
		}
		// Fixing the file reloads.
		write(t, dir, "pack.lua", titled("four"))
		p, err := r.next(t)
		if err != nil || p.World().Title != "four" {
			t.Fatalf("after the fix: %v", err)
		}
	})

	t.Run("RapidSaves", func(t *testing.T) {
		for i := 0; i < 10; i++ {
			write(t, dir, "pack.lua", titled("rapid"+string(rune('a'+i))))
			time.Sleep(5 * time.Millisecond)
		}
		p, err := r.next(t)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.World().Title; got != "rapidj" {
			t.Fatalf("title %q, want the last save (rapidj)", got)
		}
		r.quiet(t, 200*time.Millisecond)
	})

	t.Run("Modules", func(t *testing.T) {
		write(t, dir, "lib/extra.lua", `return { mood = "modular" }`)
		write(t, dir, "pack.lua", titled("five")+`local extra = require("lib.extra")`)
		p, err := r.next(t)
		if err != nil || p.World().Title != "five" {
			t.Fatalf("%v", err)
		}
		write(t, dir, "lib/extra.lua", `return { mood = "changed" } -- a module change reloads`)
		if p, err = r.next(t); err != nil || p.World().Title != "five" {
			t.Fatalf("%v", err)
		}
		write(t, dir, "lib/extra.lua", `return { mood = `)
		_, err = r.next(t)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "lib", "extra.lua")+":1:") {
			t.Fatalf("err %v, want lib/extra.lua:1", err)
		}
		write(t, dir, "lib/extra.lua", `return { mood = "fixed" }`)
		if _, err = r.next(t); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("NotRules", func(t *testing.T) {
		write(t, dir, "tests/basic.lua", `test("x", function(t) end)`)
		write(t, dir, "notes.md", "# notes")
		write(t, dir, ".pack.lua.swp", "swap")
		src, _ := os.ReadFile(filepath.Join(dir, "pack.lua"))
		write(t, dir, "pack.lua", string(src)) // saved, unchanged
		r.quiet(t, 200*time.Millisecond)
	})
}
