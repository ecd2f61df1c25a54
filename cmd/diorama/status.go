package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"diorama/store"
)

func init() {
	register(&command{
		name:    "status",
		usage:   "--db SAVE [--json]",
		summary: "a save at a glance: events, branches, memories, and the memory workers' lag",
		run:     runStatus,
	})
}

// saveStatus is what `diorama status --json` prints.
type saveStatus struct {
	Save     string         `json:"save"`
	Bytes    int64          `json:"bytes"`
	Schema   int            `json:"schema"`
	Events   int64          `json:"events"`
	Branches []store.Branch `json:"branches"`
	Memory   memoryStatus   `json:"memory"`
}

type memoryStatus struct {
	Memories   int            `json:"memories"`
	ByKind     map[string]int `json:"by_kind"`
	Pinned     int            `json:"pinned"`
	Unembedded int            `json:"unembedded"` // embedding worker lag
	Unscored   int            `json:"unscored"`   // significance worker lag
	IndexModel string         `json:"index_model"`
	IndexRows  int64          `json:"index_rows"`
	IndexSlots int64          `json:"index_slots"`
	Embeddings int            `json:"cached_embeddings"`
	Scores     int            `json:"cached_scores"`
}

func runStatus(e *env, args []string) error {
	fs := newFlags(e, "status")
	db := fs.String("db", "", "save file")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	ctx := context.Background()
	st, err := openSave(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	out := saveStatus{Save: *db, Schema: store.SchemaVersion()}
	if fi, err := os.Stat(*db); err == nil {
		out.Bytes = fi.Size()
	}
	if out.Events, err = st.EventCount(ctx); err != nil {
		return err
	}
	if out.Branches, err = st.Branches(ctx); err != nil {
		return err
	}
	ms, err := st.MemoryStatus(ctx)
	if err != nil {
		return err
	}
	out.Memory = memoryStatus{Memories: ms.Memories, ByKind: ms.ByKind, Pinned: ms.Pinned, Unembedded: ms.Unembedded,
		Unscored: ms.Unscored, IndexModel: ms.IndexModel, IndexRows: ms.IndexRows, IndexSlots: ms.IndexSlots,
		Embeddings: ms.Embeddings, Scores: ms.Scores}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := e.stdout
	fmt.Fprintf(w, "save      %s (%s, schema %d)\n", out.Save, humanBytes(out.Bytes), out.Schema)
	fmt.Fprintf(w, "events    %d\n", out.Events)
	fmt.Fprintf(w, "branches  %d\n", len(out.Branches))
	for _, b := range out.Branches {
		fmt.Fprintf(w, "  %-16s head %d, turn %d\n", b.Name, b.Head, b.Turn)
	}
	m := out.Memory
	kinds := make([]string, 0, len(m.ByKind))
	for k := range m.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "memories  %d", m.Memories)
	for i, k := range kinds {
		sep := ", "
		if i == 0 {
			sep = " ("
		}
		fmt.Fprintf(w, "%s%d %s", sep, m.ByKind[k], k)
	}
	if len(kinds) > 0 {
		fmt.Fprint(w, ")")
	}
	fmt.Fprintf(w, ", %d pinned\n", m.Pinned)
	model := m.IndexModel
	if model == "" {
		model = "none yet"
	}
	fmt.Fprintf(w, "index     %d memories in the vector index (%s), %d slots\n", m.IndexRows, model, m.IndexSlots)
	fmt.Fprintf(w, "caches    %d embeddings, %d significance scores\n", m.Embeddings, m.Scores)
	lag := "caught up"
	if m.Unembedded > 0 || m.Unscored > 0 {
		lag = fmt.Sprintf("%d memories to embed, %d to score (the workers catch up while a save is played)", m.Unembedded, m.Unscored)
	}
	fmt.Fprintf(w, "workers   %s\n", lag)
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
