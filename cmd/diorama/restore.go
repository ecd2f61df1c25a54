package main

import (
	"context"
	"fmt"

	"diorama/store"
)

func init() {
	register(&command{
		name:    "restore",
		usage:   "--db SAVE FILE",
		summary: "replace the save with a backup (the save it replaces is backed up first)",
		run:     runRestore,
	})
}

func runRestore(e *env, args []string) error {
	fs := newFlags(e, "restore")
	db := fs.String("db", "", "the save to restore into")
	keep := fs.Int("keep", backupKeep, "how many backups to keep (the oldest go)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "give the backup to restore, e.g. diorama restore --db SAVE FILE (diorama backup --db SAVE --list shows them)"}
	}
	if *db == "" {
		return &exitError{code: 2, msg: "--db SAVE is required"}
	}
	backup, err := store.Restore(context.Background(), *db, pos[0], *keep)
	if err != nil {
		return err
	}
	if backup == "" {
		fmt.Fprintf(e.stdout, "restored %s from %s (there was no save there before)\n", *db, pos[0])
		return nil
	}
	fmt.Fprintf(e.stdout, "restored %s from %s; the save it replaced is backed up at %s\n", *db, pos[0], backup)
	return nil
}
