package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"diorama/core"
	"diorama/lua"
)

func init() {
	register(&command{
		name:    "replay",
		usage:   "--db SAVE [--pack PACK] [--branch B] | FILE.jsonl --pack PACK",
		summary: "re-run a session's player lines through the current pack with the recorded model outputs; exit 1 at the first divergence",
		run:     runReplay,
	})
}

func runReplay(e *env, args []string) error {
	fs := newFlags(e, "replay")
	db := fs.String("db", "", "save file")
	pack := fs.String("pack", "", "pack folder (default: the one the save was made from)")
	branch := fs.String("branch", "", "branch to replay (default: the checked-out one)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var evs []core.Event
	var what string
	switch {
	case len(pos) == 1 && *db == "":
		if *branch != "" {
			return &exitError{code: 2, msg: "--branch is for a save; a session file holds one branch"}
		}
		sf, err := readSessionFile(pos[0])
		if err != nil {
			return err
		}
		evs, what = sf.Events, pos[0]
	case len(pos) == 0 && *db != "":
		st, err := openSave(*db)
		if err != nil {
			return err
		}
		name := *branch
		if name == "" {
			if name, err = st.CurrentBranch(ctx); err != nil {
				st.Close()
				return err
			}
		}
		evs, err = st.Events(ctx, name)
		st.Close()
		if err != nil {
			return travelError(err, "'diorama branches'")
		}
		what = "branch " + name + " of " + *db
	default:
		return &exitError{code: 2, msg: "give --db SAVE or a session file, e.g. diorama replay --db SAVE --pack worlds/night_drive"}
	}
	dir := *pack
	if dir == "" {
		dir = recordedPackDir(evs)
		if dir == "" {
			return &exitError{code: 2, msg: "the session names no pack folder that exists here: pass --pack PACK"}
		}
	}
	p, err := lua.Load(dir, lua.Options{})
	if err != nil {
		return fmt.Errorf("load pack %s: %w", dir, err)
	}
	defer p.Close()
	rep, err := replayWith(ctx, p, evs)
	if err != nil {
		return err
	}
	if d := rep.Divergence; d != nil {
		fmt.Fprintf(e.stdout, "replayed %s through %s: %s\n", what, dir, d)
		return &exitError{code: 1, msg: fmt.Sprintf("diverged at event %d (turn %d): %s", d.Seq, d.Turn, d.What)}
	}
	fmt.Fprintf(e.stdout, "replayed %s through %s: %d turns, %d events, no divergence (state %s)\n", what, dir, rep.Turns, rep.Events, rep.StateHash[:12])
	return nil
}

// replayWith replays evs through pack p, checking that they are the pack's world.
func replayWith(ctx context.Context, p *lua.Pack, evs []core.Event) (*core.ReplayReport, error) {
	if len(evs) > 0 {
		if pl, err := evs[0].Decode(); err == nil {
			if wc, ok := pl.(*core.WorldCreated); ok && wc.World.ID != p.World().ID {
				return nil, fmt.Errorf("the pack is world %q but the session is world %q", p.World().ID, wc.World.ID)
			}
		}
	}
	return core.Replay(ctx, p, evs, core.ReplayOptions{})
}

// recordedPackDir is the last pack folder the session recorded, if it
// exists here.
func recordedPackDir(evs []core.Event) string {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type != core.TypePackLoaded {
			continue
		}
		p, err := evs[i].Decode()
		if err != nil {
			continue
		}
		dir := strings.TrimSpace(p.(*core.PackLoaded).Dir)
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, lua.EntryFile)); err == nil {
			return dir
		}
		return ""
	}
	return ""
}
