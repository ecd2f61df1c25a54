package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"diorama/core"
	"diorama/store"
)

func init() {
	register(&command{
		name:    "import-session",
		usage:   "--db NEW_SAVE FILE [--branch NAME]",
		summary: "make a new save from a session file (from 'diorama export --format jsonl')",
		run:     runImportSession,
	})
}

func runImportSession(e *env, args []string) error {
	fs := newFlags(e, "import-session")
	db := fs.String("db", "", "the new save to create (must not exist)")
	branch := fs.String("branch", store.DefaultBranch, "the branch the session becomes")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "give the session file, e.g. diorama import-session --db new.db tests/sessions/picnic.jsonl"}
	}
	if *db == "" {
		return &exitError{code: 2, msg: "--db NEW_SAVE is required: the save to create"}
	}
	if _, err := os.Stat(*db); err == nil {
		return fmt.Errorf("%s exists already: import-session makes a new save and never writes over one", *db)
	}
	sf, err := readSessionFile(pos[0])
	if err != nil {
		return err
	}
	if err := store.Import(context.Background(), *db, sf.Events, *branch); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("%s exists already: import-session makes a new save and never writes over one", *db)
		}
		return err
	}
	last := sf.Events[len(sf.Events)-1]
	fmt.Fprintf(e.stdout, "imported %d events (turn %d) of world %s into %s, branch %s\n", len(sf.Events), last.Turn, sf.Header.World, *db, *branch)
	return nil
}

// readSessionFile reads and checks a session file; problems read FILE:LINE: message.
func readSessionFile(path string) (*core.SessionFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sf, err := core.ReadSession(f)
	if err != nil {
		var se *core.SessionError
		if errors.As(err, &se) && se.Line > 0 {
			return nil, fmt.Errorf("%s:%d: %s", path, se.Line, se.Msg)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sf, nil
}
