package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"diorama/core"
)

func init() {
	register(&command{
		name:    "state",
		usage:   "--db SAVE [--branch B] [--json] [--hash]",
		summary: "show the projected world state (--hash: only its hash)",
		run:     runState,
	})
}

func runState(e *env, args []string) error {
	fs := newFlags(e, "state")
	db := fs.String("db", "", "save file")
	branch := fs.String("branch", "", "branch to show (default: the checked-out one)")
	asJSON := fs.Bool("json", false, "print the state as JSON")
	hash := fs.Bool("hash", false, "print only the state hash")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	ctx := context.Background()
	st, eng, err := openLooking(ctx, *db, *branch)
	if err != nil {
		return err
	}
	defer st.Close()
	s := eng.State()
	switch {
	case *hash:
		fmt.Fprintln(e.stdout, s.Hash())
	case *asJSON:
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	default:
		printState(e.stdout, s)
	}
	return nil
}

// printState renders the state for people: where everyone is, how they
// feel, what they hold, the edges, story events and threads.
func printState(w io.Writer, s *core.State) {
	title := s.World.Title
	if title == "" {
		title = s.World.ID
	}
	fmt.Fprintf(w, "%s — %s (scene %d, turn %d, event %d)\n", title, s.NowString(), s.Scene, s.Turn, s.LastSeq)
	fmt.Fprintln(w, "\ncast:")
	for _, id := range s.Cast.Members() {
		en := s.Entities[id]
		where := placeName(s, en.Location)
		if en.Container != "" {
			where = fmt.Sprintf("%s, %s of %s", where, en.Slot, s.Containers[en.Container].Name)
		}
		role := "player"
		if en.Bot {
			role = "bot"
		}
		fmt.Fprintf(w, "  %-8s (%s) at %s\n", en.Name, role, where)
		var parts []string
		if en.Mood != "" {
			parts = append(parts, "mood: "+en.Mood)
		}
		if en.Doing != "" {
			parts = append(parts, "doing: "+en.Doing)
		}
		if en.Attention != "" {
			parts = append(parts, "attending to: "+en.Attention)
		}
		if len(en.Holding) > 0 {
			parts = append(parts, "holding: "+strings.Join(en.Holding, ", "))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "           %s\n", strings.Join(parts, "; "))
		}
		if len(en.Goals) > 0 {
			fmt.Fprintf(w, "           goals: %s\n", strings.Join(en.Goals, "; "))
		}
	}
	fmt.Fprintln(w, "\nrelationships (from -> to: affinity, trust):")
	for _, a := range s.Cast.Members() {
		for _, b := range s.Cast.Members() {
			if a == b {
				continue
			}
			ed := s.Edge(a, b)
			if ed == nil {
				continue
			}
			note := ""
			if n := len(ed.Notes); n > 0 {
				note = " — " + ed.Notes[n-1]
			}
			fmt.Fprintf(w, "  %s -> %s: %+d, %+d%s\n", a, b, ed.Affinity, ed.Trust, note)
		}
	}
	gnote := ""
	if n := len(s.Group.Notes); n > 0 {
		gnote = " — " + s.Group.Notes[n-1]
	}
	fmt.Fprintf(w, "  group cohesion: %+d%s\n", s.Group.Cohesion, gnote)
	if len(s.Events) > 0 {
		fmt.Fprintln(w, "\nstory events:")
		for _, id := range sortedIDs(s.Events) {
			ev := s.Events[id]
			line := fmt.Sprintf("  %s [%s]", id, ev.Status)
			if len(ev.Props) > 0 {
				line += " props: " + strings.Join(ev.Props, ", ")
			}
			if ev.Gist != "" {
				line += " — " + ev.Gist
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(s.Threads) > 0 {
		fmt.Fprintln(w, "\nthreads:")
		for _, id := range sortedIDs(s.Threads) {
			th := s.Threads[id]
			fmt.Fprintf(w, "  %s [%s] %s\n", id, th.Status, th.Text)
		}
	}
	fmt.Fprintf(w, "\nmemories: %d (%d pinned)\n", s.Memories, len(s.Pinned))
}

func placeName(s *core.State, id string) string {
	if l := s.Locations[id]; l != nil {
		return l.Name
	}
	return id
}

func sortedIDs[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
