package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{
		name:    "delete",
		usage:   "--db SAVE EVENT [--dry-run]",
		summary: "delete an event and what was derived from it, as a new branch (--dry-run: only show the impact)",
		run:     runDelete,
	})
}

func runDelete(e *env, args []string) error {
	fs := newFlags(e, "delete")
	db := fs.String("db", "", "save file")
	dry := fs.Bool("dry-run", false, "show what would go and how the state would change; write nothing")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "give the event to delete, e.g. diorama delete --db SAVE 57 --dry-run (ids: 'diorama log')"}
	}
	seq, err := parseEvent(pos[0])
	if err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	ctx := context.Background()
	st, eng, err := openBranchEngine(ctx, *db, "")
	if err != nil {
		return err
	}
	defer st.Close()
	plan, err := eng.PlanDelete(ctx, seq)
	if err != nil {
		return travelError(err, "'diorama branches'")
	}
	fmt.Fprintln(e.stdout, plan.Preview())
	if *dry {
		return nil
	}
	backup, err := st.BackupRotated(ctx, fmt.Sprintf("before-delete-%d", seq), backupKeep)
	if err != nil {
		return fmt.Errorf("nothing deleted: the backup before it failed: %w", err)
	}
	if err := eng.Delete(ctx, plan); err != nil {
		return travelError(err, "'diorama branches'")
	}
	fmt.Fprintln(e.stdout, deleted(plan, backup))
	return nil
}
