package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCheckCmd(t, "new", "tea-party", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	pack := filepath.Join(dir, "tea-party")
	if !strings.HasPrefix(out, "created "+pack) {
		t.Fatalf("stdout %q", out)
	}
	for _, f := range []string{"pack.lua", "tests/basic.lua"} {
		if _, err := os.Stat(filepath.Join(pack, f)); err != nil {
			t.Fatal(err)
		}
	}
	// It passes check from its first second.
	code, out, errs = runCheckCmd(t, "check", pack)
	if code != 0 || !strings.Contains(out, `: ok (world "tea_party", 2 characters, 2 locations, 1 container, 1 story event, 1 hook)`) {
		t.Fatalf("check: exit %d %q %q", code, out, errs)
	}
	// It teaches the API it uses.
	src, _ := os.ReadFile(filepath.Join(pack, "pack.lua"))
	for _, want := range []string{"world{", "player{", "character{", "location{", "container{", "relationship(", "story_event{", "props =", "on(\"user_message\"", "s.act."} {
		if !strings.Contains(string(src), want) {
			t.Errorf("pack.lua has no %q", want)
		}
	}
	test, _ := os.ReadFile(filepath.Join(pack, "tests", "basic.lua"))
	if !strings.Contains(string(test), `test("`) {
		t.Errorf("tests/basic.lua has no test(...)")
	}
	// Refuses to overwrite.
	if err := os.WriteFile(filepath.Join(pack, "pack.lua"), []byte("-- mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCheckCmd(t, "new", "tea-party", "--dir", dir)
	if code != 1 || !strings.Contains(errs, "already exists: refusing to overwrite it") {
		t.Fatalf("second new: exit %d %q", code, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(pack, "pack.lua")); string(b) != "-- mine" {
		t.Fatal("the existing pack was overwritten")
	}
}

func TestNewUsage(t *testing.T) {
	for _, args := range [][]string{{"new"}, {"new", "a", "b"}, {"new", "../escape"}, {"new", "has space"}} {
		if code, _, _ := runCheckCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// TestNewTestFileIsLua: the placeholder test compiles (the runner comes
// with the pack-test issue).
func TestNewTestFileIsLua(t *testing.T) {
	dir := t.TempDir()
	if code, out, errs := runCheckCmd(t, "new", "p", "--dir", dir); code != 0 {
		t.Fatalf("exit %d %s%s", code, out, errs)
	}
	// Compile tests/basic.lua as a pack entry point: check reports syntax
	// errors with file:line, and a file that only calls test() gets "no
	// world{...} declared" (and an unknown global call) but no syntax error.
	tdir := filepath.Join(dir, "t")
	if err := os.Mkdir(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(filepath.Join(dir, "p", "tests", "basic.lua"))
	if err := os.WriteFile(filepath.Join(tdir, "pack.lua"), []byte("local function test() end\n"+string(src)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runCheckCmd(t, "check", tdir)
	if strings.Contains(out, "syntax error") || !strings.Contains(out, "no world{...} declared") {
		t.Fatalf("check of the test file: %q", out)
	}
}
