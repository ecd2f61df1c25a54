package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"diorama/core/cards"
	"diorama/lua"
)

func init() {
	register(&command{
		name:    "import",
		usage:   "CARD [CARD] [LOREBOOK...] [--out DIR] [--user NAME] [--id ID]",
		summary: "make a world pack from character cards (V1/V2/V3 JSON, PNG, CHARX) and lorebooks",
		run:     runImport,
	})
}

func runImport(e *env, args []string) error {
	fs := newFlags(e, "import")
	out := fs.String("out", "", "folder to write the pack to (default: ./ID); it must not exist")
	user := fs.String("user", cards.DefaultUser, "the player's name: what the cards' {{user}} becomes")
	id := fs.String("id", "", "the world id (default: from the characters' names)")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return &exitError{code: 2, msg: "give a character card, e.g. diorama import alice.png --out packs/alice"}
	}
	if *id != "" && !rePackName.MatchString(*id) {
		return &exitError{code: 2, msg: fmt.Sprintf("--id %q: use letters, digits, _ and - (starting with a letter)", *id)}
	}
	var in cards.Import
	var notes []string
	for _, f := range files {
		file, err := cards.ReadFile(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		base := filepath.Base(f)
		if file.Card != nil {
			in.Cards = append(in.Cards, file.Card)
			in.CardSources = append(in.CardSources, base)
			for _, n := range file.Card.Notes {
				notes = append(notes, base+": "+n)
			}
			continue
		}
		in.Books = append(in.Books, file.Book)
		in.BookSources = append(in.BookSources, base)
	}
	if len(in.Cards) == 0 {
		return fmt.Errorf("no character card among %s: a lorebook alone makes no cast (give a card too)", strings.Join(files, ", "))
	}
	if len(in.Cards) > 2 {
		return fmt.Errorf("%d character cards: the cast is the player and at most 2 bots (%s)", len(in.Cards), strings.Join(in.CardSources, ", "))
	}
	p, err := cards.BuildPack(in, cards.PackOptions{ID: *id, User: *user})
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = p.ID
	}
	dir = filepath.Clean(dir)
	if err := writePackDir(dir, p.Files); err != nil {
		return err
	}
	entries := fmt.Sprintf("%d lore entries", p.Lore)
	if p.Lore == 1 {
		entries = "1 lore entry"
	}
	fmt.Fprintf(e.stdout, "created %s: %s (%s), %s, %s\n", dir, plural(len(p.Characters), "character"), strings.Join(p.Characters, ", "), entries, plural(p.Tests, "test"))
	for _, n := range append(notes, p.Notes...) {
		fmt.Fprintf(e.stdout, "  note: %s\n", oneLine(n))
	}
	fmt.Fprintf(e.stdout, "next: diorama play %s (and read pack.lua: a card describes a character, not a world)\n", dir)
	return nil
}

// writePackDir writes files into a new folder dir, all or nothing: into a
// temporary folder beside it first, which must pass check and its tests,
// then renamed into place. dir must not exist (an empty folder is fine).
func writePackDir(dir string, files map[string][]byte) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s already exists and is a file: pick another --out", dir)
		}
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			return fmt.Errorf("%s already exists: refusing to overwrite it (pick another --out, or remove it first)", dir)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".diorama-import-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	for name, body := range files {
		path := filepath.Join(tmp, filepath.FromSlash(name))
		if !strings.HasPrefix(path, tmp+string(filepath.Separator)) {
			return fmt.Errorf("internal error: pack file %q escapes the pack", name)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return err
		}
	}
	// The promise: the pack passes check and its own tests.
	pk, err := lua.Load(tmp, lua.Options{})
	if err != nil {
		return fmt.Errorf("internal error: the generated pack does not pass check (please report this): %w", err)
	}
	pk.Close()
	rep, err := lua.RunTests(context.Background(), tmp, lua.TestOptions{})
	if err != nil {
		return fmt.Errorf("internal error: the generated pack's tests do not run (please report this): %w", err)
	}
	for _, r := range rep.Results {
		if !r.Passed {
			return fmt.Errorf("internal error: a generated pack test fails (please report this): %s", r.String())
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move the pack into place: %w", err)
	}
	done = true
	return nil
}
