package cards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"diorama/core"
)

// Import is what goes into one pack: one or two cards (the cast's bots, in
// order) and any standalone lorebooks.
type Import struct {
	Cards       []*Card
	CardSources []string // the file each card came from (base names, for comments)
	Books       []*Lorebook
	BookSources []string
}

// PackOptions tune the pack BuildPack writes.
type PackOptions struct {
	ID    string // the world id (default: from the first card's name)
	Title string // the world title (default: the characters' names)
	User  string // the player's name, written for {{user}} (default "You")
}

// Pack is a generated world pack: its files, by slash-separated path
// relative to the pack folder.
type Pack struct {
	ID         string
	Files      map[string][]byte
	Characters []string // bot ids, in cast order
	Lore       int      // lore entries written
	Tests      int      // pack tests written
	// Notes say what did not map (a regex Go cannot run, an entry with no
	// keys, a decorator with no equivalent): each also stands as a comment
	// in the pack.
	Notes []string
}

// DefaultUser is the player's name when none is given.
const DefaultUser = "You"

// Where a generated pack starts.
const (
	startLocation = "scene"
	startTime     = "2000-01-01T12:00"
	playerID      = "you"
)

// maxLoreFile is where lore.lua is split into lore_2.lua, ...: a pack file
// may be at most 1 MiB.
const maxLoreFile = 768 << 10

// maxModule is the largest character module written.
const maxModule = 1000 << 10

// maxPackLua is the most Lua a pack may hold (the loader's limit).
const maxPackLua = 8 << 20

// bot is one character of the cast, its card text with names substituted.
type bot struct {
	id, name, source string
	card             *Card
	description      string
	personality      string
	scenario         string
	system           string
	postHistory      string
	examples         []string
	openings         []string
	groupOpenings    []string
}

// BuildPack turns cards and lorebooks into a world pack: pack.lua (the
// world, a place, the player), a module per character (characters/ID.lua:
// character{} and the rest of the card as data), rules.lua (the prompt
// overrides that put the card's scenario, examples, opening, system prompt
// and post-history instructions into the bot's prompts), lore modules, the
// original card JSON beside each character (characters/ID.card.json, not
// loaded: it keeps what diorama has no place for), and tests/.
func BuildPack(in Import, opt PackOptions) (*Pack, error) {
	if len(in.Cards) == 0 {
		return nil, errors.New("no character card: a pack needs at least one character (a lorebook alone makes no cast)")
	}
	if len(in.Cards) > core.MaxBots {
		return nil, fmt.Errorf("%d character cards: the cast is the player and at most %d bots", len(in.Cards), core.MaxBots)
	}
	user := strings.TrimSpace(opt.User)
	if user == "" {
		user = DefaultUser
	}
	taken := map[string]bool{playerID: true, startLocation: true, "group": true}
	var bots []*bot
	for i := range in.CardSources {
		in.CardSources[i] = oneLine(in.CardSources[i])
	}
	for i := range in.BookSources {
		in.BookSources[i] = oneLine(in.BookSources[i])
	}
	user = oneLine(user)
	for i, c := range in.Cards {
		name := oneLine(c.CharName())
		id := uniqueID(slug(name, 24), fmt.Sprintf("bot_%c", 'a'+i), taken)
		sub := func(s string) string { return strings.TrimSpace(Substitute(s, name, user)) }
		b := &bot{id: id, name: name, card: c,
			description: sub(c.Description), personality: sub(c.Personality), scenario: sub(c.Scenario),
			system: sub(c.SystemPrompt), postHistory: sub(c.PostHistoryInstructions)}
		if i < len(in.CardSources) {
			b.source = in.CardSources[i]
		}
		for _, ex := range SplitExamples(c.MesExample) {
			b.examples = append(b.examples, sub(ex))
		}
		for _, g := range c.Greetings() {
			b.openings = append(b.openings, sub(g))
		}
		for _, g := range c.GroupOnlyGreetings {
			if s := sub(g); s != "" {
				b.groupOpenings = append(b.groupOpenings, s)
			}
		}
		bots = append(bots, b)
	}
	p := &Pack{Files: map[string][]byte{}}
	p.ID = opt.ID
	if p.ID == "" {
		p.ID = slug(bots[0].name, 32)
		if len(bots) > 1 {
			p.ID = slug(bots[0].name+"_"+bots[1].name, 32)
		}
		if p.ID == "" {
			p.ID = "imported"
		}
	}
	title := oneLine(opt.Title)
	if title == "" {
		names := make([]string, len(bots))
		for i, b := range bots {
			names[i] = b.name
		}
		title = strings.Join(names, " & ")
	}

	// Lore: each card's own book (known by that character only when the
	// cast has two bots), then the standalone books (known by everyone).
	lw := &loreWriter{taken: taken, user: user}
	for _, b := range bots {
		if b.card.Book == nil {
			continue
		}
		var knownBy []string
		if len(bots) > 1 {
			knownBy = []string{b.id}
		}
		lw.book(b.card.Book, fmt.Sprintf("%s's character book", b.name), bookLabel(b.card.Book, b.source), b.name, knownBy)
	}
	for i, lb := range in.Books {
		src := ""
		if i < len(in.BookSources) {
			src = in.BookSources[i]
		}
		char := ""
		if len(bots) == 1 {
			char = bots[0].name
		}
		lw.book(lb, "the lorebook", bookLabel(lb, src), char, nil)
	}
	p.Lore = len(lw.entries)
	p.Notes = append(p.Notes, lw.notes...)

	// The world spec the Lua will declare, validated here first: the pack
	// must pass check.
	spec := core.WorldSpec{ID: p.ID, Title: title, Start: core.StartSpec{Location: startLocation, Time: startTime},
		MinutesPerTurn: 2, Player: core.CharacterSpec{ID: playerID, Name: user},
		Locations: []core.LocationSpec{{ID: startLocation, Name: "The scene"}}}
	for _, b := range bots {
		spec.Characters = append(spec.Characters, core.CharacterSpec{ID: b.id, Name: b.name, Description: b.description, Persona: b.personality})
		p.Characters = append(p.Characters, b.id)
	}
	for _, e := range lw.entries {
		spec.Lore = append(spec.Lore, e.spec)
	}
	if errs := spec.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("internal error: the pack would not pass check (please report this): %w", errors.Join(errs...))
	}

	loreFiles := lw.files()
	p.Files["pack.lua"] = []byte(packLua(p.ID, title, user, bots, in, loreFiles))
	for _, b := range bots {
		mod := characterLua(b)
		if len(mod) > maxModule {
			return nil, fmt.Errorf("%s's card is too large for a pack module (%s of text; a pack file holds at most 1 MB)", b.name, size(int64(len(mod))))
		}
		p.Files["characters/"+b.id+".lua"] = []byte(mod)
		if len(b.card.Raw) > 0 {
			var pretty bytes.Buffer
			if json.Indent(&pretty, b.card.Raw, "", "  ") == nil {
				pretty.WriteByte('\n')
				p.Files["characters/"+b.id+".card.json"] = pretty.Bytes()
			}
		}
	}
	for name, body := range loreFiles {
		p.Files[name] = body
	}
	p.Files["rules.lua"] = []byte(rulesLua(bots, lw.needsChar))
	// The Lua loader's limits: 1 MB a file, 8 MB a pack.
	total := 0
	for name, body := range p.Files {
		if !strings.HasSuffix(name, ".lua") || strings.HasPrefix(name, "tests/") {
			continue
		}
		if len(body) > 1<<20 {
			return nil, fmt.Errorf("%s would be %s: a pack file holds at most 1 MB (a lore entry that large?)", name, size(int64(len(body))))
		}
		total += len(body)
	}
	if total > maxPackLua {
		return nil, fmt.Errorf("the pack would be %s of Lua: a pack holds at most %s (import fewer lorebooks, or split them)", size(int64(total)), size(maxPackLua))
	}
	tests, n := testsLua(bots, lw.entries, user, title)
	p.Files["tests/import_test.lua"] = []byte(tests)
	p.Tests = n
	return p, nil
}

func bookLabel(lb *Lorebook, source string) string {
	switch {
	case lb.Name != "" && source != "":
		return fmt.Sprintf("%q (%s)", lb.Name, source)
	case lb.Name != "":
		return fmt.Sprintf("%q", lb.Name)
	}
	return source
}

// slug makes an id from a name: lower-case ASCII letters, digits and _,
// at most max bytes ("" when nothing is left).
func slug(name string, max int) string {
	var b strings.Builder
	under := false
loop:
	for _, r := range strings.ToLower(name) {
		switch {
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
		default:
			under = true
		}
		if b.Len() >= max {
			break loop
		}
	}
	s := b.String()
	if len(s) > max {
		s = strings.TrimRight(s[:max], "_")
	}
	return s
}

// uniqueID returns id (or fallback when id is empty), suffixed _2, _3 ...
// until it is not taken, and takes it.
func uniqueID(id, fallback string, taken map[string]bool) string {
	if id == "" {
		id = fallback
	}
	if isReserved(id) {
		id += "_1"
	}
	out := id
	for n := 2; taken[out]; n++ {
		out = fmt.Sprintf("%s_%d", id, n)
	}
	taken[out] = true
	return out
}

// isReserved: ids that would read as something else in a pack.
func isReserved(id string) bool {
	switch id {
	case "you", "group", "scene", "pack", "rules", "tests", "characters":
		return true
	}
	return false
}

// ---------------------------------------------------------------------------
// pack.lua

func packLua(id, title, user string, bots []*bot, in Import, loreFiles map[string][]byte) string {
	var b strings.Builder
	var srcs []string
	for _, s := range append(append([]string(nil), in.CardSources...), in.BookSources...) {
		if s != "" {
			srcs = append(srcs, s)
		}
	}
	fmt.Fprintf(&b, "-- %s: a world pack made by `diorama import`", title)
	if len(srcs) > 0 {
		fmt.Fprintf(&b, " from %s", strings.Join(srcs, ", "))
	}
	b.WriteString(".\n--\n-- What is where:\n")
	b.WriteString("--   pack.lua         this file: the world, a place, the player\n")
	for _, bt := range bots {
		fmt.Fprintf(&b, "--   characters/%s.lua\n", bt.id)
		fmt.Fprintf(&b, "--                    %s: character{} and the rest of the card, as data\n", luaComment1(bt.name))
		if len(bt.card.Raw) > 0 {
			fmt.Fprintf(&b, "--   characters/%s.card.json\n", bt.id)
			b.WriteString("--                    the card as imported; not loaded, it keeps what diorama\n")
			b.WriteString("--                    has no use for, for `diorama export-card`\n")
		}
	}
	b.WriteString("--   rules.lua        prompt overrides: the cards' scenario, example dialogues,\n")
	b.WriteString("--                    opening, system prompt and post-history instructions\n")
	if len(loreFiles) > 0 {
		b.WriteString("--   lore.lua         lore{} entries from the lorebooks\n")
	}
	b.WriteString("--   tests/           pack tests: diorama test FOLDER\n")
	b.WriteString("--\n-- A card describes a character, not a world. To make it play better (see\n")
	b.WriteString("-- docs/authoring.md, \"Import your characters\"): name the place and describe it,\n")
	b.WriteString("-- give each character an appearance, a mood and goals, say how they feel about\n")
	b.WriteString("-- each other with relationship(), and add story events.\n\n")

	fmt.Fprintf(&b, "world({\n  id = %s,\n  title = %s,\n", luaString(id), luaString(title))
	b.WriteString("  -- When the story starts: set the time the scenario happens.\n")
	fmt.Fprintf(&b, "  start = { location = %q, time = %q },\n  minutes_per_turn = 2,\n})\n\n", startLocation, startTime)

	b.WriteString("-- The cards have no places: this one stands for wherever the scenario happens.\n")
	b.WriteString("-- Name it and describe it (the description goes into every prompt there).\n")
	fmt.Fprintf(&b, "location({ id = %q, name = \"The scene\" })\n\n", startLocation)

	fmt.Fprintf(&b, "-- You. The cards' {{user}} is written as %s; import again with --user NAME\n", luaString(user))
	b.WriteString("-- to change it in their text too.\n")
	fmt.Fprintf(&b, "player({ id = %q, name = %s })\n\n", playerID, luaString(user))

	for _, bt := range bots {
		fmt.Fprintf(&b, "require(%q)\n", "characters."+bt.id)
	}
	names := make([]string, 0, len(loreFiles))
	for n := range loreFiles {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return loreFileLess(names[i], names[j]) })
	for _, n := range names {
		fmt.Fprintf(&b, "require(%q)\n", strings.TrimSuffix(n, ".lua"))
	}
	b.WriteString("require(\"rules\")\n\n")

	b.WriteString("-- How they feel: cards say it in prose, the engine keeps it in numbers. An edge\n")
	b.WriteString("-- is private to the one who feels it (see docs/authoring.md). For example:\n")
	for _, bt := range bots {
		fmt.Fprintf(&b, "-- relationship(%q, %q, { affinity = 20, trust = 10, note = \"...\" })\n", bt.id, playerID)
	}
	if len(bots) == 2 {
		fmt.Fprintf(&b, "-- relationship(%q, %q, { affinity = 0, trust = 0, note = \"...\" })\n", bots[0].id, bots[1].id)
	}
	return b.String()
}

func loreFileLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// ---------------------------------------------------------------------------
// characters/ID.lua

func characterLua(bt *bot) string {
	c := bt.card
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s", bt.name)
	from := []string{}
	if bt.source != "" {
		from = append(from, bt.source)
	}
	meta := specLabel(c.Spec)
	if c.Creator != "" {
		meta += " by " + oneLine(c.Creator)
	}
	if c.CharacterVersion != "" {
		meta += ", version " + oneLine(c.CharacterVersion)
	}
	from = append(from, meta)
	fmt.Fprintf(&b, ", imported by `diorama import` from %s.\n", strings.Join(from, ", "))
	b.WriteString("--\n")
	b.WriteString("-- character{} holds what diorama uses everywhere: the card's description and\n")
	b.WriteString("-- personality. The table returned at the end holds the rest of the card;\n")
	b.WriteString("-- rules.lua puts it into " + bt.name + "'s prompts. Edit both freely, and keep the\n")
	b.WriteString("-- returned table plain data (strings, numbers, lists): `diorama export-card`\n")
	b.WriteString("-- reads it back without running the pack.\n\n")

	fmt.Fprintf(&b, "character({\n  id = %q,\n  name = %s,\n", bt.id, luaString(bt.name))
	if bt.description != "" {
		fmt.Fprintf(&b, "  -- the card's description\n  description = %s,\n", luaString(bt.description))
	}
	if bt.personality != "" {
		fmt.Fprintf(&b, "  -- the card's personality\n  persona = %s,\n", luaString(bt.personality))
	}
	b.WriteString("  -- Cards have no fields for these; fill them in and the engine uses them:\n")
	fmt.Fprintf(&b, "  -- appearance = \"what others see of %s (goes into the other characters' prompts)\",\n", luaComment1(bt.name))
	fmt.Fprintf(&b, "  -- speech = \"how %s talks, in a line\",\n", luaComment1(bt.name))
	b.WriteString("  -- mood = \"calm\",\n  -- goals = { \"what they want tonight\" },\n")
	b.WriteString("})\n\n")

	b.WriteString("return {\n")
	fmt.Fprintf(&b, "  spec = %q,\n", c.Spec)
	fmt.Fprintf(&b, "  -- the card's name (character{} carries the name its text calls the character)\n  name = %s,\n", luaString(c.Name))
	if c.Nickname != "" {
		fmt.Fprintf(&b, "  nickname = %s,\n", luaString(c.Nickname))
	}
	b.WriteString("  -- the scenario: in " + luaComment1(bt.name) + "'s own prompt, after the persona\n")
	fmt.Fprintf(&b, "  scenario = %s,\n", luaString(bt.scenario))
	b.WriteString("  -- example dialogues (mes_example, split on <START>): they show the model the voice\n")
	b.WriteString("  examples = " + luaBlockList(bt.examples) + ",\n")
	b.WriteString("  -- openings[opening] is how the story begins (first_mes); the others are the\n")
	b.WriteString("  -- card's alternate greetings: set opening = 2 to start with the first of them\n")
	b.WriteString("  opening = 1,\n")
	b.WriteString("  openings = " + luaBlockList(bt.openings) + ",\n")
	if len(bt.groupOpenings) > 0 {
		b.WriteString("  -- greetings the card keeps for group chats\n")
		b.WriteString("  group_openings = " + luaBlockList(bt.groupOpenings) + ",\n")
	}
	b.WriteString("  -- the card's system prompt replaces diorama's; {{original}} stands for diorama's\n")
	fmt.Fprintf(&b, "  system_prompt = %s,\n", luaString(bt.system))
	b.WriteString("  -- the last thing in the prompt; {{original}} stands for diorama's instruction\n")
	fmt.Fprintf(&b, "  post_history_instructions = %s,\n", luaString(bt.postHistory))
	if c.CreatorNotes != "" {
		b.WriteString("  -- notes for you, never for the model\n")
		fmt.Fprintf(&b, "  creator_notes = %s,\n", luaString(c.CreatorNotes))
	}
	if c.Creator != "" {
		fmt.Fprintf(&b, "  creator = %s,\n", luaString(c.Creator))
	}
	if c.CharacterVersion != "" {
		fmt.Fprintf(&b, "  character_version = %s,\n", luaString(c.CharacterVersion))
	}
	if len(c.Tags) > 0 {
		fmt.Fprintf(&b, "  tags = %s,\n", luaList(c.Tags))
	}
	if len(c.Source) > 0 {
		fmt.Fprintf(&b, "  source = %s,\n", luaList(c.Source))
	}
	b.WriteString("}\n")
	return b.String()
}

// luaBlockList renders a list of (possibly long) strings one per line.
func luaBlockList(items []string) string {
	if len(items) == 0 {
		return "{}"
	}
	var b strings.Builder
	b.WriteString("{\n")
	for _, s := range items {
		b.WriteString("    " + luaString(s) + ",\n")
	}
	b.WriteString("  }")
	return b.String()
}

// luaComment1 makes s safe inside a one-line comment or a quoted example.
func luaComment1(s string) string {
	return strings.NewReplacer("\n", " ", `"`, "'", `\`, "/").Replace(s)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func specLabel(spec string) string {
	switch spec {
	case SpecV1:
		return "a V1 card"
	case SpecV2:
		return "a chara_card_v2 card"
	case SpecV3:
		return "a chara_card_v3 card"
	}
	return spec
}

// ---------------------------------------------------------------------------
// rules.lua

func rulesLua(bots []*bot, needsChar bool) string {
	var b strings.Builder
	b.WriteString(`-- Prompt overrides: how the cards reach the prompts. Each bot gets its own
-- card only (cards[ctx.speaker.id]): one bot's scenario or secrets never
-- reach the other's prompt. See docs/authoring.md, "Prompt templates".

local cards = {
`)
	for _, bt := range bots {
		fmt.Fprintf(&b, "  [%q] = require(%q),\n", bt.id, "characters."+bt.id)
	}
	b.WriteString(`}

local function set(v)
  return type(v) == "string" and v ~= ""
end

-- replace(text, from, to): every plain occurrence of from in text, replaced.
local function replace(text, from, to)
  local out, at = {}, 1
  while true do
    local i, j = string.find(text, from, at, true)
    if i == nil then
      break
    end
    out[#out + 1] = string.sub(text, at, i - 1)
    out[#out + 1] = to
    at = j + 1
  end
  out[#out + 1] = string.sub(text, at)
  return table.concat(out)
end

-- system: the card's system prompt, when it has one, replaces diorama's
-- ({{original}} in it stands for diorama's).
prompt("system", function(ctx, std)
  local card = cards[ctx.speaker.id]
  if card and set(card.system_prompt) then
    return replace(card.system_prompt, "{{original}}", std.sections.system(ctx))
  end
  return std.sections.system(ctx)
end)

-- persona: diorama's persona (name, description, personality), then the
-- scenario, the example dialogues and, in the first scene, the opening.
prompt("persona", function(ctx, std)
  local out = { { text = std.sections.persona(ctx) } }
  local card = cards[ctx.speaker.id]
  if card == nil then
    return out
  end
  local name = ctx.speaker.name
  if set(card.scenario) then
    out[#out + 1] = { name = "scenario", text = "# Scenario\n" .. card.scenario, priority = 90 }
  end
  local examples = card.examples or {}
  if #examples > 0 then
    local items = {}
    for i, ex in ipairs(examples) do
      items[i] = { text = ex .. "\n" }
    end
    -- a heading, then the examples; when the budget is tight the heading goes
    -- first and the examples are trimmed from the front
    out[#out + 1] = { name = "examples", text = "# How " .. name .. " talks (examples, not part of the story)", priority = 44 }
    out[#out + 1] = { name = "examples", items = items, priority = 45 }
  end
  -- (not when the story's first line is the opening itself: an imported chat)
  local opening = (card.openings or {})[card.opening or 1]
  local first = (ctx.lines or {})[1]
  local told = first ~= nil and first.who == ctx.speaker.id and first.text == opening
  if set(opening) and not told and ctx.world and ctx.world.scene == 1 then
    out[#out + 1] = { name = "opening", text = "# How the story began\n" .. name .. ": " .. opening, priority = 35 }
  end
  return out
end)

-- instruction: the card's post-history instructions, when it has them, are
-- the last thing the prompt says ({{original}}: diorama's instruction).
prompt("instruction", function(ctx, std)
  local card = cards[ctx.speaker.id]
  if card and set(card.post_history_instructions) then
    return replace(card.post_history_instructions, "{{original}}", std.sections.instruction(ctx))
  end
  return std.sections.instruction(ctx)
end)
`)
	if needsChar {
		b.WriteString(`
-- lore: a shared lorebook says {{char}} for whoever reads it: the speaker.
prompt("lore", function(ctx, std)
  local secs = std.sections.lore(ctx)
  for _, sec in ipairs(secs or {}) do
    for _, item in ipairs(sec.items or {}) do
      item.text = replace(item.text, "{{char}}", ctx.speaker.name)
    end
  end
  return secs
end)
`)
	}
	return b.String()
}

// ---------------------------------------------------------------------------

// files lists the generated lore modules.
func (lw *loreWriter) files() map[string][]byte {
	out := map[string][]byte{}
	if len(lw.entries) == 0 && len(lw.skipped) == 0 {
		return out
	}
	var cur strings.Builder
	n := 1
	head := func() {
		cur.WriteString("-- Lore: background entries that enter a bot's prompt when their keys come up\n")
		cur.WriteString("-- in what it just heard (see docs/authoring.md, \"lore{}\"). Made by\n")
		cur.WriteString("-- `diorama import` from the lorebooks; `known_by` keeps an entry to the\n")
		cur.WriteString("-- characters who know it.\n")
	}
	flush := func() {
		name := "lore.lua"
		if n > 1 {
			name = fmt.Sprintf("lore_%d.lua", n)
		}
		out[name] = []byte(cur.String())
		cur.Reset()
		n++
	}
	head()
	for _, chunk := range lw.chunks {
		if cur.Len()+len(chunk) > maxLoreFile && cur.Len() > 400 {
			flush()
			head()
		}
		cur.WriteString(chunk)
	}
	flush()
	return out
}
