package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPlayInTmux drives `diorama play` in a real terminal (tmux) with the
// offline renderer: a typed line gets a reply, the status bar shows, /quit
// exits. It needs a built binary (make build) and tmux; without either it
// says so and skips.
func TestPlayInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the end-to-end terminal check is skipped")
	}
	bin, err := filepath.Abs("../../bin/diorama")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skip("bin/diorama is not built (run make build): the end-to-end terminal check is skipped")
	}
	out, err := exec.Command("bash", "testdata/play_e2e.sh", bin, "../../worlds/night_drive", t.TempDir()).CombinedOutput()
	if err != nil {
		t.Fatalf("play in tmux: %v\n%s", err, out)
	}
}
