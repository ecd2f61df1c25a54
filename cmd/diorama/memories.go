package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"diorama/core"
	"diorama/core/embed"
	"diorama/lua"
	"diorama/store"
)

func init() {
	register(&command{
		name:    "memories",
		usage:   "--db SAVE --pov ID [--query TEXT] [--limit N] [--pack PACK] [--json]",
		summary: "what a character can recall: with --query, ranked as its prompt would get them, score parts shown",
		run:     runMemories,
	})
}

// memoryRow is one memory as `diorama memories --json` prints it.
type memoryRow struct {
	ID           int64              `json:"id"`
	Kind         string             `json:"kind"`
	Who          string             `json:"who"`
	Witnesses    string             `json:"witnesses"`
	Time         string             `json:"time"`
	Text         string             `json:"text"`
	Score        *float64           `json:"score,omitempty"`
	Parts        map[string]float64 `json:"parts,omitempty"`
	Significance float64            `json:"significance,omitempty"`
	Pinned       bool               `json:"pinned,omitempty"`
	AutoPinned   bool               `json:"auto_pinned,omitempty"`
}

func runMemories(e *env, args []string) error {
	fs := newFlags(e, "memories")
	db := fs.String("db", "", "save file")
	pov := fs.String("pov", "", "the character whose memories to show (an id of the cast, the player included)")
	query := fs.String("query", "", "rank the memories against this line, as a turn would")
	limit := fs.Int("limit", 0, "how many to show (default: 8 with --query, 50 without)")
	packFlag := fs.String("pack", "", "pack whose retrieval weights to rank with (default: the one the save was made from)")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *pov == "" {
		return &exitError{code: 2, msg: "--pov ID is required (whose memories?)"}
	}
	ctx := context.Background()
	st, err := openSave(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := st.LoadState(ctx, store.DefaultBranch)
	if err != nil {
		return err
	}
	bit := s.Cast.Bit(*pov)
	if bit < 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("%q is not one of the cast (%s)", *pov, strings.Join(s.Cast.Members(), ", "))}
	}
	who := core.Mask(1 << bit)
	notes := retrievalSetup(ctx, st, s, *packFlag)
	n := *limit
	var rows []memoryRow
	if strings.TrimSpace(*query) != "" {
		if n <= 0 {
			n = 8
		}
		rs, stats, err := st.Retrieve(ctx, who, *query, n)
		if err != nil {
			return err
		}
		if stats.VectorOff != "" {
			notes = append(notes, "without vector similarity: "+stats.VectorOff)
		}
		if w := st.Weights(); w.RecentLines > 0 {
			notes = append(notes, fmt.Sprintf("the %d newest lines %s heard are left out: its prompt carries them verbatim (recent_lines)", w.RecentLines, *pov))
		}
		for _, r := range rs {
			score := r.Score
			rows = append(rows, memoryRow{ID: r.ID, Kind: r.Kind, Who: r.Who, Witnesses: r.Mask.String(), Time: minutesString(r.WorldTime),
				Text: r.Text, Score: &score, Parts: r.Parts, Significance: r.Significance, Pinned: r.Pinned && !r.AutoPinned, AutoPinned: r.AutoPinned})
		}
	} else {
		if n <= 0 {
			n = 50
		}
		ms, err := st.Memories(ctx, who)
		if err != nil {
			return err
		}
		sigs, err := st.Significances(ctx, who)
		if err != nil {
			return err
		}
		autoPin := st.Weights().AutoPin
		for i := len(ms) - 1; i >= 0 && len(rows) < n; i-- { // newest first
			m := ms[i]
			sig := sigs[m.ID]
			rows = append(rows, memoryRow{ID: m.ID, Kind: m.Kind, Who: m.Who, Witnesses: m.Mask.String(), Time: minutesString(m.WorldTime),
				Text: m.Text, Significance: sig, Pinned: m.Pinned, AutoPinned: !m.Pinned && autoPin > 0 && sig >= autoPin})
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		for _, n := range notes {
			fmt.Fprintln(e.stderr, "note:", n)
		}
		return nil
	}
	printMemories(e.stdout, s, *pov, *query, rows)
	for _, n := range notes {
		fmt.Fprintln(e.stdout, "note:", n)
	}
	return nil
}

// retrievalSetup ranks with the pack's weights and the embedder the index
// was built with, and returns notes on what it could not do. It writes
// nothing to the save.
func retrievalSetup(ctx context.Context, st *store.Store, s *core.State, packDir string) []string {
	var notes []string
	if packDir == "" {
		packDir = s.Pack.Dir
	}
	if packDir != "" {
		if _, err := os.Stat(filepath.Join(packDir, lua.EntryFile)); err == nil {
			if p, err := lua.Load(packDir, lua.Options{}); err == nil {
				if err := applyRetrieval(ctx, st, p); err != nil {
					notes = append(notes, "default retrieval weights: "+err.Error())
				}
				p.Close()
			} else {
				notes = append(notes, "default retrieval weights: the pack did not load: "+oneLine(err.Error()))
			}
		} else {
			notes = append(notes, "default retrieval weights: no pack at "+packDir)
		}
	}
	local := embed.NewLocal(0)
	model, err := st.IndexModel(ctx)
	switch {
	case err != nil:
		notes = append(notes, err.Error())
	case model == "" || model == local.Model():
		st.UseEmbedder(local)
	default:
		notes = append(notes, fmt.Sprintf("the vector index is built with %s; this command embeds locally only", model))
		st.UseEmbedder(local)
	}
	return notes
}

func printMemories(w io.Writer, s *core.State, pov, query string, rows []memoryRow) {
	name := pov
	if e := s.Entities[pov]; e != nil && e.Name != "" {
		name = e.Name
	}
	if query != "" {
		fmt.Fprintf(w, "%s recalls, for %q:\n", name, query)
	} else {
		fmt.Fprintf(w, "%s's memories, newest first:\n", name)
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "  (nothing)")
		return
	}
	for _, r := range rows {
		flags := ""
		switch {
		case r.Pinned:
			flags = " pinned"
		case r.AutoPinned:
			flags = " auto-pinned"
		}
		sig := ""
		if r.Significance > 0 {
			sig = fmt.Sprintf(" sig %.0f", r.Significance)
		}
		head := fmt.Sprintf("%6d  %s  %-8s [%s]%s%s", r.ID, r.Time, r.Kind, r.Witnesses, sig, flags)
		if r.Score != nil {
			head = fmt.Sprintf("%6.3f %s", *r.Score, head)
		}
		fmt.Fprintf(w, "%s\n        %s: %s\n", head, r.Who, r.Text)
		if len(r.Parts) > 0 {
			fmt.Fprintf(w, "        %s\n", formatParts(r.Parts))
		}
	}
}

// formatParts renders score parts in a fixed order: "vector 0.31 + lexical
// 0.12 + …".
func formatParts(parts map[string]float64) string {
	order := map[string]int{"vector": 0, "lexical": 1, "recency": 2, "significance": 3, "pinned": 4, "auto_pinned": 5}
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, ok1 := order[keys[i]]
		oj, ok2 := order[keys[j]]
		if ok1 != ok2 {
			return ok1
		}
		if oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s %.3f", strings.ReplaceAll(k, "_", "-"), parts[k])
	}
	return strings.Join(out, " + ")
}
