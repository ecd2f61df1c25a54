package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{
		name:    "rewind",
		usage:   "--db SAVE [--turns N | --to EVENT]",
		summary: "move the checked-out branch back N turns (default 1) or to an event; the old tip stays as a branch",
		run:     runRewind,
	})
}

func runRewind(e *env, args []string) error {
	fs := newFlags(e, "rewind")
	db := fs.String("db", "", "save file")
	turns := fs.Int("turns", 0, "how many turns to undo (default 1)")
	to := fs.String("to", "", "the event to move back to (an id from 'diorama log')")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q (say --turns N or --to EVENT)", pos[0])}
	}
	var target int64
	switch {
	case *to != "" && *turns != 0:
		return &exitError{code: 2, msg: "give --turns or --to, not both"}
	case *to != "":
		if target, err = parseEvent(*to); err != nil {
			return &exitError{code: 2, msg: err.Error()}
		}
	case *turns < 0:
		return &exitError{code: 2, msg: fmt.Sprintf("--turns %d: rewind by at least one turn", *turns)}
	case *turns == 0:
		*turns = 1
	}
	ctx := context.Background()
	st, eng, err := openBranchEngine(ctx, *db, "")
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := eng.Rewind(ctx, *turns, target)
	if err != nil {
		return travelError(err, "'diorama branches'")
	}
	fmt.Fprintln(e.stdout, rewound(res, eng))
	return nil
}
