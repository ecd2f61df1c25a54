package backend_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"diorama/core"
	"diorama/core/backend"
)

func TestOpenAIStream(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newFake(t, streamOK("Hello", " there", "."))
		c, _ := newClient(t, testConfig(f.URL))
		text, s, err := collect(context.Background(), c, testReq)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := text, "Hello there."; got != want {
			t.Fatalf("text = %q, want %q", got, want)
		}
		if got := s.(interface{ FinishReason() string }).FinishReason(); got != "stop" {
			t.Fatalf("finish = %q, want stop", got)
		}
		b := f.body(0)
		if b["stream"] != true || b["model"] != "m" || b["max_tokens"] != float64(400) {
			t.Fatalf("request body = %v", b)
		}
		if msgs := b["messages"].([]any); len(msgs) != 2 {
			t.Fatalf("messages = %v", msgs)
		}
		if got, want := c.Name(), "test:m"; got != want {
			t.Fatalf("Name = %q, want %q", got, want)
		}
	})

	t.Run("KeepAlives", func(t *testing.T) {
		// OpenRouter sends ": OPENROUTER PROCESSING" comments while the
		// model is queued; they keep the idle watchdog quiet too.
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			for range 6 {
				send(w, ": OPENROUTER PROCESSING\n\n")
				time.Sleep(40 * time.Millisecond)
			}
			data(w, delta("Hi"))
			send(w, ": PROCESSING\n\n")
			data(w, delta("!"))
			data(w, finish("stop"))
			send(w, "data: [DONE]\n\n")
		})
		cfg := testConfig(f.URL)
		cfg.IdleTimeout = 150 * time.Millisecond
		c, _ := newClient(t, cfg)
		text, _, err := collect(context.Background(), c, testReq)
		if err != nil {
			t.Fatal(err)
		}
		if text != "Hi!" {
			t.Fatalf("text = %q", text)
		}
	})

	t.Run("UsageChunkWithoutChoices", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("Yes."))
			data(w, finish("stop"))
			data(w, `{"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`)
			send(w, "data: [DONE]\n\n")
		})
		cfg := testConfig(f.URL)
		cfg.IncludeUsage = true
		c, _ := newClient(t, cfg)
		text, s, err := collect(context.Background(), c, testReq)
		if err != nil {
			t.Fatal(err)
		}
		if text != "Yes." {
			t.Fatalf("text = %q", text)
		}
		u := s.(interface{ Usage() backend.Usage }).Usage()
		if u.PromptTokens != 12 || u.CompletionTokens != 3 {
			t.Fatalf("usage = %+v", u)
		}
		if so, _ := f.body(0)["stream_options"].(map[string]any); so["include_usage"] != true {
			t.Fatalf("stream_options = %v", f.body(0)["stream_options"])
		}
	})

	t.Run("FinishLengthIsCompleteWithNote", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("It was a long"))
			data(w, finish("length"))
			send(w, "data: [DONE]\n\n")
		})
		c, _ := newClient(t, testConfig(f.URL))
		text, s, err := collect(context.Background(), c, testReq)
		if err != nil {
			t.Fatal(err)
		}
		if text != "It was a long" {
			t.Fatalf("text = %q", text)
		}
		if note := s.(interface{ Note() string }).Note(); !strings.Contains(note, "max_tokens") {
			t.Fatalf("note = %q, want a max_tokens note", note)
		}
	})

	t.Run("FinishWithoutDONEIsComplete", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("Done."))
			data(w, finish("stop"))
		})
		c, _ := newClient(t, testConfig(f.URL))
		if text, _, err := collect(context.Background(), c, testReq); err != nil || text != "Done." {
			t.Fatalf("text %q, err %v", text, err)
		}
	})
}

func TestOpenAIFaults(t *testing.T) {
	t.Run("ConnectRefused", func(t *testing.T) {
		c, sl := newClient(t, testConfig(closedURL(t)))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		ge := genErr(t, err)
		if ge.Attempts != 3 || !strings.Contains(err.Error(), "cannot connect") || !strings.Contains(err.Error(), "is the server running") {
			t.Fatalf("err = %v (attempts %d)", err, ge.Attempts)
		}
		if got := sl.waits(); len(got) != 2 || got[0] != time.Millisecond || got[1] != 2*time.Millisecond {
			t.Fatalf("waits = %v, want [1ms 2ms]", got)
		}
	})

	t.Run("ConnectTimeout", func(t *testing.T) {
		// What net/http returns when the dialer's deadline passes.
		calls := 0
		timeout := doerFunc(func(r *http.Request) (*http.Response, error) {
			calls++
			return nil, &url.Error{Op: "Post", URL: r.URL.String(),
				Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}}
		})
		c, sl := newClient(t, testConfig("http://127.0.0.1:9"), backend.WithHTTPDoer(timeout))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrUnavailable) || !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "cannot connect") {
			t.Fatalf("err = %v", err)
		}
		if calls != 3 || len(sl.waits()) != 2 {
			t.Fatalf("%d calls, waits %v: connect failures are retried", calls, sl.waits())
		}
	})

	t.Run("TimeoutBeforeHeaders", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { blockUntilGone(r) })
		cfg := testConfig(f.URL)
		cfg.HeaderTimeout = 100 * time.Millisecond
		c, _ := newClient(t, cfg)
		start := time.Now()
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "no answer") {
			t.Fatalf("err = %v", err)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("took %s", time.Since(start))
		}
		if n := f.requests(); n != 1 {
			t.Fatalf("%d requests: a slow server must not be sent the prompt again", n)
		}
	})

	t.Run("RateLimitedThenOK", func(t *testing.T) {
		f := newFake(t, status(429, "slow down", "Retry-After", "2"), streamOK("ok"))
		c, sl := newClient(t, testConfig(f.URL))
		text, _, err := collect(context.Background(), c, testReq)
		if err != nil || text != "ok" {
			t.Fatalf("text %q, err %v", text, err)
		}
		if got := sl.waits(); len(got) != 1 || got[0] != 2*time.Second {
			t.Fatalf("waits = %v, want [2s] from Retry-After", got)
		}
	})

	t.Run("RateLimitedHTTPDate", func(t *testing.T) {
		when := time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)
		f := newFake(t, status(429, "slow down", "Retry-After", when), streamOK("ok"))
		c, sl := newClient(t, testConfig(f.URL))
		if _, _, err := collect(context.Background(), c, testReq); err != nil {
			t.Fatal(err)
		}
		if got := sl.waits(); len(got) != 1 || got[0] < 3*time.Second || got[0] > 5*time.Second {
			t.Fatalf("waits = %v, want about 4-5s from the HTTP date", got)
		}
	})

	t.Run("RateLimitedTooLong", func(t *testing.T) {
		f := newFake(t, status(429, "quota", "Retry-After", "120"), streamOK("ok"))
		c, sl := newClient(t, testConfig(f.URL))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, backend.ErrRateLimited) || !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), "asks to wait 2m0s") {
			t.Fatalf("err = %v, want the wait the server asked for", err)
		}
		if f.requests() != 1 || len(sl.waits()) != 0 {
			t.Fatalf("%d requests, waits %v: must give up at once", f.requests(), sl.waits())
		}
	})

	t.Run("ServerErrorThenOK", func(t *testing.T) {
		f := newFake(t, status(503, "loading model"), status(502, "bad gateway"), streamOK("back"))
		c, sl := newClient(t, testConfig(f.URL))
		text, _, err := collect(context.Background(), c, testReq)
		if err != nil || text != "back" {
			t.Fatalf("text %q, err %v", text, err)
		}
		if f.requests() != 3 {
			t.Fatalf("%d requests, want 3", f.requests())
		}
		if got := sl.waits(); len(got) != 2 || got[1] != 2*time.Millisecond {
			t.Fatalf("waits = %v, want exponential", got)
		}
	})

	t.Run("ServerErrorForever", func(t *testing.T) {
		f := newFake(t, status(500, "model crashed"))
		c, sl := newClient(t, testConfig(f.URL))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, backend.ErrServer) || !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
		for _, want := range []string{"server error 500", "model crashed", "after 3 attempts", "check its log"} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %q, want it to say %q", err, want)
			}
		}
		if f.requests() != 3 {
			t.Fatalf("%d requests, want 3 (max_attempts)", f.requests())
		}
		if got := sl.waits(); len(got) != 2 || got[0] != time.Millisecond || got[1] != 2*time.Millisecond {
			t.Fatalf("waits = %v", got)
		}
	})

	t.Run("BackoffIsCapped", func(t *testing.T) {
		f := newFake(t, status(503, "busy"))
		cfg := testConfig(f.URL)
		cfg.MaxAttempts = 6
		c, sl := newClient(t, cfg)
		c.Generate(context.Background(), testReq)
		got := sl.waits()
		want := []time.Duration{1, 2, 4, 4, 4}
		if len(got) != len(want) {
			t.Fatalf("waits = %v", got)
		}
		for i := range want {
			if got[i] != want[i]*time.Millisecond {
				t.Fatalf("waits = %v, want %v ms", got, want)
			}
		}
	})

	t.Run("StreamCutMidway", func(t *testing.T) {
		// The server ends the body cleanly but never sends finish_reason
		// or [DONE]: go-openai sees plain io.EOF, as for a normal end.
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, roleChunk)
			data(w, delta("I was about"))
			data(w, delta(" to say"))
		})
		c, sl := newClient(t, testConfig(f.URL))
		text, _, err := collect(context.Background(), c, testReq)
		if !errors.Is(err, core.ErrIncomplete) {
			t.Fatalf("err = %v, want ErrIncomplete", err)
		}
		ge := genErr(t, err)
		if ge.Partial != "I was about to say" || text != ge.Partial {
			t.Fatalf("partial = %q, streamed %q", ge.Partial, text)
		}
		if !strings.Contains(err.Error(), "no finish_reason") {
			t.Fatalf("err = %v", err)
		}
		if f.requests() != 1 || len(sl.waits()) != 0 {
			t.Fatalf("%d requests: no retry after the first token", f.requests())
		}
	})

	t.Run("ConnectionAbortedMidway", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("Half a"))
			panic(http.ErrAbortHandler) // drop the connection without ending the chunked body
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, _, err := collect(context.Background(), c, testReq)
		if !errors.Is(err, core.ErrIncomplete) || genErr(t, err).Partial != "Half a" {
			t.Fatalf("err = %v", err)
		}
		if f.requests() != 1 {
			t.Fatalf("%d requests: no retry after the first token", f.requests())
		}
	})

	t.Run("ConnectionDroppedBeforeFirstTokenIsRetried", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, roleChunk)
			panic(http.ErrAbortHandler)
		}, streamOK("second try"))
		c, _ := newClient(t, testConfig(f.URL))
		text, _, err := collect(context.Background(), c, testReq)
		if err != nil || text != "second try" || f.requests() != 2 {
			t.Fatalf("text %q, err %v, %d requests", text, err, f.requests())
		}
	})

	t.Run("ErrorInside200Stream", func(t *testing.T) {
		// OpenRouter: an error object and finish_reason "error" mid-stream.
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("Once upon"))
			data(w, `{"id":"c1","object":"chat.completion.chunk","error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Foo"}},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`)
			send(w, "data: [DONE]\n\n")
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, _, err := collect(context.Background(), c, testReq)
		if !errors.Is(err, core.ErrIncomplete) || !strings.Contains(err.Error(), "Provider returned error") {
			t.Fatalf("err = %v", err)
		}
		if f.requests() != 1 {
			t.Fatalf("%d requests: no retry after the first token", f.requests())
		}
	})

	t.Run("ErrorInside200StreamBeforeTextIsRetried", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			send(w, ": OPENROUTER PROCESSING\n\n")
			data(w, `{"error":{"code":502,"message":"upstream timeout"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`)
		}, streamOK("fine"))
		c, _ := newClient(t, testConfig(f.URL))
		text, _, err := collect(context.Background(), c, testReq)
		if err != nil || text != "fine" || f.requests() != 2 {
			t.Fatalf("text %q, err %v, %d requests", text, err, f.requests())
		}
	})

	t.Run("ErrorEventInside200Stream", func(t *testing.T) {
		// `data: {"error": …}` as the first event (go-openai's own path).
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, `{"error":{"message":"model not loaded","type":"invalid_request_error","code":"model_not_found"}}`)
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "model not loaded") {
			t.Fatalf("err = %v", err)
		}
		if f.requests() != 1 {
			t.Fatalf("%d requests: a request error is not retried", f.requests())
		}
	})

	t.Run("VLLMErrorObject", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("A"))
			data(w, `{"object":"error","message":"engine died","type":"InternalServerError","code":500}`)
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, _, err := collect(context.Background(), c, testReq)
		if !errors.Is(err, core.ErrIncomplete) || !strings.Contains(err.Error(), "engine died") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("EmptyOutput", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, roleChunk)
			data(w, finish("stop"))
			send(w, "data: [DONE]\n\n")
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrEmpty) || !strings.Contains(err.Error(), "without any text") {
			t.Fatalf("err = %v", err)
		}
		if f.requests() != 1 {
			t.Fatalf("%d requests", f.requests())
		}
	})

	t.Run("EmptyOutputAfterThinking", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, `{"choices":[{"index":0,"delta":{"reasoning_content":"Let me think"},"finish_reason":null}]}`)
			data(w, finish("length"))
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrEmpty) || !strings.Contains(err.Error(), "thinking") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("Empty200LMStudio", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
		c, _ := newClient(t, testConfig(f.URL))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrEmpty) || !strings.Contains(err.Error(), "LM Studio") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("InvalidJSONChunk", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("Fine so far"))
			data(w, `{"choices":[{"index":0,"delta":{"content":"bro`)
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, _, err := collect(context.Background(), c, testReq)
		if !errors.Is(err, core.ErrIncomplete) || !errors.Is(err, backend.ErrMalformed) || !strings.Contains(err.Error(), "invalid chunk") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("InvalidJSONBeforeText", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, `not json at all`)
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrUnavailable) || !errors.Is(err, backend.ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("IdleWatchdog", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("Then"))
			blockUntilGone(r)
		})
		cfg := testConfig(f.URL)
		cfg.IdleTimeout = 100 * time.Millisecond
		c, _ := newClient(t, cfg)
		start := time.Now()
		_, _, err := collect(context.Background(), c, testReq)
		if !errors.Is(err, core.ErrIncomplete) || !errors.Is(err, backend.ErrIdle) || !strings.Contains(err.Error(), "no data from the server for 100ms") {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("watchdog took %s", d)
		}
	})

	t.Run("IdleBeforeFirstToken", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			blockUntilGone(r)
		})
		cfg := testConfig(f.URL)
		cfg.IdleTimeout = 100 * time.Millisecond
		c, _ := newClient(t, cfg)
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrUnavailable) || !errors.Is(err, backend.ErrIdle) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("CancelMidStream", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			data(w, delta("Wait"))
			blockUntilGone(r)
		})
		c, _ := newClient(t, testConfig(f.URL))
		ctx, cancel := context.WithCancel(context.Background())
		s, err := c.Generate(ctx, testReq)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if chunk, err := s.Recv(); chunk != "Wait" || err != nil {
			t.Fatalf("first Recv = %q, %v", chunk, err)
		}
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, err = s.Recv()
		if !errors.Is(err, context.Canceled) || !errors.Is(err, core.ErrIncomplete) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("cancel took %s", d)
		}
	})

	t.Run("CancelDuringBackoff", func(t *testing.T) {
		f := newFake(t, status(503, "busy"))
		ctx, cancel := context.WithCancel(context.Background())
		c, err := backend.NewOpenAI(testConfig(f.URL), backend.WithBackoff(time.Hour, time.Hour),
			backend.WithOnRetry(func(backend.Retry) { cancel() }))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Generate(ctx, testReq)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("PromptTooLongLlamaCpp", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			w.Write([]byte(`{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":4096}}`))
		})
		c, _ := newClient(t, testConfig(f.URL))
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "does not fit the server's context window") ||
			!strings.Contains(err.Error(), "-c N") {
			t.Fatalf("err = %v", err)
		}
		if f.requests() != 1 {
			t.Fatalf("%d requests: a 400 is not retried", f.requests())
		}
	})

	t.Run("Unauthorized", func(t *testing.T) {
		f := newFake(t, status(401, "invalid api key"))
		cfg := testConfig(f.URL)
		cfg.APIKeyEnv = "MY_TEST_KEY"
		c, _ := newClient(t, cfg)
		_, err := c.Generate(context.Background(), testReq)
		if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "MY_TEST_KEY") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOpenAIRequest(t *testing.T) {
	t.Run("KeyAndHeaders", func(t *testing.T) {
		f := newFake(t, streamOK("ok"))
		cfg := testConfig(f.URL)
		cfg.APIKeyEnv = "DIORAMA_TEST_KEY"
		cfg.Headers = map[string]string{"X-Title": "diorama"}
		c, _ := newClient(t, cfg, backend.WithGetenv(func(k string) string {
			if k == "DIORAMA_TEST_KEY" {
				return "secret"
			}
			return ""
		}))
		if _, _, err := collect(context.Background(), c, testReq); err != nil {
			t.Fatal(err)
		}
		h := f.headers[0]
		if h.Get("Authorization") != "Bearer secret" || h.Get("X-Title") != "diorama" {
			t.Fatalf("headers = %v", h)
		}
	})

	t.Run("ParamsAndDefaults", func(t *testing.T) {
		f := newFake(t, streamOK("ok"))
		cfg := testConfig(f.URL)
		temp := 0.7
		cfg.Temperature = &temp
		cfg.MaxTokens = 300
		c, _ := newClient(t, cfg)
		req := testReq
		req.Params = core.GenParams{Stop: []string{"\nJun:"}}
		if _, _, err := collect(context.Background(), c, req); err != nil {
			t.Fatal(err)
		}
		b := f.body(0)
		if b["max_tokens"] != float64(300) || b["temperature"].(float64) < 0.69 || b["temperature"].(float64) > 0.71 {
			t.Fatalf("body = %v", b)
		}
		if stop := b["stop"].([]any); len(stop) != 1 || stop[0] != "\nJun:" {
			t.Fatalf("stop = %v", b["stop"])
		}
	})

	t.Run("AnthropicClampsTemperature", func(t *testing.T) {
		f := newFake(t, streamOK("ok"))
		target, _ := url.Parse(f.URL)
		redirect := doerFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host != "api.anthropic.com" {
				t.Errorf("request to %s", r.URL)
			}
			r.URL.Scheme, r.URL.Host, r.Host = target.Scheme, target.Host, target.Host
			return http.DefaultTransport.RoundTrip(r)
		})
		cfg := testConfig(f.URL)
		cfg.BaseURL = "https://api.anthropic.com/v1"
		c, _ := newClient(t, cfg, backend.WithHTTPDoer(redirect))
		req := testReq
		req.Params.Temperature = 1.5
		if _, _, err := collect(context.Background(), c, req); err != nil {
			t.Fatal(err)
		}
		if got := f.body(0)["temperature"]; got != float64(1) {
			t.Fatalf("temperature = %v, want 1 (Anthropic clamps to 0–1)", got)
		}
	})

	t.Run("ZeroTemperatureIsSent", func(t *testing.T) {
		f := newFake(t, streamOK("ok"))
		cfg := testConfig(f.URL)
		zero := 0.0
		cfg.Temperature = &zero
		c, _ := newClient(t, cfg)
		if _, _, err := collect(context.Background(), c, testReq); err != nil {
			t.Fatal(err)
		}
		if got, ok := f.body(0)["temperature"].(float64); !ok || got > 1e-6 {
			t.Fatalf("temperature = %v, want ~0 present", f.body(0)["temperature"])
		}
	})

	t.Run("ModelFromServerWhenUnset", func(t *testing.T) {
		f := newFake(t, streamOK("ok"))
		f.handle("/v1/models", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"object":"list","data":[{"id":"qwen2.5:7b","object":"model","owned_by":"library"}]}`))
		})
		cfg := testConfig(f.URL)
		cfg.Model = ""
		c, _ := newClient(t, cfg)
		if _, _, err := collect(context.Background(), c, testReq); err != nil {
			t.Fatal(err)
		}
		if f.body(0)["model"] != "qwen2.5:7b" || c.Name() != "test:qwen2.5:7b" {
			t.Fatalf("model = %v, name %q", f.body(0)["model"], c.Name())
		}
	})
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }
