package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
)

func init() {
	register(&command{
		name:    "turn",
		usage:   "--db SAVE [--pack PACK] [--backend NAME] [--json] \"LINE\"",
		summary: "play one turn headless: your line in, each bot's reply streamed out",
		run:     runTurn,
	})
}

func runTurn(e *env, args []string) error {
	fs := newFlags(e, "turn")
	db := fs.String("db", "", "save file")
	pack := fs.String("pack", "", "pack folder (default: the one the save was made from)")
	name := fs.String("backend", "", "backend name (default: the configured default, else a local server, else offline)")
	config := fs.String("config", "", "backend config file (default: diorama/config.lua in your config folder)")
	asJSON := fs.Bool("json", false, "print the turn's events as JSON lines instead of the replies")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return &exitError{code: 2, msg: `give your line, e.g. diorama turn --db SAVE "Mara, pull over."`}
	}
	line := strings.Join(pos, " ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a, err := openApp(ctx, e, appOptions{db: *db, pack: *pack, backend: *name, config: *config})
	if err != nil {
		return err
	}
	defer a.Close()
	st := a.State()
	obs := coreObserver(e, *asJSON, st)
	res, err := a.Turn(ctx, line, obs)
	if err != nil {
		if !*asJSON {
			fmt.Fprintln(e.stdout)
		}
		return err
	}
	if *asJSON {
		for _, ev := range res.Events {
			b, _ := json.Marshal(ev)
			fmt.Fprintln(e.stdout, string(b))
		}
	}
	for _, r := range res.Rejected {
		fmt.Fprintf(e.stderr, "diorama turn: state update refused: %s\n", oneLine(r))
	}
	for _, h := range res.HookErrors {
		fmt.Fprintf(e.stderr, "diorama turn: %s\n", oneLine(h))
	}
	if len(res.Replies) == 0 && !*asJSON {
		fmt.Fprintln(e.stdout, "(nobody answers: no bot heard you)")
	}
	return nil
}
