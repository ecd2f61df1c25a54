package backend_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"diorama/core"
	"diorama/core/backend"
)

// cannedDoer answers every request with a 200 event stream of body.
type cannedDoer struct{ body []byte }

func (d cannedDoer) Do(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(d.body)), Request: r}, nil
}

// FuzzStream feeds arbitrary bytes as the body of a 200 chat-completion
// stream. Whatever arrives, Generate/Recv must end (no hang, no panic); a
// complete reply must have text; every failure is a *GenError classified by
// a core sentinel and never looks like io.EOF.
func FuzzStream(f *testing.F) {
	for _, s := range []string{
		"data: " + delta("Hi") + "\n\ndata: " + finish("stop") + "\n\ndata: [DONE]\n\n",
		": OPENROUTER PROCESSING\n\ndata: " + delta("a") + "\n\n",
		"data: " + delta("a") + "\n\ndata: {\"error\":{\"code\":502,\"message\":\"x\"},\"choices\":[{\"index\":0,\"finish_reason\":\"error\"}]}\n\n",
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n",
		"data: {\"choices\":[{",
		"",
		"data: [DONE]\n\n",
		"event: error\ndata: {\"message\":\"boom\"}\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg := backend.BackendConfig{Name: "fuzz", BaseURL: "http://127.0.0.1:1/v1", Model: "m", MaxAttempts: 2, IdleTimeout: time.Second}
		c, err := backend.NewOpenAI(cfg, backend.WithHTTPDoer(cannedDoer{body}), backend.WithBackoff(0, 0),
			backend.WithSleep(func(context.Context, time.Duration) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		text, _, err := collect(context.Background(), c, testReq)
		if err == nil {
			if text == "" {
				t.Fatal("complete reply without text")
			}
			return
		}
		var ge *backend.GenError
		if !errors.As(err, &ge) {
			t.Fatalf("error %v (%T) is not a GenError", err, err)
		}
		if errors.Is(err, io.EOF) {
			t.Fatalf("failure %v looks like io.EOF", err)
		}
		if !errors.Is(err, core.ErrIncomplete) && !errors.Is(err, core.ErrUnavailable) && !errors.Is(err, core.ErrEmpty) {
			t.Fatalf("failure %v has no core sentinel", err)
		}
		if errors.Is(err, core.ErrIncomplete) && !strings.HasPrefix(text, ge.Partial) {
			t.Fatalf("partial %q is not what was streamed (%q)", ge.Partial, text)
		}
	})
}
