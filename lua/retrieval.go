package lua

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"diorama/stdlib"
)

// retrievalFields are the keys of retrieval{} and of std.retrieval.defaults
// (a test checks the two, and store.WeightKeys, agree).
var retrievalFields = []string{"vector", "lexical", "recency", "significance", "pinned", "half_life", "auto_pin", "recent_lines"}

// retrievalDecl is a pack's retrieval{} declaration.
type retrievalDecl struct {
	values map[string]float64
	where  Problem
}

// declRetrieval is retrieval{ vector = 0.5, ... }: the pack's retrieval
// weights, over std.retrieval.defaults. Every field is checked here, so a
// typo or an out-of-range number is a problem at the constructor's line.
func (p *Pack) declRetrieval(L *glua.LState) int {
	at := p.loadOnly(L, "retrieval{}")
	t := p.tableArg(L, 1, "retrieval{}", at, "retrieval{ recency = 0.3, half_life = 720 }")
	if t == nil {
		return 0
	}
	if p.retrieval != nil {
		p.problem(at, "retrieval{}: declared twice (first at %s)", p.retrieval.where.String())
		return 0
	}
	f := p.fields("retrieval{}", at, t, retrievalFields)
	d := &retrievalDecl{values: map[string]float64{}, where: at}
	t.ForEach(func(k, v glua.LValue) {
		name, ok := k.(glua.LString)
		if !ok || !contains(retrievalFields, string(name)) {
			return // reported by fields
		}
		n, ok := v.(glua.LNumber)
		if !ok {
			f.bad("%s: want a number, got a %s", name, v.Type())
			return
		}
		x := float64(n)
		if msg := checkWeight(string(name), x); msg != "" {
			f.bad("%s %s", name, msg)
			return
		}
		d.values[string(name)] = x
	})
	p.retrieval = d
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkWeight returns what is wrong with a retrieval weight, or "". The
// store checks again (store.WeightsFrom); these are the same rules, stated
// where the author can see the line.
func checkWeight(name string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "must be a finite number"
	}
	switch name {
	case "half_life":
		if v < 1 {
			return fmt.Sprintf("must be at least 1 (minutes of world time), got %g", v)
		}
	case "auto_pin":
		if v != 0 && (v < 1 || v > 10) {
			return fmt.Sprintf("must be a significance from 1 to 10, or 0 for never, got %g", v)
		}
	case "recent_lines":
		if v < 0 || v > 10000 || v != math.Trunc(v) {
			return fmt.Sprintf("must be a whole number from 0 to 10000, got %g", v)
		}
	default:
		if v < 0 || v > 10 {
			return fmt.Sprintf("must be between 0 and 10, got %g", v)
		}
	}
	return ""
}

// RetrievalWeights returns the weights memories are ranked with, by name:
// std.retrieval.defaults with the pack's retrieval{} applied. Give them to
// store.WeightsFrom.
func (p *Pack) RetrievalWeights(ctx context.Context) (map[string]float64, error) {
	if err := p.lock(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	mod, err := p.module(ctx, "std.retrieval")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	if mod != nil {
		if d, ok := mod.RawGetString("defaults").(*glua.LTable); ok {
			p.resolve(d).ForEach(func(k, v glua.LValue) {
				if n, ok := v.(glua.LNumber); ok {
					out[k.String()] = float64(n)
				}
			})
		}
	}
	if p.retrieval != nil {
		for k, v := range p.retrieval.values {
			out[k] = v
		}
	}
	return out, nil
}

// RetrievalDeclared returns where the pack declares retrieval{} (ok false
// when it does not), for error messages.
func (p *Pack) RetrievalDeclared() (Problem, bool) {
	if p.retrieval == nil {
		return Problem{}, false
	}
	return p.retrieval.where, true
}

// Significance rates text with std.significance.score (1..10), giving it
// the names of the cast (a mention of one adds a point).
func (p *Pack) Significance(ctx context.Context, text string) (float64, error) {
	var names []any
	if w := p.World(); w != nil {
		for _, c := range append([]string{w.Player.Name}, characterNames(p)...) {
			if c != "" {
				names = append(names, c)
			}
		}
	}
	v, err := p.Call(ctx, nil, 0, "std.significance", "score", text, map[string]any{"names": names})
	if err != nil {
		return 0, err
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int64:
		f = float64(n)
	default:
		return 0, fmt.Errorf("std.significance.score returned %T, want a number", v)
	}
	if math.IsNaN(f) {
		return 0, fmt.Errorf("std.significance.score returned NaN")
	}
	return math.Max(1, math.Min(10, math.Round(f))), nil
}

func characterNames(p *Pack) []string {
	var out []string
	for _, c := range p.World().Characters {
		out = append(out, c.Name)
	}
	return out
}

// HeuristicScorer rates memories with the pack's significance heuristic
// (std.significance.score): no model, deterministic, microseconds a
// memory. It is the significance worker's scorer with the offline and
// scripted backends, and the fallback of the model scorer. Pack returns
// the rules in force (they change on hot reload).
type HeuristicScorer struct {
	Pack func() *Pack
}

// Model names the heuristic for the significance cache: the stdlib module
// and a hash of its source, so a new heuristic rescores nothing it already
// scored the same way, and scores anything once it changes.
func (h HeuristicScorer) Model() string { return "heuristic:std.significance@" + significanceHash }

// Score implements the store's Scorer.
func (h HeuristicScorer) Score(ctx context.Context, text string) (float64, string, error) {
	p := h.Pack()
	if p == nil {
		return 0, "", ErrClosed
	}
	v, err := p.Significance(ctx, text)
	return v, "", err
}

var significanceHash = func() string {
	b, _ := stdlib.FS.ReadFile("significance.lua")
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}()

// RetrievalFields lists the keys of retrieval{}, sorted.
func RetrievalFields() []string {
	out := append([]string(nil), retrievalFields...)
	sort.Strings(out)
	return out
}

// retrievalSummary renders the declaration for `diorama check`-like output.
func (d *retrievalDecl) String() string {
	keys := make([]string, 0, len(d.values))
	for k := range d.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s = %g", k, d.values[k])
	}
	return "retrieval{ " + strings.Join(parts, ", ") + " }"
}
