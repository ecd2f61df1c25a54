package store

import (
	"sort"
	"strings"
	"unicode/utf8"

	"diorama/core"
	"diorama/core/embed"
)

// maxQueryTerms bounds the words of a query the lexical search looks up:
// each is one small FTS5 query.
const maxQueryTerms = 12

// commonTerm is the most of a character's memories a word may appear in
// and still pick lexical candidates (fewer in a young story: one memory in
// 16, at least 32): a word in more (said, road in a road movie, a bot's
// name) says little about which memory is meant, and ranking every memory
// that holds it would cost a scan. Such words still count in the lexical
// part of candidates found otherwise.
const commonTerm = 256

// queryTerms returns the informative words of a query, stemmed: its words
// minus English function words, single letters and repeats, longest first
// when there are too many (long words are rarer).
func queryTerms(query string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range embed.Words(query) {
		if embed.StopWords(w) || (utf8.RuneCountInString(w) < 2 && !isDigits(w)) {
			continue
		}
		w = stem(w)
		if seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	if len(out) > maxQueryTerms {
		sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
		out = out[:maxQueryTerms]
	}
	return out
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// ftsQuote quotes a word as an FTS5 string.
func ftsQuote(w string) string {
	return `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
}

// witnessMatch is the FTS5 filter on the witness column for who: "w : w1",
// or "w : (w0 OR w1)" for a mask of several characters.
func witnessMatch(who core.Mask) string {
	var ts []string
	for b := 0; b < 3; b++ {
		if who.Has(b) {
			ts = append(ts, "w"+string(rune('0'+b)))
		}
	}
	if len(ts) == 1 {
		return "w : " + ts[0]
	}
	return "w : (" + strings.Join(ts, " OR ") + ")"
}

// stemSet is the set of stemmed words of a text.
func stemSet(text string) map[string]bool {
	ws := embed.Words(text)
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[stem(w)] = true
	}
	return m
}

// stem folds English plurals onto the singular (embed.Stem): the lexical
// search and the embedder see "passports" as "passport".
func stem(w string) string { return embed.Stem(w) }

// ftsPrefix is the FTS5 prefix query that finds candidates for a stem:
// "passport"* matches passport and passports. A long stem is cut by two
// letters first, so word forms the S-stemmer does not fold still meet
// ("thermoses" looks for thermo*, which finds "thermos"). Words that only
// share the prefix become candidates, nothing more: the lexical part counts
// exact stems, and the vector part weighs the rest.
func ftsPrefix(stem string) string { return ftsQuote(prefixOf(stem)) + " *" }
