package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"diorama/core"
	"diorama/lua"
	"diorama/store"
)

func init() {
	register(&command{
		name:    "init",
		usage:   "--db SAVE (--pack PACK | --world FILE.json)",
		summary: "create a save from a world pack or a JSON world description",
		run:     runInit,
	})
}

func runInit(e *env, args []string) error {
	fs := newFlags(e, "init")
	db := fs.String("db", "", "path of the save to create")
	pack := fs.String("pack", "", "world pack folder")
	worldFile := fs.String("world", "", "JSON world description")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *db == "" {
		return &exitError{code: 2, msg: "--db SAVE is required"}
	}
	if (*pack == "") == (*worldFile == "") {
		return &exitError{code: 2, msg: "give exactly one of --pack PACK or --world FILE.json"}
	}
	var w *core.WorldSpec
	var loaded *core.PackLoaded
	if *pack != "" {
		p, err := lua.Load(*pack, lua.Options{})
		if err != nil {
			return fmt.Errorf("load pack %s: %w", *pack, err)
		}
		w = p.World()
		loaded = &core.PackLoaded{Pack: w.ID, Version: w.Version, Hash: p.Hash(), Dir: absPath(*pack)}
		p.Close()
	} else if w, err = readWorldJSON(*worldFile); err != nil {
		return err
	}
	st, err := store.Create(*db, w)
	if err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("%s already exists: pick another --db path or remove it first", *db)
		}
		return err
	}
	defer st.Close()
	if loaded != nil {
		// The log records which rules were in force from the start.
		if err := recordPack(context.Background(), st, loaded, nil); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "created %s: world %q, cast %v\n", *db, w.ID, w.Cast().Members())
	return nil
}

// readWorldJSON decodes a JSON world description strictly: unknown fields
// are errors, so a typo never passes silently.
func readWorldJSON(path string) (*core.WorldSpec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read world %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w core.WorldSpec
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("world %s: %s", path, jsonError(b, err))
	}
	if errs := w.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("world %s: %w", path, errors.Join(errs...))
	}
	return &w, nil
}

// jsonError turns a decoding error into a message with a line number.
func jsonError(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("line %d: %v", lineOf(data, se.Offset), se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("line %d: field %s: want %s, got %s", lineOf(data, te.Offset), te.Field, te.Type, te.Value)
	}
	return err.Error()
}

func lineOf(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// recordPack appends a pack_loaded event: which rules (pack and hash of its
// files) are in force from here on.
func recordPack(ctx context.Context, st *store.Store, pl *core.PackLoaded, eng *core.Engine) error {
	if eng == nil {
		var err error
		if eng, err = openCurrent(ctx, st); err != nil {
			return err
		}
	}
	if eng.State().Pack.Hash == pl.Hash && eng.State().Pack.Dir == pl.Dir {
		return nil
	}
	_, err := eng.Append(ctx, []core.Draft{{Type: core.TypePackLoaded, Payload: pl, Mask: core.MaskAll, WorldTime: eng.State().Clock}})
	return err
}

// absPath makes a path absolute, so a save finds its pack from anywhere.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
