package backend

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func readAllEvents(t *testing.T, body string) ([]sseEvent, error) {
	t.Helper()
	r := newSSEReader(strings.NewReader(body))
	var evs []sseEvent
	for {
		ev, err := r.next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
		if len(evs) > 1000 {
			t.Fatal("no end")
		}
	}
}

func TestSSEReader(t *testing.T) {
	t.Run("Framing", func(t *testing.T) {
		body := ": OPENROUTER PROCESSING\n\n" +
			"data: {\"a\":1}\n\n" +
			"event: message\nid: 7\nretry: 100\ndata:{\"b\":2}\r\n\r\n" +
			": PROCESSING\n\n" +
			"data: [DONE]\n\n"
		evs, err := readAllEvents(t, body)
		if err != io.EOF {
			t.Fatalf("err = %v", err)
		}
		if len(evs) != 3 || string(evs[0].data) != `{"a":1}` || string(evs[1].data) != `{"b":2}` || !evs[2].done {
			t.Fatalf("events = %+v", evs)
		}
	})
	t.Run("ErrorEvent", func(t *testing.T) {
		evs, _ := readAllEvents(t, "event: error\ndata: {\"message\":\"boom\"}\n\ndata: {\"x\":1}\n\n")
		if len(evs) != 2 || !evs[0].error || evs[1].error {
			t.Fatalf("events = %+v", evs)
		}
	})
	t.Run("BareJSONLine", func(t *testing.T) {
		evs, _ := readAllEvents(t, "{\"error\":{\"message\":\"no\"}}\n")
		if len(evs) != 1 || string(evs[0].data) != `{"error":{"message":"no"}}` {
			t.Fatalf("events = %+v", evs)
		}
	})
	t.Run("CutMidLineIsDropped", func(t *testing.T) {
		evs, err := readAllEvents(t, "data: {\"a\":1}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"hal")
		if err != io.EOF || len(evs) != 1 {
			t.Fatalf("events = %+v, err %v", evs, err)
		}
	})
	t.Run("UnterminatedButWholeLastLine", func(t *testing.T) {
		evs, _ := readAllEvents(t, "data: {\"a\":1}\n\ndata: [DONE]")
		if len(evs) != 2 || !evs[1].done {
			t.Fatalf("events = %+v", evs)
		}
	})
	t.Run("HugeLine", func(t *testing.T) {
		_, err := readAllEvents(t, "data: "+strings.Repeat("x", maxSSELine+10)+"\n\n")
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDecodeChunk(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		text     string
		finish   string
		errMsg   string
		usage    bool
		code     int
	}{
		{name: "Delta", in: `{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`, text: "Hi"},
		{name: "NullContent", in: `{"choices":[{"index":0,"delta":{"content":null}}]}`},
		{name: "Finish", in: `{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`, finish: "length"},
		{name: "UsageNoChoices", in: `{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}`, usage: true},
		{name: "OpenRouterError", in: `{"error":{"code":502,"message":"Provider returned error"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`,
			finish: "error", errMsg: "Provider returned error", code: 502},
		{name: "FinishErrorAlone", in: `{"choices":[{"index":0,"delta":{},"finish_reason":"error"}]}`, finish: "error", errMsg: "mid-stream"},
		{name: "StringCode", in: `{"error":{"code":"429","message":"rate"}}`, errMsg: "rate", code: 429},
		{name: "StringError", in: `{"error":"overloaded"}`, errMsg: "overloaded"},
		{name: "VLLM", in: `{"object":"error","message":"bad","code":400}`, errMsg: "bad", code: 400},
		{name: "OtherChoiceIgnored", in: `{"choices":[{"index":1,"delta":{"content":"no"}},{"index":0,"delta":{"content":"yes"}}]}`, text: "yes"},
		{name: "TextField", in: `{"choices":[{"index":0,"text":"legacy"}]}`, text: "legacy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeChunk([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Text != tc.text || c.Finish != tc.finish || (c.Usage != nil) != tc.usage {
				t.Fatalf("chunk = %+v", c)
			}
			if tc.errMsg == "" && c.Err != nil || tc.errMsg != "" && (c.Err == nil || !strings.Contains(c.Err.Message, tc.errMsg)) {
				t.Fatalf("err = %+v, want %q", c.Err, tc.errMsg)
			}
			if c.Err != nil && c.Err.Code != tc.code {
				t.Fatalf("code = %d, want %d", c.Err.Code, tc.code)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"choices":[`, `{"choices":"x"}`, `{"choices":[{"delta":{"content":5}}]}`, `null`} {
		if _, err := decodeChunk([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("decodeChunk(%q) err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		k, v string
		want time.Duration
		ok   bool
	}{
		{"Retry-After", "3", 3 * time.Second, true},
		{"Retry-After", "0", 0, true},
		{"Retry-After", "1.5", 1500 * time.Millisecond, true},
		{"Retry-After", now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{"Retry-After", now.Add(-10 * time.Second).Format(http.TimeFormat), 0, true},
		{"Retry-After", "soon", 0, false},
		{"Retry-After", "-4", 0, false},
		{"Retry-After-Ms", "250", 250 * time.Millisecond, true},
		{"X-Other", "5", 0, false},
	} {
		h := http.Header{}
		h.Set(tc.k, tc.v)
		got, ok := parseRetryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %s = %v, %v; want %v, %v", tc.k, tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzDecodeChunk(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`,
		`{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}`,
		`{"error":{"code":502,"message":"x","metadata":{"provider_name":"p"}},"choices":[{"index":0,"finish_reason":"error"}]}`,
		`{"object":"error","message":"bad","code":"500"}`,
		`{"error":"x"}`, `{`, ``, `[DONE]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeChunk(b)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
		if err != nil && (c.Text != "" || c.Err != nil) {
			t.Fatalf("failed decode returned content %+v", c)
		}
	})
}

func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\n: keep\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: error\r\ndata: {}\r\n\r\n"))
	f.Add([]byte("data: {\"a\":"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newSSEReader(strings.NewReader(string(b)))
		for i := 0; ; i++ {
			ev, err := r.next()
			if err != nil {
				return
			}
			if !ev.done && len(ev.data) == 0 {
				t.Fatal("empty data event")
			}
			if i > len(b)+1 {
				t.Fatal("more events than bytes")
			}
		}
	})
}
