package main

import (
	"context"
	"fmt"
	"strings"

	"diorama/core"
)

func init() {
	register(&command{
		name:    "branch",
		usage:   "--db SAVE NAME [--at EVENT] | --rename OLD NEW | --delete NAME",
		summary: "create a branch at the head (or at an event), rename one, or delete one (its events stay)",
		run:     runBranch,
	})
	register(&command{
		name:    "branches",
		usage:   "--db SAVE",
		summary: "list the branches, one a line, the checked-out one marked *",
		run:     runBranches,
	})
}

func runBranch(e *env, args []string) error {
	fs := newFlags(e, "branch")
	db := fs.String("db", "", "save file")
	at := fs.String("at", "", "the event the branch starts from (default: the checked-out branch's head)")
	rename := fs.Bool("rename", false, "rename branch OLD to NEW")
	del := fs.Bool("delete", false, "delete branch NAME (its events stay in the save; a backup is taken first)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch {
	case *rename && *del:
		return &exitError{code: 2, msg: "give --rename or --delete, not both"}
	case *rename:
		if len(pos) != 2 || *at != "" {
			return &exitError{code: 2, msg: "usage: diorama branch --db SAVE --rename OLD NEW"}
		}
	case *del:
		if len(pos) != 1 || *at != "" {
			return &exitError{code: 2, msg: "usage: diorama branch --db SAVE --delete NAME"}
		}
	case len(pos) != 1:
		return &exitError{code: 2, msg: "give the new branch's name, e.g. diorama branch --db SAVE what-if"}
	}
	var from int64
	if *at != "" {
		if from, err = parseEvent(*at); err != nil {
			return &exitError{code: 2, msg: err.Error()}
		}
	}
	st, eng, err := openBranchEngine(ctx, *db, "")
	if err != nil {
		return err
	}
	defer st.Close()
	switch {
	case *rename:
		if err := eng.Rename(ctx, pos[0], pos[1]); err != nil {
			return travelError(err, "'diorama branches'")
		}
		fmt.Fprintf(e.stdout, "branch %s is now %s\n", pos[0], pos[1])
	case *del:
		if pos[0] == eng.Branch() {
			return fmt.Errorf("branch %s is checked out: check out another branch first", pos[0])
		}
		heads, err := st.Heads(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, h := range heads {
			found = found || h.Name == pos[0]
		}
		if !found {
			return fmt.Errorf("branch %q: %w", pos[0], travelError(core.ErrNoBranch, "'diorama branches'"))
		}
		backup, err := st.BackupRotated(ctx, "before-branch-delete", backupKeep)
		if err != nil {
			return fmt.Errorf("branch not deleted: the backup before it failed: %w", err)
		}
		if err := eng.DeleteBranch(ctx, pos[0]); err != nil {
			return travelError(err, "'diorama branches'")
		}
		fmt.Fprintf(e.stdout, "branch %s deleted (its events stay in the save; backup: %s)\n", pos[0], backup)
	default:
		if err := eng.NewBranch(ctx, pos[0], from, false); err != nil {
			return travelError(err, "'diorama branches'")
		}
		where := from
		if where == 0 {
			where = eng.State().LastSeq
		}
		fmt.Fprintf(e.stdout, "branch %s starts at event #%d; switch to it with: diorama checkout --db %s %s\n", pos[0], where, *db, pos[0])
	}
	return nil
}

func runBranches(e *env, args []string) error {
	fs := newFlags(e, "branches")
	db := fs.String("db", "", "save file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	ctx := context.Background()
	st, err := openSave(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	cur, err := st.CurrentBranch(ctx)
	if err != nil {
		return err
	}
	// Listing reads only: an engine on the checked-out branch, the
	// projection left where it is.
	eng, err := core.NewEngine(ctx, st, st, cur)
	if err != nil {
		return err
	}
	bs, err := eng.Branches(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, strings.TrimRight(formatBranches(bs), "\n"))
	return nil
}
