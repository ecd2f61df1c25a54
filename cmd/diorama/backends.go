package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"diorama/core"
	"diorama/core/backend"
)

func init() {
	register(&command{
		name:    "backends",
		usage:   "[--config FILE] [--timeout 3s]",
		summary: "list the generation backends, which is the default, and probe each",
		run:     runBackends,
	})
}

func runBackends(e *env, args []string) error {
	fs := newFlags(e, "backends")
	path := fs.String("config", "", "backend config (default: diorama/config.lua in your config directory)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long each probe may take")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	cfg, err := backend.LoadConfig(*path, e.getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	names := cfg.Names()

	// Probe everything at once; each probe is bounded by --timeout.
	gens := make([]core.Generator, len(names))
	results := make([]backend.ProbeResult, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		g, _, err := backend.Resolve(cfg, name)
		if err != nil {
			results[i] = backend.ProbeResult{Err: err}
			continue
		}
		gens[i] = g
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			results[i] = backend.Probe(pctx, g)
		}()
	}
	var chosen string
	if cfg.Default == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, chosen, _ = backend.ResolveContext(ctx, cfg, "")
		}()
	}
	wg.Wait()

	w := e.stdout
	switch {
	case cfg.Path == "":
		fmt.Fprintln(w, "config: none (no user config directory)")
	case cfg.Found:
		fmt.Fprintf(w, "config: %s\n", cfg.Path)
	default:
		fmt.Fprintf(w, "config: %s (not found: only built-ins and environment overrides)\n", cfg.Path)
	}
	if cfg.Default != "" {
		fmt.Fprintf(w, "default: %s (from %s)\n", cfg.Default, cfg.DefaultSource)
	} else {
		fmt.Fprintf(w, "default: none configured; without --backend, diorama uses: %s\n", chosen)
	}
	fmt.Fprintln(w)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for i, name := range names {
		printBackend(w, cfg, name, width, gens[i], results[i], e.getenv)
	}
	return nil
}

// printBackend writes one line for a backend and indented details.
func printBackend(w io.Writer, cfg *backend.Config, name string, width int, g core.Generator, r backend.ProbeResult, getenv func(string) string) {
	mark := " "
	if name == cfg.Default {
		mark = "*"
	}
	var head []string
	switch name {
	case backend.BuiltinOffline:
		head = append(head, "built-in: renders replies from the world state, no model")
	case backend.BuiltinScripted:
		head = append(head, "built-in: replies queued by tests (diorama test)")
	default:
		b := cfg.Backends[name]
		head = append(head, b.BaseURL)
		if b.Model != "" {
			head = append(head, "model "+b.Model)
		} else {
			head = append(head, "model: the server's first")
		}
		if b.Context > 0 {
			head = append(head, fmt.Sprintf("context %d", b.Context))
		}
		if b.APIKeyEnv != "" {
			state := "set"
			if strings.TrimSpace(getenv(b.APIKeyEnv)) == "" {
				state = "UNSET"
			}
			head = append(head, fmt.Sprintf("key $%s (%s)", b.APIKeyEnv, state))
		}
	}
	fmt.Fprintf(w, "%s %-*s  %s\n", mark, width, name, strings.Join(head, "  "))
	if name == backend.BuiltinOffline || name == backend.BuiltinScripted {
		return
	}
	if g == nil || r.Err != nil && !r.Reachable {
		fmt.Fprintf(w, "    unreachable: %s\n", oneLine(probeErrText(r.Err)))
		return
	}
	status := "reachable"
	if r.Server != "" {
		status += " (" + r.Server + ")"
	}
	switch n := len(r.Models); {
	case n == 0:
		status += ", no models listed"
	case n <= 6:
		status += fmt.Sprintf(", %d model%s: %s", n, map[bool]string{true: "", false: "s"}[n == 1], strings.Join(r.Models, ", "))
	default:
		status += fmt.Sprintf(", %d models: %s, … (%d more)", n, strings.Join(r.Models[:6], ", "), n-6)
	}
	if r.ServerContext > 0 {
		status += fmt.Sprintf("; server context %d", r.ServerContext)
	}
	fmt.Fprintf(w, "    %s\n", status)
	if r.Err != nil {
		fmt.Fprintf(w, "    error: %s\n", oneLine(r.Err.Error()))
	}
	if r.ContextWarning != "" {
		fmt.Fprintf(w, "    warning: %s\n", oneLine(r.ContextWarning))
	}
	notes := append([]string(nil), r.Notes...)
	sort.Strings(notes)
	for _, n := range notes {
		fmt.Fprintf(w, "    note: %s\n", oneLine(n))
	}
}

func probeErrText(err error) string {
	if err == nil {
		return "unknown"
	}
	return err.Error()
}
