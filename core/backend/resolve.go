package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"diorama/core"
)

// DefaultProbeTimeout bounds each local-server probe Resolve makes.
const DefaultProbeTimeout = 300 * time.Millisecond

// Resolve returns the generator named name and a label saying which one
// was chosen and why, for the status bar and logs. name "" means the
// configured default; with none, the first local server (Ollama on 11434,
// then llama.cpp on 8080) that answers with a model, else the offline
// renderer. "offline" and "scripted" always exist.
func Resolve(cfg *Config, name string) (core.Generator, string, error) {
	return ResolveContext(context.Background(), cfg, name)
}

// ResolveContext is Resolve bounded by ctx.
func ResolveContext(ctx context.Context, cfg *Config, name string) (core.Generator, string, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if name != "" {
		return resolveNamed(cfg, name, "")
	}
	if cfg.Default != "" {
		why := "the default"
		if cfg.DefaultSource != "" {
			why += ", from " + cfg.DefaultSource
		}
		return resolveNamed(cfg, cfg.Default, why)
	}
	local := cfg.Local
	if local == nil {
		local = DefaultLocalServers()
	}
	timeout := cfg.ProbeTimeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	found, tried := probeLocal(ctx, local, timeout)
	if found != nil {
		g, err := NewOpenAI(*found, cfg.Options...)
		if err != nil {
			return nil, "", err
		}
		label := fmt.Sprintf("%s at %s (no backend configured; found %s answering there)", g.Name(), found.BaseURL, found.Name)
		return g, label, nil
	}
	label := "offline (no backend configured"
	if len(tried) > 0 {
		label += " and no model server answered with a model at " + strings.Join(tried, ", ")
	}
	label += "; replies are rendered from the world state, not by a model)"
	return NewOffline(cfg.OfflineRender), label, nil
}

func resolveNamed(cfg *Config, name, why string) (core.Generator, string, error) {
	label := func(base string, parts ...string) string {
		var ps []string
		for _, p := range append(parts, why) {
			if p != "" {
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			return base
		}
		return base + " (" + strings.Join(ps, "; ") + ")"
	}
	switch name {
	case BuiltinOffline:
		return NewOffline(cfg.OfflineRender), label("offline", "replies rendered from the world state, no model"), nil
	case BuiltinScripted:
		return NewScripted(), label("scripted", "replies queued by tests"), nil
	}
	b, ok := cfg.Backends[name]
	if !ok {
		return nil, "", fmt.Errorf("no backend named %q%s (have: %s); define it in %s", name,
			didYouMean(name, cfg.Names()), strings.Join(cfg.Names(), ", "), orDefaultPath(cfg.Path))
	}
	if b.Name == "" {
		b.Name = name
	}
	var opts []Option
	if cfg.Getenv != nil {
		opts = append(opts, WithGetenv(cfg.Getenv))
	}
	g, err := NewOpenAI(b, append(opts, cfg.Options...)...)
	if err != nil {
		return nil, "", err
	}
	src := ""
	switch b.Source {
	case "":
	case "environment":
		src = "from DIORAMA_* environment variables"
	default:
		src = "configured in " + b.Source
	}
	return g, label(g.Name()+" at "+b.BaseURL, src), nil
}

func orDefaultPath(p string) string {
	if p != "" {
		return p
	}
	if d, err := DefaultConfigPath(); err == nil {
		return d
	}
	return "diorama/config.lua in your config directory"
}

// probeLocal asks every local server for its models at once and returns
// the first, in order, that offers one; tried describes all of them.
func probeLocal(ctx context.Context, local []LocalServer, timeout time.Duration) (*BackendConfig, []string) {
	type answer struct {
		model string
		note  string
	}
	answers := make([]answer, len(local))
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: timeout}
	for i, ls := range local {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			m, note := firstModel(pctx, hc, ls.BaseURL)
			answers[i] = answer{m, note}
		}()
	}
	wg.Wait()
	var tried []string
	for i, ls := range local {
		if answers[i].model != "" {
			return &BackendConfig{Name: ls.Name, BaseURL: ls.BaseURL, Model: answers[i].model, Source: "found by probing"}, nil
		}
		t := fmt.Sprintf("%s (%s", ls.BaseURL, ls.Name)
		if answers[i].note != "" {
			t += ": " + answers[i].note
		}
		tried = append(tried, t+")")
	}
	return nil, tried
}

// firstModel is a quick GET base/models; note says why there is no model
// when the server answered anyway.
func firstModel(ctx context.Context, hc *http.Client, base string) (model, note string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/models", nil)
	if err != nil {
		return "", ""
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Sprintf("answered %d", resp.StatusCode)
	}
	var mr modelsResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&mr); err != nil {
		return "", "answered, but not with a model list"
	}
	for _, m := range mr.Data {
		if m.ID != "" {
			return m.ID, ""
		}
	}
	return "", "answered, but offers no model (e.g. `ollama pull llama3.2`)"
}
