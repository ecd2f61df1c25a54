package core

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Event is one entry of the log: an envelope of metadata around an opaque,
// versioned JSON payload. Events form a tree: every event but the root has a
// parent, and a branch's history is the path from the root to its head.
type Event struct {
	Seq       int64           `json:"seq"`
	Parent    int64           `json:"parent"` // 0 for the root
	Branch    string          `json:"branch"` // the branch it was written on
	Turn      int64           `json:"turn"`
	Type      string          `json:"type"`
	Version   int             `json:"version"`
	Payload   json.RawMessage `json:"payload"`
	Mask      Mask            `json:"mask"`
	CausedBy  int64           `json:"caused_by,omitempty"`
	WorldTime int64           `json:"world_time"` // minutes since the world's start
	CreatedAt time.Time       `json:"created_at"`
}

// Draft is an event before it is written: the log assigns seq, parent,
// branch, turn and creation time.
type Draft struct {
	Type      string
	Payload   any // a payload struct registered for Type
	Mask      Mask
	CausedBy  int64 // seq of an already written event; see CausedByIndex
	WorldTime int64
	// CausedByIndex, when > 0, names an earlier draft of the same turn
	// (1-based) whose seq becomes CausedBy once it is written.
	CausedByIndex int
}

// Event type names: past tense, snake case. They are stored in saves, so they
// never change; a new meaning gets a new name or a new version.
const (
	TypeWorldCreated       = "world_created"
	TypeEntityMoved        = "entity_moved"
	TypeContainerMoved     = "container_moved"
	TypeMoodSet            = "mood_set"
	TypeGoalsSet           = "goals_set"
	TypeActivitySet        = "activity_set"
	TypeItemHeld           = "item_held"
	TypeItemDropped        = "item_dropped"
	TypeItemGiven          = "item_given"
	TypeAttentionSet       = "attention_set"
	TypeRelationshipAdjust = "relationship_adjusted"
	TypeFactNoted          = "fact_noted"
	TypeTimeAdvanced       = "time_advanced"
	TypeTimeSkipped        = "time_skipped"
	TypeSceneEnded         = "scene_ended"
	TypeEventStarted       = "story_event_started"
	TypeEventCompleted     = "story_event_completed"
	TypeEventCancelled     = "story_event_cancelled"
	TypeItemPromoted       = "item_promoted"
	TypeThreadOpened       = "thread_opened"
	TypeThreadResolved     = "thread_resolved"
	TypeMemoryPinned       = "memory_pinned"
	TypeLineSaid           = "line_said"
	TypeStateUpdate        = "state_update_proposed"
	TypePackLoaded         = "pack_loaded"
	TypeHookFailed         = "hook_failed"
	TypeSummaryWritten     = "summary_written"
)

// Payloads. Each is registered with its current version below.
type (
	// WorldCreated starts every log: the whole world at its start.
	WorldCreated struct {
		World WorldSpec `json:"world"`
	}
	// EntityMoved: who is now at location, in container/slot (empty: none).
	EntityMoved struct {
		Who       string `json:"who"`
		Location  string `json:"location"`
		Container string `json:"container,omitempty"`
		Slot      string `json:"slot,omitempty"`
	}
	// ContainerMoved: a container and everyone in it moved to location.
	ContainerMoved struct {
		Container string `json:"container"`
		Location  string `json:"location"`
	}
	// MoodSet: who's mood is now Mood.
	MoodSet struct {
		Who  string `json:"who"`
		Mood string `json:"mood"`
	}
	// GoalsSet: who's goals are now Goals.
	GoalsSet struct {
		Who   string   `json:"who"`
		Goals []string `json:"goals"`
	}
	// ActivitySet: who is now doing Doing.
	ActivitySet struct {
		Who   string `json:"who"`
		Doing string `json:"doing"`
	}
	// ItemHeld: who picked up Item.
	ItemHeld struct {
		Who  string `json:"who"`
		Item string `json:"item"`
	}
	// ItemDropped: who let go of Item.
	ItemDropped struct {
		Who  string `json:"who"`
		Item string `json:"item"`
	}
	// ItemGiven: who handed Item to To.
	ItemGiven struct {
		Who  string `json:"who"`
		To   string `json:"to"`
		Item string `json:"item"`
	}
	// AttentionSet: who now attends to Target.
	AttentionSet struct {
		Who    string `json:"who"`
		Target string `json:"target"`
	}
	// RelationshipAdjusted: the edge Who -> To (or the group node) changed by
	// the deltas; the result is clamped to MinScore..MaxScore.
	RelationshipAdjusted struct {
		Who      string `json:"who"`
		To       string `json:"to"`
		Affinity int    `json:"affinity,omitempty"`
		Trust    int    `json:"trust,omitempty"`
		Note     string `json:"note,omitempty"`
	}
	// FactNoted: a semantic memory only Who has.
	FactNoted struct {
		Who  string `json:"who"`
		Fact string `json:"fact"`
	}
	// TimeAdvanced: the clock moved on by Minutes.
	TimeAdvanced struct {
		Minutes int64 `json:"minutes"`
	}
	// TimeSkipped: an elision (same scene, compressed) or a jump (new scene).
	TimeSkipped struct {
		Kind    string `json:"kind"`
		Minutes int64  `json:"minutes"`
		Label   string `json:"label,omitempty"`
	}
	// SceneEnded: the current scene closed; a new one begins.
	SceneEnded struct {
		Reason string `json:"reason,omitempty"`
	}
	// StoryEventChanged is the payload of started, completed and cancelled.
	StoryEventChanged struct {
		Event string `json:"event"`
		Gist  string `json:"gist,omitempty"`
	}
	// ItemPromoted: a prop of Event is kept by To after the event ends.
	ItemPromoted struct {
		Event string `json:"event"`
		To    string `json:"to"`
		Item  string `json:"item"`
	}
	// ThreadOpened: a new open story thread.
	ThreadOpened struct {
		Thread string `json:"thread"`
		Text   string `json:"text"`
	}
	// ThreadResolved: a thread is resolved.
	ThreadResolved struct {
		Thread string `json:"thread"`
	}
	// MemoryPinned: a memory is pinned (always a candidate for prompts).
	MemoryPinned struct {
		Memory int64 `json:"memory"`
	}
	// LineSaid: a character said (or did) something. It is an episodic
	// memory for everyone in its witness mask. Backend names what rendered a
	// bot's line ("offline", "scripted", "ollama:llama3"); empty for the player.
	LineSaid struct {
		Who     string `json:"who"`
		Text    string `json:"text"`
		Backend string `json:"backend,omitempty"`
	}
	// StateUpdate records a model's proposed state update verbatim (so a
	// session can be replayed) with what became of each command. The
	// accepted commands follow as their own events, caused by this one.
	StateUpdate struct {
		Who      string   `json:"who"`
		Raw      string   `json:"raw"`
		Accepted int      `json:"accepted"`
		Rejected []string `json:"rejected,omitempty"`
	}
	// PackLoaded: the rules in force changed (first load or hot reload).
	PackLoaded struct {
		Pack    string `json:"pack"`
		Version string `json:"version,omitempty"`
		Hash    string `json:"hash"`
		Dir     string `json:"dir,omitempty"` // the pack folder, so later commands find the rules
	}
	// SummaryWritten: a character's own summary of a closed scene, a
	// summary memory only that character has (its mask is Who's bit).
	SummaryWritten struct {
		Who   string `json:"who"`
		Scene int    `json:"scene"`
		Text  string `json:"text"`
	}
	// HookFailed: a Lua hook raised an error or overran its deadline; the
	// turn went on without its commands.
	HookFailed struct {
		Hook  string `json:"hook"`
		Error string `json:"error"`
	}
)

// payloadType describes one registered event type.
type payloadType struct {
	version int
	newFn   func() any
	// upcast[v] turns a version-v payload into a version v+1 payload.
	upcast map[int]func(json.RawMessage) (json.RawMessage, error)
}

var registry = map[string]*payloadType{}

// Register adds an event type with its current payload version and a
// constructor for its payload. Registering a name twice panics: it is a
// programming error caught by any test.
func Register(typ string, version int, newFn func() any) {
	if _, dup := registry[typ]; dup {
		panic("core: event type registered twice: " + typ)
	}
	if version < 1 {
		panic("core: event type " + typ + ": version must be >= 1")
	}
	registry[typ] = &payloadType{version: version, newFn: newFn, upcast: map[int]func(json.RawMessage) (json.RawMessage, error){}}
}

// RegisterUpcast adds the step that turns a version `from` payload of typ
// into version from+1. Steps are pure functions, applied on read; the log
// itself is never rewritten.
func RegisterUpcast(typ string, from int, step func(json.RawMessage) (json.RawMessage, error)) {
	pt := registry[typ]
	if pt == nil {
		panic("core: upcast for unregistered event type " + typ)
	}
	if _, dup := pt.upcast[from]; dup {
		panic(fmt.Sprintf("core: upcast %s v%d registered twice", typ, from))
	}
	pt.upcast[from] = step
}

// EventTypes lists the registered event types, sorted.
func EventTypes() []string {
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// CurrentVersion returns the payload version written for typ, or 0 if typ
// is unknown.
func CurrentVersion(typ string) int {
	if pt := registry[typ]; pt != nil {
		return pt.version
	}
	return 0
}

// Upcast brings a stored payload of typ at version up to the current version.
func Upcast(typ string, version int, payload json.RawMessage) (json.RawMessage, error) {
	pt := registry[typ]
	if pt == nil {
		return nil, fmt.Errorf("unknown event type %q", typ)
	}
	if version > pt.version {
		return nil, fmt.Errorf("event type %q version %d is newer than this build knows (%d): upgrade diorama", typ, version, pt.version)
	}
	if version < 1 {
		return nil, fmt.Errorf("event type %q: invalid version %d", typ, version)
	}
	for v := version; v < pt.version; v++ {
		step := pt.upcast[v]
		if step == nil {
			return nil, fmt.Errorf("event type %q: no upcast from version %d", typ, v)
		}
		var err error
		if payload, err = step(payload); err != nil {
			return nil, fmt.Errorf("upcast %s v%d: %w", typ, v, err)
		}
	}
	return payload, nil
}

// Decode upcasts and decodes the event's payload into its registered struct.
func (e *Event) Decode() (any, error) {
	pt := registry[e.Type]
	if pt == nil {
		return nil, fmt.Errorf("event %d: unknown event type %q", e.Seq, e.Type)
	}
	raw := e.Payload
	if e.Version != pt.version {
		var err error
		if raw, err = Upcast(e.Type, e.Version, raw); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.Seq, err)
		}
	}
	p := pt.newFn()
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("event %d (%s): decode payload: %w", e.Seq, e.Type, err)
	}
	return p, nil
}

// EncodeDraft serializes a draft's payload with its current version.
func EncodeDraft(d Draft) (typ string, version int, payload json.RawMessage, err error) {
	pt := registry[d.Type]
	if pt == nil {
		return "", 0, nil, fmt.Errorf("unknown event type %q", d.Type)
	}
	b, err := json.Marshal(d.Payload)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode %s payload: %w", d.Type, err)
	}
	return d.Type, pt.version, b, nil
}

func init() {
	reg := func(typ string, version int, newFn func() any) { Register(typ, version, newFn) }
	reg(TypeWorldCreated, 1, func() any { return new(WorldCreated) })
	reg(TypeEntityMoved, 2, func() any { return new(EntityMoved) })
	reg(TypeContainerMoved, 1, func() any { return new(ContainerMoved) })
	reg(TypeMoodSet, 1, func() any { return new(MoodSet) })
	reg(TypeGoalsSet, 1, func() any { return new(GoalsSet) })
	reg(TypeActivitySet, 1, func() any { return new(ActivitySet) })
	reg(TypeItemHeld, 1, func() any { return new(ItemHeld) })
	reg(TypeItemDropped, 1, func() any { return new(ItemDropped) })
	reg(TypeItemGiven, 1, func() any { return new(ItemGiven) })
	reg(TypeAttentionSet, 1, func() any { return new(AttentionSet) })
	reg(TypeRelationshipAdjust, 1, func() any { return new(RelationshipAdjusted) })
	reg(TypeFactNoted, 1, func() any { return new(FactNoted) })
	reg(TypeTimeAdvanced, 1, func() any { return new(TimeAdvanced) })
	reg(TypeTimeSkipped, 1, func() any { return new(TimeSkipped) })
	reg(TypeSceneEnded, 1, func() any { return new(SceneEnded) })
	reg(TypeEventStarted, 1, func() any { return new(StoryEventChanged) })
	reg(TypeEventCompleted, 1, func() any { return new(StoryEventChanged) })
	reg(TypeEventCancelled, 1, func() any { return new(StoryEventChanged) })
	reg(TypeItemPromoted, 1, func() any { return new(ItemPromoted) })
	reg(TypeThreadOpened, 1, func() any { return new(ThreadOpened) })
	reg(TypeThreadResolved, 1, func() any { return new(ThreadResolved) })
	reg(TypeMemoryPinned, 1, func() any { return new(MemoryPinned) })
	reg(TypeLineSaid, 1, func() any { return new(LineSaid) })
	reg(TypeStateUpdate, 1, func() any { return new(StateUpdate) })
	reg(TypePackLoaded, 1, func() any { return new(PackLoaded) })
	reg(TypeHookFailed, 1, func() any { return new(HookFailed) })
	reg(TypeSummaryWritten, 1, func() any { return new(SummaryWritten) })

	// entity_moved v1 (the prototype's shape) named the destination "to" and
	// had no container; v2 names it "location" and adds container and slot.
	RegisterUpcast(TypeEntityMoved, 1, func(raw json.RawMessage) (json.RawMessage, error) {
		var v1 struct {
			Who string `json:"who"`
			To  string `json:"to"`
		}
		if err := json.Unmarshal(raw, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(EntityMoved{Who: v1.Who, Location: v1.To})
	})
}
