package lua

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"

	"diorama/core"
)

// Options bound every call into a pack. Zero values take the defaults.
type Options struct {
	HookTimeout time.Duration // deadline of one hook, condition, rule or prompt call; default 50ms
	LoadTimeout time.Duration // deadline of loading the pack (all its top-level code); default 1s
	MaxMemory   int64         // bytes a single call may allocate; default 64 MiB
}

// Defaults.
const (
	DefaultHookTimeout = 50 * time.Millisecond
	DefaultLoadTimeout = time.Second
	DefaultMaxMemory   = 64 << 20
)

func (o Options) withDefaults() Options {
	if o.HookTimeout <= 0 {
		o.HookTimeout = DefaultHookTimeout
	}
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = DefaultLoadTimeout
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	return o
}

// Pack is a loaded world pack. Its methods are safe for concurrent use (they
// take turns on the one VM).
type Pack struct {
	mu     sync.Mutex
	L      *glua.LState
	dir    string
	opts   Options
	files  map[string][]byte // slash path relative to dir -> source
	hash   string
	world  *core.WorldSpec
	closed bool

	// Declarations, fixed once Load returns.
	hooks     map[string][]*handler
	events    []*eventDecl
	eventByID map[string]*eventDecl
	timeskips []*handler
	speakers  *handler       // speakers(fn): the pack's speaker rule, if any
	retrieval *retrievalDecl // retrieval{}: the pack's retrieval weights, if any
	prompts   map[string]*handler
	promptIDs []string
	overrides *glua.LTable // promptOverrides, made on first use

	// VM plumbing (sandbox.go).
	marker       *glua.LUserData // unforgeable key marking read-only proxies in their metatables
	base         *glua.LTable    // the shared, unreachable table of safe globals and the API
	env          *glua.LTable    // the pack's global environment (a proxy)
	fnLen        *glua.LFunction
	fnRO         *glua.LFunction // __newindex of state views
	fnEnvSet     *glua.LFunction // __newindex of environments
	fnNext       *glua.LFunction
	fnIpairsIter *glua.LFunction
	stateMT      *glua.LTable // metatable of s
	actObj       *glua.LTable // s.act
	frozen       bool         // globals are read-only once the pack has loaded
	loading      bool         // constructors work only while loading
	modules      map[string]glua.LValue
	inflight     map[string]bool
	thawed       map[*glua.LTable]bool // environments of stdlib modules loading now

	decl *declarations // collected during Load, then dropped
	cur  *callState    // the call in progress, if any
	logs []string
}

// handler is a Lua function the pack registered, with where it did so.
type handler struct {
	fn    *glua.LFunction
	where Problem // Msg empty
}

// eventDecl is a story_event{} declaration's behaviour.
type eventDecl struct {
	id                   string
	where                Problem
	at                   string
	startsWhen, endsWhen *handler
	onStart, onComplete  *handler
	promotions           []Promotion
}

// Promotion is one entry of a story event's promote table: an item (a prop
// of the event) or a fact that survives the event, and who keeps it ("" when
// the pack left that to the engine).
type Promotion struct {
	Item string
	Fact string
	To   string
}

// World returns the world the pack declares. Callers must not modify it.
func (p *Pack) World() *core.WorldSpec { return p.world }

// Dir returns the pack folder as given to Load.
func (p *Pack) Dir() string { return p.dir }

// Hash returns the hex SHA-256 over the pack's .lua files (sorted paths and
// contents, tests/ excluded): the version of the rules in force.
func (p *Pack) Hash() string { return p.hash }

// Hooks returns how many handlers the pack registered for hook.
func (p *Pack) Hooks(hook string) int { return len(p.hooks[hook]) }

var hookNames = []string{"turn_start", "user_message", "reply", "scene_end", "time_skip", "event_start", "event_complete"}

// HookNames lists the hooks a pack may register with on(...).
func HookNames() []string { return append([]string(nil), hookNames...) }

// HasPrompt reports whether the pack declares prompt(name, ...).
func (p *Pack) HasPrompt(name string) bool { return p.prompts[name] != nil }

// Prompts lists the prompt templates the pack declares, in declaration order.
func (p *Pack) Prompts() []string { return append([]string(nil), p.promptIDs...) }

// TimeSkipRules returns how many timeskip rules the pack declares.
func (p *Pack) TimeSkipRules() int { return len(p.timeskips) }

// Promotions returns what the story_event's promote table keeps when the
// event completes: items to hand on and facts to remember.
func (p *Pack) Promotions(event string) (items, facts []string) {
	ev := p.eventByID[event]
	if ev == nil {
		return nil, nil
	}
	for _, pm := range ev.promotions {
		if pm.Item != "" {
			items = append(items, pm.Item)
		} else {
			facts = append(facts, pm.Fact)
		}
	}
	return items, facts
}

// PromotionsFor returns the story event's promote entries with who keeps
// each (items first, then facts, in declaration order). An entry may name
// its keeper: promote = { items = { { item = "slip", to = "rosa" } } }.
func (p *Pack) PromotionsFor(event string) []Promotion {
	ev := p.eventByID[event]
	if ev == nil {
		return nil
	}
	return append([]Promotion(nil), ev.promotions...)
}

// Logs returns the lines the pack logged (log(...) or print(...)) since the
// previous call, each as "FILE:LINE: text". At most maxLogLines are kept.
func (p *Pack) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.logs
	p.logs = nil
	return out
}

// Close releases the VM. Calls after Close fail with ErrClosed.
func (p *Pack) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.L.Close()
}

// callState is what the Go side of the API needs during one call into Lua.
type callState struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timeout time.Duration
	mem     *memGuard

	// Hooks and conditions.
	st       *core.State // as passed in; never modified
	scratch  *core.State // a clone, once an act was accepted
	canAct   bool
	actDeny  string // why s.act is unavailable, when !canAct
	cmds     []core.Command
	rng      *rand.Rand
	version  int                    // bumped by every accepted act
	cache    map[string]glua.LValue // views of s built at version
	rejected *core.Rejection        // the last refused act, raised as a Lua error
}

func (c *callState) state() *core.State {
	if c.scratch != nil {
		return c.scratch
	}
	return c.st
}
