package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"diorama/core"
	"diorama/store"
)

// openCurrent opens an engine on the save's checked-out branch, with the
// projection tables (memories) moved there first: another command may
// have written another branch since.
func openCurrent(ctx context.Context, st *store.Store) (*core.Engine, error) {
	name, err := st.OpenBranch(ctx)
	if err != nil {
		return nil, err
	}
	return core.NewEngine(ctx, st, st, name)
}

// openBranchEngine opens a save and an engine on branch ("": the
// checked-out one).
func openBranchEngine(ctx context.Context, path, branch string) (*store.Store, *core.Engine, error) {
	if branch != "" {
		return openEngine(ctx, path, branch)
	}
	st, err := openSave(path)
	if err != nil {
		return nil, nil, err
	}
	eng, err := openCurrent(ctx, st)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return st, eng, nil
}

// openLooking opens a save and an engine on branch ("": the checked-out
// one) for a command that only looks: nothing is written.
func openLooking(ctx context.Context, path, branch string) (*store.Store, *core.Engine, error) {
	if branch == "" {
		st, err := openSave(path)
		if err != nil {
			return nil, nil, err
		}
		branch, err = st.CurrentBranch(ctx)
		st.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	return openEngine(ctx, path, branch)
}

// backupKeep is how many rotated backups a save keeps.
const backupKeep = 10

// timeTravel implements the shell's history commands: /rewind [N], /branch
// NAME, /branches, /checkout NAME, /regen and /delete ID [--confirm].
func (a *app) timeTravel(ctx context.Context, cmd string, args []string) (string, error) {
	eng := a.sess.Engine
	var msg string
	var err error
	moved := true // the op moved the story (not a listing or a preview)
	switch cmd {
	case "rewind":
		msg, err = a.rewind(ctx, args)
	case "branch":
		msg, err = a.branch(ctx, args)
	case "branches":
		if len(args) > 0 {
			return "", errors.New("usage: /branches")
		}
		bs, err := eng.Branches(ctx)
		if err != nil {
			return "", err
		}
		return formatBranches(bs), nil
	case "checkout":
		if len(args) != 1 {
			return "", errors.New("usage: /checkout NAME (/branches lists them)")
		}
		if args[0] == eng.Branch() {
			return "you are on " + args[0] + " already", nil
		}
		if err = eng.Checkout(ctx, args[0]); err == nil {
			msg = fmt.Sprintf("on branch %s: turn %d, event #%d", eng.Branch(), eng.State().Turn, eng.State().LastSeq)
		}
	case "regen":
		if len(args) > 0 {
			return "", errors.New("usage: /regen")
		}
		var res *core.RegenResult
		if res, err = a.sess.Regenerate(ctx, core.TurnObserver{}); err == nil {
			msg = fmt.Sprintf("%s: %s\n(a new sibling on branch %s; the old reply stays on %s: /checkout %s to flip back)",
				displayName(eng.State(), res.Reply.Who), res.Reply.Text, res.Branch, res.From, res.From)
			if len(res.Dropped) > 0 {
				msg += fmt.Sprintf("\nwith the old reply went %s derived from it", plural(len(res.Dropped), "event"))
			}
		}
	case "delete":
		moved = len(args) == 2
		msg, err = a.delete(ctx, args)
	default:
		return "", fmt.Errorf("unknown command /%s (see /help)", cmd)
	}
	if err != nil {
		return "", travelError(err, "/branches")
	}
	if moved {
		// Prompts shown before belong to another story (Regenerate keeps
		// the new reply's), and the rules in force are recorded on the
		// branch now played.
		if cmd != "regen" {
			a.sess.LastPrompts = map[string]core.Prompt{}
		}
		a.mu.Lock()
		p := a.pack
		a.mu.Unlock()
		if err := a.recordPack(ctx, p); err != nil {
			return "", fmt.Errorf("%s; but recording the rules in force failed: %v", oneLine(msg), err)
		}
	}
	return msg, nil
}

// travelError puts the sentinels of time travel in words players use;
// list says how to list the branches.
func travelError(err error, list string) error {
	switch {
	case errors.Is(err, core.ErrNoBranch):
		return fmt.Errorf("%v (%s lists them)", err, list)
	case errors.Is(err, core.ErrHeadMoved):
		return errors.New("another diorama wrote to this save since it was opened: quit and open it again")
	}
	return err
}

func (a *app) rewind(ctx context.Context, args []string) (string, error) {
	turns, to, err := parseRewind(args)
	if err != nil {
		return "", err
	}
	res, err := a.sess.Engine.Rewind(ctx, turns, to)
	if err != nil {
		return "", err
	}
	return rewound(res, a.sess.Engine), nil
}

// parseRewind reads [N] or [--to ID | #ID].
func parseRewind(args []string) (turns int, to int64, err error) {
	usage := errors.New("usage: /rewind [N] (turns, default 1) or /rewind --to ID")
	switch {
	case len(args) == 0:
		return 1, 0, nil
	case len(args) == 2 && args[0] == "--to":
		to, err = parseEvent(args[1])
		return 0, to, err
	case len(args) == 1 && strings.HasPrefix(args[0], "#"):
		to, err = parseEvent(args[0])
		return 0, to, err
	case len(args) == 1:
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 {
			return 0, 0, usage
		}
		return n, 0, nil
	}
	return 0, 0, usage
}

// parseEvent reads an event id: 57 or #57.
func parseEvent(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not an event id (a number, as /ids or 'diorama log' show)", s)
	}
	return n, nil
}

// rewound says what a rewind did.
func rewound(res *core.RewindResult, eng *core.Engine) string {
	msg := fmt.Sprintf("rewound %s: %s is at event #%d (turn %d)", plural(res.Turns, "turn"), eng.Branch(), res.To, eng.State().Turn)
	if res.Kept != "" {
		msg += fmt.Sprintf("; the old tip is kept as branch %s", res.Kept)
	} else {
		msg += "; another branch keeps the old tip"
	}
	return msg
}

func (a *app) branch(ctx context.Context, args []string) (string, error) {
	eng := a.sess.Engine
	switch {
	case len(args) == 1 && !strings.HasPrefix(args[0], "-"):
		if err := eng.NewBranch(ctx, args[0], 0, true); err != nil {
			return "", err
		}
		return fmt.Sprintf("on new branch %s, starting from event #%d", args[0], eng.State().LastSeq), nil
	case len(args) == 3 && (args[0] == "--rename" || args[0] == "-m"):
		if err := eng.Rename(ctx, args[1], args[2]); err != nil {
			return "", err
		}
		return fmt.Sprintf("branch %s is now %s", args[1], args[2]), nil
	case len(args) == 2 && (args[0] == "--delete" || args[0] == "-d"):
		backup, err := a.st.BackupRotated(ctx, "before-branch-delete", backupKeep)
		if err != nil {
			return "", fmt.Errorf("branch not deleted: the backup before it failed: %w", err)
		}
		if err := eng.DeleteBranch(ctx, args[1]); err != nil {
			return "", err
		}
		return fmt.Sprintf("branch %s deleted (its events stay in the save; backup: %s)", args[1], backup), nil
	}
	return "", errors.New("usage: /branch NAME (start a branch here), /branch --rename OLD NEW, /branch --delete NAME")
}

func (a *app) delete(ctx context.Context, args []string) (string, error) {
	if len(args) == 0 || len(args) > 2 || (len(args) == 2 && args[1] != "--confirm") {
		return "", errors.New("usage: /delete ID shows what deleting it would undo; /delete ID --confirm does it")
	}
	seq, err := parseEvent(args[0])
	if err != nil {
		return "", err
	}
	eng := a.sess.Engine
	plan, err := eng.PlanDelete(ctx, seq)
	if err != nil {
		return "", err
	}
	if len(args) == 1 {
		return plan.Preview() + fmt.Sprintf("\nrun /delete %d --confirm to do it", seq), nil
	}
	backup, err := a.st.BackupRotated(ctx, fmt.Sprintf("before-delete-%d", seq), backupKeep)
	if err != nil {
		return "", fmt.Errorf("nothing deleted: the backup before it failed: %w", err)
	}
	if err := eng.Delete(ctx, plan); err != nil {
		return "", err
	}
	return deleted(plan, backup), nil
}

// deleted says what a delete did.
func deleted(plan *core.DeletePlan, backup string) string {
	with := "nothing else"
	if n := len(plan.Dropped) - 1; n > 0 {
		with = plural(n, "event") + " with it"
	}
	return fmt.Sprintf("deleted #%d and %s: now on branch %s (%s stays as it was; backup: %s)",
		plan.Target.Seq, with, plan.NewBranch, plan.Branch, backup)
}

// formatBranches renders branches one a line, the checked-out one marked.
func formatBranches(bs []core.BranchInfo) string {
	w := 0
	for _, b := range bs {
		w = max(w, len(b.Name))
	}
	var sb strings.Builder
	for _, b := range bs {
		mark := " "
		if b.Current {
			mark = "*"
		}
		fmt.Fprintf(&sb, "%s %-*s  turn %d, %d events", mark, w, b.Name, b.Turn, b.Events)
		switch {
		case b.Fork == 0:
		case b.Fork == b.Head:
			fmt.Fprintf(&sb, ", part of %s", b.ForkWith)
		default:
			fmt.Fprintf(&sb, ", forks from %s after #%d", b.ForkWith, b.Fork)
		}
		if l := b.LastLine; l != nil {
			fmt.Fprintf(&sb, "  %s: %s", l.Who, clipText(l.Text, 60))
		}
		sb.WriteString("\n")
	}
	return strings.TrimRight(sb.String(), "\n")
}

func displayName(st *core.State, id string) string {
	if e := st.Entities[id]; e != nil && e.Name != "" {
		return e.Name
	}
	return id
}

func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
