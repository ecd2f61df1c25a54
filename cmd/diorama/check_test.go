package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCheckCmd runs diorama with args and returns its exit code and output.
func runCheckCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(&env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
}

func TestCheckBundledPacks(t *testing.T) {
	for _, pack := range []string{"night_drive", "diner"} {
		dir := filepath.Join("..", "..", "worlds", pack)
		if _, err := os.Stat(filepath.Join(dir, "pack.lua")); err != nil {
			t.Skipf("%s: %v", dir, err)
		}
		code, out, errs := runCheckCmd(t, "check", dir)
		if code != 0 {
			t.Fatalf("check %s: exit %d\n%s%s", dir, code, out, errs)
		}
		if !strings.HasPrefix(out, dir+`: ok (world "`+pack+`", 3 characters, `) {
			t.Fatalf("check %s: %q", dir, out)
		}
	}
}

func TestCheckGood(t *testing.T) {
	code, out, errs := runCheckCmd(t, "check", "../../lua/testdata/good/")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	want := `../../lua/testdata/good: ok (world "good", 3 characters, 2 locations, 1 container, 2 story events, 3 hooks)` + "\n"
	if out != want {
		t.Fatalf("got  %q\nwant %q", out, want)
	}
}

// TestCheckProblems: each error class exits 1 with every problem as
// FILE:LINE: message on stdout.
func TestCheckProblems(t *testing.T) {
	for fixture, want := range map[string]string{
		"syntax":               "../../lua/testdata/syntax/pack.lua:10: syntax error near 'end'\n",
		"unknown_field":        "../../lua/testdata/unknown_field/pack.lua:6: character{}: unknown field \"moood\"",
		"bad_slot":             "../../lua/testdata/bad_slot/pack.lua:6: character \"mara\": slot \"trunk\" does not exist in \"car\"",
		"three_bots":           "../../lua/testdata/three_bots/pack.lua:8: character \"kim\": at most 2 characters besides the player, got 3\n",
		"unknown_relationship": "../../lua/testdata/unknown_relationship/pack.lua:8: relationship mara->ghost: unknown character \"ghost\"\n",
		"duplicate_id":         "../../lua/testdata/duplicate_id/pack.lua:7: location \"mara\": duplicate id (already a character at ../../lua/testdata/duplicate_id/pack.lua:6)\n../../lua/testdata/duplicate_id/pack.lua:8: ",
		"timeout":              "../../lua/testdata/timeout/pack.lua:",
	} {
		t.Run(fixture, func(t *testing.T) {
			code, out, errs := runCheckCmd(t, "check", "../../lua/testdata/"+fixture)
			if code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			if !strings.HasPrefix(out, want) {
				t.Fatalf("stdout %q\nwant prefix %q", out, want)
			}
			if errs != "diorama check: 1 of 1 packs failed\n" {
				t.Fatalf("stderr %q", errs)
			}
		})
	}
}

func TestCheckMixed(t *testing.T) {
	code, out, errs := runCheckCmd(t, "check", "../../lua/testdata/good", "../../lua/testdata/bad_slot", filepath.Join(t.TempDir(), "missing"))
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], ": ok (") || !strings.Contains(lines[1], "bad_slot/pack.lua:6:") || !strings.HasSuffix(lines[2], "missing: no such pack folder") {
		t.Fatalf("stdout %q", out)
	}
	if errs != "diorama check: 2 of 3 packs failed\n" {
		t.Fatalf("stderr %q", errs)
	}
}

func TestCheckUsage(t *testing.T) {
	if code, _, errs := runCheckCmd(t, "check"); code != 2 || !strings.Contains(errs, "want at least one pack folder") {
		t.Fatalf("exit %d %q", code, errs)
	}
}
