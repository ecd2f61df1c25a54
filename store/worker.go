package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// WorkerOptions configure the background workers.
type WorkerOptions struct {
	// Scorer rates significance; nil runs no significance worker (memories
	// then rank without the significance part until one runs).
	Scorer Scorer
	// Batch is how many memories one write covers (default 64): small
	// enough that a turn waiting behind a worker's write waits a few
	// milliseconds at most.
	Batch int
	// Poll is how often an idle worker looks for work it was not told
	// about (default 250ms); Kick wakes the workers at once.
	Poll time.Duration
	// OnError hears the failures a worker retries after (an embeddings
	// server down, a model that does not answer). It is called from the
	// worker's goroutine.
	OnError func(worker string, err error)
}

// Workers are the embedding and significance workers of a Store. They read
// the memories still to process through the reader pool, compute outside
// any transaction, and write through the Store's single writer in small
// batches, so they never hold a lock a turn waits for, never see "database
// is locked", and never move a branch head: embeddings and scores are
// caches derived from the log, not events. Their work is found from the
// projection (memories without an index row or a score), so a worker that
// was stopped or killed picks up where the save is.
type Workers struct {
	s      *Store
	opts   WorkerOptions
	cancel context.CancelFunc
	wg     sync.WaitGroup

	kick []chan struct{} // one per worker, buffered 1

	mu      sync.Mutex
	cond    *sync.Cond
	idleGen [2]uint64 // per worker: bumped each time it finds no work
	lastErr [2]error  // per worker: the last failure, cleared by a success

	embedded atomic.Int64
	scored   atomic.Int64
	steps    atomic.Int64 // embedding steps, for the compaction check

	pmu     sync.Mutex
	paused  int           // Pause calls not yet resumed
	resumed chan struct{} // closed when paused drops to 0
}

const (
	embedWorker = iota
	scoreWorker
)

var workerNames = [2]string{"embedding", "significance"}

// StartWorkers starts the embedding worker (with the Store's embedder, see
// SetEmbedder) and, with a Scorer, the significance worker. Close stops
// them.
func (s *Store) StartWorkers(o WorkerOptions) *Workers {
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Workers{s: s, opts: o, cancel: cancel, kick: []chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)}}
	w.cond = sync.NewCond(&w.mu)
	// Load the in-memory copies of the vector index and the memories
	// now, off the first turn's path (a failure here is the first
	// search's to report).
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		_ = s.LoadCopies(ctx)
	}()
	w.start(ctx, embedWorker, w.embedStep)
	if o.Scorer != nil {
		w.start(ctx, scoreWorker, w.scoreStep)
	}
	return w
}

func (w *Workers) start(ctx context.Context, which int, step func(context.Context) (int, error)) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		backoff := time.Duration(0)
		for ctx.Err() == nil {
			if !w.waitResumed(ctx) {
				return
			}
			n, err := step(ctx)
			if ctx.Err() != nil {
				return
			}
			if err == nil && n == 0 && which == embedWorker {
				// Nothing to embed: a quiet moment to checkpoint, off the
				// turns' path (writer.go).
				err = w.s.checkpointIfDue(ctx)
			}
			w.mu.Lock()
			if err != nil {
				w.lastErr[which] = err
			} else {
				w.lastErr[which] = nil
			}
			if err == nil && n == 0 {
				w.idleGen[which]++
			}
			w.cond.Broadcast()
			w.mu.Unlock()
			wait := w.opts.Poll
			switch {
			case err != nil:
				if w.opts.OnError != nil {
					w.opts.OnError(workerNames[which], err)
				}
				backoff = min(max(2*backoff, 500*time.Millisecond), 30*time.Second)
				wait = backoff
			case n > 0:
				backoff = 0
				continue // more may be waiting
			default:
				backoff = 0
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-w.kick[which]:
				t.Stop()
			case <-t.C:
			}
		}
	}()
}

// Pause holds the workers before their next batch until Resume: the app
// pauses them for the length of a turn, so a background model call never
// competes with the player's reply for the model server. A batch under way
// finishes. Calls nest.
func (w *Workers) Pause() {
	w.pmu.Lock()
	if w.paused == 0 {
		w.resumed = make(chan struct{})
	}
	w.paused++
	w.pmu.Unlock()
}

// Resume undoes one Pause.
func (w *Workers) Resume() {
	w.pmu.Lock()
	if w.paused > 0 {
		w.paused--
		if w.paused == 0 {
			close(w.resumed)
		}
	}
	w.pmu.Unlock()
}

// waitResumed waits while the workers are paused; false when ctx ended.
func (w *Workers) waitResumed(ctx context.Context) bool {
	w.pmu.Lock()
	ch := w.resumed
	held := w.paused > 0
	w.pmu.Unlock()
	if !held {
		return true
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// Kick wakes the workers now (after a turn wrote memories), instead of at
// their next poll.
func (w *Workers) Kick() {
	for _, k := range w.kick {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// CatchUp waits until both workers have found nothing left to do (or ctx
// ends). It returns a worker's failure if one is failing meanwhile.
func (w *Workers) CatchUp(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	w.mu.Lock()
	start := w.idleGen
	w.mu.Unlock()
	w.Kick()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if w.caughtUp(start) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			if e := errors.Join(w.lastErr[0], w.lastErr[1]); e != nil {
				return fmt.Errorf("memory workers: %w", e)
			}
			return err
		}
		w.cond.Wait()
		if !w.caughtUp(start) {
			w.mu.Unlock()
			w.Kick()
			w.mu.Lock()
		}
	}
}

// caughtUp reports whether every running worker has had two idle passes
// since start (the first may have begun before the caller's kick). w.mu
// must be held.
func (w *Workers) caughtUp(start [2]uint64) bool {
	if w.idleGen[embedWorker] < start[embedWorker]+2 {
		return false
	}
	return w.opts.Scorer == nil || w.idleGen[scoreWorker] >= start[scoreWorker]+2
}

// Close stops the workers and waits for them; a write in progress finishes
// or is rolled back whole.
func (w *Workers) Close() error {
	w.cancel()
	w.wg.Wait()
	return nil
}

// WorkerStats counts what the workers did since they started.
type WorkerStats struct {
	Embedded int64 // memories added to the vector index
	Scored   int64 // memories given a significance score
	Errors   []string
}

// Stats returns what the workers did so far.
func (w *Workers) Stats() WorkerStats {
	st := WorkerStats{Embedded: w.embedded.Load(), Scored: w.scored.Load()}
	w.mu.Lock()
	for i, e := range w.lastErr {
		if e != nil {
			st.Errors = append(st.Errors, workerNames[i]+": "+e.Error())
		}
	}
	w.mu.Unlock()
	return st
}

// embedStep indexes one batch of memories: cached embeddings are reused,
// missing ones computed by the embedder (outside any transaction), then
// everything written at once.
func (w *Workers) embedStep(ctx context.Context) (int, error) {
	s := w.s
	emb := s.Embedder()
	model := emb.Model()
	todo, err := s.unindexed(ctx, w.opts.Batch)
	if err != nil {
		return 0, err
	}
	cur, err := s.indexModel(ctx)
	if err != nil {
		return 0, err
	}
	if cur != model && cur != "" {
		// The store's embedder changed since the index was built.
		if err := s.useIndexModel(ctx, model); err != nil {
			return 0, err
		}
		return 1, nil // start over on the emptied index
	}
	if len(todo) == 0 {
		return 0, nil
	}
	if compacted, err := w.maybeCompact(ctx); err != nil || compacted {
		return 0, err
	}
	hashes := make([][]byte, len(todo))
	for i, p := range todo {
		hashes[i] = p.hash
	}
	cached, err := s.cachedEmbeddings(ctx, model, hashes)
	if err != nil {
		return 0, err
	}
	items := make([]embedded, len(todo))
	var missTexts []string
	var missIdx []int
	seen := map[string]int{} // hash -> index in missTexts
	for i, p := range todo {
		items[i] = embedded{id: p.id, hash: p.hash}
		if c, ok := cached[string(p.hash)]; ok {
			items[i].emb = c
			continue
		}
		if _, ok := seen[string(p.hash)]; !ok {
			seen[string(p.hash)] = len(missTexts)
			missTexts = append(missTexts, p.text)
		}
		missIdx = append(missIdx, i)
	}
	if len(missTexts) > 0 {
		vs, err := emb.Embed(ctx, missTexts)
		if err != nil {
			return 0, fmt.Errorf("embed %d memories with %s: %w", len(missTexts), model, err)
		}
		if len(vs) != len(missTexts) {
			return 0, fmt.Errorf("embed with %s: %d vectors for %d texts", model, len(vs), len(missTexts))
		}
		encoded := make([]cachedEmbedding, len(vs))
		for i, v := range vs {
			u, err := unit(v)
			if err != nil {
				return 0, fmt.Errorf("embed with %s: vector %d: %w", model, i, err)
			}
			encoded[i] = cachedEmbedding{dims: len(u), vec: quantize(u), code: signCode(u)}
		}
		first := map[string]bool{}
		for _, i := range missIdx {
			h := string(items[i].hash)
			items[i].emb = encoded[seen[h]]
			items[i].fresh = !first[h]
			first[h] = true
		}
	}
	n, err := s.indexEmbeddings(ctx, model, items)
	if errors.Is(err, errIndexModelChanged) {
		return 0, nil // the next step starts over with the new model
	}
	if err != nil {
		return 0, fmt.Errorf("index memories: %w", err)
	}
	w.embedded.Add(int64(n))
	if n == 0 {
		// The batch left the projection meanwhile (a branch switch): look
		// again rather than report idle with work left.
		return len(todo), nil
	}
	return n, nil
}

// compactEvery: the embedding worker checks the index for holes every this
// many steps (and when it starts).
const compactEvery = 256

func (w *Workers) maybeCompact(ctx context.Context) (bool, error) {
	if w.steps.Add(1)%compactEvery != 1 {
		return false, nil
	}
	return w.s.compactIfStale(ctx)
}

// scoreStep scores one batch of memories: cached scores are reused,
// missing ones asked of the scorer one text at a time, then all written at
// once.
func (w *Workers) scoreStep(ctx context.Context) (int, error) {
	s := w.s
	sc := w.opts.Scorer
	model := sc.Model()
	todo, err := s.unscored(ctx, w.opts.Batch)
	if err != nil || len(todo) == 0 {
		return 0, err
	}
	hashes := make([][]byte, len(todo))
	for i, p := range todo {
		hashes[i] = p.hash
	}
	cached, err := s.cachedScores(ctx, model, hashes)
	if err != nil {
		return 0, err
	}
	items := make([]scored, 0, len(todo))
	fresh := map[string]scored{}
	var failed error
	for _, p := range todo {
		if v, ok := cached[string(p.hash)]; ok {
			items = append(items, scored{id: p.id, hash: p.hash, value: v})
			continue
		}
		if f, ok := fresh[string(p.hash)]; ok {
			items = append(items, scored{id: p.id, hash: p.hash, value: f.value, source: f.source})
			continue
		}
		v, src, err := sc.Score(ctx, p.text)
		if err == nil && (math.IsNaN(v) || v < 1 || v > 10) {
			err = fmt.Errorf("score %v is not between 1 and 10", v)
		}
		if err != nil {
			// Keep what was scored; the rest waits for the next step.
			failed = fmt.Errorf("score memory %d with %s: %w", p.id, model, err)
			break
		}
		if src == "" {
			src = model
		}
		it := scored{id: p.id, hash: p.hash, value: v, source: src, fresh: true}
		fresh[string(p.hash)] = it
		items = append(items, it)
	}
	if len(items) == 0 {
		return 0, failed
	}
	n, err := s.storeScores(ctx, model, items)
	if err != nil {
		return 0, fmt.Errorf("store significance: %w", err)
	}
	w.scored.Add(int64(n))
	if failed != nil {
		return n, failed
	}
	if n == 0 {
		return len(items), nil
	}
	return n, nil
}
