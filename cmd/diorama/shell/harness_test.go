package shell

import (
	"context"

	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"

	"diorama/core"
)

// fakeApp is an App for tests: a fixed state, a transcript it appends to,
// and scripted turns and commands.
type fakeApp struct {
	mu      sync.Mutex
	st      *core.State
	entries []Entry
	info    Info
	prompts map[string]core.Prompt
	notices chan string
	calls   []string

	// turn, when set, plays a turn; the default streams a short reply.
	turn func(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error)
	exec func(ctx context.Context, cmd string, args []string) (string, error)
}

func newFakeApp() *fakeApp {
	return &fakeApp{
		st:      testState(),
		info:    Info{Pack: "harbour", Branch: "main", Backend: "OFFLINE"},
		prompts: map[string]core.Prompt{},
		notices: make(chan string, 4),
	}
}

func testState() *core.State {
	st := core.NewState()
	st.World = core.WorldInfo{ID: "harbour", Title: "Harbour", Start: "2024-05-01T18:00"}
	st.Cast = core.Cast{Player: "ana", Bots: []string{"mara", "jun"}}
	st.Locations["pier"] = &core.Location{ID: "pier", Name: "The pier"}
	st.Locations["station"] = &core.Location{ID: "station", Name: "The station"}
	st.Entities["ana"] = &core.Entity{ID: "ana", Name: "Ana", Location: "pier", Mood: "tired", Goals: []string{"reach the lighthouse"}}
	st.Entities["mara"] = &core.Entity{ID: "mara", Name: "Mara", Bot: true, Location: "pier", Mood: "impatient",
		Goals: []string{"SECRETGOAL steal the lantern"}}
	st.Entities["jun"] = &core.Entity{ID: "jun", Name: "Jun", Bot: true, Location: "station", Mood: "bored"}
	return st
}

func (a *fakeApp) record(s string) {
	a.mu.Lock()
	a.calls = append(a.calls, s)
	a.mu.Unlock()
}

func (a *fakeApp) called(s string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.calls {
		if c == s {
			return true
		}
	}
	return false
}

func (a *fakeApp) State() *core.State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

func (a *fakeApp) Transcript(_ context.Context, limit int) ([]Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	es := a.entries
	if limit >= 0 && limit < len(es) {
		es = es[len(es)-limit:]
	}
	return append([]Entry(nil), es...), nil
}

func (a *fakeApp) Turn(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
	a.record("turn:" + line)
	if a.turn != nil {
		return a.turn(ctx, line, obs)
	}
	reply := "Hello, Ana."
	obs.Speaker("mara")
	obs.Token("mara", "Hello, ")
	obs.Token("mara", "Ana.")
	obs.Reply("mara", reply)
	a.commit(line, "mara", reply)
	return &core.TurnResult{Replies: []core.Reply{{Who: "mara", Text: reply}}}, nil
}

// commit appends a turn's lines to the transcript with event ids.
func (a *fakeApp) commit(line, bot, reply string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := int64(len(a.entries))
	a.entries = append(a.entries,
		Entry{Who: "ana", Name: "Ana", Text: line, Player: true, Event: 100 + 2*n},
		Entry{Who: bot, Name: a.st.Entities[bot].Name, Text: reply, Event: 101 + 2*n})
}

func (a *fakeApp) LastPrompt(bot string) (core.Prompt, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.prompts[bot]
	return p, ok
}

func (a *fakeApp) Info() Info { return a.info }

func (a *fakeApp) Exec(ctx context.Context, cmd string, args []string) (string, error) {
	a.record(strings.TrimSpace("exec:" + cmd + " " + strings.Join(args, " ")))
	if a.exec != nil {
		return a.exec(ctx, cmd, args)
	}
	return "", fmt.Errorf("/%s is not in this test", cmd)
}

func (a *fakeApp) Notices() <-chan string { return a.notices }

// harness runs the shell on a simulation screen and keeps a copy of the
// last frame, taken on the screen goroutine right after it was shown.
type harness struct {
	t      *testing.T
	s      tcell.SimulationScreen
	app    *fakeApp
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	frame  []tcell.SimCell
	w, h   int
	frames int
	marks  int // settle markers handled
	drawnM int // the marks handled before the last frame
}

// start runs the shell at w×h.
func start(t *testing.T, app *fakeApp, w, h int, opts Options) *harness {
	t.Helper()
	hs := &harness{t: t, s: tcell.NewSimulationScreen("UTF-8"), app: app, done: make(chan error, 1)}
	opts.drawn = hs.snapshot
	ctx, cancel := context.WithCancel(context.Background())
	hs.cancel = cancel
	go func() { hs.done <- Run(ctx, hs.s, app, opts) }()
	hs.waitFrame(func() bool { return hs.frames > 0 })
	hs.resize(w, h)
	t.Cleanup(func() {
		cancel()
		select {
		case <-hs.done:
		case <-time.After(5 * time.Second):
			t.Errorf("the shell did not stop")
		}
	})
	return hs
}

func (hs *harness) snapshot() {
	cells, w, h := hs.s.GetContents()
	cp := make([]tcell.SimCell, len(cells))
	for i, c := range cells {
		cp[i] = tcell.SimCell{Style: c.Style, Runes: append([]rune(nil), c.Runes...)}
	}
	hs.mu.Lock()
	hs.frame, hs.w, hs.h = cp, w, h
	hs.frames++
	hs.drawnM = hs.marks
	hs.mu.Unlock()
}

// resize changes the terminal size as a terminal would.
func (hs *harness) resize(w, h int) {
	hs.t.Helper()
	hs.s.SetSize(w, h)
	hs.s.PostEventWait(tcell.NewEventResize(w, h))
	hs.settle()
}

func (hs *harness) waitFrame(cond func() bool) {
	hs.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		hs.mu.Lock()
		ok := cond()
		hs.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
	hs.t.Fatalf("timed out waiting for a frame")
}

// rows returns the last frame as text, one string per row (a wide cell's
// second column is not repeated).
func (hs *harness) rows() []string {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return frameRows(hs.frame, hs.w, hs.h)
}

func frameRows(cells []tcell.SimCell, w, h int) []string {
	out := make([]string, h)
	for y := 0; y < h; y++ {
		var b strings.Builder
		for x := 0; x < w; x++ {
			c := cells[y*w+x]
			s := string(c.Runes)
			if s == "" {
				s = " "
			}
			b.WriteString(s)
			if uniseg.StringWidth(s) == 2 {
				x++
			}
		}
		out[y] = b.String()
	}
	return out
}

func (hs *harness) text() string { return strings.Join(hs.rows(), "\n") }

// waitFor polls the frames until cond holds on the screen text.
func (hs *harness) waitFor(what string, cond func(screen string) bool) {
	hs.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond(hs.text()) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	hs.t.Fatalf("timed out waiting for %s; screen:\n%s", what, hs.text())
}

func (hs *harness) waitText(sub string) {
	hs.t.Helper()
	hs.waitFor(fmt.Sprintf("%q", sub), func(s string) bool { return strings.Contains(s, sub) })
}

func (hs *harness) waitGone(sub string) {
	hs.t.Helper()
	hs.waitFor(fmt.Sprintf("%q to go", sub), func(s string) bool { return !strings.Contains(s, sub) })
}

// settle waits for the shell to have drawn a frame after everything
// injected so far was handled: a marker goes through the event queue.
func (hs *harness) settle() {
	hs.t.Helper()
	hs.mu.Lock()
	want := hs.marks + 1
	hs.mu.Unlock()
	hs.s.PostEventWait(tcell.NewEventInterrupt(func() {
		hs.mu.Lock()
		hs.marks++
		hs.mu.Unlock()
	}))
	hs.waitFrame(func() bool { return hs.drawnM >= want })
}

func (hs *harness) typeText(s string) {
	for _, r := range s {
		hs.s.InjectKey(tcell.KeyRune, r, tcell.ModNone)
	}
}

func (hs *harness) key(k tcell.Key, mod tcell.ModMask) { hs.s.InjectKey(k, 0, mod) }

func (hs *harness) enter() { hs.key(tcell.KeyEnter, tcell.ModNone) }

// inputRow returns the last row of the screen (the input line).
func (hs *harness) inputRow() string {
	r := hs.rows()
	return strings.TrimRight(r[len(r)-1], " ")
}

// cellAt finds the first cell showing sub's first rune on the row where
// sub appears, and returns its style.
func (hs *harness) styleOf(sub string) (tcell.Style, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	rows := frameRows(hs.frame, hs.w, hs.h)
	for y, r := range rows {
		i := strings.Index(r, sub)
		if i < 0 {
			continue
		}
		col := uniseg.StringWidth(r[:i])
		return hs.frame[y*hs.w+col].Style, true
	}
	return tcell.StyleDefault, false
}

// finiScreen records that the terminal was started and restored.
type finiScreen struct {
	tcell.SimulationScreen
	started  chan struct{}
	finished atomic.Bool
}

func (s *finiScreen) Init() error {
	err := s.SimulationScreen.Init()
	close(s.started)
	return err
}

func (s *finiScreen) Fini() {
	s.finished.Store(true)
	s.SimulationScreen.Fini()
}
