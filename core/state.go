package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"sort"
	"time"
)

// Relationship numbers are bounded to MinScore..MaxScore.
const (
	MinScore = -100
	MaxScore = 100
)

// GroupID is the id that names the group node in commands.
const GroupID = "group"

// State is the projection of a branch's event log: everything the world is at
// one point of the story. It is a plain value, rebuilt by folding events with
// Apply; the same events always give the same State, byte for byte.
type State struct {
	World      WorldInfo              `json:"world"`
	Cast       Cast                   `json:"cast"`
	Clock      int64                  `json:"clock"`       // minutes since the world's start
	Scene      int                    `json:"scene"`       // 1-based number of the current scene
	SceneStart int64                  `json:"scene_start"` // seq of the event that began it (0: the story's start)
	Turn       int64                  `json:"turn"`        // last turn applied
	LastSeq    int64                  `json:"last_seq"`
	Entities   map[string]*Entity     `json:"entities"`
	Locations  map[string]*Location   `json:"locations"`
	Containers map[string]*Container  `json:"containers"`
	Edges      map[string]*Edge       `json:"edges"` // key EdgeKey(from, to)
	Group      Group                  `json:"group"`
	Events     map[string]*StoryEvent `json:"story_events"`
	Threads    map[string]*Thread     `json:"threads"`
	Pinned     map[int64]bool         `json:"pinned"`   // pinned memory ids (a memory id is its source event's seq)
	Memories   int64                  `json:"memories"` // how many memories the branch holds
	LastSkip   *Skip                  `json:"last_skip,omitempty"`
	Pack       PackInfo               `json:"pack"`
	Lore       []LoreSpec             `json:"lore,omitempty"` // fixed by the world
	LoreBudget int                    `json:"lore_budget,omitempty"`
}

// PackInfo names the rules in force: the pack and the hash of its files.
type PackInfo struct {
	ID      string `json:"id,omitempty"`
	Version string `json:"version,omitempty"`
	Hash    string `json:"hash,omitempty"`
	Dir     string `json:"dir,omitempty"`
}

// WorldInfo is the static part of the world.
type WorldInfo struct {
	ID             string `json:"id"`
	Title          string `json:"title,omitempty"`
	Version        string `json:"version,omitempty"`
	Start          string `json:"start"` // TimeLayout
	MinutesPerTurn int    `json:"minutes_per_turn"`
}

// Entity is a cast member: identity, inner state and activity record.
type Entity struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Bot         bool     `json:"bot"`
	Description string   `json:"description,omitempty"`
	Persona     string   `json:"persona,omitempty"`
	Speech      string   `json:"speech,omitempty"`
	Appearance  string   `json:"appearance,omitempty"`
	Mood        string   `json:"mood,omitempty"`
	Goals       []string `json:"goals,omitempty"`
	Status      string   `json:"status,omitempty"`
	Location    string   `json:"location"`
	Container   string   `json:"container,omitempty"`
	Slot        string   `json:"slot,omitempty"`
	Doing       string   `json:"doing,omitempty"`
	Holding     []string `json:"holding,omitempty"`
	Attention   string   `json:"attention,omitempty"`
}

// Location is a place.
type Location struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Container is a place within a place (a car, a booth) with named slots.
type Container struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Location string           `json:"location"`
	Slots    map[string]*Slot `json:"slots"`
}

// Slot says what its occupant can see and reach.
type Slot struct {
	Sees    []string `json:"sees,omitempty"`
	Reaches []string `json:"reaches,omitempty"`
}

// Edge is one directed relationship edge: how From feels about To.
type Edge struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Affinity int      `json:"affinity"`
	Trust    int      `json:"trust"`
	Notes    []string `json:"notes,omitempty"`
}

// Group is the group node shared by the whole cast.
type Group struct {
	Cohesion int      `json:"cohesion"`
	Notes    []string `json:"notes,omitempty"`
}

// Story-event statuses.
const (
	EventPlanned   = "planned"
	EventActive    = "active"
	EventCompleted = "completed"
	EventCancelled = "cancelled"
)

// StoryEvent is a story event (not a log event): it has a lifecycle and owns
// its props. When it ends, its props are closed away with it.
type StoryEvent struct {
	ID       string   `json:"id"`
	Title    string   `json:"title,omitempty"`
	Status   string   `json:"status"`
	Props    []string `json:"props,omitempty"`
	Promoted []string `json:"promoted,omitempty"` // props given to someone to keep
	Gist     string   `json:"gist,omitempty"`
	At       string   `json:"at,omitempty"`
}

// Thread is an open story thread: a promise, a question.
type Thread struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Status string `json:"status"` // "open" or "resolved"
}

// Skip records the last time skip.
type Skip struct {
	Kind    string `json:"kind"`
	Minutes int64  `json:"minutes"`
	Label   string `json:"label,omitempty"`
}

// EdgeKey is the key of the directed edge from -> to in State.Edges.
func EdgeKey(from, to string) string { return from + ">" + to }

// NewState returns an empty state; the first event (world_created) fills it.
func NewState() *State {
	return &State{
		Entities:   map[string]*Entity{},
		Locations:  map[string]*Location{},
		Containers: map[string]*Container{},
		Edges:      map[string]*Edge{},
		Events:     map[string]*StoryEvent{},
		Threads:    map[string]*Thread{},
		Pinned:     map[int64]bool{},
	}
}

// Clone returns a deep copy, so a turn can be applied speculatively.
func (s *State) Clone() *State {
	c := *s
	c.Cast.Bots = append([]string(nil), s.Cast.Bots...)
	c.Entities = make(map[string]*Entity, len(s.Entities))
	for k, e := range s.Entities {
		ce := *e
		ce.Goals = append([]string(nil), e.Goals...)
		ce.Holding = append([]string(nil), e.Holding...)
		c.Entities[k] = &ce
	}
	c.Locations = make(map[string]*Location, len(s.Locations))
	for k, l := range s.Locations {
		cl := *l
		c.Locations[k] = &cl
	}
	c.Containers = make(map[string]*Container, len(s.Containers))
	for k, ct := range s.Containers {
		cc := *ct
		cc.Slots = make(map[string]*Slot, len(ct.Slots))
		for n, sl := range ct.Slots {
			cs := *sl
			cs.Sees = append([]string(nil), sl.Sees...)
			cs.Reaches = append([]string(nil), sl.Reaches...)
			cc.Slots[n] = &cs
		}
		c.Containers[k] = &cc
	}
	c.Edges = make(map[string]*Edge, len(s.Edges))
	for k, e := range s.Edges {
		ce := *e
		ce.Notes = append([]string(nil), e.Notes...)
		c.Edges[k] = &ce
	}
	c.Group.Notes = append([]string(nil), s.Group.Notes...)
	c.Events = make(map[string]*StoryEvent, len(s.Events))
	for k, ev := range s.Events {
		ce := *ev
		ce.Props = append([]string(nil), ev.Props...)
		ce.Promoted = append([]string(nil), ev.Promoted...)
		c.Events[k] = &ce
	}
	c.Threads = make(map[string]*Thread, len(s.Threads))
	for k, t := range s.Threads {
		ct := *t
		c.Threads[k] = &ct
	}
	c.Pinned = maps.Clone(s.Pinned) // thousands in a long story: copied whole, not entry by entry
	if c.Pinned == nil {
		c.Pinned = map[int64]bool{}
	}
	if s.LastSkip != nil {
		sk := *s.LastSkip
		c.LastSkip = &sk
	}
	// Lore is fixed by the world and never changed in place: shared.
	return &c
}

// Hash returns a hex SHA-256 of the canonical JSON encoding of the state.
// Equal states give equal hashes (encoding/json sorts map keys).
func (s *State) Hash() string {
	b, err := json.Marshal(s)
	if err != nil {
		// State holds only strings, ints, bools, slices and maps: Marshal cannot fail.
		panic("core: marshal state: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Now returns the world time as a time.Time.
func (s *State) Now() time.Time {
	start, err := time.Parse(TimeLayout, s.World.Start)
	if err != nil {
		start = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return start.Add(time.Duration(s.Clock) * time.Minute)
}

// NowString returns the world time formatted with TimeLayout.
func (s *State) NowString() string { return s.Now().Format(TimeLayout) }

// PresentAt returns the mask of cast members at a location.
func (s *State) PresentAt(location string) Mask {
	var m Mask
	for _, id := range s.Cast.Members() {
		if e := s.Entities[id]; e != nil && e.Location == location {
			m |= 1 << s.Cast.Bit(id)
		}
	}
	return m
}

// Earshot returns the mask of cast members who witness what who does or says:
// everyone at the same location, who included.
func (s *State) Earshot(who string) Mask {
	e := s.Entities[who]
	if e == nil {
		return 0
	}
	return s.PresentAt(e.Location) | s.Cast.MaskOf(who)
}

// Occupant returns who sits in a container slot, or "".
func (s *State) Occupant(container, slot string) string {
	for _, id := range s.Cast.Members() {
		if e := s.Entities[id]; e != nil && e.Container == container && e.Slot == slot {
			return id
		}
	}
	return ""
}

// Holder returns who holds item, or "".
func (s *State) Holder(item string) string {
	for _, id := range s.Cast.Members() {
		if e := s.Entities[id]; e != nil && contains(e.Holding, item) {
			return id
		}
	}
	return ""
}

// ActiveProps returns the props of active story events, sorted: what is in
// the scene because an event owns it.
func (s *State) ActiveProps() []string {
	var out []string
	for _, ev := range s.Events {
		if ev.Status == EventActive {
			out = append(out, ev.Props...)
		}
	}
	sort.Strings(out)
	return out
}

// PropOwner returns the story event that owns item, or nil.
func (s *State) PropOwner(item string) *StoryEvent {
	ids := make([]string, 0, len(s.Events))
	for id := range s.Events {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if contains(s.Events[id].Props, item) {
			return s.Events[id]
		}
	}
	return nil
}

// Edge returns the edge from -> to, or nil.
func (s *State) Edge(from, to string) *Edge { return s.Edges[EdgeKey(from, to)] }

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func remove(list []string, v string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}
