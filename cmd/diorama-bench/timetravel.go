package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"diorama/core"
	"diorama/store"
)

func init() {
	groups = append(groups, group{name: "timetravel", run: benchTimeTravel})
}

// Time travel on the synthetic save of the turn benchmark (the night_drive
// world, half of the events lines): rewind, switching between two branches
// that diverge by a thousand events each way, and deleting an early event
// (every later event replayed onto its parent) with its impact preview.
const (
	divergence  = 1_000
	rewindReps  = 20
	switchReps  = 40
	earlyTarget = 50 // the event deleted is the first line at or after this seq
)

func benchTimeTravel(b *bench) ([]result, error) {
	ctx := context.Background()
	pack, err := loadTurnPack()
	if err != nil {
		return nil, err
	}
	world := pack.World()
	pack.Close()
	k := b.events / 1000
	var out []result

	// Rewind one turn, again and again from the head: each keeps the old tip
	// as a branch and moves the projection back.
	path, err := b.packSave(world, b.events, "rewind")
	if err != nil {
		return nil, err
	}
	st, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	eng, err := core.NewEngine(ctx, st, st, store.DefaultBranch)
	if err == nil {
		err = st.LoadCopies(ctx) // as the memory workers do when play starts: time travel brings the copies along, as in play
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	var rewinds []float64
	for range rewindReps {
		t := time.Now()
		if _, err := eng.Rewind(ctx, 1, 0); err != nil {
			st.Close()
			return nil, fmt.Errorf("rewind: %w", err)
		}
		rewinds = append(rewinds, ms(time.Since(t)))
	}
	st.Close()
	out = append(out, atMost(fmt.Sprintf("rewind one turn (%dk events)", k), median(rewinds), "ms", 50))

	// Two branches that diverge by divergence events each way.
	path, err = b.packSave(world, b.events, "switch")
	if err != nil {
		return nil, err
	}
	st, err = store.Open(path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if eng, err = core.NewEngine(ctx, st, st, store.DefaultBranch); err != nil {
		return nil, err
	}
	if err := st.LoadCopies(ctx); err != nil {
		return nil, err
	}
	tail, err := st.Tail(ctx, eng.State().LastSeq, divergence+1)
	if err != nil {
		return nil, err
	}
	fork := tail[0].Seq
	if err := eng.NewBranch(ctx, "alt", fork, true); err != nil {
		return nil, err
	}
	if err := grow(ctx, eng, divergence); err != nil {
		return nil, err
	}
	altHash := eng.State().Hash()
	if err := eng.Checkout(ctx, store.DefaultBranch); err != nil {
		return nil, err
	}
	mainHash := eng.State().Hash()
	var switches []float64
	for i := range switchReps {
		to, want := "alt", altHash
		if i%2 == 1 {
			to, want = store.DefaultBranch, mainHash
		}
		t := time.Now()
		if err := eng.Checkout(ctx, to); err != nil {
			return nil, err
		}
		switches = append(switches, ms(time.Since(t)))
		if eng.State().Hash() != want {
			return nil, fmt.Errorf("switch %d to %s: the state differs", i, to)
		}
	}
	out = append(out, atMost(fmt.Sprintf("switch branch, %d events of divergence each way (%dk events)", divergence, k), median(switches), "ms", 50))

	// Delete an early line: preview (replay of every later event), then the
	// write of the edited path as a new branch; the backup taken first is
	// measured on its own.
	var previews, writes, totals, backups []float64
	var dropped int
	for i := range b.runs {
		path, err := b.packSave(world, b.events, fmt.Sprintf("delete-%d", i))
		if err != nil {
			return nil, err
		}
		ds, err := store.Open(path)
		if err != nil {
			return nil, err
		}
		de, err := core.NewEngine(ctx, ds, ds, store.DefaultBranch)
		if err == nil {
			err = ds.LoadCopies(ctx)
		}
		if err != nil {
			ds.Close()
			return nil, err
		}
		target, err := earlyLine(ctx, ds, de.State().LastSeq)
		if err != nil {
			ds.Close()
			return nil, err
		}
		t := time.Now()
		plan, err := de.PlanDelete(ctx, target)
		if err != nil {
			ds.Close()
			return nil, err
		}
		_ = plan.Preview()
		preview := time.Since(t)
		t2 := time.Now()
		if _, err := ds.BackupRotated(ctx, "bench", 1); err != nil {
			ds.Close()
			return nil, err
		}
		backup := time.Since(t2)
		t3 := time.Now()
		if err := de.Delete(ctx, plan); err != nil {
			ds.Close()
			return nil, err
		}
		write := time.Since(t3)
		ds.Close()
		previews, writes, backups = append(previews, ms(preview)), append(writes, ms(write)), append(backups, ms(backup))
		totals = append(totals, ms(preview+write))
		dropped = len(plan.Dropped)
	}
	out = append(out,
		atMost(fmt.Sprintf("delete an early event with preview: preview + write (%dk events)", k), median(totals), "ms", 2000),
		plain("  of which the impact preview", median(previews), "ms"),
		plain("  of which writing the edited path", median(writes), "ms"),
		plain(fmt.Sprintf("  backup before it (VACUUM INTO, not in the budget; %d events dropped)", dropped), median(backups), "ms"))
	return out, nil
}

// grow appends n events of synthetic turns (lines and commands) to the
// engine's branch.
func grow(ctx context.Context, eng *core.Engine, n int) error {
	r := rand.New(rand.NewPCG(99, 3))
	for written := 0; written < n; {
		s := eng.State()
		cmds := make([]core.Command, 3)
		for i := range cmds {
			cmds[i] = core.SyntheticCommand(r, s)
		}
		drafts, _ := eng.Plan(cmds)
		members := s.Cast.Members()
		who := members[r.IntN(len(members))]
		drafts = append([]core.Draft{{Type: core.TypeLineSaid, Payload: &core.LineSaid{Who: who, Text: syntheticLine(r, written)},
			Mask: s.Earshot(who), WorldTime: s.Clock}}, drafts...)
		if over := written + len(drafts) - n; over > 0 {
			drafts = drafts[:len(drafts)-over]
		}
		if _, err := eng.Append(ctx, drafts); err != nil {
			return err
		}
		written += len(drafts)
	}
	return nil
}

// earlyLine finds the first line at or after event earlyTarget on the path
// to head.
func earlyLine(ctx context.Context, st *store.Store, head int64) (int64, error) {
	for seq := int64(earlyTarget); seq < earlyTarget+200; seq++ {
		ev, err := st.Event(ctx, seq)
		if err != nil {
			return 0, err
		}
		if ev.Type == core.TypeLineSaid {
			return seq, nil
		}
	}
	return 0, fmt.Errorf("no line near event %d", earlyTarget)
}
