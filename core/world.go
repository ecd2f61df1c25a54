package core

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// TimeLayout is the world-clock format used everywhere a time is written down.
const TimeLayout = "2006-01-02T15:04"

// WorldSpec is the plain description of a world at its start. It is what a JSON
// world file or a Lua pack produces, and it is recorded whole in the first event
// of every save, so the log alone rebuilds the world.
type WorldSpec struct {
	ID             string           `json:"id"`
	Title          string           `json:"title,omitempty"`
	Version        string           `json:"version,omitempty"`
	Start          StartSpec        `json:"start"`
	MinutesPerTurn int              `json:"minutes_per_turn,omitempty"`
	Player         CharacterSpec    `json:"player"`
	Characters     []CharacterSpec  `json:"characters,omitempty"`
	Locations      []LocationSpec   `json:"locations"`
	Containers     []ContainerSpec  `json:"containers,omitempty"`
	Relationships  []EdgeSpec       `json:"relationships,omitempty"`
	Group          *GroupSpec       `json:"group,omitempty"`
	StoryEvents    []StoryEventSpec `json:"story_events,omitempty"`
	Lore           []LoreSpec       `json:"lore,omitempty"`
	// LoreBudget caps the tokens lore may take in a prompt (0: a quarter of
	// the prompt budget).
	LoreBudget int `json:"lore_budget,omitempty"`
}

// LoreSpec is a keyword-activated background entry (SillyTavern's World
// Info, NovelAI's lorebook), optionally known by some characters only.
type LoreSpec struct {
	ID            string   `json:"id"`
	Keys          []string `json:"keys,omitempty"`
	SecondaryKeys []string `json:"secondary_keys,omitempty"`
	// Selective is how secondary keys combine with a primary match:
	// "and_any" (default), "and_all", "not_any", "not_all".
	Selective     string   `json:"selective,omitempty"`
	Text          string   `json:"text"`
	Constant      bool     `json:"constant,omitempty"` // always in, no key needed
	Priority      int      `json:"priority,omitempty"` // higher enters first when the lore budget is tight
	Order         int      `json:"order,omitempty"`    // position among entries in the prompt (lower first)
	CaseSensitive bool     `json:"case_sensitive,omitempty"`
	Regex         bool     `json:"regex,omitempty"`    // keys are regular expressions
	KnownBy       []string `json:"known_by,omitempty"` // who knows it (empty: everyone)
	Disabled      bool     `json:"disabled,omitempty"`
}

// StartSpec is where and when the story begins.
type StartSpec struct {
	Location string `json:"location"`
	Time     string `json:"time,omitempty"` // TimeLayout; empty means 2000-01-01T00:00
}

// CharacterSpec describes the player or a bot.
type CharacterSpec struct {
	ID          string   `json:"id"`
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Persona     string   `json:"persona,omitempty"`
	Speech      string   `json:"speech,omitempty"`
	Appearance  string   `json:"appearance,omitempty"`
	Mood        string   `json:"mood,omitempty"`
	Goals       []string `json:"goals,omitempty"`
	Holding     []string `json:"holding,omitempty"`
	At          *AtSpec  `json:"at,omitempty"`
}

// AtSpec places a character: a location, or a container and slot.
type AtSpec struct {
	Location  string `json:"location,omitempty"`
	Container string `json:"container,omitempty"`
	Slot      string `json:"slot,omitempty"`
}

// LocationSpec describes a place.
type LocationSpec struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// ContainerSpec describes a container (a car, a booth) and its slots.
type ContainerSpec struct {
	ID       string              `json:"id"`
	Name     string              `json:"name,omitempty"`
	Location string              `json:"location"`
	Slots    map[string]SlotSpec `json:"slots"`
}

// SlotSpec lists what a slot can see and reach (free phrases or ids).
type SlotSpec struct {
	Sees    []string `json:"sees,omitempty"`
	Reaches []string `json:"reaches,omitempty"`
}

// EdgeSpec is the starting value of one directed relationship edge.
type EdgeSpec struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Affinity int    `json:"affinity,omitempty"`
	Trust    int    `json:"trust,omitempty"`
	Note     string `json:"note,omitempty"`
}

// GroupSpec is the starting value of the group node.
type GroupSpec struct {
	Cohesion int    `json:"cohesion,omitempty"`
	Note     string `json:"note,omitempty"`
}

// StoryEventSpec declares a story event and the props it owns.
type StoryEventSpec struct {
	ID    string   `json:"id"`
	Title string   `json:"title,omitempty"`
	Props []string `json:"props,omitempty"`
	At    string   `json:"at,omitempty"` // optional scheduled world time (TimeLayout)
}

// Cast returns the cast the spec declares.
func (w *WorldSpec) Cast() Cast {
	c := Cast{Player: w.Player.ID}
	for _, ch := range w.Characters {
		c.Bots = append(c.Bots, ch.ID)
	}
	return c
}

// StartTime parses Start.Time.
func (w *WorldSpec) StartTime() (time.Time, error) {
	if w.Start.Time == "" {
		return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.Parse(TimeLayout, w.Start.Time)
	if err != nil {
		return time.Time{}, fmt.Errorf("start.time %q: want YYYY-MM-DDTHH:MM", w.Start.Time)
	}
	return t, nil
}

// Validate checks the spec for every problem it can find and returns them all,
// each naming the offending field. A valid spec builds a consistent state.
func (w *WorldSpec) Validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if w.ID == "" {
		bad("world: id is required")
	}
	if _, err := w.StartTime(); err != nil {
		bad("world: %v", err)
	}
	if w.MinutesPerTurn < 0 {
		bad("world: minutes_per_turn must not be negative")
	}
	ids := map[string]string{} // id -> kind, for duplicate detection across kinds
	claim := func(kind, id string) {
		if id == "" {
			bad("%s: id is required", kind)
			return
		}
		if id == "group" {
			bad("%s %q: the id \"group\" is reserved for the group node", kind, id)
			return
		}
		if prev, ok := ids[id]; ok {
			bad("%s %q: duplicate id (already a %s)", kind, id, prev)
			return
		}
		ids[id] = kind
	}
	locs := map[string]bool{}
	for _, l := range w.Locations {
		claim("location", l.ID)
		locs[l.ID] = true
	}
	conts := map[string]ContainerSpec{}
	for _, c := range w.Containers {
		claim("container", c.ID)
		conts[c.ID] = c
		if !locs[c.Location] {
			bad("container %q: unknown location %q", c.ID, c.Location)
		}
		if len(c.Slots) == 0 {
			bad("container %q: needs at least one slot", c.ID)
		}
	}
	if len(w.Locations) == 0 {
		bad("world: needs at least one location")
	}
	if !locs[w.Start.Location] {
		bad("world: start.location %q is not a declared location", w.Start.Location)
	}
	claim("player", w.Player.ID)
	if len(w.Characters) > MaxBots {
		bad("character %q: at most %d characters besides the player, got %d", w.Characters[len(w.Characters)-1].ID, MaxBots, len(w.Characters))
	}
	for _, ch := range w.Characters {
		claim("character", ch.ID)
	}
	taken := map[string]string{} // container/slot -> who
	place := func(ch CharacterSpec) {
		if ch.At == nil {
			return
		}
		at := ch.At
		if at.Container != "" {
			c, ok := conts[at.Container]
			if !ok {
				bad("character %q: unknown container %q", ch.ID, at.Container)
				return
			}
			if at.Location != "" && at.Location != c.Location {
				bad("character %q: container %q is at %q, not %q", ch.ID, at.Container, c.Location, at.Location)
			}
			if at.Slot == "" {
				bad("character %q: container %q needs a slot (one of %s)", ch.ID, at.Container, slotNames(c.Slots))
				return
			}
			if _, ok := c.Slots[at.Slot]; !ok {
				bad("character %q: slot %q does not exist in %q (slots: %s)", ch.ID, at.Slot, at.Container, slotNames(c.Slots))
				return
			}
			key := at.Container + "/" + at.Slot
			if who, ok := taken[key]; ok {
				bad("character %q: slot %q of %q is taken by %q", ch.ID, at.Slot, at.Container, who)
				return
			}
			taken[key] = ch.ID
			return
		}
		if at.Slot != "" {
			bad("character %q: slot %q given without a container", ch.ID, at.Slot)
		}
		if at.Location != "" && !locs[at.Location] {
			bad("character %q: unknown location %q", ch.ID, at.Location)
		}
	}
	place(w.Player)
	for _, ch := range w.Characters {
		place(ch)
	}
	people := map[string]bool{w.Player.ID: true}
	for _, ch := range w.Characters {
		people[ch.ID] = true
	}
	edges := map[string]bool{}
	for _, e := range w.Relationships {
		if !people[e.From] {
			bad("relationship %s->%s: unknown character %q", e.From, e.To, e.From)
			continue
		}
		if !people[e.To] {
			bad("relationship %s->%s: unknown character %q", e.From, e.To, e.To)
			continue
		}
		if e.From == e.To {
			bad("relationship %s->%s: an edge joins two different characters", e.From, e.To)
		}
		if edges[e.From+">"+e.To] {
			bad("relationship %s->%s: declared twice", e.From, e.To)
		}
		edges[e.From+">"+e.To] = true
		if e.Affinity < MinScore || e.Affinity > MaxScore {
			bad("relationship %s->%s: affinity %d out of range %d..%d", e.From, e.To, e.Affinity, MinScore, MaxScore)
		}
		if e.Trust < MinScore || e.Trust > MaxScore {
			bad("relationship %s->%s: trust %d out of range %d..%d", e.From, e.To, e.Trust, MinScore, MaxScore)
		}
	}
	if w.Group != nil && (w.Group.Cohesion < MinScore || w.Group.Cohesion > MaxScore) {
		bad("group: cohesion %d out of range %d..%d", w.Group.Cohesion, MinScore, MaxScore)
	}
	for _, lo := range w.Lore {
		claim("lore", lo.ID)
		if strings.TrimSpace(lo.Text) == "" {
			bad("lore %q: text is required", lo.ID)
		}
		if !lo.Constant && len(lo.Keys) == 0 {
			bad("lore %q: give keys, or constant = true", lo.ID)
		}
		switch lo.Selective {
		case "", "and_any", "and_all", "not_any", "not_all":
		default:
			bad("lore %q: selective %q: want and_any, and_all, not_any or not_all", lo.ID, lo.Selective)
		}
		for _, who := range lo.KnownBy {
			if !people[who] {
				bad("lore %q: known_by names unknown character %q", lo.ID, who)
			}
		}
		if lo.Regex {
			for _, k := range append(append([]string(nil), lo.Keys...), lo.SecondaryKeys...) {
				if _, err := regexp.Compile(k); err != nil {
					bad("lore %q: key %q is not a valid regular expression: %v", lo.ID, k, err)
				}
			}
		}
	}
	if w.LoreBudget < 0 {
		bad("world: lore_budget must not be negative")
	}
	for _, se := range w.StoryEvents {
		claim("story_event", se.ID)
		if se.At != "" {
			if _, err := time.Parse(TimeLayout, se.At); err != nil {
				bad("story_event %q: at %q: want YYYY-MM-DDTHH:MM", se.ID, se.At)
			}
		}
	}
	return errs
}

func slotNames(slots map[string]SlotSpec) string {
	names := make([]string, 0, len(slots))
	for n := range slots {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	out := names[0]
	for _, n := range names[1:] {
		out += ", " + n
	}
	return out
}
