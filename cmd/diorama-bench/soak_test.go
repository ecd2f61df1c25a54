package main

import (
	"context"
	"strings"
	"testing"
)

// testWriter sends the soak's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestSoakShort runs the soak's code path for a few hundred turns (six
// scenes), so it cannot rot between the runs of -group soak: no error, every
// line once in order (runSoak checks), summaries written, no goroutine
// left once everything is closed.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 300 turns")
	}
	rep, err := runSoak(context.Background(), t.TempDir(), 300, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if rep.moves != 300/soakSceneTurns || rep.summaries != 2*rep.moves {
		t.Errorf("%d scenes ended, %d summaries: want %d and %d", rep.moves, rep.summaries, 300/soakSceneTurns, 2*300/soakSceneTurns)
	}
	if rep.rejected != 0 {
		t.Errorf("%d commands refused", rep.rejected)
	}
	if before, after := rep.goroutines[0], rep.goroutines[1]; after > before {
		t.Errorf("goroutines: %d before, %d after closing everything", before, after)
	}
	for _, r := range rep.results() {
		t.Logf("%s: %s %s (%s)", r.Name, formatValue(r.Value), r.Unit, r.Note)
	}
}
