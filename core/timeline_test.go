package core_test

import (
	"testing"

	"diorama/core"
	"diorama/core/coretest"
)

// TestMemLogTimeline runs the time-travel acceptance tests on the in-memory
// log; store runs the same ones on SQLite.
func TestMemLogTimeline(t *testing.T) {
	coretest.Run(t, coretest.Subject{
		Open: func(t *testing.T, w *core.WorldSpec) coretest.Log {
			l, err := core.NewMemLog(w)
			if err != nil {
				t.Fatal(err)
			}
			return l
		},
	})
}
