package cards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"diorama/core"
)

// Export is what a V2 card is written from.
type Export struct {
	World     *core.WorldSpec
	Character string         // the character's id
	Data      map[string]any // the table its module returns (ParseReturnTable); nil for a character written by hand
	Original  []byte         // the card it was imported from (characters/ID.card.json); nil if none
}

// ExportV2 writes a pack's character as a Tavern card V2 (with the V1
// fields at the top level, for old readers). What the pack declares wins:
// character{} gives the description and personality (with appearance and
// speech appended), the module's table the scenario, examples, openings
// and prompts, the pack's lore the character_book (the entries the
// character knows). Fields of the original card with no place in the pack
// (extensions, assets, unknown fields, lore settings) are carried over.
func ExportV2(x Export) ([]byte, error) {
	if x.World == nil {
		return nil, fmt.Errorf("no world")
	}
	var ch *core.CharacterSpec
	var ids []string
	for i := range x.World.Characters {
		c := &x.World.Characters[i]
		ids = append(ids, c.ID)
		if c.ID == x.Character {
			ch = c
		}
	}
	if ch == nil {
		if x.Character == x.World.Player.ID {
			return nil, fmt.Errorf("%q is the player, not a character (characters: %s)", x.Character, strings.Join(ids, ", "))
		}
		return nil, fmt.Errorf("no character %q in the pack (characters: %s)", x.Character, strings.Join(ids, ", "))
	}
	orig, origBook := originalData(x.Original)
	data := map[string]any{}
	for k, v := range orig {
		data[k] = v
	}
	d := x.Data
	if d == nil {
		d = map[string]any{}
	}
	str := func(k, fallback string) string {
		if _, ok := d[k]; ok {
			return tableString(d, k)
		}
		return fallback
	}
	name := str("name", firstNonEmpty(ch.Name, ch.ID))
	data["name"] = name
	if nick := tableString(d, "nickname"); nick != "" {
		data["nickname"] = nick
	}
	desc := ch.Description
	if ch.Appearance != "" && !strings.Contains(desc, ch.Appearance) {
		desc = joinPara(desc, "Appearance: "+ch.Appearance)
	}
	data["description"] = desc
	pers := ch.Persona
	if ch.Speech != "" && !strings.Contains(pers, ch.Speech) {
		pers = joinPara(pers, "Speech: "+ch.Speech)
	}
	data["personality"] = pers
	data["scenario"] = str("scenario", nativeScenario(x.World, ch))
	var examples []string
	if x.Data != nil {
		examples = tableStrings(d, "examples")
	}
	var mes strings.Builder
	for _, ex := range examples {
		mes.WriteString("<START>\n" + strings.TrimSpace(ex) + "\n")
	}
	data["mes_example"] = mes.String()
	openings := tableStrings(d, "openings")
	first := 0
	if n, ok := tableInt(d, "opening"); ok && n >= 1 && n <= len(openings) {
		first = n - 1
	}
	alt := []string{}
	data["first_mes"] = ""
	for i, o := range openings {
		if i == first {
			data["first_mes"] = o
		} else {
			alt = append(alt, o)
		}
	}
	data["alternate_greetings"] = alt
	if g := tableStrings(d, "group_openings"); len(g) > 0 {
		data["group_only_greetings"] = g
	}
	for _, k := range []string{"system_prompt", "post_history_instructions", "creator_notes", "creator", "character_version"} {
		data[k] = str(k, rawString(orig[k]))
	}
	tags := tableStrings(d, "tags")
	if tags == nil {
		tags = rawStrings(orig["tags"], true)
	}
	if tags == nil {
		tags = []string{}
	}
	data["tags"] = tags
	if _, ok := data["extensions"]; !ok {
		data["extensions"] = map[string]any{}
	}
	if src := tableStrings(d, "source"); len(src) > 0 {
		data["source"] = src
	}
	delete(data, "character_book")
	if book := exportBook(x.World, ch.ID, origBook); book != nil {
		data["character_book"] = book
	}
	card := map[string]any{"spec": SpecV2, "spec_version": "2.0", "data": data}
	for _, k := range []string{"name", "description", "personality", "scenario", "first_mes", "mes_example"} {
		card[k] = data[k]
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(card); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// originalData returns the data object of the imported card (the top
// level of a V1 card) and its book, fields kept verbatim.
func originalData(raw []byte) (map[string]json.RawMessage, obj) {
	if len(raw) == 0 {
		return nil, nil
	}
	o, err := decodeObject(raw)
	if err != nil {
		return nil, nil
	}
	data := o
	if o.has("spec") {
		data = o.object("data")
	}
	out := map[string]json.RawMessage{}
	for k, v := range data {
		out[k] = v
	}
	// V3-only prompt fields stay where V2 readers look; the rest is kept.
	return out, data.object("character_book")
}

func joinPara(a, b string) string {
	if strings.TrimSpace(a) == "" {
		return b
	}
	return strings.TrimRight(a, "\n") + "\n\n" + b
}

// nativeScenario describes where a character written by hand starts: the
// world's title and the place.
func nativeScenario(w *core.WorldSpec, ch *core.CharacterSpec) string {
	loc := w.Start.Location
	if ch.At != nil && ch.At.Location != "" {
		loc = ch.At.Location
	}
	if ch.At != nil && ch.At.Container != "" {
		for _, c := range w.Containers {
			if c.ID == ch.At.Container {
				loc = c.Location
			}
		}
	}
	var parts []string
	if w.Title != "" {
		parts = append(parts, w.Title+".")
	}
	for _, l := range w.Locations {
		if l.ID == loc {
			place := firstNonEmpty(l.Name, l.ID)
			if l.Description != "" {
				place += ": " + l.Description
			}
			parts = append(parts, place)
		}
	}
	return strings.Join(parts, " ")
}

// exportBook writes the lore the character knows as a character_book,
// carrying over the settings of the original entries it came from.
func exportBook(w *core.WorldSpec, id string, orig obj) map[string]any {
	var entries []any
	origEntries := map[string]obj{}
	if orig != nil {
		if lb, err := bookFrom(orig, SpecBook); err == nil {
			raw := bytes.TrimSpace(orig["entries"])
			var items []json.RawMessage
			if len(raw) > 0 && raw[0] == '[' {
				_ = json.Unmarshal(raw, &items)
			}
			for i, e := range lb.Entries {
				if i < len(items) {
					var eo obj
					if json.Unmarshal(items[i], &eo) == nil {
						key := slug(firstNonEmpty(e.Comment, e.Name, firstOf(e.Keys)), 40)
						if _, dup := origEntries[key]; !dup && key != "" {
							origEntries[key] = eo
						}
					}
				}
			}
		}
	}
	for i, lo := range w.Lore {
		if len(lo.KnownBy) > 0 && !containsStr(lo.KnownBy, id) {
			continue
		}
		e := map[string]any{}
		eo, ok := origEntries[lo.ID]
		if !ok {
			eo, ok = origEntries[stripSuffix(lo.ID)]
		}
		if ok {
			for k, v := range eo {
				e[k] = v
			}
		}
		keys := exportKeys(lo, lo.Keys)
		e["keys"] = keys
		e["content"] = lo.Text
		e["enabled"] = !lo.Disabled
		e["insertion_order"] = lo.Order
		e["priority"] = lo.Priority
		e["case_sensitive"] = lo.CaseSensitive
		e["constant"] = lo.Constant
		e["use_regex"] = lo.Regex
		e["selective"] = len(lo.SecondaryKeys) > 0
		e["secondary_keys"] = exportKeys(lo, lo.SecondaryKeys)
		e["id"] = i + 1
		if _, ok := e["comment"]; !ok {
			e["comment"] = lo.ID
		}
		if _, ok := e["name"]; !ok {
			e["name"] = lo.ID
		}
		ext := map[string]any{}
		if raw, ok := e["extensions"].(json.RawMessage); ok {
			_ = json.Unmarshal(raw, &ext)
		}
		if ext == nil {
			ext = map[string]any{}
		}
		if lo.Selective != "" && lo.Selective != "and_any" {
			ext["selectiveLogic"] = map[string]int{"not_all": 1, "not_any": 2, "and_all": 3}[lo.Selective]
		} else if _, ok := ext["selectiveLogic"]; ok {
			ext["selectiveLogic"] = 0
		}
		e["extensions"] = ext
		if _, ok := e["position"]; !ok {
			e["position"] = "before_char"
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil
	}
	book := map[string]any{}
	for k, v := range orig {
		book[k] = v
	}
	book["entries"] = entries
	if _, ok := book["extensions"]; !ok {
		book["extensions"] = map[string]any{}
	}
	if w.LoreBudget > 0 {
		book["token_budget"] = w.LoreBudget
	}
	return book
}

// stripSuffix undoes uniqueID's "_2" on a lore id, to find its original.
func stripSuffix(id string) string {
	if i := strings.LastIndexByte(id, '_'); i > 0 {
		tail := id[i+1:]
		if tail != "" && strings.Trim(tail, "0123456789") == "" {
			return id[:i]
		}
	}
	return id
}

// exportKeys writes keys as SillyTavern reads them: a regex entry's keys as
// "/pattern/flags".
func exportKeys(lo core.LoreSpec, keys []string) []string {
	out := []string{}
	for _, k := range keys {
		if !lo.Regex {
			out = append(out, k)
			continue
		}
		flags := ""
		if !lo.CaseSensitive {
			flags = "i"
		}
		if strings.HasPrefix(k, "(?i)") {
			k, flags = k[4:], "i"
		}
		out = append(out, "/"+k+"/"+flags)
	}
	return out
}
