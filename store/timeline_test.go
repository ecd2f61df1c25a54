package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"diorama/core"
	"diorama/core/coretest"
	"diorama/store"
)

// TestTimeline runs the time-travel acceptance tests on the SQLite store;
// core runs the same ones on its in-memory log.
func TestTimeline(t *testing.T) {
	coretest.Run(t, coretest.Subject{
		Open: func(t *testing.T, w *core.WorldSpec) coretest.Log {
			s, err := store.Create(filepath.Join(t.TempDir(), "save.db"), w)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Rebuild: func(t *testing.T, l coretest.Log, branch string) *core.State {
			s := l.(*store.Store)
			ctx := context.Background()
			cur, err := s.CurrentBranch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			st, _, err := s.Rebuild(ctx, branch)
			if err != nil {
				t.Fatal(err)
			}
			// Rebuild leaves the projection on branch: put it back.
			if _, err := s.Checkout(ctx, cur); err != nil {
				t.Fatal(err)
			}
			return st
		},
	})
}
