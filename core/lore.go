package core

import (
	"regexp"
	"sort"
	"strings"
)

// LoreScanLines is how many of the latest lines a speaker witnessed are
// scanned for lore keys (with the player's new line).
const LoreScanLines = 8

// LoreHit is a lore entry that entered a prompt, and why.
type LoreHit struct {
	ID  string `json:"id"`
	Key string `json:"key"` // the key that fired ("" for a constant entry)
}

// activeLore returns the lore entries speaker knows that fire on text, in
// prompt order (constant first, then by priority, then by order), with the
// key that fired each.
func activeLore(st *State, speaker, text string) ([]LoreSpec, []LoreHit) {
	type hit struct {
		lo  LoreSpec
		key string
	}
	var hits []hit
	for _, lo := range st.Lore {
		if lo.Disabled || (len(lo.KnownBy) > 0 && !contains(lo.KnownBy, speaker)) {
			continue
		}
		if lo.Constant {
			hits = append(hits, hit{lo, ""})
			continue
		}
		key := firstMatch(lo, lo.Keys, text)
		if key == "" || !secondaryOK(lo, text) {
			continue
		}
		hits = append(hits, hit{lo, key})
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i].lo, hits[j].lo
		if a.Constant != b.Constant {
			return a.Constant
		}
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return a.Order < b.Order
	})
	out := make([]LoreSpec, len(hits))
	why := make([]LoreHit, len(hits))
	for i, h := range hits {
		out[i], why[i] = h.lo, LoreHit{ID: h.lo.ID, Key: h.key}
	}
	return out, why
}

// firstMatch returns the first key of keys found in text, or "".
func firstMatch(lo LoreSpec, keys []string, text string) string {
	for _, k := range keys {
		if keyMatches(lo, k, text) {
			return k
		}
	}
	return ""
}

func keyMatches(lo LoreSpec, key, text string) bool {
	if key == "" {
		return false
	}
	if lo.Regex {
		pat := key
		if !lo.CaseSensitive {
			pat = "(?i)" + pat
		}
		re, err := regexp.Compile(pat)
		return err == nil && re.MatchString(text)
	}
	if lo.CaseSensitive {
		return wordIndex(text, key) >= 0
	}
	return wordIndex(strings.ToLower(text), strings.ToLower(key)) >= 0
}

// secondaryOK applies the selective logic of the secondary keys.
func secondaryOK(lo LoreSpec, text string) bool {
	if len(lo.SecondaryKeys) == 0 {
		return true
	}
	n := 0
	for _, k := range lo.SecondaryKeys {
		if keyMatches(lo, k, text) {
			n++
		}
	}
	switch lo.Selective {
	case "and_all":
		return n == len(lo.SecondaryKeys)
	case "not_any":
		return n == 0
	case "not_all":
		return n < len(lo.SecondaryKeys)
	default: // and_any
		return n > 0
	}
}

// loreFacts picks the lore for a prompt within the lore budget and returns
// it as template facts, with the manifest's hits.
func loreFacts(st *State, speaker string, lines []Line, playerLine string, budget int, count func(string) int) ([]any, []LoreHit) {
	if len(st.Lore) == 0 {
		return []any{}, nil
	}
	var b strings.Builder
	bit := st.Cast.Bit(speaker)
	seen := 0
	for i := len(lines) - 1; i >= 0 && seen < LoreScanLines; i-- {
		if lines[i].Mask.Has(bit) {
			b.WriteString(lines[i].Text)
			b.WriteByte('\n')
			seen++
		}
	}
	b.WriteString(playerLine)
	entries, why := activeLore(st, speaker, b.String())
	limit := st.LoreBudget
	if limit <= 0 {
		limit = budget / 4
	}
	out := []any{}
	var kept []LoreHit
	used := 0
	for i, lo := range entries {
		n := count(lo.Text)
		if used+n > limit {
			continue // a smaller entry further down may still fit
		}
		used += n
		out = append(out, map[string]any{"id": lo.ID, "text": lo.Text, "key": why[i].Key,
			"constant": lo.Constant, "priority": float64(lo.Priority), "order": float64(lo.Order)})
		kept = append(kept, why[i])
	}
	// In the prompt, entries stand in their declared order.
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].(map[string]any)["order"].(float64) < out[j].(map[string]any)["order"].(float64)
	})
	return out, kept
}
