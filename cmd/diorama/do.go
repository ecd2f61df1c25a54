package main

import (
	"context"
	"encoding/json"
	"fmt"

	"diorama/core"
)

func init() {
	register(&command{
		name:    "do",
		usage:   "--db SAVE [--branch B] [--json] 'JSON COMMAND' ['JSON COMMAND'...]",
		summary: "apply commands as one turn (exit 1 with the reason when one is rejected)",
		run:     runDo,
	})
}

func runDo(e *env, args []string) error {
	fs := newFlags(e, "do")
	db := fs.String("db", "", "save file")
	branch := fs.String("branch", "", "branch to write on (default: the checked-out one)")
	asJSON := fs.Bool("json", false, "print the written events as JSON lines")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return &exitError{code: 2, msg: `give a command, e.g. diorama do --db SAVE '{"op":"move","who":"jun","location":"shop"}'`}
	}
	cmds := make([]core.Command, 0, len(pos))
	for i, p := range pos {
		c, err := core.ParseCommand([]byte(p))
		if err != nil {
			if len(pos) > 1 {
				return fmt.Errorf("command %d: %w", i+1, err)
			}
			return err
		}
		cmds = append(cmds, c)
	}
	ctx := context.Background()
	st, eng, err := openBranchEngine(ctx, *db, *branch)
	if err != nil {
		return err
	}
	defer st.Close()
	events, err := eng.Do(ctx, cmds...)
	if err != nil {
		if core.IsRejection(err) {
			return fmt.Errorf("rejected: %w", err)
		}
		return err
	}
	for _, ev := range events {
		if *asJSON {
			b, _ := json.Marshal(ev)
			fmt.Fprintln(e.stdout, string(b))
			continue
		}
		fmt.Fprintln(e.stdout, formatEvent(ev))
	}
	return nil
}
