package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"diorama/core"
	"diorama/core/backend"
	"diorama/core/embed"
	"diorama/lua"
	"diorama/store"
)

// Long-term memory wiring: which embedder and significance scorer a save
// is served with, the pack's retrieval weights, and the background workers
// of a playing app.
//
//	DIORAMA_EMBED_MODEL   an embedding model on the session's server
//	                      (nomic-embed-text for Ollama, …); unset or "local":
//	                      the local embedder, no network.
//	DIORAMA_SIGNIFICANCE  "heuristic": rate memories with the pack's Lua
//	                      heuristic even when a model is connected; the
//	                      default asks the model (and falls back to the
//	                      heuristic on an unreadable answer).

// memoryState is an app's long-term memory machinery.
type memoryState struct {
	workers *store.Workers
	mu      sync.Mutex
	lastErr string // the last worker failure shown, so a retrying worker does not repeat it
}

// chooseEmbedder picks the embedder for a session on gen. note says what
// was chosen when it is not what was asked.
func chooseEmbedder(e *env, gen core.Generator) (emb store.Embedder, note string) {
	model := strings.TrimSpace(e.getenv("DIORAMA_EMBED_MODEL"))
	if model == "" || model == "local" {
		return embed.NewLocal(0), ""
	}
	c, ok := gen.(*backend.OpenAI)
	if !ok {
		return embed.NewLocal(0), fmt.Sprintf("DIORAMA_EMBED_MODEL=%s needs a model server, and this session is %s: memories use the local embedder", model, gen.Name())
	}
	em, err := c.Embeddings(model)
	if err != nil {
		return embed.NewLocal(0), err.Error() + ": memories use the local embedder"
	}
	return em, ""
}

// chooseScorer picks the significance scorer for a session on gen.
func chooseScorer(e *env, gen core.Generator, pack func() *lua.Pack) store.Scorer {
	h := lua.HeuristicScorer{Pack: pack}
	if strings.TrimSpace(e.getenv("DIORAMA_SIGNIFICANCE")) == "heuristic" {
		return h
	}
	if _, ok := gen.(*backend.OpenAI); !ok {
		return h // offline, scripted: no model to ask
	}
	return &backend.SignificanceScorer{Gen: gen, Fallback: h}
}

// applyRetrieval gives the store the pack's retrieval weights.
func applyRetrieval(ctx context.Context, st *store.Store, p *lua.Pack) error {
	m, err := p.RetrievalWeights(ctx)
	if err != nil {
		return err
	}
	w, err := store.WeightsFrom(m)
	if err != nil {
		if at, ok := p.RetrievalDeclared(); ok {
			return fmt.Errorf("%s: %w", at.String(), err)
		}
		return err
	}
	st.SetWeights(w)
	return nil
}

// startMemory sets the save's retrieval up for this app: the pack's
// weights, the embedder and, unless the app only looks, the embedding and
// significance workers.
func (a *app) startMemory(ctx context.Context, e *env, gen core.Generator, readOnly bool) error {
	if err := applyRetrieval(ctx, a.st, a.pack); err != nil {
		return err
	}
	emb, note := chooseEmbedder(e, gen)
	if note != "" {
		a.notice(note)
	}
	if readOnly {
		a.st.UseEmbedder(emb)
		return nil
	}
	if err := a.st.SetEmbedder(ctx, emb); err != nil {
		return err
	}
	scorer := chooseScorer(e, gen, a.currentPack)
	a.memory = &memoryState{}
	a.memory.workers = a.st.StartWorkers(store.WorkerOptions{Scorer: scorer, OnError: a.memoryFailed})
	return nil
}

func (a *app) currentPack() *lua.Pack {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pack
}

// memoryFailed shows a worker's failure once (it retries with backoff).
func (a *app) memoryFailed(worker string, err error) {
	msg := fmt.Sprintf("memory %s worker: %s (it will retry)", worker, oneLine(err.Error()))
	a.memory.mu.Lock()
	repeat := msg == a.memory.lastErr
	a.memory.lastErr = msg
	a.memory.mu.Unlock()
	if !repeat {
		a.notice(msg)
	}
}

// pauseMemory holds the workers during a turn (a background model call
// never competes with a reply); the returned func resumes them and wakes
// them for the memories the turn wrote.
func (a *app) pauseMemory() func() {
	if a.memory == nil {
		return func() {}
	}
	a.memory.workers.Pause()
	return func() {
		a.memory.workers.Resume()
		a.memory.workers.Kick()
	}
}

// stopMemory stops the workers, after at most a second of catching up on
// the memories of the last turns (work left is found again next time).
func (a *app) stopMemory() {
	if a.memory == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), memoryDrain)
	defer cancel()
	_ = a.memory.workers.CatchUp(ctx)
	a.memory.workers.Close()
	a.memory = nil
}

// memoryDrain bounds how long closing an app waits for the workers.
const memoryDrain = time.Second

// MemoryLag reports the workers' lag (memories not embedded, not scored)
// for a status line; ok false when unknown.
func (a *app) MemoryLag(ctx context.Context) (unembedded, unscored int, ok bool) {
	ms, err := a.st.MemoryStatus(ctx)
	if err != nil {
		return 0, 0, false
	}
	return ms.Unembedded, ms.Unscored, true
}
