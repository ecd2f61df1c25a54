package main

import (
	"context"
	"encoding/json"
	"fmt"
)

func init() {
	register(&command{
		name:    "prompt",
		usage:   "--db SAVE --for BOT [--pack PACK] [--json]",
		summary: "show the prompt a bot would get now, with its manifest",
		run:     runPrompt,
	})
}

func runPrompt(e *env, args []string) error {
	fs := newFlags(e, "prompt")
	db := fs.String("db", "", "save file")
	pack := fs.String("pack", "", "pack folder (default: the one the save was made from)")
	bot := fs.String("for", "", "the bot whose prompt to build")
	asJSON := fs.Bool("json", false, "print {messages, manifest} as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *bot == "" {
		return &exitError{code: 2, msg: "--for BOT is required"}
	}
	ctx := context.Background()
	a, err := openApp(ctx, e, appOptions{db: *db, pack: *pack, backend: "offline", readOnly: true})
	if err != nil {
		return err
	}
	defer a.Close()
	pr, err := a.sess.Prompt(ctx, *bot)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"messages": pr.Messages, "manifest": pr.Manifest})
	}
	fmt.Fprintln(e.stdout, pr.Text())
	fmt.Fprintln(e.stdout)
	fmt.Fprintln(e.stdout, manifestSummary(pr.Manifest))
	return nil
}
