package store

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Weights say how Recall ranks a character's memories. A memory's score is
// the sum of its parts, each a weight times a signal in 0..1:
//
//	vector        cosine similarity of its embedding to the query's
//	lexical       the share of the query's informative words it contains,
//	              each word weighted by its rarity (idf)
//	recency       0.5^(age / half_life), age in world minutes from the
//	              newest memory
//	significance  (score - 1) / 9, score 1..10 from the significance worker
//	pinned        1 if pinned by a pin command, or auto-pinned: significance
//	              at or above AutoPin
//
// The defaults, and the reasoning behind them, are stdlib/retrieval.lua's
// (std.retrieval.defaults); a pack overrides them with retrieval{...}.
// DefaultWeights mirrors those defaults for code that runs without a pack
// (a test of the lua package checks the two agree).
type Weights struct {
	Vector       float64
	Lexical      float64
	Recency      float64
	Significance float64
	Pinned       float64
	// HalfLife is the world time, in minutes, after which recency halves.
	HalfLife float64
	// AutoPin is the significance (1..10) from which a memory counts as
	// pinned; 0 turns auto-pinning off.
	AutoPin float64
	// RecentLines is how many of a character's newest lines Recall leaves
	// out: the prompt's history already carries them verbatim.
	RecentLines int
}

// DefaultWeights are std.retrieval.defaults.
func DefaultWeights() Weights {
	return Weights{Vector: 0.40, Lexical: 0.25, Recency: 0.10, Significance: 0.10, Pinned: 0.25,
		HalfLife: 3 * 24 * 60, AutoPin: 9, RecentLines: 24}
}

// weightKeys are the names of the weights in Lua, in a fixed order.
var weightKeys = []string{"vector", "lexical", "recency", "significance", "pinned", "half_life", "auto_pin", "recent_lines"}

// WeightKeys lists the names WeightsFrom accepts.
func WeightKeys() []string { return append([]string(nil), weightKeys...) }

// WeightsFrom reads weights by their Lua names (as std.retrieval and a
// pack's retrieval{} give them). Every key must be known and every value
// in range; keys left out keep their default.
func WeightsFrom(m map[string]float64) (Weights, error) {
	w := DefaultWeights()
	var errs []string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Sprintf("%s must be a finite number", k))
			continue
		}
		bad := func(format string, args ...any) { errs = append(errs, k+" "+fmt.Sprintf(format, args...)) }
		switch k {
		case "vector", "lexical", "recency", "significance", "pinned":
			if v < 0 || v > 10 {
				bad("must be between 0 and 10, got %g", v)
				continue
			}
			switch k {
			case "vector":
				w.Vector = v
			case "lexical":
				w.Lexical = v
			case "recency":
				w.Recency = v
			case "significance":
				w.Significance = v
			case "pinned":
				w.Pinned = v
			}
		case "half_life":
			if v < 1 {
				bad("must be at least 1 (minutes of world time), got %g", v)
				continue
			}
			w.HalfLife = v
		case "auto_pin":
			if v != 0 && (v < 1 || v > 10) {
				bad("must be a significance from 1 to 10, or 0 for never, got %g", v)
				continue
			}
			w.AutoPin = v
		case "recent_lines":
			if v < 0 || v > 10000 || v != math.Trunc(v) {
				bad("must be a whole number from 0 to 10000, got %g", v)
				continue
			}
			w.RecentLines = int(v)
		default:
			errs = append(errs, fmt.Sprintf("unknown weight %q (known: %s)", k, strings.Join(weightKeys, ", ")))
		}
	}
	if len(errs) > 0 {
		return DefaultWeights(), fmt.Errorf("retrieval weights: %s", strings.Join(errs, "; "))
	}
	if w.Vector+w.Lexical+w.Recency+w.Significance+w.Pinned == 0 {
		return DefaultWeights(), fmt.Errorf("retrieval weights: all weights are 0: nothing would rank memories")
	}
	return w, nil
}

// Map returns the weights by their Lua names.
func (w Weights) Map() map[string]float64 {
	return map[string]float64{"vector": w.Vector, "lexical": w.Lexical, "recency": w.Recency,
		"significance": w.Significance, "pinned": w.Pinned, "half_life": w.HalfLife, "auto_pin": w.AutoPin,
		"recent_lines": float64(w.RecentLines)}
}
