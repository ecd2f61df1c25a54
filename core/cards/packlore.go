package cards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"diorama/core"
)

// loreWriter turns lorebook entries into lore{} declarations.
type loreWriter struct {
	taken     map[string]bool
	user      string
	entries   []loreEntry
	chunks    []string // Lua text: a book's heading, an entry, a skipped entry's comment
	skipped   []string
	notes     []string
	needsChar bool // some text says {{char}} for whoever reads it
}

type loreEntry struct {
	spec core.LoreSpec
}

// book writes the entries of lb. char is what {{char}} stands for ("":
// the reader, resolved in the prompt); knownBy limits the entries.
func (lw *loreWriter) book(lb *Lorebook, what, label, char string, knownBy []string) {
	var h strings.Builder
	h.WriteString("\n")
	from := what
	if label != "" {
		from += " " + label
	}
	fmt.Fprintf(&h, "-- From %s: %d entries", from, len(lb.Entries))
	if len(knownBy) > 0 {
		fmt.Fprintf(&h, ", known by %s only", strings.Join(knownBy, ", "))
	}
	h.WriteString(".\n")
	if d := strings.TrimSpace(lb.Description); d != "" {
		h.WriteString(luaComment("", oneLine(d)))
	}
	if lb.ScanDepth > 0 || lb.TokenBudget > 0 {
		fmt.Fprintf(&h, "-- The book asks for scan_depth %d and token_budget %d: diorama scans the last %d lines\n", lb.ScanDepth, lb.TokenBudget, core.LoreScanLines)
		h.WriteString("-- a bot heard; set world{ lore_budget = N } in pack.lua for a budget in tokens.\n")
	}
	lw.chunks = append(lw.chunks, h.String())
	undecorated := 0
	for i, e := range lb.Entries {
		chunk, n := lw.entry(e, i+1, label, char, knownBy)
		undecorated += n
		lw.chunks = append(lw.chunks, chunk)
	}
	if undecorated > 0 {
		lw.notes = append(lw.notes, fmt.Sprintf("%s: %d decorators with no equivalent here are kept as comments in lore.lua", from, undecorated))
	}
}

// entry converts one entry; it returns its Lua text and the number of
// decorators it kept as comments.
func (lw *loreWriter) entry(e Entry, n int, label, char string, knownBy []string) (string, int) {
	title := firstNonEmpty(e.Comment, e.Name)
	sub := func(s string) string {
		if char == "" {
			s = Substitute(s, "{{char}}", lw.user)
		} else {
			s = Substitute(s, char, lw.user)
		}
		return strings.TrimSpace(s)
	}
	text := sub(e.Content)
	var comments []string
	where := fmt.Sprintf("entry %d", n)
	if title != "" {
		where += fmt.Sprintf(" (%s)", oneLine(title))
	}
	if label != "" {
		where = label + ": " + where
	}
	skip := func(why string) (string, int) {
		lw.skipped = append(lw.skipped, where)
		lw.notes = append(lw.notes, fmt.Sprintf("lore %s skipped: %s", where, why))
		return fmt.Sprintf("\n-- Skipped %s: %s.\n", oneLine(where), why), 0
	}
	if text == "" {
		return skip("its content is empty")
	}

	keys := subAll(e.Keys, sub)
	var secondary []string
	logic := e.Logic
	if e.Selective {
		secondary = subAll(e.SecondaryKeys, sub)
	} else if len(e.SecondaryKeys) > 0 {
		comments = append(comments, "secondary keys "+strings.Join(e.SecondaryKeys, ", ")+" are ignored: selective is off in the book")
	}
	constant, enabled := e.Constant, e.Enabled

	// V3 decorators: the ones that map change the entry; the others stay as comments.
	activate, dontActivate := false, false
	kept := 0
	seen := map[string]bool{}
	for _, d := range e.Decorators {
		use, ok := d, mappedDecorator(d.Name)
		if !ok {
			for _, f := range d.Fallbacks {
				if mappedDecorator(f.Name) {
					use, ok = f, true
					break
				}
			}
		}
		if !ok || seen[use.Name] {
			line := d.String()
			for _, f := range d.Fallbacks {
				line += " / @" + f.String()
			}
			comments = append(comments, line+" (no equivalent here)")
			kept++
			continue
		}
		seen[use.Name] = true
		switch use.Name {
		case "activate":
			activate = true
		case "dont_activate":
			dontActivate = true
		case "additional_keys":
			ks := subAll(strings.Split(use.Value, ","), sub)
			if len(secondary) == 0 || logic == "and_any" {
				secondary, logic = append(secondary, ks...), "and_any"
			} else {
				comments = append(comments, use.String()+" (the entry already has "+logic+" secondary keys)")
				kept++
			}
		case "exclude_keys":
			ks := subAll(strings.Split(use.Value, ","), sub)
			if len(secondary) == 0 {
				secondary, logic = ks, "not_any"
			} else {
				comments = append(comments, use.String()+" (the entry already has secondary keys)")
				kept++
			}
		}
	}
	if activate {
		constant, enabled = true, true
	} else if dontActivate {
		enabled = false
	}

	lo := core.LoreSpec{Text: text, Constant: constant, Order: e.Order, Disabled: !enabled, KnownBy: knownBy}
	lo.Priority = e.Order
	if e.HasPriority {
		lo.Priority = e.Priority
	}
	var dropped []string
	lo.Keys, lo.SecondaryKeys, lo.Regex, lo.CaseSensitive, dropped = convertKeys(e, keys, secondary)
	for _, d := range dropped {
		comments = append(comments, d)
		lw.notes = append(lw.notes, fmt.Sprintf("lore %s: %s", where, d))
	}
	if len(lo.SecondaryKeys) > 0 && logic != "and_any" {
		lo.Selective = logic
	}
	if len(lo.Keys) == 0 && !lo.Constant {
		why := "it has no keys and is not constant"
		if len(keys) > 0 {
			why = "none of its keys is usable here"
		}
		head, _ := skip(why)
		// The entry itself, commented out: fix a key and uncomment it.
		lo.Keys = keys
		lo.ID = slug(firstNonEmpty(title, firstOf(keys)), 40)
		if lo.ID == "" {
			lo.ID = fmt.Sprintf("lore_%d", n)
		}
		var b strings.Builder
		b.WriteString(head)
		for _, line := range strings.Split(strings.TrimSpace(loreLua(lo, "", comments)), "\n") {
			b.WriteString(strings.TrimRight("-- "+line, " ") + "\n")
		}
		return b.String(), kept
	}
	if char == "" && strings.Contains(text, "{{char}}") {
		lw.needsChar = true
	}
	// named after its comment or first key; numbered when nothing names it
	lo.ID = uniqueID(slug(firstNonEmpty(title, firstOf(keys)), 40), fmt.Sprintf("lore_%d", n), lw.taken)
	lw.entries = append(lw.entries, loreEntry{spec: lo})
	return loreLua(lo, title, append(comments, unmapped(e)...)), kept
}

func mappedDecorator(name string) bool {
	switch name {
	case "activate", "dont_activate", "additional_keys", "exclude_keys":
		return true
	}
	return false
}

// convertKeys maps an entry's keys onto lore{}: plain keys stay plain
// (whole words, the entry's case sensitivity); regex keys ("/pattern/flags"
// or use_regex) and substring matching (matchWholeWords off) make every key
// a Go regular expression carrying its own case flag. Keys Go cannot run
// (lookarounds, backreferences) are dropped with a reason.
func convertKeys(e Entry, keys, secondary []string) (k, s []string, regex, caseSensitive bool, dropped []string) {
	cs := e.CaseSensitive != nil && *e.CaseSensitive
	whole := e.WholeWords == nil || *e.WholeWords
	slashes := false
	for _, key := range append(append([]string(nil), keys...), secondary...) {
		if _, _, ok := slashRegex(key); ok {
			slashes = true
		}
	}
	if !e.UseRegex && !slashes && whole {
		return dedupe(keys), dedupe(secondary), false, cs, nil
	}
	conv := func(list []string) []string {
		var out []string
		for _, key := range list {
			var pat, flags string
			if p, f, ok := slashRegex(key); ok {
				pat = p
				if strings.Contains(f, "i") {
					flags += "i"
				}
				if strings.Contains(f, "m") {
					flags += "m"
				}
				if strings.Contains(f, "s") {
					flags += "s"
				}
			} else {
				if e.UseRegex {
					pat = key
				} else {
					pat = regexp.QuoteMeta(key)
					if whole {
						pat = wordBounded(key, pat)
					}
				}
				if !cs {
					flags = "i"
				}
			}
			if flags != "" {
				pat = "(?" + flags + ")" + pat
			}
			if _, err := regexp.Compile(pat); err != nil {
				dropped = append(dropped, fmt.Sprintf("key %q dropped: not a regular expression Go can run (%s)", key, regexReason(err)))
				continue
			}
			out = append(out, pat)
		}
		return dedupe(out)
	}
	return conv(keys), conv(secondary), true, true, dropped
}

// slashRegex reads a SillyTavern regex key "/pattern/flags".
func slashRegex(key string) (pat, flags string, ok bool) {
	if len(key) < 3 || key[0] != '/' {
		return "", "", false
	}
	end := strings.LastIndexByte(key, '/')
	if end <= 1 {
		return "", "", false
	}
	flags = key[end+1:]
	if strings.Trim(flags, "gimsuyd") != "" {
		return "", "", false
	}
	return key[1:end], flags, true
}

// wordBounded puts \b at the ends of a quoted key that start or end with
// an ASCII word character (Go's \b knows no other).
func wordBounded(key, pat string) string {
	word := func(c byte) bool { return c == '_' || isAlnum(c) }
	if word(key[0]) {
		pat = `\b` + pat
	}
	if word(key[len(key)-1]) {
		pat += `\b`
	}
	return pat
}

func regexReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "(?=") || strings.Contains(msg, "(?!") || strings.Contains(msg, "(?<"):
		return "Go's regular expressions have no lookahead or lookbehind"
	case strings.Contains(msg, `\1`) || strings.Contains(msg, "escape sequence"):
		return "Go's regular expressions have no backreferences or that escape"
	}
	return strings.TrimPrefix(msg, "error parsing regexp: ")
}

// unmapped lists, as comments, the entry's settings with no equivalent
// here that are not at their defaults.
func unmapped(e Entry) []string {
	skip := map[string]bool{"displayIndex": true, "display_index": true, "addMemo": true, "add_memo": true,
		"vectorized": true, "automationId": true, "automation_id": true, "selectiveLogic": true,
		"case_sensitive": true, "caseSensitive": true, "match_whole_words": true, "matchWholeWords": true,
		"useProbability": true, "probability": true, "depth": true, "position": true}
	defaults := map[string]string{"groupWeight": "100", "group_weight": "100", "role": "0"}
	var parts []string
	add := func(k string, v []byte) {
		v = bytes.TrimSpace(v)
		switch string(v) {
		case "", "null", "false", "0", `""`, "[]", "{}":
			return
		}
		// v is the entry's raw JSON: clean it (a JSON string may hold
		// invalid UTF-8) and cut on a rune boundary, so the comment is
		// valid UTF-8 like the rest of lore.lua.
		s := oneLine(clean(string(v)))
		if len(s) > 40 {
			s = cutUTF8(s, 37) + "..."
		}
		parts = append(parts, k+" = "+s)
	}
	if e.Position != "" && e.Position != "0" && e.Position != "before_char" {
		parts = append(parts, "position = "+e.Position)
		if d, ok := e.Extra["depth"]; ok && (e.Position == "4" || strings.Contains(e.Position, "depth")) {
			add("depth", d)
		} else if d, ok := e.Extensions["depth"]; ok && (e.Position == "4" || strings.Contains(e.Position, "depth")) {
			add("depth", d)
		}
	}
	for _, src := range []map[string]json.RawMessage{e.Extra, e.Extensions} {
		if use, ok := src["useProbability"]; ok && string(bytes.TrimSpace(use)) == "true" {
			if p, ok := src["probability"]; ok && string(bytes.TrimSpace(p)) != "100" {
				add("probability", p)
			}
		}
		ks := make([]string, 0, len(src))
		for k := range src {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			if !skip[k] && defaults[k] != string(bytes.TrimSpace(src[k])) {
				add(k, src[k])
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	line := "not used here: " + strings.Join(parts, ", ")
	if len(line) > 240 {
		line = cutUTF8(line, 237) + "..."
	}
	return []string{line}
}

// cutUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// loreLua renders one lore{} declaration.
func loreLua(lo core.LoreSpec, title string, comments []string) string {
	var b strings.Builder
	b.WriteString("\n")
	if title != "" {
		b.WriteString(luaComment("", oneLine(title)))
	}
	fmt.Fprintf(&b, "lore({\n  id = %q,\n", lo.ID)
	if len(lo.Keys) > 0 {
		fmt.Fprintf(&b, "  keys = %s,\n", luaList(lo.Keys))
	}
	if len(lo.SecondaryKeys) > 0 {
		fmt.Fprintf(&b, "  secondary_keys = %s,\n", luaList(lo.SecondaryKeys))
	}
	if lo.Selective != "" {
		fmt.Fprintf(&b, "  selective = %q,\n", lo.Selective)
	}
	fmt.Fprintf(&b, "  text = %s,\n", luaString(lo.Text))
	if lo.Constant {
		b.WriteString("  constant = true,\n")
	}
	if lo.Priority != 0 {
		fmt.Fprintf(&b, "  priority = %d,\n", lo.Priority)
	}
	if lo.Order != 0 {
		fmt.Fprintf(&b, "  order = %d,\n", lo.Order)
	}
	if lo.CaseSensitive {
		b.WriteString("  case_sensitive = true,\n")
	}
	if lo.Regex {
		b.WriteString("  regex = true,\n")
	}
	if len(lo.KnownBy) > 0 {
		fmt.Fprintf(&b, "  known_by = %s,\n", luaList(lo.KnownBy))
	}
	if lo.Disabled {
		b.WriteString("  enabled = false,\n")
	}
	b.WriteString("})\n")
	for _, c := range comments {
		b.WriteString(luaComment("", oneLine(c)))
	}
	return b.String()
}

func subAll(list []string, f func(string) string) []string {
	var out []string
	for _, s := range list {
		if t := f(s); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func dedupe(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func firstOf(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}
