package cards

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"diorama/core"
)

// The generated tests run with the test harness's budget: an 8192-token
// context less a 512-token reply reserve, a quarter of it for lore.
const (
	testBudget     = 8192 - 512
	testLoreBudget = testBudget / 4
)

// testsLua writes the pack's tests: each character answers with its card in
// its prompt; a lore entry fires on its key; with two bots, an entry one of
// them knows stays out of the other's prompt. It returns the file and the
// number of tests. Assertions that a very long card could push out of the
// prompt budget are left out rather than written to fail.
func testsLua(bots []*bot, entries []loreEntry, user, title string) (string, int) {
	var b strings.Builder
	b.WriteString(`-- Tests made by ` + "`diorama import`" + ` with the pack: the cards came through.
-- Keep them passing as you edit the pack (diorama test FOLDER), and add your
-- own: docs/authoring.md, "Pack tests". Every turn queues a reply for each bot,
-- so whoever the speaker rule picks has a line ready.
`)
	n := 0
	queue := func(indent string) string {
		var q strings.Builder
		for _, bt := range bots {
			fmt.Fprintf(&q, "%st:reply(%q, %s, nil)\n", indent, bt.id, luaString(fmt.Sprintf("*%s looks up.* \"Hello there.\"", bt.name)))
		}
		return q.String()
	}
	for _, bt := range bots {
		total := botTokens(bt, entries)
		var checks []string
		add := func(what, text string, safe bool) {
			if s := snippet(text); s != "" && safe {
				checks = append(checks, fmt.Sprintf("  t:expect(p):contains(%s) -- %s\n", luaString(s), what))
			}
		}
		roomy := total <= testBudget*3/4
		add("the card's description", bt.description, total <= testBudget)
		add("its personality", bt.personality, total <= testBudget)
		add("its scenario", bt.scenario, roomy)
		if len(bt.examples) > 0 {
			add("an example dialogue", bt.examples[len(bt.examples)-1], roomy)
		}
		if len(bt.openings) > 0 {
			add("the opening", bt.openings[0], roomy)
		}
		add("its system prompt", bt.system, true)
		add("its post-history instructions", bt.postHistory, true)
		n++
		fmt.Fprintf(&b, "\ntest(%s, function(t)\n", luaString(bt.name+" answers, with the card in the prompt"))
		b.WriteString(queue("  "))
		fmt.Fprintf(&b, "  t:say(%s)\n", luaString(bt.id+", hello."))
		fmt.Fprintf(&b, "  local p = t:prompt(%q)\n", bt.id)
		for _, c := range checks {
			b.WriteString(c)
		}
		b.WriteString(queue("  "))
		fmt.Fprintf(&b, "  t:say(%s)\n", luaString(bt.id+", are you still there?"))
		b.WriteString("  -- the first reply is in the history of the second prompt\n")
		fmt.Fprintf(&b, "  t:expect(t:prompt(%q)):contains(\"Hello there.\")\n", bt.id)
		b.WriteString("end)\n")

		if total > testBudget*2/3 {
			continue
		}
		if lo, key, line := pickLore(bt, bots, entries, false); lo != nil {
			n++
			fmt.Fprintf(&b, "\ntest(%s, function(t)\n", luaString("lore "+lo.ID+" fires on its key for "+bt.name))
			b.WriteString(queue("  "))
			fmt.Fprintf(&b, "  t:say(%s)\n", luaString(line))
			fmt.Fprintf(&b, "  t:expect(t:prompt(%q)):contains(%s)\n", bt.id, luaString(snippet(lo.Text)))
			b.WriteString("  local fired = {}\n")
			fmt.Fprintf(&b, "  for _, hit in ipairs(t:manifest(%q).lore or {}) do\n    fired[hit.id] = hit.key\n  end\n", bt.id)
			fmt.Fprintf(&b, "  t:expect(fired[%q]):equals(%s)\n", lo.ID, luaString(key))
			b.WriteString("end)\n")
		}
	}
	if len(bots) == 2 {
		for i, bt := range bots {
			other := bots[1-i]
			if botTokens(bt, entries) > testBudget*2/3 || botTokens(other, entries) > testBudget*2/3 {
				continue
			}
			lo, _, line := pickLore(bt, bots, entries, true)
			if lo == nil {
				continue
			}
			s := snippet(lo.Text)
			if strings.Contains(otherText(other, entries, line, user, title), s) {
				continue
			}
			n++
			fmt.Fprintf(&b, "\ntest(%s, function(t)\n", luaString("lore "+lo.ID+", known by "+bt.name+" only, stays out of "+other.name+"'s prompt"))
			b.WriteString(queue("  "))
			fmt.Fprintf(&b, "  t:say(%s)\n", luaString(line))
			fmt.Fprintf(&b, "  t:expect(t:prompt(%q)):contains(%s)\n", bt.id, luaString(s))
			fmt.Fprintf(&b, "  t:expect(t:prompt(%q)):not_contains(%s)\n", other.id, luaString(s))
			b.WriteString("end)\n")
			break
		}
	}
	return b.String(), n
}

// pickLore chooses a lore entry bt knows that a plain line can fire: a
// plain key of letters and digits, secondary keys the line can satisfy,
// small enough to fit the lore budget beside the constant entries. With
// privateOnly, only entries known by bt alone. It returns the entry, the
// key that will fire it and the player's line.
func pickLore(bt *bot, bots []*bot, entries []loreEntry, privateOnly bool) (*core.LoreSpec, string, string) {
	knows := func(lo core.LoreSpec, id string) bool {
		return len(lo.KnownBy) == 0 || containsStr(lo.KnownBy, id)
	}
	constant := 0
	for _, e := range entries {
		if e.spec.Constant && !e.spec.Disabled && knows(e.spec, bt.id) {
			constant += estimateTokens(e.spec.Text)
		}
	}
	var cands []core.LoreSpec
	for _, e := range entries {
		lo := e.spec
		if lo.Disabled || lo.Constant || lo.Regex || !knows(lo, bt.id) || (privateOnly && (len(lo.KnownBy) != 1)) {
			continue
		}
		if lo.Selective == "not_any" || lo.Selective == "not_all" {
			continue
		}
		if constant+estimateTokens(lo.Text) > testLoreBudget*3/4 || snippet(lo.Text) == "" {
			continue
		}
		cands = append(cands, lo)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].Priority != cands[j].Priority {
			return cands[i].Priority > cands[j].Priority
		}
		return cands[i].Order < cands[j].Order
	})
	var addressees []string
	for _, o := range bots {
		if o == bt || privateOnly {
			addressees = append(addressees, o.id)
		}
	}
	for _, lo := range cands {
		key := plainKey(lo.Keys)
		if key == "" || mentionsBot(key, bots) {
			continue
		}
		words := []string{key}
		var sec []string
		switch lo.Selective {
		case "and_all":
			sec = lo.SecondaryKeys
		case "", "and_any":
			if len(lo.SecondaryKeys) > 0 {
				sec = lo.SecondaryKeys[:1]
			}
		}
		ok := true
		for _, s := range sec {
			if !rePlainKey.MatchString(s) || mentionsBot(s, bots) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		words = append(words, sec...)
		line := strings.Join(addressees, ", ") + ", what do you know about " + strings.Join(words, " and ") + "?"
		return &lo, key, line
	}
	return nil, "", ""
}

var rePlainKey = regexp.MustCompile(`^[\pL\pN]([\pL\pN ]{0,38}[\pL\pN])?$`)

func plainKey(keys []string) string {
	for _, k := range keys {
		if rePlainKey.MatchString(k) {
			return k
		}
	}
	return ""
}

// mentionsBot reports whether s names a bot (its id, name or first name)
// or speaks to the group: a line with it would make other bots answer.
func mentionsBot(s string, bots []*bot) bool {
	words := " " + strings.Join(strings.Fields(strings.ToLower(nonWord.ReplaceAllString(s, " "))), " ") + " "
	for _, p := range []string{"both of you", "you two", "you both", "guys", "everyone", "everybody", "y'all", "all of you"} {
		if strings.Contains(words, " "+p+" ") {
			return true
		}
	}
	for _, b := range bots {
		names := []string{b.id, b.name}
		if f := strings.Fields(b.name); len(f) > 0 {
			names = append(names, f[0])
		}
		for _, n := range names {
			n = strings.Join(strings.Fields(strings.ToLower(nonWord.ReplaceAllString(n, " "))), " ")
			if n != "" && strings.Contains(words, " "+n+" ") {
				return true
			}
		}
	}
	return false
}

var nonWord = regexp.MustCompile(`[^\pL\pN']+`)

// otherText is everything that may reach other's prompt in the known_by
// test: its card, the lore it knows, the line, the names.
func otherText(other *bot, entries []loreEntry, line, user, title string) string {
	parts := []string{line, user, title, other.name, other.description, other.personality, other.scenario,
		other.system, other.postHistory, strings.Join(other.examples, "\n"), strings.Join(other.openings, "\n")}
	for _, e := range entries {
		if len(e.spec.KnownBy) == 0 || containsStr(e.spec.KnownBy, other.id) {
			parts = append(parts, e.spec.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// botTokens estimates the tokens a bot's card and lore take in its prompt.
func botTokens(bt *bot, entries []loreEntry) int {
	n := 600 // the default sections and the conversation
	for _, s := range []string{bt.description, bt.personality, bt.scenario, bt.system, bt.postHistory,
		strings.Join(bt.examples, "\n"), firstOf(bt.openings)} {
		n += estimateTokens(s)
	}
	lore := 0
	for _, e := range entries {
		if len(e.spec.KnownBy) == 0 || containsStr(e.spec.KnownBy, bt.id) {
			if e.spec.Constant && !e.spec.Disabled {
				lore += estimateTokens(e.spec.Text)
			}
		}
	}
	return n + min(lore, testLoreBudget)
}

// estimateTokens mirrors core.EstimateTokens.
func estimateTokens(s string) int { return core.EstimateTokens(s) }

// snippet picks a piece of text to look for in a prompt: the start of its
// first line that holds no macro, at most 48 bytes, cut at a space.
func snippet(text string) string {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(line, "{{") || strings.Contains(line, "}}") {
			continue
		}
		if len(line) <= 48 {
			return line
		}
		cut := 48
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		s := line[:cut]
		if i := strings.LastIndexByte(s, ' '); i >= 16 {
			s = s[:i]
		}
		return strings.TrimSpace(s)
	}
	return ""
}
