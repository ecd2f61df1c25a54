package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"diorama/cmd/diorama/shell"
	"diorama/core"
	"diorama/core/backend"
	"diorama/lua"
	"diorama/store"
)

// app is one open save being played: the store, the engine and session,
// the pack's rules (hot-reloaded between turns) and the generator. It
// implements shell.App for `diorama play` and serves `turn` and `prompt`.
type app struct {
	st      *store.Store
	sess    *core.Session
	packDir string
	label   string // how the backend was chosen, for people
	backend string // short backend name for the status bar

	mu      sync.Mutex
	pack    *lua.Pack
	pending *lua.Pack // a hot reload waiting for the next turn
	watcher *lua.Watcher
	notices chan string
	memory  *memoryState // long-term memory workers (memory_app.go)
}

var _ shell.App = (*app)(nil)

// appOptions say how to open an app.
type appOptions struct {
	db      string
	pack    string // pack folder; "" means the one the save records
	backend string // backend name; "" means the configured default
	config  string // backend config file; "" means the default path
	watch   bool   // hot-reload the pack
	// readOnly: record nothing (no pack_loaded for changed rules), for
	// commands that only look.
	readOnly bool
}

// openApp opens the save, its pack and a generator.
func openApp(ctx context.Context, e *env, o appOptions) (*app, error) {
	st, err := openSave(o.db)
	if err != nil {
		return nil, err
	}
	a := &app{st: st, notices: make(chan string, 16)}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	eng, err := openCurrent(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", o.db, err)
	}
	dir := o.pack
	if dir == "" {
		dir = eng.State().Pack.Dir
		if dir == "" {
			return nil, fmt.Errorf("%s was not made from a pack; pass --pack PACK for its rules and prompt templates", o.db)
		}
		if _, err := os.Stat(filepath.Join(dir, lua.EntryFile)); err != nil {
			return nil, fmt.Errorf("the pack this save was made from is not at %s any more; pass --pack PACK", dir)
		}
	}
	p, err := lua.Load(dir, lua.Options{})
	if err != nil {
		return nil, fmt.Errorf("load pack %s: %w", dir, err)
	}
	if got, want := p.World().ID, eng.State().World.ID; got != want {
		p.Close()
		return nil, fmt.Errorf("pack %s is world %q but the save is world %q", dir, got, want)
	}
	a.pack, a.packDir = p, dir
	cfg, err := loadBackendConfig(e, o.config)
	if err != nil {
		return nil, err
	}
	cfg.OfflineRender = a.renderOffline
	gen, label, err := backend.ResolveContext(ctx, cfg, o.backend)
	if err != nil {
		return nil, err
	}
	a.label, a.backend = label, gen.Name()
	if gen.Name() == backend.BuiltinOffline {
		a.backend = "OFFLINE"
	}
	window := 8192
	if cw, ok := gen.(interface{ ContextWindow() int }); ok && cw.ContextWindow() > 0 {
		window = cw.ContextWindow()
	}
	count := backend.EstimateTokens
	if tk, ok := gen.(backend.Tokenizer); ok {
		// A server that tokenizes (llama.cpp) counts exactly; the estimate
		// stands in whenever it cannot answer.
		count = func(text string) int {
			if n, err := tk.CountTokens(ctx, text); err == nil {
				return n
			}
			return backend.EstimateTokens(text)
		}
	}
	a.sess = &core.Session{Engine: eng, Generator: gen, Rules: p, Recall: st,
		Context: window, ReplyReserve: 512, MaxTokens: 400, Count: count}
	if err := a.startMemory(ctx, e, gen, o.readOnly); err != nil {
		return nil, err
	}
	if !o.readOnly {
		if err := a.recordPack(ctx, p); err != nil {
			return nil, err
		}
	}
	if o.watch {
		w, err := lua.Watch(dir, lua.Options{}, 0, a.reloaded, func(err error) {
			a.notice("pack not reloaded, the old rules stay: " + oneLine(err.Error()))
		})
		if err != nil {
			a.notice("hot reload is off: " + err.Error())
		} else {
			a.watcher = w
		}
	}
	ok = true
	return a, nil
}

// loadBackendConfig reads the backend config (the default path when none
// is given) with the environment's overrides.
func loadBackendConfig(e *env, path string) (*backend.Config, error) {
	if path == "" {
		p, err := backend.DefaultConfigPath()
		if err == nil {
			path = p
		}
	}
	cfg, err := backend.LoadConfig(path, e.getenv)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// renderOffline renders a reply through the pack's "offline" template.
func (a *app) renderOffline(ctx context.Context, req core.GenRequest) (string, error) {
	a.mu.Lock()
	p := a.pack
	a.mu.Unlock()
	v, err := p.Template(ctx, "offline", req.Facts)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("the offline template returned %T, want a string", v)
	}
	return s, nil
}

// recordPack appends a pack_loaded event when the rules differ from the
// ones the log last recorded.
func (a *app) recordPack(ctx context.Context, p *lua.Pack) error {
	return recordPack(ctx, a.st, &core.PackLoaded{Pack: p.World().ID, Version: p.World().Version, Hash: p.Hash(), Dir: absPath(a.packDir)}, a.sess.Engine)
}

// reloaded runs on the watcher's goroutine: the new rules wait for the
// next turn.
func (a *app) reloaded(p *lua.Pack) {
	a.mu.Lock()
	old := a.pending
	a.pending = p
	a.mu.Unlock()
	if old != nil {
		old.Close()
	}
	a.notice(fmt.Sprintf("pack reloaded (%s): the new rules apply from the next turn", p.Hash()[:12]))
}

// applyReload swaps in pending rules between turns and records them.
func (a *app) applyReload(ctx context.Context) error {
	a.mu.Lock()
	p := a.pending
	a.pending = nil
	a.mu.Unlock()
	if p == nil {
		return nil
	}
	if p.World().ID != a.sess.Engine.State().World.ID {
		p.Close()
		a.notice("pack not reloaded: it now declares another world id")
		return nil
	}
	a.mu.Lock()
	old := a.pack
	a.pack = p
	a.mu.Unlock()
	a.sess.Rules = p
	if err := applyRetrieval(ctx, a.st, p); err != nil {
		a.notice("retrieval weights unchanged: " + oneLine(err.Error()))
	}
	old.Close()
	return a.recordPack(ctx, p)
}

func (a *app) notice(msg string) {
	select {
	case a.notices <- msg:
	default: // the shell is not reading: drop rather than block the watcher
	}
}

// Close releases everything.
func (a *app) Close() {
	a.stopMemory()
	if a.watcher != nil {
		a.watcher.Close()
	}
	a.mu.Lock()
	if a.pack != nil {
		a.pack.Close()
	}
	if a.pending != nil {
		a.pending.Close()
	}
	a.mu.Unlock()
	if a.st != nil {
		a.st.Close()
	}
}

// State implements shell.App.
func (a *app) State() *core.State { return a.sess.Engine.State() }

// Transcript implements shell.App: the lines the player witnessed.
func (a *app) Transcript(ctx context.Context, limit int) ([]shell.Entry, error) {
	st := a.State()
	lines, err := a.st.RecentLines(ctx, st.Cast.MaskOf(st.Cast.Player), limit)
	if err != nil {
		return nil, err
	}
	out := make([]shell.Entry, 0, len(lines))
	for _, l := range lines {
		name := l.Who
		if e := st.Entities[l.Who]; e != nil {
			name = e.Name
		}
		out = append(out, shell.Entry{Who: l.Who, Name: name, Text: l.Text, Player: l.Who == st.Cast.Player, Event: l.ID})
	}
	return out, nil
}

// Turn implements shell.App.
func (a *app) Turn(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
	defer a.pauseMemory()()
	if err := a.applyReload(ctx); err != nil {
		return nil, &core.TurnError{Line: line, Err: err}
	}
	return a.sess.Turn(ctx, line, obs)
}

// LastPrompt implements shell.App.
func (a *app) LastPrompt(bot string) (core.Prompt, bool) {
	p, ok := a.sess.LastPrompts[bot]
	return p, ok
}

// Info implements shell.App.
func (a *app) Info() shell.Info {
	title := a.State().World.Title
	if title == "" {
		title = a.State().World.ID
	}
	return shell.Info{Pack: title, Branch: a.sess.Engine.Branch(), Backend: a.backend, Save: a.st.Path()}
}

// skip applies a time skip with the pack's rules and says what happened.
func (a *app) skip(ctx context.Context, args []string) (string, error) {
	c, err := parseSkip(args, a.State().Now())
	if err != nil {
		return "", err
	}
	_, problems, err := a.sess.Act(ctx, c)
	if err != nil {
		return "", err
	}
	st := a.State()
	msg := fmt.Sprintf("%s (%s): it is now %s", c.Label, c.Kind, st.NowString())
	if c.Kind == "jump" {
		msg += fmt.Sprintf(", scene %d", st.Scene)
	}
	if len(problems) > 0 {
		msg += "\n" + strings.Join(problems, "\n")
	}
	return msg, nil
}

// Notices implements shell.App.
func (a *app) Notices() <-chan string { return a.notices }

// errLater is returned for commands whose engine support is not built yet.
func errLater(cmd, issue string) error {
	return fmt.Errorf("/%s is not available yet: it arrives with %s", cmd, issue)
}

// Exec implements shell.App: the engine side of the slash commands.
func (a *app) Exec(ctx context.Context, cmd string, args []string) (string, error) {
	if err := a.applyReload(ctx); err != nil {
		return "", err
	}
	st := a.State()
	switch cmd {
	case "state":
		return playerView(st), nil
	case "who":
		return whoView(st), nil
	case "prompt":
		if len(args) != 1 {
			return "", fmt.Errorf("usage: /prompt BOT (one of %s)", strings.Join(st.Cast.Bots, ", "))
		}
		pr, ok := a.sess.LastPrompts[args[0]]
		if !ok {
			var err error
			if pr, err = a.sess.Prompt(ctx, args[0]); err != nil {
				return "", err
			}
		}
		return pr.Text() + "\n\n" + manifestSummary(pr.Manifest), nil
	case "skip":
		return a.skip(ctx, args)
	case "reload":
		p, err := lua.Load(a.packDir, lua.Options{})
		if err != nil {
			return "", fmt.Errorf("pack not reloaded, the old rules stay: %s", oneLine(err.Error()))
		}
		a.mu.Lock()
		if a.pending != nil {
			a.pending.Close()
		}
		a.pending = p
		a.mu.Unlock()
		if err := a.applyReload(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("pack reloaded from %s (%s)", a.packDir, p.Hash()[:12]), nil
	case "rewind", "branch", "branches", "checkout", "regen", "delete":
		return a.timeTravel(ctx, cmd, args)
	}
	return "", fmt.Errorf("unknown command /%s (see /help)", cmd)
}

// parseSkip reads [elision|jump] DURATION|LABEL: a duration like 45m, 2h
// or 3d, or a phrase like "three days later" or "the next morning". Without
// a kind, six hours or more is a jump (a new scene), less an elision (the
// scene goes on, compressed).
func parseSkip(args []string, now time.Time) (core.Command, error) {
	kind := ""
	if len(args) > 0 && (args[0] == "elision" || args[0] == "jump") {
		kind, args = args[0], args[1:]
	}
	label := strings.Join(args, " ")
	guess, minutes, err := core.ParseSkip(label, now)
	if err != nil {
		return core.Command{}, err
	}
	if kind == "" {
		kind = guess
	}
	if _, compact := strconv.ParseInt(strings.TrimRight(label, "mhdw"), 10, 64); compact == nil {
		label += " later"
	}
	return core.Command{Op: "skip", Kind: kind, Minutes: &minutes, Label: label}, nil
}

// playerView renders what the player knows of the state: where everyone
// is, how they look, the player's own feelings, events and threads — not
// the bots' goals or their feelings.
func playerView(st *core.State) string {
	var b strings.Builder
	me := st.Entities[st.Cast.Player]
	fmt.Fprintf(&b, "%s — %s, scene %d\n", placeName(st, me.Location), st.NowString(), st.Scene)
	b.WriteString(whoView(st))
	if len(me.Goals) > 0 {
		fmt.Fprintf(&b, "\nyour goals: %s\n", strings.Join(me.Goals, "; "))
	}
	b.WriteString("\nhow you feel:\n")
	for _, id := range st.Cast.Bots {
		if e := st.Edge(st.Cast.Player, id); e != nil {
			fmt.Fprintf(&b, "  about %s: affinity %+d, trust %+d\n", st.Entities[id].Name, e.Affinity, e.Trust)
		}
	}
	var active []string
	for _, id := range sortedIDs(st.Events) {
		if ev := st.Events[id]; ev.Status == core.EventActive {
			active = append(active, fmt.Sprintf("%s (props: %s)", ev.Title, strings.Join(ev.Props, ", ")))
		}
	}
	if len(active) > 0 {
		fmt.Fprintf(&b, "\nhappening now: %s\n", strings.Join(active, "; "))
	}
	var open []string
	for _, id := range sortedIDs(st.Threads) {
		if th := st.Threads[id]; th.Status == "open" {
			open = append(open, th.Text)
		}
	}
	if len(open) > 0 {
		fmt.Fprintf(&b, "\nopen threads:\n  %s\n", strings.Join(open, "\n  "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// whoView lists the cast: where each is and what shows.
func whoView(st *core.State) string {
	var b strings.Builder
	for _, id := range st.Cast.Members() {
		e := st.Entities[id]
		where := placeName(st, e.Location)
		if e.Container != "" {
			where += ", " + e.Slot + " of " + st.Containers[e.Container].Name
		}
		line := fmt.Sprintf("  %s: %s", e.Name, where)
		if e.Mood != "" {
			line += "; looks " + e.Mood
		}
		if e.Doing != "" {
			line += "; " + e.Doing
		}
		if len(e.Holding) > 0 {
			line += "; holding " + strings.Join(e.Holding, ", ")
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// manifestSummary renders a prompt manifest for people.
func manifestSummary(m core.Manifest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "manifest: %d of %d tokens (template %s)\n", m.Tokens, m.Budget, m.Template)
	secs := append([]core.SectionReport(nil), m.Sections...)
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].Included && !secs[j].Included })
	for _, s := range secs {
		state := "in"
		if !s.Included {
			state = "dropped"
		} else if s.Trimmed > 0 {
			state = fmt.Sprintf("in, %d items trimmed", s.Trimmed)
		}
		fmt.Fprintf(&b, "  %-14s prio %3d  %5d tokens  %s\n", s.Name, s.Priority, s.Tokens, state)
	}
	fmt.Fprintf(&b, "  lines: %v\n  memories: %v\n  edges: %v", m.Events, m.Memories, m.Edges)
	return b.String()
}
