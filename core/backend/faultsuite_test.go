package backend_test

// The fault suite (issue #10): a scripted 200-turn session, two bots
// answering, played through the real OpenAI-compatible backend against a
// fake server (real SSE framing) that injects at random, per request,
// latency, 429 and 5xx, streams cut before and after the first token,
// garbage, endless streams, empty output and errors inside a 200 stream.
// Every turn either commits whole or not at all; a failed turn's line is
// offered again until it commits; at the end every line is in the log once,
// in order, and no goroutine is left behind.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"diorama/core"
	"diorama/core/backend"
)

const (
	suiteTurns    = 200
	suiteMaxTries = 40 // offers of one line before the suite gives up on it
	suiteSeed     = 0x5EED_0010
)

// A fault kind and how often it is drawn (out of the weights' sum). A kind
// is "complete" when its answer is a whole reply the client may accept.
type faultKind struct {
	name     string
	weight   int
	complete bool
}

var faultKinds = []faultKind{
	{"ok", 40, true},
	{"slow_headers", 5, true},       // latency before the response headers
	{"slow_chunks", 5, true},        // latency between chunks
	{"json_body", 2, true},          // a server ignoring stream:true: one chat.completion JSON body
	{"wrong_content_type", 2, true}, // SSE framing served as application/json
	{"429", 5, false},               // Retry-After 1s: retried (the wait is recorded, not slept)
	{"429_long", 1, false},          // Retry-After 120s: beyond max wait, fails at once
	{"5xx", 4, false},
	{"html_502", 2, false}, // a proxy's HTML error page
	{"cut_before_text", 4, false},
	{"cut_after_text", 4, false},
	{"error_in_200_before_text", 3, false},
	{"error_in_200_after_text", 3, false},
	{"garbage_data", 4, false}, // a data line that is not JSON
	{"html_200", 2, false},     // an HTML page with status 200
	{"empty", 3, false},
	{"endless_keepalives", 1, false}, // ": PROCESSING" forever
	{"endless_content", 2, false},    // tokens forever, never a finish_reason
	{"stall", 1, false},              // silence mid-stream
	{"no_headers", 1, false},         // connected, never answers
}

// suiteReq is one request the fault server answered.
type suiteReq struct {
	id       int
	route    string
	kind     faultKind
	text     string      // the whole reply this answer offers ("" when none)
	boundHit atomic.Bool // an endless answer that ran into the server's own bound: nobody cut it
}

// faultServer decides each request's fault from the suite seed and the
// request's coordinates (turn, offer, route, index on the route), not from
// a shared stream, so one outcome that differs under load does not shift
// every later draw.
type faultServer struct {
	*turnServer
	mu     sync.Mutex
	turn   int
	try    int
	n      map[string]int // requests per route in the current offer
	reqs   []*suiteReq    // requests of the current offer, in arrival order
	all    []*suiteReq
	nextID int
	wg     sync.WaitGroup // handlers in flight
}

var suiteRoutes = []string{"ada/reply", "ada/state_update", "bo/reply", "bo/state_update"}

func newFaultServer(t *testing.T) *faultServer {
	fs := &faultServer{n: map[string]int{}}
	routes := map[string][]http.HandlerFunc{}
	for _, r := range suiteRoutes {
		routes[r] = []http.HandlerFunc{fs.handler(r)}
	}
	fs.turnServer = newTurnServer(t, routes)
	return fs
}

// offer starts a new offer of turn's line.
func (fs *faultServer) offer(turn, try int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.turn, fs.try = turn, try
	fs.n = map[string]int{}
	fs.reqs = nil
}

// last is the last request of the current offer on route (nil if none).
func (fs *faultServer) last(route string) *suiteReq {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := len(fs.reqs) - 1; i >= 0; i-- {
		if fs.reqs[i].route == route {
			return fs.reqs[i]
		}
	}
	return nil
}

func (fs *faultServer) offerReqs() []*suiteReq {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.reqs)
}

func (fs *faultServer) handler(route string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fs.wg.Add(1)
		defer fs.wg.Done()
		fs.mu.Lock()
		k := fs.n[route]
		fs.n[route]++
		fs.nextID++
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%d/%s/%d", fs.turn, fs.try, route, k)
		rng := rand.New(rand.NewPCG(suiteSeed, h.Sum64()))
		req := &suiteReq{id: fs.nextID, route: route, kind: drawFault(rng)}
		req.text = suiteText(route, req.id, rng)
		fs.reqs = append(fs.reqs, req)
		fs.all = append(fs.all, req)
		fs.mu.Unlock()
		serveFault(w, r, req, rng)
	}
}

func drawFault(rng *rand.Rand) faultKind {
	sum := 0
	for _, k := range faultKinds {
		sum += k.weight
	}
	x := rng.IntN(sum)
	for _, k := range faultKinds {
		if x < k.weight {
			return k
		}
		x -= k.weight
	}
	panic("unreachable")
}

var suiteWords = strings.Fields("the ladle is hot so mind your hands and pass the salt while the soup keeps " +
	"simmering on the back burner tonight we feed forty people before the rush ends")

// suiteText is what a request answers when it answers in full: for a reply
// a line of varied words tagged with the request's id; for a state update
// usually a mood set to a tagged value (so the state shows which answer
// committed), sometimes nothing.
func suiteText(route string, id int, rng *rand.Rand) string {
	bot, purpose, _ := strings.Cut(route, "/")
	if purpose == "state_update" {
		if rng.IntN(4) == 0 {
			return "[]"
		}
		return fmt.Sprintf(`[{"op":"set_mood","who":%q,"mood":"mood r%05d"}]`, bot, id)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s r%05d*", bot, id)
	for range 3 + rng.IntN(9) {
		b.WriteString(" ")
		b.WriteString(suiteWords[rng.IntN(len(suiteWords))])
	}
	b.WriteString(".")
	return b.String()
}

// pieces splits text into the chunks it is streamed in (at spaces, and the
// JSON of a state update in two).
func pieces(text string) []string {
	if strings.HasPrefix(text, "[") {
		if len(text) < 4 {
			return []string{text}
		}
		return []string{text[:len(text)/2], text[len(text)/2:]}
	}
	return backend.SplitChunks(text)
}

// pause waits d unless the client leaves first.
func pause(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// endlessBound is how long an endless answer goes on before the server
// gives up on its own: only reached when the client failed to cut it.
const endlessBound = 5 * time.Second

func serveFault(w http.ResponseWriter, r *http.Request, req *suiteReq, rng *rand.Rand) {
	ps := pieces(req.text)
	cut := 1 + rng.IntN(max(1, len(ps)-1)) // pieces sent before a fault after text
	switch req.kind.name {
	case "ok":
		streamOK(ps...)(w, r)
	case "slow_headers":
		if pause(r, time.Duration(5+rng.IntN(20))*time.Millisecond) {
			streamOK(ps...)(w, r)
		}
	case "slow_chunks":
		sseHeader(w)
		data(w, roleChunk)
		for _, p := range ps {
			if !pause(r, time.Duration(1+rng.IntN(6))*time.Millisecond) {
				return
			}
			data(w, delta(p))
		}
		data(w, finish("stop"))
		send(w, "data: [DONE]\n\n")
	case "json_body":
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": req.text}, "finish_reason": "stop"}}})
		w.Write(append(b, '\n'))
	case "wrong_content_type":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		data(w, roleChunk)
		for _, p := range ps {
			data(w, delta(p))
		}
		data(w, finish("stop"))
		send(w, "data: [DONE]\n\n")
	case "429":
		status(429, "rate limited, slow down", "Retry-After", "1")(w, r)
	case "429_long":
		status(429, "quota exhausted", "Retry-After", "120")(w, r)
	case "5xx":
		status([]int{500, 502, 503, 504}[rng.IntN(4)], "upstream failed")(w, r)
	case "html_502":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")
	case "cut_before_text":
		sseHeader(w)
		data(w, roleChunk)
		if rng.IntN(2) == 0 {
			panic(http.ErrAbortHandler) // connection dropped
		}
		// else: the body ends cleanly with no finish_reason
	case "cut_after_text":
		sseHeader(w)
		data(w, roleChunk)
		for _, p := range ps[:cut] {
			data(w, delta(p))
		}
		if rng.IntN(2) == 0 {
			panic(http.ErrAbortHandler)
		}
	case "error_in_200_before_text":
		sseHeader(w)
		send(w, ": OPENROUTER PROCESSING\n\n")
		data(w, `{"error":{"code":502,"message":"upstream timeout"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`)
	case "error_in_200_after_text":
		sseHeader(w)
		data(w, roleChunk)
		for _, p := range ps[:cut] {
			data(w, delta(p))
		}
		data(w, `{"error":{"code":502,"message":"upstream died"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`)
	case "garbage_data":
		sseHeader(w)
		data(w, roleChunk)
		for _, p := range ps[:rng.IntN(cut+1)] {
			data(w, delta(p))
		}
		data(w, "<html><body>Internal Server Error</body></html>")
		data(w, finish("stop"))
	case "html_200":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>Welcome</title></head>\n<body><p>It works! See http://example.invalid/docs for the API.</p></body></html>\n")
	case "empty":
		sseHeader(w)
		data(w, roleChunk)
		data(w, finish("stop"))
		send(w, "data: [DONE]\n\n")
	case "endless_keepalives", "endless_content":
		sseHeader(w)
		data(w, roleChunk)
		if rng.IntN(2) == 0 {
			for _, p := range ps[:cut] {
				data(w, delta(p))
			}
		}
		deadline := time.Now().Add(endlessBound)
		for i := 0; ; i++ {
			if r.Context().Err() != nil {
				return
			}
			if time.Now().After(deadline) {
				req.boundHit.Store(true)
				return
			}
			if req.kind.name == "endless_content" {
				data(w, delta(suiteWords[i%len(suiteWords)]+" "))
				if i%64 == 63 {
					time.Sleep(time.Millisecond)
				}
			} else {
				send(w, ": PROCESSING\n\n")
				time.Sleep(10 * time.Millisecond)
			}
		}
	case "stall":
		sseHeader(w)
		data(w, roleChunk)
		for _, p := range ps[:rng.IntN(cut+1)] {
			data(w, delta(p))
		}
		blockUntilGone(r)
	case "no_headers":
		blockUntilGone(r)
	default:
		panic("unknown fault " + req.kind.name)
	}
}

// suiteConfig: deadlines short enough to keep 200 turns quick, long enough
// (eight times the slowest healthy answer's wait) not to fire on a busy
// machine; and if one does, the turn fails, which the suite allows.
func suiteConfig(url string) backend.BackendConfig {
	cfg := testConfig(url)
	cfg.HeaderTimeout = 200 * time.Millisecond
	cfg.IdleTimeout = 200 * time.Millisecond
	return cfg
}

var nonceRE = regexp.MustCompile(`r\d{5}`)

func TestFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite plays 200 turns")
	}
	start := time.Now()
	s, log := newTurnSession(t, turnRules{speakers: []string{"ada", "bo"}})
	// Counted once the warm-up turn's server (open until the test ends)
	// and its idle connection are up: what follows must leave no more.
	goroutines := runtime.NumGoroutine()
	fs := newFaultServer(t)
	gen, sl := newClient(t, suiteConfig(fs.URL))
	s.Generator = gen

	lines := make([]string, suiteTurns)
	var (
		failedFirst, offers, committedNonces = 0, 0, map[string]bool{}
		failures                             = map[string]int{} // why offers failed, by error kind
		suRejected                           = 0
		maxTries                             = 0
	)
	for i := range suiteTurns {
		lines[i] = fmt.Sprintf("[L%03d] Ada, Bo: %s?", i+1, suiteWords[i%len(suiteWords)])
		line := lines[i]
		for try := 1; ; try++ {
			if try > suiteMaxTries {
				t.Fatalf("turn %d: the line was offered %d times and never committed", i+1, suiteMaxTries)
			}
			offers++
			maxTries = max(maxTries, try)
			fs.offer(i+1, try)
			before := snap(t, s, log)
			rec := newRecorder()
			// A safety net only: the backend's own deadlines must end every
			// offer long before this.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			res, err := s.Turn(ctx, line, rec.observer())
			rec.returned.Store(true)
			expired := ctx.Err() != nil
			cancel()
			if expired {
				t.Fatalf("turn %d offer %d: ran into the test's 30s safety deadline: the backend did not cut a stream (%v)", i+1, try, err)
			}
			if n := rec.late.Load(); n != 0 {
				t.Errorf("turn %d offer %d: %d tokens reached the observer after Turn returned", i+1, try, n)
			}
			for _, q := range fs.offerReqs() {
				if q.boundHit.Load() {
					t.Fatalf("turn %d offer %d: request r%05d (%s, %s) streamed for %s: the client never cut it", i+1, try, q.id, q.route, q.kind.name, endlessBound)
				}
			}
			if err != nil {
				if try == 1 {
					failedFirst++
				}
				failures[failureKind(err)]++
				var partial []string
				for _, q := range fs.offerReqs() {
					partial = append(partial, fmt.Sprintf("r%05d", q.id))
				}
				// Nothing of the offer reached the log; the line is kept.
				checkFailed(t, s, log, before, err, line, nil, nil, partial)
				var te *core.TurnError
				errors.As(err, &te)
				line = te.Line // offered again, as the shell does
				continue
			}
			suRejected += checkSuiteTurn(t, fs, s, log, before, rec, res, lines[i], gen.Name(), committedNonces)
			if t.Failed() {
				t.FailNow()
			}
			break
		}
	}

	// Every line once, in order, after the warm-up turn's.
	evs, ps := payloads(t, log, 0)
	var said []string
	for j, e := range evs {
		if l, ok := ps[j].(*core.LineSaid); ok && l.Who == "you" {
			said = append(said, l.Text)
		}
		// No text of an answer that did not commit, anywhere.
		for _, n := range nonceRE.FindAllString(string(e.Payload), -1) {
			if !committedNonces[n] {
				t.Errorf("event %d (%s) holds %s, the text of an answer that did not commit: %s", e.Seq, e.Type, n, e.Payload)
			}
		}
	}
	if want := append([]string{warmLine}, lines...); !slices.Equal(said, want) {
		t.Fatalf("the player's lines in the log (%d) are not the %d lines played, once each, in order", len(said), len(want))
	}

	// Faults injected, by kind; endless answers cut by the client.
	fs.mu.Lock()
	all := slices.Clone(fs.all)
	fs.mu.Unlock()
	byKind := map[string]int{}
	for _, q := range all {
		byKind[q.kind.name]++
		if q.boundHit.Load() {
			t.Errorf("request r%05d (%s, %s) streamed for %s: the client never cut it", q.id, q.route, q.kind.name, endlessBound)
		}
	}
	var parts []string
	for _, k := range faultKinds {
		parts = append(parts, fmt.Sprintf("%s %d", k.name, byKind[k.name]))
	}
	var why []string
	for _, k := range slices.Sorted(maps.Keys(failures)) {
		why = append(why, fmt.Sprintf("%s %d", k, failures[k]))
	}
	t.Logf("%d turns committed in %d offers (%d failed on their first offer, at most %d offers for one line), %d requests, %d retry waits, %d state updates rejected, in %s",
		suiteTurns, offers, failedFirst, maxTries, len(all), len(sl.waits()), suRejected, time.Since(start).Round(time.Millisecond))
	t.Logf("requests by kind: %s", strings.Join(parts, ", "))
	t.Logf("offers failed by: %s", strings.Join(why, ", "))
	if failedFirst == 0 || suRejected == 0 {
		t.Errorf("the faults never failed a turn (%d) or a state update (%d): the suite tests nothing", failedFirst, suRejected)
	}

	// No goroutine left behind once the server is gone: handlers all
	// returned, the client's connections closed.
	fs.Close()
	fs.wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+2 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines before the suite, %d after:\n%s", goroutines, n, buf)
	} else {
		t.Logf("goroutines: %d before, %d after", goroutines, n)
	}
}

// failureKind sorts a failed turn's error for the log.
func failureKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{backend.ErrIdle, "idle"}, {backend.ErrRateLimited, "rate limited"}, {backend.ErrServer, "server error"},
		{backend.ErrMalformed, "malformed"}, {backend.ErrCut, "cut"}, {core.ErrEmpty, "empty"},
		{core.ErrIncomplete, "incomplete"}, {core.ErrUnavailable, "unavailable"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other"
}

// checkSuiteTurn asserts a committed turn is whole: the player's line once,
// each bot's reply exactly the text its route's last answer of this offer
// streamed (an answer that may be whole), each state update that answer's
// raw text (or a rejection saying it was not generated), the moods it set,
// the clock; nothing else. It returns how many state updates were rejected.
func checkSuiteTurn(t *testing.T, fs *faultServer, s *core.Session, log *core.MemLog, before snapshot, rec *recorder, res *core.TurnResult, line, backendName string, committed map[string]bool) int {
	t.Helper()
	evs, ps := payloads(t, log, before.events)
	if len(evs) == 0 {
		t.Fatalf("turn %q returned no error but wrote nothing", line)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
		if e.Turn != evs[0].Turn {
			t.Errorf("event %d is in turn %d, want %d: one turn", e.Seq, e.Turn, evs[0].Turn)
		}
	}
	if l, ok := ps[0].(*core.LineSaid); !ok || l.Who != "you" || l.Text != line {
		t.Fatalf("first event %s %+v, want the player's line %q", evs[0].Type, ps[0], line)
	}
	if got := s.Engine.State().LastSeq; got != evs[len(evs)-1].Seq {
		t.Errorf("state at seq %d, log at %d", got, evs[len(evs)-1].Seq)
	}
	want := []string{core.TypeLineSaid}
	rejected := 0
	i := 1
	for _, bot := range []string{"ada", "bo"} {
		reply := fs.last(bot + "/reply")
		if reply == nil || !reply.kind.complete {
			t.Fatalf("%s's reply committed, but the last answer for it was %+v", bot, reply)
		}
		committed[fmt.Sprintf("r%05d", reply.id)] = true
		if i >= len(ps) {
			t.Fatalf("events %v: %s's reply missing", types, bot)
		}
		if l, ok := ps[i].(*core.LineSaid); !ok || l.Who != bot || l.Text != reply.text || l.Backend != backendName {
			t.Fatalf("event %d (%s) = %+v, want %s's reply %q", evs[i].Seq, evs[i].Type, ps[i], bot, reply.text)
		}
		if streamed, _ := rec.streamed(bot); streamed != reply.text {
			t.Errorf("streamed for %s %q, want exactly %q (no text of a failed attempt)", bot, streamed, reply.text)
		}
		if got := rec.replies[bot]; got != reply.text {
			t.Errorf("observer reply for %s = %q, want %q", bot, got, reply.text)
		}
		want = append(want, core.TypeLineSaid, core.TypeStateUpdate)
		i++
		su, ok := ps[min(i, len(ps)-1)].(*core.StateUpdate)
		if !ok || su.Who != bot {
			t.Fatalf("events %v: no state update of %s after its reply", types, bot)
		}
		upd := fs.last(bot + "/state_update")
		i++
		switch {
		case len(su.Rejected) > 0 && strings.HasPrefix(su.Rejected[0], "state update not generated: "):
			rejected++
			if su.Raw != "" || su.Accepted != 0 || len(su.Rejected) != 1 {
				t.Errorf("a state update that was not generated: %+v", su)
			}
		case upd == nil || !upd.kind.complete:
			t.Fatalf("%s's state update %+v was taken from an answer that was not whole: %+v", bot, su, upd)
		case su.Raw != upd.text:
			t.Fatalf("%s's state update raw %q, want %q", bot, su.Raw, upd.text)
		case upd.text == "[]":
			if su.Accepted != 0 || len(su.Rejected) != 0 {
				t.Errorf("an empty state update: %+v", su)
			}
		default:
			committed[fmt.Sprintf("r%05d", upd.id)] = true
			if su.Accepted != 1 || len(su.Rejected) != 0 {
				t.Fatalf("state update %+v, want its mood accepted", su)
			}
			want = append(want, core.TypeMoodSet)
			mood := fmt.Sprintf("mood r%05d", upd.id)
			if m, ok := ps[min(i, len(ps)-1)].(*core.MoodSet); !ok || m.Who != bot || m.Mood != mood {
				t.Fatalf("events %v: no mood %q for %s", types, mood, bot)
			}
			if got := s.Engine.State().Entities[bot].Mood; got != mood {
				t.Errorf("%s's mood is %q, want %q", bot, got, mood)
			}
			i++
		}
	}
	want = append(want, core.TypeTimeAdvanced)
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if len(res.Replies) != 2 || res.Replies[0].Who != "ada" || res.Replies[1].Who != "bo" {
		t.Errorf("result replies = %+v", res.Replies)
	}
	return rejected
}

// TestEndlessStreams: a stream that never finishes is cut by a deadline of
// the client's own, whatever keeps it busy: keep-alives alone (they re-arm
// the idle watchdog) for longer than header_timeout, or chunks far beyond
// max_tokens. Neither is retried.
func TestEndlessStreams(t *testing.T) {
	forever := func(before []string, each func(w http.ResponseWriter, i int)) (http.HandlerFunc, *atomic.Bool) {
		var bound atomic.Bool
		return func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, roleChunk)
			for _, p := range before {
				data(w, delta(p))
			}
			deadline := time.Now().Add(endlessBound)
			for i := 0; r.Context().Err() == nil; i++ {
				if time.Now().After(deadline) {
					bound.Store(true)
					return
				}
				each(w, i)
			}
		}, &bound
	}
	keepAlive := func(w http.ResponseWriter, i int) {
		send(w, ": PROCESSING\n\n")
		time.Sleep(10 * time.Millisecond)
	}
	content := func(w http.ResponseWriter, i int) { data(w, delta("and ")) }
	emptyDelta := func(w http.ResponseWriter, i int) { data(w, delta("")) }
	for _, c := range []struct {
		name   string
		before []string
		each   func(http.ResponseWriter, int)
		kind   error
		cause  error
		text   string
	}{
		{"KeepAlivesBeforeText", nil, keepAlive, core.ErrUnavailable, backend.ErrIdle, "only keep-alives, no data, for 200ms"},
		{"KeepAlivesAfterText", []string{"Well"}, keepAlive, core.ErrIncomplete, backend.ErrIdle, "only keep-alives, no data, for 200ms"},
		{"ContentForever", []string{"Well "}, content, core.ErrIncomplete, backend.ErrRunaway, "far past max_tokens (400)"},
		{"EmptyChunksForever", nil, emptyDelta, core.ErrUnavailable, backend.ErrRunaway, "far past max_tokens (400)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, bound := forever(c.before, c.each)
			f := newFake(t, h)
			cfg := testConfig(f.URL)
			// The idle watchdog is not under test: long enough that a
			// starved server goroutine (a busy machine, -race) never trips it.
			cfg.HeaderTimeout = 200 * time.Millisecond
			cfg.IdleTimeout = time.Second
			cl, _ := newClient(t, cfg)
			text, _, err := collect(context.Background(), cl, testReq)
			if err == nil {
				t.Fatalf("an endless stream completed: %q", text)
			}
			if !errors.Is(err, c.kind) || !errors.Is(err, c.cause) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %v, want %v and %v saying %q", err, c.kind, c.cause, c.text)
			}
			if bound.Load() {
				t.Fatalf("the server streamed for %s: the client never cut it", endlessBound)
			}
			if n := f.requests(); n != 1 {
				t.Errorf("%d requests: an endless stream is not retried", n)
			}
			t.Logf("%s", err)
		})
	}
}
