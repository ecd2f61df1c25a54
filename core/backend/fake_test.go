package backend_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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

// fakeServer is an OpenAI-compatible server speaking real SSE framing.
// Request i (0-based) to /v1/chat/completions is answered by handlers[i],
// or by the last handler once they run out.
type fakeServer struct {
	*httptest.Server
	handlers []http.HandlerFunc
	n        atomic.Int32
	mu       sync.Mutex
	bodies   []map[string]any
	headers  []http.Header
	extra    map[string]http.HandlerFunc // other paths: /v1/models, /api/version, …
}

func newFake(t testing.TB, handlers ...http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{handlers: handlers, extra: map[string]http.HandlerFunc{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		f.mu.Lock()
		h := f.extra[r.URL.Path]
		f.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
		return
	}
	i := int(f.n.Add(1)) - 1
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	f.handlers[min(i, len(f.handlers)-1)](w, r)
}

func (f *fakeServer) handle(path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.extra[path] = h
}

func (f *fakeServer) requests() int { return int(f.n.Load()) }

func (f *fakeServer) body(i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[i]
}

// SSE helpers: each event is "data: …\n\n", flushed at once.

func sseHeader(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func send(w http.ResponseWriter, raw string) {
	io.WriteString(w, raw)
	w.(http.Flusher).Flush()
}

func data(w http.ResponseWriter, payload string) { send(w, "data: "+payload+"\n\n") }

func delta(text string) string {
	b, _ := json.Marshal(text)
	return `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":` + string(b) + `},"finish_reason":null}]}`
}

const roleChunk = `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`

func finish(reason string) string {
	return `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"` + reason + `"}]}`
}

// streamOK answers a complete reply made of the given pieces.
func streamOK(pieces ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sseHeader(w)
		data(w, roleChunk)
		for _, p := range pieces {
			data(w, delta(p))
		}
		data(w, finish("stop"))
		send(w, "data: [DONE]\n\n")
	}
}

// status answers an HTTP error with an OpenAI-style JSON body.
func status(code int, msg string, hdr ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":"error","code":%d}}`, msg, code)
	}
}

// blockUntilGone waits until the client goes away (bounded, so a broken
// test cannot hang the suite).
func blockUntilGone(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

// sleeps records the waits between retries instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// testConfig is a backend pointed at url with small timeouts.
func testConfig(url string) backend.BackendConfig {
	return backend.BackendConfig{Name: "test", BaseURL: url + "/v1", Model: "m",
		ConnectTimeout: time.Second, HeaderTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second, MaxAttempts: 3}
}

// newClient builds the backend with instant, recorded retries.
func newClient(t testing.TB, cfg backend.BackendConfig, opts ...backend.Option) (*backend.OpenAI, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	all := append([]backend.Option{backend.WithBackoff(time.Millisecond, 4*time.Millisecond), backend.WithSleep(sl.sleep),
		backend.WithGetenv(func(string) string { return "" })}, opts...)
	c, err := backend.NewOpenAI(cfg, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c, sl
}

var testReq = core.GenRequest{Messages: []core.Message{{Role: "system", Content: "You are Mara."}, {Role: "user", Content: "Hi"}},
	Purpose: core.PurposeReply, Speaker: "mara"}

// collect runs one generation to the end: the text received and the error
// that ended it (nil after a complete reply).
func collect(ctx context.Context, g core.Generator, req core.GenRequest) (string, core.TextStream, error) {
	s, err := g.Generate(ctx, req)
	if err != nil {
		return "", nil, err
	}
	defer s.Close()
	var b strings.Builder
	for {
		chunk, err := s.Recv()
		b.WriteString(chunk)
		if errors.Is(err, io.EOF) {
			return b.String(), s, nil
		}
		if err != nil {
			return b.String(), s, err
		}
	}
}

// closedURL is an http URL on which nothing listens.
func closedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func genErr(t testing.TB, err error) *backend.GenError {
	t.Helper()
	var ge *backend.GenError
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *backend.GenError", err, err)
	}
	return ge
}
