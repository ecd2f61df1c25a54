package main

import (
	"context"
	"fmt"
	"time"

	"diorama/store"
)

func init() {
	register(&command{
		name:    "backup",
		usage:   "--db SAVE [--keep N] [--list]",
		summary: "back the save up now (online, rotated) into the folder next to it, or list its backups",
		run:     runBackup,
	})
}

func runBackup(e *env, args []string) error {
	fs := newFlags(e, "backup")
	db := fs.String("db", "", "save file")
	keep := fs.Int("keep", backupKeep, "how many backups to keep (the oldest go)")
	list := fs.Bool("list", false, "list the backups instead, oldest first")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *keep < 1 {
		return &exitError{code: 2, msg: fmt.Sprintf("--keep %d: keep at least one backup", *keep)}
	}
	if *list {
		if *db == "" {
			return &exitError{code: 2, msg: "--db SAVE is required"}
		}
		all, err := store.Backups(*db)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			fmt.Fprintf(e.stdout, "no backups of %s yet (they go in %s)\n", *db, store.BackupDir(*db))
		}
		for _, b := range all {
			fmt.Fprintln(e.stdout, b)
		}
		return nil
	}
	st, err := openSave(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	path, err := st.BackupRotated(context.Background(), "manual", *keep)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, path)
	return nil
}

// backupInterval is how often `play` backs the save up while it runs (and
// at start, when the newest backup is older than that).
const backupInterval = time.Hour

// startBackups backs the save up in the background on a schedule while
// the app plays; the returned stop waits for a backup in progress.
func (a *app) startBackups(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait := time.Duration(0)
		if last := store.LastBackup(a.st.Path()); !last.IsZero() {
			wait = max(0, backupInterval-time.Since(last))
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := a.st.BackupRotated(ctx, "scheduled", backupKeep); err != nil && ctx.Err() == nil {
				a.notice("scheduled backup failed: " + oneLine(err.Error()))
			}
			t.Reset(backupInterval)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
