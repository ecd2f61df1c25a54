package backend_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"diorama/core"
	"diorama/core/backend"
)

func jsonHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}
}

// fakeOllama answers like Ollama: /v1/models, /api/version, /api/show,
// /api/ps.
func fakeOllama(t *testing.T, version, parameters, ps string) *fakeServer {
	f := newFake(t, streamOK("x"))
	f.handle("/v1/models", jsonHandler(`{"object":"list","data":[{"id":"llama3.1:8b","object":"model","owned_by":"library"},{"id":"qwen2.5:7b","object":"model","owned_by":"library"}]}`))
	f.handle("/api/version", jsonHandler(`{"version":"`+version+`"}`))
	f.handle("/api/show", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", 405)
			return
		}
		w.Write([]byte(`{"parameters":"` + parameters + `","model_info":{"llama.context_length":131072}}`))
	})
	f.handle("/api/ps", jsonHandler(ps))
	return f
}

func TestProbe(t *testing.T) {
	ctx := context.Background()
	t.Run("OllamaDefaultContext", func(t *testing.T) {
		f := fakeOllama(t, "0.5.7", `stop \"<|eot_id|>\"`, `{"models":[]}`)
		cfg := testConfig(f.URL)
		cfg.Model, cfg.Context = "llama3.1:8b", 8192
		c, _ := newClient(t, cfg)
		r := backend.Probe(ctx, c)
		if !r.Reachable || r.Err != nil || r.Server != "ollama 0.5.7" || len(r.Models) != 2 {
			t.Fatalf("probe = %+v", r)
		}
		if r.ServerContext != 2048 {
			t.Fatalf("server context = %d, want 2048 (old Ollama default)", r.ServerContext)
		}
		for _, want := range []string{"silently truncates prompts to 2048", "PARAMETER num_ctx 8192", "OLLAMA_CONTEXT_LENGTH=8192", "context = 2048"} {
			if !strings.Contains(r.ContextWarning, want) {
				t.Fatalf("warning %q lacks %q", r.ContextWarning, want)
			}
		}
		if c.ContextWindow() != 2048 {
			t.Fatalf("context window = %d, want the server's 2048", c.ContextWindow())
		}
	})

	t.Run("OllamaModelfileNumCtx", func(t *testing.T) {
		f := fakeOllama(t, "0.9.0", `num_ctx                        8192\nstop \"x\"`, `{"models":[]}`)
		cfg := testConfig(f.URL)
		cfg.Model, cfg.Context = "llama3.1:8b", 8192
		c, _ := newClient(t, cfg)
		r := backend.Probe(ctx, c)
		if r.ServerContext != 8192 || r.ContextWarning != "" {
			t.Fatalf("probe = %+v", r)
		}
	})

	t.Run("OllamaLoadedContext", func(t *testing.T) {
		f := fakeOllama(t, "0.12.3", "", `{"models":[{"name":"llama3.1:8b","model":"llama3.1:8b","context_length":4096}]}`)
		cfg := testConfig(f.URL)
		cfg.Model, cfg.Context = "llama3.1:8b", 16384
		c, _ := newClient(t, cfg)
		r := backend.Probe(ctx, c)
		if r.ServerContext != 4096 || !strings.Contains(r.ContextWarning, "4096") || !strings.Contains(r.ContextWarning, "ollama ps") {
			t.Fatalf("probe = %+v", r)
		}
	})

	t.Run("OllamaNoContextConfigured", func(t *testing.T) {
		f := fakeOllama(t, "0.9.0", "", `{"models":[]}`)
		cfg := testConfig(f.URL)
		cfg.Model = "llama3.1:8b"
		c, _ := newClient(t, cfg)
		r := backend.Probe(ctx, c)
		if r.ServerContext != 4096 || !strings.Contains(r.ContextWarning, "no `context` set") {
			t.Fatalf("probe = %+v", r)
		}
	})

	t.Run("LlamaCppContext", func(t *testing.T) {
		f := newFake(t, streamOK("x"))
		f.handle("/v1/models", jsonHandler(`{"object":"list","data":[{"id":"model.gguf","object":"model","owned_by":"llamacpp","meta":{"n_ctx_train":131072}}]}`))
		f.handle("/props", jsonHandler(`{"default_generation_settings":{"n_ctx":4096},"total_slots":1,"model_path":"model.gguf"}`))
		cfg := testConfig(f.URL)
		cfg.Model, cfg.Context = "", 8192
		c, _ := newClient(t, cfg)
		r := backend.Probe(ctx, c)
		if r.Server != "llama.cpp" || r.ServerContext != 4096 || !strings.Contains(r.ContextWarning, "-c 8192") || !strings.Contains(r.ContextWarning, "n_ctx") {
			t.Fatalf("probe = %+v", r)
		}
	})

	t.Run("LMStudio", func(t *testing.T) {
		f := newFake(t, streamOK("x"))
		f.handle("/v1/models", jsonHandler(`{"object":"list","data":[{"id":"qwen2.5-7b-instruct","object":"model","owned_by":"organization_owner"}]}`))
		f.handle("/api/v0/models", jsonHandler(`{"data":[{"id":"qwen2.5-7b-instruct","state":"loaded","max_context_length":32768,"loaded_context_length":4096}]}`))
		cfg := testConfig(f.URL)
		cfg.Model, cfg.Context = "qwen2.5-7b-instruct", 8192
		c, _ := newClient(t, cfg)
		r := backend.Probe(ctx, c)
		if r.Server != "LM Studio" || r.ServerContext != 4096 || !strings.Contains(r.ContextWarning, "empty reply") {
			t.Fatalf("probe = %+v", r)
		}
	})

	t.Run("ModelNotOffered", func(t *testing.T) {
		f := fakeOllama(t, "0.9.0", "num_ctx 8192", `{"models":[]}`)
		cfg := testConfig(f.URL)
		cfg.Model, cfg.Context = "mistral", 8192
		c, _ := newClient(t, cfg)
		r := backend.Probe(ctx, c)
		if len(r.Notes) == 0 || !strings.Contains(r.Notes[0], `"mistral" is not among`) {
			t.Fatalf("probe = %+v", r)
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		c, _ := newClient(t, testConfig(closedURL(t)))
		r := backend.Probe(ctx, c)
		if r.Reachable || !errors.Is(r.Err, core.ErrUnavailable) || !strings.Contains(r.Err.Error(), "cannot connect") {
			t.Fatalf("probe = %+v", r)
		}
	})

	t.Run("Unauthorized", func(t *testing.T) {
		f := newFake(t, streamOK("x"))
		f.handle("/v1/models", status(401, "no key"))
		cfg := testConfig(f.URL)
		cfg.APIKeyEnv = "OPENROUTER_API_KEY"
		c, _ := newClient(t, cfg)
		r := backend.Probe(ctx, c)
		if !r.Reachable || r.Err == nil || !strings.Contains(r.Err.Error(), "OPENROUTER_API_KEY") {
			t.Fatalf("probe = %+v", r)
		}
	})

	t.Run("Builtins", func(t *testing.T) {
		for _, g := range []core.Generator{backend.NewOffline(nil), backend.NewScripted()} {
			if r := backend.Probe(ctx, g); !r.Reachable || r.Err != nil {
				t.Fatalf("%s: %+v", g.Name(), r)
			}
		}
	})
}

func TestResolve(t *testing.T) {
	t.Run("FallsBackToOffline", func(t *testing.T) {
		cfg := &backend.Config{Local: []backend.LocalServer{
			{Name: "ollama", BaseURL: closedURL(t) + "/v1"}, {Name: "llamacpp", BaseURL: closedURL(t) + "/v1"}}}
		start := time.Now()
		g, label, err := backend.Resolve(cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		if g.Name() != "offline" || !strings.Contains(label, "no model server answered") || !strings.Contains(label, "(ollama)") {
			t.Fatalf("%s: %q", g.Name(), label)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("probing took %s", d)
		}
		t.Log(label)
	})

	t.Run("FindsLocalServer", func(t *testing.T) {
		empty := newFake(t, streamOK("x"))
		empty.handle("/v1/models", jsonHandler(`{"data":[]}`))
		llama := newFake(t, streamOK("x"))
		llama.handle("/v1/models", jsonHandler(`{"data":[{"id":"model.gguf","owned_by":"llamacpp"}]}`))
		cfg := &backend.Config{Local: []backend.LocalServer{
			{Name: "ollama", BaseURL: empty.URL + "/v1"}, {Name: "llamacpp", BaseURL: llama.URL + "/v1"}}}
		g, label, err := backend.Resolve(cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		if g.Name() != "llamacpp:model.gguf" || !strings.Contains(label, "found llamacpp") {
			t.Fatalf("%s: %q", g.Name(), label)
		}
	})

	t.Run("ConfiguredDefault", func(t *testing.T) {
		p := writeConfig(t, goodConfig)
		cfg, err := backend.LoadConfig(p, env())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Local = []backend.LocalServer{} // never probed with a default
		g, label, err := backend.Resolve(cfg, "")
		if err != nil {
			t.Fatal(err)
		}
		if g.Name() != "ollama:llama3.1:8b" || !strings.Contains(label, "the default, from "+p+":4") {
			t.Fatalf("%s: %q", g.Name(), label)
		}
		if oc := g.(*backend.OpenAI).Config(); oc.Context != 8192 || oc.MaxTokens != 300 {
			t.Fatalf("config = %+v", oc)
		}
	})

	t.Run("Builtins", func(t *testing.T) {
		var used bool
		cfg := &backend.Config{OfflineRender: func(context.Context, core.GenRequest) (string, error) { used = true; return "x", nil }}
		g, _, err := backend.Resolve(cfg, "offline")
		if err != nil || g.Name() != "offline" {
			t.Fatal(g, err)
		}
		collect(context.Background(), g, testReq)
		if !used {
			t.Fatal("the configured offline render was not used")
		}
		if g, _, err := backend.Resolve(nil, "scripted"); err != nil || g.Name() != "scripted" {
			t.Fatal(g, err)
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		cfg, _ := backend.LoadConfig(writeConfig(t, goodConfig), env())
		_, _, err := backend.Resolve(cfg, "olama")
		if err == nil || !strings.Contains(err.Error(), `did you mean "ollama"`) {
			t.Fatalf("err = %v", err)
		}
	})
}
