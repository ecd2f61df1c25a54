package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/gdamore/tcell/v2"

	"diorama/cmd/diorama/shell"
	"diorama/core"
	"diorama/lua"
	"diorama/store"
)

func init() {
	register(&command{
		name:    "play",
		usage:   "PACK [--db SAVE] [--backend NAME] [--config FILE]",
		summary: "play a pack in the terminal (creates the save on first play)",
		run:     runPlay,
	})
}

func runPlay(e *env, args []string) error {
	fs := newFlags(e, "play")
	db := fs.String("db", "", "save file (default: one per pack in your data folder)")
	name := fs.String("backend", "", "backend name (default: the configured default, else a local server, else offline)")
	config := fs.String("config", "", "backend config file (default: diorama/config.lua in your config folder)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "give one pack folder, e.g. diorama play worlds/night_drive"}
	}
	dir := pos[0]
	p, err := lua.Load(dir, lua.Options{})
	if err != nil {
		return fmt.Errorf("load pack %s: %w", dir, err)
	}
	w := p.World()
	loaded := &core.PackLoaded{Pack: w.ID, Version: w.Version, Hash: p.Hash(), Dir: absPath(dir)}
	p.Close()
	path := *db
	if path == "" {
		if path, err = defaultSavePath(e, w.ID); err != nil {
			return err
		}
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		st, err := store.Create(path, w)
		if err != nil {
			return err
		}
		err = recordPack(context.Background(), st, loaded, nil)
		st.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "diorama: new save %s\n", path)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	a, err := openApp(ctx, e, appOptions{db: path, pack: dir, backend: *name, config: *config, watch: true})
	if err != nil {
		return err
	}
	defer a.Close()
	defer a.startBackups(ctx)() // stops before Close
	fmt.Fprintf(e.stderr, "diorama: %s; backend: %s\n", path, a.label)
	screen, err := tcell.NewScreen()
	if err != nil {
		return fmt.Errorf("play needs a terminal: %w", err)
	}
	if err := shell.Run(ctx, screen, a, shell.Options{}); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// defaultSavePath is DATA/diorama/saves/WORLD.db, where DATA is
// $XDG_DATA_HOME or ~/.local/share.
func defaultSavePath(e *env, world string) (string, error) {
	base := e.getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home folder for the default save: pass --db SAVE (%v)", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	dir := filepath.Join(base, "diorama", "saves")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("make save folder %s: %w", dir, err)
	}
	return filepath.Join(dir, world+".db"), nil
}
