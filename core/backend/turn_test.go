package backend_test

// Whole turns (core.Session.Turn over an in-memory log) played through the
// real OpenAI-compatible backend against a fake server speaking real SSE
// framing, under every fault the backend knows. A failing turn must leave
// the log exactly as it was and keep the player's line; a turn that
// survives a fault (by retrying before the first token) commits whole; a
// failing state update voids nothing but itself.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"diorama/core"
	"diorama/core/backend"
)

// turnWorld is a small world: the player and two bots in one kitchen.
func turnWorld() *core.WorldSpec {
	return &core.WorldSpec{
		ID:             "kitchen_turns",
		Title:          "Kitchen (backend turn tests)",
		Start:          core.StartSpec{Location: "kitchen", Time: "2001-02-03T08:00"},
		MinutesPerTurn: 1,
		Player:         core.CharacterSpec{ID: "you", Name: "You", At: &core.AtSpec{Location: "kitchen"}},
		Characters: []core.CharacterSpec{
			{ID: "ada", Name: "Ada", Persona: "cook, terse", Mood: "busy", At: &core.AtSpec{Location: "kitchen"}},
			{ID: "bo", Name: "Bo", Persona: "dishwasher, cheerful", Mood: "sunny", At: &core.AtSpec{Location: "kitchen"}},
		},
		Locations: []core.LocationSpec{{ID: "kitchen", Name: "Kitchen"}, {ID: "yard", Name: "Yard"}},
	}
}

// turnRules is the simplest pack: no hooks, fixed speakers, and templates
// returning three sections. The system section carries a routing tag the
// fake server dispatches on ("ROUTE ada/reply").
type turnRules struct{ speakers []string }

func (turnRules) Hook(ctx context.Context, hook string, st *core.State, seed uint64, args ...any) ([]core.Command, error) {
	return nil, nil
}

func (r turnRules) Speakers(ctx context.Context, st *core.State, line string, seed uint64) ([]string, error) {
	if len(r.speakers) == 0 {
		return []string{"ada"}, nil
	}
	return r.speakers, nil
}

func (turnRules) Template(ctx context.Context, name string, facts map[string]any) (any, error) {
	self, _ := facts["speaker"].(map[string]any)
	id, _ := self["id"].(string)
	persona, _ := self["persona"].(string)
	var items []any
	lines, _ := facts["lines"].([]any)
	for _, l := range lines {
		m := l.(map[string]any)
		items = append(items, map[string]any{"text": fmt.Sprintf("%v: %v", m["name"], m["text"]), "event": m["id"]})
	}
	ask := "Reply in character."
	if name == "state_update" {
		ask = "List the commands the last reply implies, as JSON.\n" + fmt.Sprint(facts["commands"])
	}
	return []any{
		map[string]any{"name": "system", "text": fmt.Sprintf("ROUTE %s/%s\nYou are %s.", id, name, persona), "priority": 100.0},
		map[string]any{"name": "lines", "items": items, "priority": 50.0},
		map[string]any{"name": "ask", "role": "user", "text": ask, "priority": 100.0},
	}, nil
}

// turnServer is a fake OpenAI-compatible server that routes each chat
// request by its speaker and purpose ("ada/reply", "ada/state_update") to a
// queue of handlers; the last handler of a queue answers every later
// request. It records each route's requests.
type turnServer struct {
	*httptest.Server
	t      testing.TB
	mu     sync.Mutex
	routes map[string][]http.HandlerFunc
	calls  map[string]int
	prompt map[string]string // the last prompt text per route
}

func newTurnServer(t testing.TB, routes map[string][]http.HandlerFunc) *turnServer {
	t.Helper()
	s := &turnServer{t: t, routes: routes, calls: map[string]int{}, prompt: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *turnServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	var body struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !body.Stream {
		s.t.Errorf("bad request (stream %v): %v", body.Stream, err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var all strings.Builder
	route := ""
	for _, m := range body.Messages {
		all.WriteString(m.Content)
		all.WriteString("\n")
		if i := strings.Index(m.Content, "ROUTE "); i >= 0 && route == "" {
			route, _, _ = strings.Cut(m.Content[i+len("ROUTE "):], "\n")
		}
	}
	s.mu.Lock()
	n := s.calls[route]
	s.calls[route]++
	s.prompt[route] = all.String()
	hs := s.routes[route]
	s.mu.Unlock()
	if len(hs) == 0 {
		s.t.Errorf("unexpected request for route %q", route)
		status(http.StatusNotImplemented, "no handler for "+route)(w, r)
		return
	}
	hs[min(n, len(hs)-1)](w, r)
}

func (s *turnServer) count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

func (s *turnServer) lastPrompt(route string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prompt[route]
}

// gatedOK streams pieces as a complete reply, but holds everything after
// the first piece until gate closes: the turn's observer closes it when it
// sees the first token, so a passing test proves tokens reach the caller
// while the generation is still in flight. If the gate never opens the
// stream is cut (and the turn fails).
func gatedOK(gate <-chan struct{}, pieces ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sseHeader(w)
		data(w, roleChunk)
		data(w, delta(pieces[0]))
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		case <-time.After(3 * time.Second):
			return
		}
		send(w, ": PROCESSING\n\n")
		for _, p := range pieces[1:] {
			data(w, delta(p))
		}
		data(w, finish("stop"))
		send(w, "data: [DONE]\n\n")
	}
}

// cutAfter streams pieces and ends the body cleanly with no finish_reason
// and no [DONE].
func cutAfter(pieces ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sseHeader(w)
		data(w, roleChunk)
		for _, p := range pieces {
			data(w, delta(p))
		}
	}
}

// stallAfter streams pieces and then goes silent until the client leaves.
func stallAfter(pieces ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sseHeader(w)
		data(w, roleChunk)
		for _, p := range pieces {
			data(w, delta(p))
		}
		blockUntilGone(r)
	}
}

// realSleep waits for real (the tests elsewhere record waits instead).
func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// turnConfig is testConfig with deadlines short enough for the watchdog
// cases to fire quickly.
func turnConfig(url string) backend.BackendConfig {
	cfg := testConfig(url)
	cfg.HeaderTimeout = 150 * time.Millisecond
	cfg.IdleTimeout = 150 * time.Millisecond
	return cfg
}

const (
	warmLine  = "Morning, Ada."
	warmReply = "Morning."
	turnLine  = "Ada, pass the ladle?"
	// The reply of a good turn, in the pieces it streams in.
	replyA, replyB, replyC = "*Ada lifts the ladle off its hook.*", " Here.", " Mind, it's hot."
	fullReply              = replyA + replyB + replyC
	holdLadle              = `[{"op":"hold","who":"ada","item":"ladle"}]`
)

// newTurnSession returns a session over a fresh in-memory log of turnWorld
// that already holds one committed turn (played through a healthy server),
// so "nothing changed" is checked against a log with history.
func newTurnSession(t *testing.T, rules turnRules) (*core.Session, *core.MemLog) {
	t.Helper()
	log, err := core.NewMemLog(turnWorld())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := core.NewEngine(context.Background(), log, log, "main")
	if err != nil {
		t.Fatal(err)
	}
	warm := newTurnServer(t, map[string][]http.HandlerFunc{
		"ada/reply":        {streamOK(warmReply)},
		"ada/state_update": {streamOK("[]")},
	})
	gen, _ := newClient(t, turnConfig(warm.URL))
	s := &core.Session{Engine: eng, Generator: gen, Rules: turnRules{speakers: []string{"ada"}}, Recall: log,
		Context: 4096, ReplyReserve: 256, MaxTokens: 200}
	if _, err := s.Turn(context.Background(), warmLine, core.TurnObserver{}); err != nil {
		t.Fatalf("warm-up turn: %v", err)
	}
	s.Rules = rules
	return s, log
}

// snapshot is what a failed turn must leave untouched.
type snapshot struct {
	events  int
	hash    string
	lastSeq int64
}

func snap(t *testing.T, s *core.Session, log *core.MemLog) snapshot {
	t.Helper()
	evs, err := log.Events("main")
	if err != nil {
		t.Fatal(err)
	}
	st := s.Engine.State()
	return snapshot{events: len(evs), hash: st.Hash(), lastSeq: st.LastSeq}
}

// payloads decodes the events of log from index from on.
func payloads(t *testing.T, log *core.MemLog, from int) ([]core.Event, []any) {
	t.Helper()
	evs, err := log.Events("main")
	if err != nil {
		t.Fatal(err)
	}
	evs = evs[from:]
	out := make([]any, len(evs))
	for i, e := range evs {
		p, err := e.Decode()
		if err != nil {
			t.Fatalf("event %d (%s): %v", e.Seq, e.Type, err)
		}
		out[i] = p
	}
	return evs, out
}

// recorder is a turn observer that records what it was shown, and whether
// anything arrived after the turn returned.
type recorder struct {
	mu       sync.Mutex
	tokens   []string
	replies  map[string]string
	rejected []string
	returned atomic.Bool
	late     atomic.Int32
	first    sync.Once
	gate     chan struct{} // closed at the first token
	onToken  func()        // called at each token (tests cancel from here)
}

func newRecorder() *recorder {
	return &recorder{replies: map[string]string{}, gate: make(chan struct{})}
}

func (r *recorder) observer() core.TurnObserver {
	return core.TurnObserver{
		Token: func(id, chunk string) {
			if r.returned.Load() {
				r.late.Add(1)
			}
			r.mu.Lock()
			r.tokens = append(r.tokens, id+"|"+chunk)
			r.mu.Unlock()
			r.first.Do(func() { close(r.gate) })
			if r.onToken != nil {
				r.onToken()
			}
		},
		Reply: func(id, text string) {
			r.mu.Lock()
			r.replies[id] = text
			r.mu.Unlock()
		},
		Rejected: func(id string, reasons []string) {
			r.mu.Lock()
			r.rejected = append(r.rejected, reasons...)
			r.mu.Unlock()
		},
	}
}

// streamed is the text streamed for bot, and in how many tokens.
func (r *recorder) streamed(bot string) (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	n := 0
	for _, tk := range r.tokens {
		if id, chunk, _ := strings.Cut(tk, "|"); id == bot {
			b.WriteString(chunk)
			n++
		}
	}
	return b.String(), n
}

// checkFailed asserts a turn that must not have committed: a TurnError
// holding the line, a one-line message saying what happened, the log and
// state exactly as before, and none of the partial text in any event.
func checkFailed(t *testing.T, s *core.Session, log *core.MemLog, before snapshot, err error, line string, wantIs []error, wantText []string, partial []string) {
	t.Helper()
	var te *core.TurnError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want a *core.TurnError", err, err)
	}
	if te.Line != line {
		t.Fatalf("TurnError.Line = %q, want the player's line %q", te.Line, line)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line:\n%s", msg)
	}
	if !strings.Contains(msg, "your line is kept") {
		t.Errorf("error %q does not say the line is kept", msg)
	}
	for _, w := range wantText {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
	for _, w := range wantIs {
		if !errors.Is(err, w) {
			t.Errorf("error %q is not %v", msg, w)
		}
	}
	after := snap(t, s, log)
	if after != before {
		t.Fatalf("a failed turn changed the save: before %+v, after %+v", before, after)
	}
	evs, _ := log.Events("main")
	for _, e := range evs {
		for _, p := range partial {
			if strings.Contains(string(e.Payload), p) {
				t.Errorf("event %d (%s) holds partial text %q: %s", e.Seq, e.Type, p, e.Payload)
			}
		}
		if strings.Contains(string(e.Payload), line) {
			t.Errorf("event %d (%s) holds the uncommitted line %q", e.Seq, e.Type, line)
		}
	}
	t.Logf("error: %s", msg)
}

// checkCommitted asserts a turn that committed whole: the player's line,
// the bot's full reply, its state update (with the ladle held) and the
// clock, as one turn; and the reply streamed to the observer as it arrived.
func checkCommitted(t *testing.T, s *core.Session, log *core.MemLog, before snapshot, rec *recorder, res *core.TurnResult, backendName string) {
	t.Helper()
	if n := rec.late.Load(); n != 0 {
		t.Errorf("%d tokens reached the observer after Turn returned", n)
	}
	streamed, n := rec.streamed("ada")
	if streamed != fullReply || n < 3 {
		t.Errorf("streamed %q in %d tokens, want %q in at least 3 (no text of a failed attempt)", streamed, n, fullReply)
	}
	if got := rec.replies["ada"]; got != fullReply {
		t.Errorf("observer reply = %q, want %q", got, fullReply)
	}
	if len(res.Replies) != 1 || res.Replies[0].Text != fullReply {
		t.Errorf("result replies = %+v", res.Replies)
	}
	evs, ps := payloads(t, log, before.events)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
		if e.Turn != evs[0].Turn {
			t.Errorf("event %d is in turn %d, want %d: one turn", e.Seq, e.Turn, evs[0].Turn)
		}
	}
	want := "line_said,line_said,state_update_proposed,item_held,time_advanced"
	if got := strings.Join(types, ","); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if l := ps[0].(*core.LineSaid); l.Who != "you" || l.Text != turnLine {
		t.Errorf("player line = %+v", l)
	}
	if l := ps[1].(*core.LineSaid); l.Who != "ada" || l.Text != fullReply || l.Backend != backendName {
		t.Errorf("reply = %+v, want ada's full reply from %s", l, backendName)
	}
	if evs[1].CausedBy != evs[0].Seq {
		t.Errorf("reply caused by %d, want the player's line %d", evs[1].CausedBy, evs[0].Seq)
	}
	if su := ps[2].(*core.StateUpdate); su.Who != "ada" || su.Accepted != 1 || len(su.Rejected) != 0 || su.Raw != holdLadle {
		t.Errorf("state update = %+v", su)
	}
	if h := s.Engine.State().Entities["ada"].Holding; len(h) != 1 || h[0] != "ladle" {
		t.Errorf("ada holds %v, want the ladle", h)
	}
	if got := s.Engine.State().LastSeq; got != evs[len(evs)-1].Seq {
		t.Errorf("state at seq %d, log at %d", got, evs[len(evs)-1].Seq)
	}
}

// TestTurnFaults plays a turn under each fault that must fail it, then
// plays the kept line again on a healthy server to show the session is
// intact.
func TestTurnFaults(t *testing.T) {
	type tc struct {
		name     string
		url      func(t testing.TB) string // default: the fake server
		cfg      func(*backend.BackendConfig)
		speakers []string
		routes   func(cancel context.CancelFunc) map[string][]http.HandlerFunc
		onToken  bool // cancel the turn's context at the first token
		wantIs   []error
		wantText []string
		partial  []string       // text streamed before the fault: must reach no event
		calls    map[string]int // requests per route
		attempts int            // retries announced: attempts-1
	}
	cases := []tc{
		{
			name:     "ConnectRefused",
			url:      closedURL,
			wantIs:   []error{core.ErrUnavailable},
			wantText: []string{"Ada's reply", "cannot connect", "after 3 attempts", "is the server running"},
			attempts: 3,
		},
		{
			name: "TimeoutBeforeHeaders",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {func(w http.ResponseWriter, r *http.Request) { blockUntilGone(r) }}}
			},
			wantIs:   []error{core.ErrUnavailable},
			wantText: []string{"no answer from", "within 150ms", "no response headers"},
			calls:    map[string]int{"ada/reply": 1, "ada/state_update": 0},
			attempts: 1,
		},
		{
			name: "ServerErrorForever",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {status(503, "model crashed\nsee log")}}
			},
			wantIs:   []error{core.ErrUnavailable, backend.ErrServer},
			wantText: []string{"server error 503", "model crashed", "after 3 attempts"},
			calls:    map[string]int{"ada/reply": 3, "ada/state_update": 0},
			attempts: 3,
		},
		{
			name: "RateLimitedTooLong",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {status(429, "quota", "Retry-After", "600")}}
			},
			wantIs:   []error{core.ErrUnavailable, backend.ErrRateLimited},
			wantText: []string{"rate limited (429)", "asks to wait 10m0s"},
			calls:    map[string]int{"ada/reply": 1},
			attempts: 1,
		},
		{
			name: "StreamCutMidway",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {cutAfter("PARTIAL-cut Ada begins", " to say")}}
			},
			wantIs:   []error{core.ErrIncomplete, backend.ErrCut},
			wantText: []string{"no finish_reason", "characters had arrived"},
			partial:  []string{"PARTIAL-cut"},
			calls:    map[string]int{"ada/reply": 1, "ada/state_update": 0},
			attempts: 1,
		},
		{
			name: "ConnectionAbortedMidway",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {func(w http.ResponseWriter, r *http.Request) {
					sseHeader(w)
					data(w, delta("PARTIAL-abort half a"))
					panic(http.ErrAbortHandler)
				}}}
			},
			wantIs:   []error{core.ErrIncomplete, backend.ErrCut},
			wantText: []string{"connection broke mid-stream"},
			partial:  []string{"PARTIAL-abort"},
			calls:    map[string]int{"ada/reply": 1},
			attempts: 1,
		},
		{
			name: "ErrorInside200Stream",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {func(w http.ResponseWriter, r *http.Request) {
					sseHeader(w)
					data(w, delta("PARTIAL-err once upon"))
					data(w, `{"id":"c1","object":"chat.completion.chunk","error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Foo"}},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`)
					send(w, "data: [DONE]\n\n")
				}}}
			},
			wantIs:   []error{core.ErrIncomplete, backend.ErrServer},
			wantText: []string{"reported an error mid-stream", "Provider returned error"},
			partial:  []string{"PARTIAL-err"},
			calls:    map[string]int{"ada/reply": 1},
			attempts: 1,
		},
		{
			// The error as a bare string spanning lines: the message must
			// still be one line.
			name: "ErrorStringInside200Stream",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {func(w http.ResponseWriter, r *http.Request) {
					sseHeader(w)
					data(w, delta("PARTIAL-errstr once upon"))
					data(w, `{"error":"upstream overloaded\nplease retry","choices":[{"index":0,"delta":{},"finish_reason":"error"}]}`)
				}}}
			},
			wantIs:   []error{core.ErrIncomplete},
			wantText: []string{"reported an error mid-stream", "upstream overloaded please retry"},
			partial:  []string{"PARTIAL-errstr"},
			attempts: 1,
		},
		{
			name: "VLLMErrorObjectInside200Stream",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {func(w http.ResponseWriter, r *http.Request) {
					sseHeader(w)
					data(w, delta("PARTIAL-vllm A"))
					data(w, `{"object":"error","message":"engine died\nTraceback (most recent call last):\n  ...","type":"InternalServerError","code":500}`)
				}}}
			},
			wantIs:   []error{core.ErrIncomplete, backend.ErrServer},
			wantText: []string{"engine died"},
			partial:  []string{"PARTIAL-vllm"},
			attempts: 1,
		},
		{
			name: "EmptyReply",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {func(w http.ResponseWriter, r *http.Request) {
					sseHeader(w)
					data(w, roleChunk)
					data(w, finish("stop"))
					send(w, "data: [DONE]\n\n")
				}}}
			},
			wantIs:   []error{core.ErrEmpty},
			wantText: []string{"without any text"},
			calls:    map[string]int{"ada/reply": 1, "ada/state_update": 0},
			attempts: 1,
		},
		{
			// Only whitespace: the backend passes it, the turn loop refuses it.
			name: "BlankReply",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {streamOK("  ", "\n")}}
			},
			wantIs:   []error{core.ErrEmpty},
			wantText: []string{"empty reply"},
			calls:    map[string]int{"ada/reply": 1, "ada/state_update": 0},
			attempts: 1,
		},
		{
			name: "InvalidJSONChunk",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {func(w http.ResponseWriter, r *http.Request) {
					sseHeader(w)
					data(w, delta("PARTIAL-json fine so far"))
					data(w, `{"choices":[{"index":0,"delta":{"content":"bro`)
					data(w, finish("stop"))
				}}}
			},
			wantIs:   []error{core.ErrIncomplete, backend.ErrMalformed},
			wantText: []string{"invalid chunk"},
			partial:  []string{"PARTIAL-json"},
			calls:    map[string]int{"ada/reply": 1},
			attempts: 1,
		},
		{
			name: "IdleStream",
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {stallAfter("PARTIAL-idle then")}}
			},
			wantIs:   []error{core.ErrIncomplete, backend.ErrIdle},
			wantText: []string{"no data from the server for 150ms"},
			partial:  []string{"PARTIAL-idle"},
			calls:    map[string]int{"ada/reply": 1, "ada/state_update": 0},
			attempts: 1,
		},
		{
			name: "CancelledMidStream",
			cfg:  func(c *backend.BackendConfig) { c.IdleTimeout = 5 * time.Second },
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{"ada/reply": {stallAfter("PARTIAL-cancel wait")}}
			},
			onToken:  true,
			wantIs:   []error{core.ErrIncomplete, context.Canceled},
			wantText: []string{"generation cancelled"},
			partial:  []string{"PARTIAL-cancel"},
			calls:    map[string]int{"ada/reply": 1, "ada/state_update": 0},
			attempts: 1,
		},
		{
			// Cancelling while the state update streams voids the whole
			// turn, the complete reply included.
			name: "CancelledDuringStateUpdate",
			cfg:  func(c *backend.BackendConfig) { c.IdleTimeout = 5 * time.Second },
			routes: func(cancel context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{
					"ada/reply": {streamOK("COMPLETE-ada but", " voided")},
					"ada/state_update": {func(w http.ResponseWriter, r *http.Request) {
						sseHeader(w)
						data(w, delta(`[{"op":"hold",`))
						cancel()
						blockUntilGone(r)
					}},
				}
			},
			wantIs:   []error{context.Canceled},
			wantText: []string{"canceled"},
			partial:  []string{"COMPLETE-ada", `\"op\":\"hold\"`},
			calls:    map[string]int{"ada/reply": 1, "ada/state_update": 1},
		},
		{
			// The first bot answers in full, the second one's stream is cut:
			// nothing of the turn is written, not even the complete reply.
			name:     "SecondSpeakerCut",
			speakers: []string{"ada", "bo"},
			routes: func(context.CancelFunc) map[string][]http.HandlerFunc {
				return map[string][]http.HandlerFunc{
					"ada/reply":        {streamOK("COMPLETE-ada Here", " you go.")},
					"ada/state_update": {streamOK(holdLadle)},
					"bo/reply":         {cutAfter("PARTIAL-bo I'll")},
				}
			},
			wantIs:   []error{core.ErrIncomplete},
			wantText: []string{"Bo's reply", "no finish_reason"},
			partial:  []string{"COMPLETE-ada", "PARTIAL-bo", "ladle"},
			calls:    map[string]int{"ada/reply": 1, "ada/state_update": 1, "bo/reply": 1, "bo/state_update": 0},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, log := newTurnSession(t, turnRules{speakers: c.speakers})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var srv *turnServer
			url := ""
			if c.url != nil {
				url = c.url(t)
			} else {
				srv = newTurnServer(t, c.routes(cancel))
				url = srv.URL
			}
			cfg := turnConfig(url)
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			var retries atomic.Int32
			gen, _ := newClient(t, cfg, backend.WithOnRetry(func(backend.Retry) { retries.Add(1) }))
			s.Generator = gen
			before := snap(t, s, log)
			rec := newRecorder()
			if c.onToken {
				rec.onToken = cancel
			}
			start := time.Now()
			res, err := s.Turn(ctx, turnLine, rec.observer())
			if err == nil {
				t.Fatalf("turn committed: %+v", res.Replies)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the turn took %s to fail", d)
			}
			checkFailed(t, s, log, before, err, turnLine, c.wantIs, c.wantText, c.partial)
			if c.attempts > 0 {
				if got := int(retries.Load()) + 1; got != c.attempts {
					t.Errorf("%d attempts, want %d", got, c.attempts)
				}
				var ge *backend.GenError
				if errors.As(err, &ge) && ge.Attempts != c.attempts && !errors.Is(err, context.Canceled) {
					t.Errorf("GenError.Attempts = %d, want %d", ge.Attempts, c.attempts)
				}
			}
			for route, want := range c.calls {
				if got := srv.count(route); got != want {
					t.Errorf("%d requests for %s, want %d", got, route, want)
				}
			}

			// The kept line, offered again on a healthy server, commits whole.
			var te *core.TurnError
			errors.As(err, &te)
			again := newRecorder()
			ok := newTurnServer(t, map[string][]http.HandlerFunc{
				"ada/reply":        {gatedOK(again.gate, replyA, replyB, replyC)},
				"ada/state_update": {streamOK(holdLadle)},
			})
			gen2, _ := newClient(t, turnConfig(ok.URL))
			s.Generator = gen2
			s.Rules = turnRules{speakers: []string{"ada"}}
			res, err = s.Turn(context.Background(), te.Line, again.observer())
			again.returned.Store(true)
			if err != nil {
				t.Fatalf("the kept line, offered again: %v", err)
			}
			checkCommitted(t, s, log, before, again, res, gen2.Name())
		})
	}
}

// TestTurnSurvivesFaults: faults before the first token are retried and
// the turn commits whole, with no text of a failed attempt anywhere.
func TestTurnSurvivesFaults(t *testing.T) {
	type tc struct {
		name      string
		replies   func(gate <-chan struct{}) []http.HandlerFunc
		realSleep bool
		calls     int
		waits     []time.Duration // recorded waits between attempts
	}
	ok := func(gate <-chan struct{}) http.HandlerFunc { return gatedOK(gate, replyA, replyB, replyC) }
	cases := []tc{
		{name: "OK", replies: func(g <-chan struct{}) []http.HandlerFunc { return []http.HandlerFunc{ok(g)} }, calls: 1},
		{
			name: "RateLimitedRetryAfterThenOK",
			replies: func(g <-chan struct{}) []http.HandlerFunc {
				return []http.HandlerFunc{status(429, "slow down", "Retry-After", "2"), ok(g)}
			},
			calls: 2,
			waits: []time.Duration{2 * time.Second}, // Retry-After honoured, not the 1ms backoff
		},
		{
			name: "ServerErrorThenOK",
			replies: func(g <-chan struct{}) []http.HandlerFunc {
				return []http.HandlerFunc{status(503, "loading model"), status(502, "bad gateway"), ok(g)}
			},
			calls: 3,
			waits: []time.Duration{time.Millisecond, 2 * time.Millisecond},
		},
		{
			// The same with the real wait between attempts.
			name: "ServerErrorThenOKRealSleep",
			replies: func(g <-chan struct{}) []http.HandlerFunc {
				return []http.HandlerFunc{status(500, "oops"), ok(g)}
			},
			realSleep: true,
			calls:     2,
		},
		{
			name: "DroppedBeforeFirstTokenThenOK",
			replies: func(g <-chan struct{}) []http.HandlerFunc {
				return []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
					sseHeader(w)
					data(w, roleChunk)
					panic(http.ErrAbortHandler)
				}, ok(g)}
			},
			calls: 2,
			waits: []time.Duration{time.Millisecond},
		},
		{
			name: "ErrorInside200StreamBeforeTextThenOK",
			replies: func(g <-chan struct{}) []http.HandlerFunc {
				return []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
					sseHeader(w)
					send(w, ": OPENROUTER PROCESSING\n\n")
					data(w, `{"error":{"code":502,"message":"upstream timeout"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`)
				}, ok(g)}
			},
			calls: 2,
			waits: []time.Duration{time.Millisecond},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, log := newTurnSession(t, turnRules{speakers: []string{"ada"}})
			rec := newRecorder()
			srv := newTurnServer(t, map[string][]http.HandlerFunc{
				"ada/reply":        c.replies(rec.gate),
				"ada/state_update": {streamOK(holdLadle)},
			})
			var retries atomic.Int32
			opts := []backend.Option{backend.WithOnRetry(func(backend.Retry) { retries.Add(1) })}
			if c.realSleep {
				opts = append(opts, backend.WithSleep(realSleep))
			}
			gen, sl := newClient(t, turnConfig(srv.URL), opts...)
			s.Generator = gen
			before := snap(t, s, log)
			res, err := s.Turn(context.Background(), turnLine, rec.observer())
			rec.returned.Store(true)
			if err != nil {
				t.Fatalf("turn failed: %v", err)
			}
			checkCommitted(t, s, log, before, rec, res, gen.Name())
			if got := srv.count("ada/reply"); got != c.calls {
				t.Errorf("%d reply requests, want %d", got, c.calls)
			}
			if got := int(retries.Load()); got != c.calls-1 {
				t.Errorf("%d retries announced, want %d", got, c.calls-1)
			}
			if !c.realSleep {
				if got := sl.waits(); fmt.Sprint(got) != fmt.Sprint(c.waits) {
					t.Errorf("waits %v, want %v", got, c.waits)
				}
			}
			if got := srv.count("ada/state_update"); got != 1 {
				t.Errorf("%d state update requests, want 1", got)
			}
			// The state update was asked about the reply that committed.
			if p := srv.lastPrompt("ada/state_update"); !strings.Contains(p, "Ada: "+fullReply) {
				t.Errorf("the state update prompt lacks the reply:\n%s", p)
			}
		})
	}
}

// TestTurnStateUpdateFaults: the reply is good, the state update's
// generation fails. The reply commits; the state update is recorded with
// the failure as its rejection and changes nothing else: the state equals
// that of the same turn whose update proposed no command.
func TestTurnStateUpdateFaults(t *testing.T) {
	// The reference: the same turn, the update proposing nothing.
	ref, refLog := newTurnSession(t, turnRules{speakers: []string{"ada"}})
	refSrv := newTurnServer(t, map[string][]http.HandlerFunc{
		"ada/reply":        {streamOK(replyA, replyB, replyC)},
		"ada/state_update": {streamOK("[]")},
	})
	refGen, _ := newClient(t, turnConfig(refSrv.URL))
	ref.Generator = refGen
	if _, err := ref.Turn(context.Background(), turnLine, core.TurnObserver{}); err != nil {
		t.Fatal(err)
	}
	want := snap(t, ref, refLog)

	for _, c := range []struct {
		name     string
		update   http.HandlerFunc
		reason   string
		rawEmpty bool
	}{
		{"ServerErrorForever", status(500, "extractor crashed"), "server error 500", true},
		// A complete JSON array arrived, but the stream never finished: it
		// is not a state update and proposes nothing.
		{"CutMidway", cutAfter(`[{"op":"hold",`, `"who":"ada","item":"ladle"}]`), "no finish_reason", false},
		{"Idle", stallAfter(`[{"op":"hold","who":"ada","item":"ladle"}]`), "no data from the server for 150ms", false},
		{"InvalidJSONChunk", func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta(`[{"op":"hold","who":"ada","item":"ladle"}]`))
			data(w, `{"choices":[{"index":0,"delta":{"content":"x`)
		}, "invalid chunk", false},
		{"Empty", func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, roleChunk)
			data(w, finish("stop"))
			send(w, "data: [DONE]\n\n")
		}, "without any text", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, log := newTurnSession(t, turnRules{speakers: []string{"ada"}})
			rec := newRecorder()
			srv := newTurnServer(t, map[string][]http.HandlerFunc{
				"ada/reply":        {gatedOK(rec.gate, replyA, replyB, replyC)},
				"ada/state_update": {c.update},
			})
			gen, _ := newClient(t, turnConfig(srv.URL))
			s.Generator = gen
			before := snap(t, s, log)
			res, err := s.Turn(context.Background(), turnLine, rec.observer())
			rec.returned.Store(true)
			if err != nil {
				t.Fatalf("a failed state update voided the turn: %v", err)
			}
			if streamed, _ := rec.streamed("ada"); streamed != fullReply {
				t.Errorf("streamed %q", streamed)
			}
			evs, ps := payloads(t, log, before.events)
			var types []string
			for _, e := range evs {
				types = append(types, e.Type)
			}
			if got, want := strings.Join(types, ","), "line_said,line_said,state_update_proposed,time_advanced"; got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
			if l := ps[1].(*core.LineSaid); l.Who != "ada" || l.Text != fullReply {
				t.Errorf("reply = %+v", l)
			}
			su := ps[2].(*core.StateUpdate)
			if su.Who != "ada" || su.Accepted != 0 || len(su.Rejected) != 1 ||
				!strings.HasPrefix(su.Rejected[0], "state update not generated: ") || !strings.Contains(su.Rejected[0], c.reason) {
				t.Errorf("state update = %+v, want one rejection saying %q", su, c.reason)
			}
			if strings.ContainsAny(su.Rejected[0], "\r\n") {
				t.Errorf("rejection is not one line: %q", su.Rejected[0])
			}
			if c.rawEmpty && su.Raw != "" {
				t.Errorf("raw = %q, want empty", su.Raw)
			}
			if len(res.Rejected) != 1 || res.Rejected[0] != su.Rejected[0] {
				t.Errorf("result rejected = %v", res.Rejected)
			}
			if len(rec.rejected) != 1 || rec.rejected[0] != su.Rejected[0] {
				t.Errorf("observer rejected = %v", rec.rejected)
			}
			if h := s.Engine.State().Entities["ada"].Holding; len(h) != 0 {
				t.Errorf("ada holds %v: a failed state update changed the world", h)
			}
			if got := snap(t, s, log); got != want {
				t.Errorf("state after the failed update %+v, want that of an empty update %+v", got, want)
			}
			if got := srv.count("ada/reply"); got != 1 {
				t.Errorf("%d reply requests, want 1", got)
			}
			t.Logf("rejected: %s", su.Rejected[0])
		})
	}
}
