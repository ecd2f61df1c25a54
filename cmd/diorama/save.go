package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"diorama/core"
	"diorama/store"
)

// openSave opens an existing save named by --db, with an error that says
// what to do when there is none.
func openSave(path string) (*store.Store, error) {
	if path == "" {
		return nil, errors.New("--db SAVE is required")
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no save at %s (create one with 'diorama init --db %s --pack PACK')", path, path)
	}
	return store.Open(path)
}

// openEngine opens a save and an engine on a branch of it.
func openEngine(ctx context.Context, path, branch string) (*store.Store, *core.Engine, error) {
	st, err := openSave(path)
	if err != nil {
		return nil, nil, err
	}
	eng, err := core.NewEngine(ctx, st, st, branch)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return st, eng, nil
}
