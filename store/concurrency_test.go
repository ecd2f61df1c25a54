package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"diorama/core"
	"diorama/store"
)

// TestConcurrency: 8 goroutines append turns (each on its own branch) and
// submit background writes while readers read: every write lands, and
// nothing ever sees "database is locked".
func TestConcurrency(t *testing.T) {
	ctx := context.Background()
	const writers, turns = 8, 40
	s, path := newSave(t)
	root, err := s.Head(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE scratch (writer INTEGER, n INTEGER)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads atomic.Int64
	errs := make(chan error, 100)
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; !stop.Load(); i++ {
				var err error
				switch (r + i) % 5 {
				case 0:
					_, err = s.LoadState(ctx, store.DefaultBranch)
				case 1:
					_, err = s.Memories(ctx, core.MaskAll)
				case 2:
					_, err = s.Branches(ctx)
				case 3:
					_, err = s.Events(ctx, store.DefaultBranch)
				case 4:
					_, err = s.EventCount(ctx)
					s.Memory(int64(i))
				}
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			branch := fmt.Sprintf("w%d", w)
			var eng *core.Engine
			var err error
			if w == 0 {
				branch = store.DefaultBranch
			} else if err = s.SetHead(ctx, branch, root); err != nil {
				errs <- err
				return
			}
			if eng, err = core.NewEngine(ctx, s, s, branch); err != nil {
				errs <- err
				return
			}
			for i := range turns {
				err := s.Write(ctx, func(tx *sql.Tx) error {
					_, err := tx.Exec(`INSERT INTO scratch VALUES (?, ?)`, w, i)
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				_, err = eng.Do(ctx, mustParse(t, fmt.Sprintf(`{"op":"note_fact","who":"mara","fact":"%s %d"}`, branch, i)),
					mustParse(t, `{"op":"advance_time","minutes":1}`))
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	var n int
	if err := rawDB(t, path).QueryRow(`SELECT count(*) FROM scratch`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != writers*turns {
		t.Fatalf("scratch rows = %d, want %d", n, writers*turns)
	}
	if got, want := mustCount(t, s), int64(1+writers*turns*2); got != want {
		t.Fatalf("events = %d, want %d", got, want)
	}
	brs, err := s.Branches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range brs {
		if b.Turn != turns {
			t.Errorf("branch %s at turn %d, want %d", b.Name, b.Turn, turns)
		}
	}
	t.Logf("%d reads alongside the writes", reads.Load())
}

func mustCount(t *testing.T, s *store.Store) int64 {
	t.Helper()
	n, err := s.EventCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
