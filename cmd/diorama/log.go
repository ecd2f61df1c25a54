package main

import (
	"context"
	"encoding/json"
	"fmt"

	"diorama/core"
)

func init() {
	register(&command{
		name:    "log",
		usage:   "--db SAVE [--branch B] [--json]",
		summary: "list the events of a branch, root first",
		run:     runLog,
	})
}

func runLog(e *env, args []string) error {
	fs := newFlags(e, "log")
	db := fs.String("db", "", "save file")
	branch := fs.String("branch", "", "branch to list (default: the checked-out one)")
	asJSON := fs.Bool("json", false, "print one JSON event per line")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	st, err := openSave(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	name := *branch
	if name == "" {
		if name, err = st.CurrentBranch(context.Background()); err != nil {
			return err
		}
	}
	events, err := st.Events(context.Background(), name)
	if err != nil {
		return err
	}
	for _, ev := range events {
		if *asJSON {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, string(b))
			continue
		}
		fmt.Fprintln(e.stdout, formatEvent(ev))
	}
	return nil
}

// formatEvent renders one event on one line: seq, turn, world time, mask,
// type and payload.
func formatEvent(ev core.Event) string {
	caused := ""
	if ev.CausedBy != 0 {
		caused = fmt.Sprintf(" (from %d)", ev.CausedBy)
	}
	payload := string(ev.Payload)
	if ev.Type == core.TypeWorldCreated {
		payload = "{…}"
	}
	return fmt.Sprintf("%6d  turn %-4d %s  [%s]  %s %s%s", ev.Seq, ev.Turn, minutesString(ev.WorldTime), ev.Mask, ev.Type, payload, caused)
}

// minutesString renders world minutes as +DdHH:MM since the start.
func minutesString(m int64) string {
	d, h, mm := m/(24*60), (m/60)%24, m%60
	return fmt.Sprintf("+%dd%02d:%02d", d, h, mm)
}
