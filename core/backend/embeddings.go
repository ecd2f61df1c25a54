package backend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"diorama/core"
)

// Embeddings is an OpenAI-compatible /v1/embeddings client: Ollama
// (nomic-embed-text, mxbai-embed-large, all-minilm…), llama.cpp server
// started with --embeddings, LM Studio, vLLM, OpenAI. It shares its
// backend's base URL, key, headers, timeouts and retry policy; texts go in
// batches, every answer is checked strictly (one finite, non-zero vector
// per text, all of one dimension), and the vectors come back in the order
// of the texts. It satisfies the store's Embedder.
type Embeddings struct {
	c     *OpenAI
	model string
	batch int

	mu   sync.Mutex
	dims int // the dimension the server answered with first; it must not change
}

// DefaultEmbeddingBatch is how many texts one request carries.
const DefaultEmbeddingBatch = 64

// maxEmbeddingDims bounds the vectors we accept (the largest models have
// a few thousand dimensions).
const maxEmbeddingDims = 16384

// Embeddings returns an embeddings client for model on this backend's
// server. It does not touch the network.
func (c *OpenAI) Embeddings(model string) (*Embeddings, error) {
	model = strings.TrimSpace(model)
	if model == "" {
		return nil, fmt.Errorf("backend %q: no embedding model named (e.g. nomic-embed-text for Ollama)", c.cfg.Name)
	}
	return &Embeddings{c: c, model: model, batch: DefaultEmbeddingBatch}, nil
}

// NewEmbeddings builds an embeddings client for one configured backend.
func NewEmbeddings(cfg BackendConfig, model string, opts ...Option) (*Embeddings, error) {
	c, err := NewOpenAI(cfg, opts...)
	if err != nil {
		return nil, err
	}
	return c.Embeddings(model)
}

// Model names the model and the server for caches: "nomic-embed-text@
// 127.0.0.1:11434/v1". The same model name on another server may be another
// model, so both count.
func (e *Embeddings) Model() string {
	where := e.c.cfg.BaseURL
	if u, err := url.Parse(where); err == nil {
		where = u.Host + strings.TrimRight(u.Path, "/")
	}
	return e.model + "@" + where
}

// Name labels the client for people: "ollama:nomic-embed-text".
func (e *Embeddings) Name() string { return e.c.cfg.Name + ":" + e.model }

// Embed returns one vector per text, in order. Failures are *GenError:
// unreachable server, rate limits and 5xx are retried like a generation's;
// a malformed answer is not.
func (e *Embeddings) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += e.batch {
		batch := texts[start:min(start+e.batch, len(texts))]
		vs, err := e.embedBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func (e *Embeddings) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	c := e.c
	if err := ctx.Err(); err != nil {
		return nil, c.cancelled(err, "", 0)
	}
	// Servers reject empty inputs; an empty memory embeds to zeros.
	input := make([]string, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			t = " "
		}
		input[i] = t
	}
	req := openai.EmbeddingRequestStrings{Input: input, Model: openai.EmbeddingModel(e.model)}
	for n := 1; ; n++ {
		vs, f := e.attempt(ctx, req, len(texts))
		if f == nil {
			return vs, nil
		}
		f.err.Attempts = n
		if !f.retry || n >= c.policy.maxAttempts {
			return nil, f.err
		}
		wait := c.policy.backoff(n)
		if f.hasWait {
			if f.wait > c.policy.maxRetryWait {
				f.err.What += fmt.Sprintf("; the server asks to wait %s before trying again", f.wait.Round(time.Second))
				return nil, f.err
			}
			wait = f.wait
		}
		if c.policy.onRetry != nil {
			c.policy.onRetry(Retry{Attempt: n, Wait: wait, Err: f.err})
		}
		if err := c.policy.sleep(ctx, wait); err != nil {
			return nil, c.cancelled(err, "", n)
		}
	}
}

func (e *Embeddings) attempt(ctx context.Context, req openai.EmbeddingRequestStrings, n int) ([][]float32, *failure) {
	c := e.c
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &watch{header: c.cfg.HeaderTimeout, idle: c.cfg.IdleTimeout, cancel: cancel}
	defer w.stop()
	actx = context.WithValue(actx, watchKey{}, w)
	resp, err := c.client.CreateEmbeddings(actx, req)
	if err != nil {
		status, _ := w.response()
		var urlErr *url.Error
		if ctx.Err() == nil && status >= 200 && status < 300 && !errors.As(err, &urlErr) && context.Cause(actx) == nil {
			// The server answered 2xx and the body did not decode.
			return nil, e.malformed("the answer is not embeddings JSON: " + clip(err.Error(), 200))
		}
		return nil, c.openFailure(ctx, actx, w, err)
	}
	vs, err := checkEmbeddings(resp, n)
	if err != nil {
		return nil, e.malformed(err.Error())
	}
	if err := e.sameDims(len(vs[0])); err != nil {
		return nil, e.malformed(err.Error())
	}
	return vs, nil
}

func (e *Embeddings) malformed(what string) *failure {
	return &failure{err: &GenError{Backend: e.Name(), Kind: core.ErrUnavailable, Err: ErrMalformed,
		What: "embeddings: " + what,
		Hint: fmt.Sprintf("check that %q is an embedding model this server serves (Ollama: ollama pull %s; llama.cpp: start it with --embeddings)", e.model, e.model)}}
}

// sameDims checks a model keeps its dimension from one answer to the next
// (a server that swapped models under the same name would mix two spaces).
func (e *Embeddings) sameDims(d int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dims == 0 {
		e.dims = d
		return nil
	}
	if d != e.dims {
		return fmt.Errorf("the model answered with %d dimensions after %d", d, e.dims)
	}
	return nil
}

// checkEmbeddings validates an embeddings answer for n inputs and returns
// the vectors in input order: exactly n of them, indexes a permutation of
// 0..n-1 (or all zero, for servers that leave index out: then in answer
// order), each of the same dimension (1..16384), finite, not all zeros.
func checkEmbeddings(resp openai.EmbeddingResponse, n int) ([][]float32, error) {
	if len(resp.Data) != n {
		return nil, fmt.Errorf("%d vectors for %d texts", len(resp.Data), n)
	}
	if n == 0 {
		return nil, nil
	}
	out := make([][]float32, n)
	allZero := true
	for _, d := range resp.Data {
		if d.Index != 0 {
			allZero = false
		}
	}
	dims := len(resp.Data[0].Embedding)
	if dims == 0 || dims > maxEmbeddingDims {
		return nil, fmt.Errorf("a vector of %d dimensions (want 1 to %d)", dims, maxEmbeddingDims)
	}
	for i, d := range resp.Data {
		at := d.Index
		if allZero {
			at = i
		}
		if at < 0 || at >= n {
			return nil, fmt.Errorf("vector index %d out of range for %d texts", d.Index, n)
		}
		if out[at] != nil {
			return nil, fmt.Errorf("two vectors for text %d", at)
		}
		if len(d.Embedding) != dims {
			return nil, fmt.Errorf("vectors of %d and %d dimensions in one answer", dims, len(d.Embedding))
		}
		var norm float64
		for _, x := range d.Embedding {
			f := float64(x)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("vector %d has a non-finite value", at)
			}
			norm += f * f
		}
		if norm == 0 {
			return nil, fmt.Errorf("vector %d is all zeros", at)
		}
		out[at] = d.Embedding
	}
	return out, nil
}
