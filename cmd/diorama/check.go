package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"diorama/lua"
)

func init() {
	register(&command{
		name:    "check",
		usage:   "PACK...",
		summary: "load and validate world packs, printing every problem as FILE:LINE: message",
		run:     runCheck,
	})
}

// runCheck loads each pack in the sandbox exactly as play would, and
// prints a one-line summary per good pack or every problem of a bad one.
func runCheck(e *env, args []string) error {
	fs := newFlags(e, "check")
	packs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(packs) == 0 {
		return &exitError{code: 2, msg: "want at least one pack folder (usage: diorama check PACK...)"}
	}
	failed := 0
	for _, dir := range packs {
		dir = filepath.Clean(dir)
		p, err := lua.Load(dir, lua.Options{})
		if err != nil {
			failed++
			var le *lua.LoadError
			if errors.As(err, &le) {
				for _, pr := range le.Problems {
					fmt.Fprintln(e.stdout, pr.String())
				}
			} else {
				fmt.Fprintf(e.stdout, "%s: %v\n", dir, err)
			}
			continue
		}
		fmt.Fprintf(e.stdout, "%s: ok (%s)\n", dir, packSummary(p))
		p.Close()
	}
	if failed > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d packs failed", failed, len(packs))}
	}
	return nil
}

// packSummary counts what a pack declares, e.g. `world "night_drive",
// 3 characters, 5 locations, 1 container, 2 story events, 4 hooks`.
func packSummary(p *lua.Pack) string {
	w := p.World()
	hooks := 0
	for _, h := range lua.HookNames() {
		hooks += p.Hooks(h)
	}
	return fmt.Sprintf("world %q, %s, %s, %s, %s, %s", w.ID, plural(1+len(w.Characters), "character"),
		plural(len(w.Locations), "location"), plural(len(w.Containers), "container"),
		plural(len(w.StoryEvents), "story event"), plural(hooks, "hook"))
}

// plural renders "1 hook" or "3 hooks".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
