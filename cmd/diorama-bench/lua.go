package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"diorama/core"
	"diorama/lua"
)

func init() {
	groups = append(groups, group{name: "lua", run: benchLua})
}

// packDir finds a bundled pack from the repository root or from bin/.
func packDir(name string) (string, error) {
	for _, root := range []string{".", "..", "../.."} {
		d := filepath.Join(root, "worlds", name)
		if _, err := os.Stat(filepath.Join(d, "pack.lua")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("bundled pack %s not found (run from the repository root)", name)
}

func benchLua(b *bench) ([]result, error) {
	dir, err := packDir("night_drive")
	if err != nil {
		return nil, err
	}
	// Pack load: a fresh VM, all top-level code, validation.
	var loads []float64
	for i := 0; i < 10*b.runs; i++ {
		start := time.Now()
		p, err := lua.Load(dir, lua.Options{})
		if err != nil {
			return nil, err
		}
		loads = append(loads, msSince(start))
		p.Close()
	}
	p, err := lua.Load(dir, lua.Options{})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	log, err := core.NewMemLog(p.World())
	if err != nil {
		return nil, err
	}
	st, err := log.LoadState(context.Background(), "main")
	if err != nil {
		return nil, err
	}
	// Hook overhead per turn: every hook a turn fires on this pack.
	var hooks []float64
	ctx := context.Background()
	for i := 0; i < 200*b.runs; i++ {
		start := time.Now()
		for _, h := range []struct {
			name string
			args []any
		}{{core.HookTurnStart, nil}, {core.HookUserMessage, []any{"Mara, pull over at the gas station."}}, {core.HookReply, []any{"mara", "Fine."}}} {
			if _, err := p.RunHook(ctx, h.name, st, uint64(i), h.args...); err != nil {
				return nil, fmt.Errorf("hook %s: %w", h.name, err)
			}
		}
		if _, err := p.EventConditions(ctx, st, uint64(i)); err != nil {
			return nil, err
		}
		hooks = append(hooks, msSince(start))
	}
	// Hot reload: from a file write to the new rules handed over.
	tmp, err := os.MkdirTemp(b.dir, "reload-")
	if err != nil {
		return nil, err
	}
	if err := os.CopyFS(tmp, os.DirFS(dir)); err != nil {
		return nil, err
	}
	reloaded := make(chan time.Time, 16)
	w, err := lua.Watch(tmp, lua.Options{}, 0, func(np *lua.Pack) { reloaded <- time.Now(); np.Close() }, func(error) {})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	entry := filepath.Join(tmp, "pack.lua")
	src, err := os.ReadFile(entry)
	if err != nil {
		return nil, err
	}
	var reloads []float64
	for i := 0; i < b.runs; i++ {
		time.Sleep(150 * time.Millisecond) // let the watcher settle between edits
		start := time.Now()
		if err := os.WriteFile(entry, append(append([]byte(nil), src...), fmt.Sprintf("\n-- edit %d\n", i)...), 0o644); err != nil {
			return nil, err
		}
		select {
		case at := <-reloaded:
			reloads = append(reloads, float64(at.Sub(start).Microseconds())/1000)
		case <-time.After(5 * time.Second):
			return nil, fmt.Errorf("hot reload: no reload within 5s of a write")
		}
	}
	return []result{
		atMost("pack load (night_drive)", median(loads), "ms", 50),
		atMost("hook overhead per turn (3 hooks + story-event conditions)", median(hooks), "ms", 1),
		atMost("hot reload: file write to new rules", median(reloads), "ms", 100),
	}, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
