package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{
		name:    "skip",
		usage:   "--db SAVE [--pack PACK] [elision|jump] DURATION|LABEL",
		summary: "skip time: 45m, 2h, 3d or \"three days later\" (a jump closes the scene and runs the pack's time-skip rules)",
		run:     runSkip,
	})
}

func runSkip(e *env, args []string) error {
	fs := newFlags(e, "skip")
	db := fs.String("db", "", "save file")
	pack := fs.String("pack", "", "pack folder (default: the one the save was made from)")
	name := fs.String("backend", "", "backend for the scene summaries a jump writes (default: as for turn)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return &exitError{code: 2, msg: `say how long, e.g. diorama skip --db SAVE 2h, or "three days later"`}
	}
	ctx := context.Background()
	a, err := openApp(ctx, e, appOptions{db: *db, pack: *pack, backend: *name})
	if err != nil {
		return err
	}
	defer a.Close()
	msg, err := a.skip(ctx, pos)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, msg)
	return nil
}
