package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{
		name:    "checkout",
		usage:   "--db SAVE NAME",
		summary: "switch to another branch: the next turn, play or state uses it",
		run:     runCheckout,
	})
}

func runCheckout(e *env, args []string) error {
	fs := newFlags(e, "checkout")
	db := fs.String("db", "", "save file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "give the branch to switch to, e.g. diorama checkout --db SAVE main (see 'diorama branches')"}
	}
	ctx := context.Background()
	st, eng, err := openBranchEngine(ctx, *db, "")
	if err != nil {
		return err
	}
	defer st.Close()
	if err := eng.Checkout(ctx, pos[0]); err != nil {
		return travelError(err, "'diorama branches'")
	}
	fmt.Fprintf(e.stdout, "on branch %s: turn %d, event #%d\n", eng.Branch(), eng.State().Turn, eng.State().LastSeq)
	return nil
}
