package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"diorama/core"
)

// Defaults of an OpenAI-compatible backend; each can be set per backend in
// config.lua.
const (
	DefaultConnectTimeout = 5 * time.Second
	// DefaultHeaderTimeout is long because local servers send the response
	// headers only after loading the model and reading the prompt.
	DefaultHeaderTimeout = 120 * time.Second
	DefaultIdleTimeout   = 60 * time.Second
	DefaultMaxAttempts   = 4
	DefaultMaxTokens     = 400

	defaultBackoff      = 500 * time.Millisecond
	defaultMaxBackoff   = 8 * time.Second
	defaultMaxRetryWait = 30 * time.Second
	// After finish_reason only the usage chunk and [DONE] may follow.
	afterFinishIdle = 2 * time.Second
)

// Option adjusts how an OpenAI-compatible backend is built (tests shrink the
// backoff; the shell listens to retries).
type Option func(*options)

type options struct {
	getenv       func(string) string
	doer         HTTPDoer
	base, max    time.Duration
	maxRetryWait time.Duration
	sleep        func(ctx context.Context, d time.Duration) error
	onRetry      func(Retry)
}

// WithGetenv reads the API key through f instead of os.Getenv.
func WithGetenv(f func(string) string) Option { return func(o *options) { o.getenv = f } }

// WithHTTPDoer sends requests through d instead of a client built from the
// config's timeouts (the header and idle deadlines still apply).
func WithHTTPDoer(d HTTPDoer) Option { return func(o *options) { o.doer = d } }

// WithBackoff sets the first retry wait and its cap (doubling in between).
func WithBackoff(base, max time.Duration) Option {
	return func(o *options) { o.base, o.max = base, max }
}

// WithMaxRetryWait caps how long a Retry-After is honoured; a server asking
// for longer makes the generation fail at once with the wait it asked for.
func WithMaxRetryWait(d time.Duration) Option { return func(o *options) { o.maxRetryWait = d } }

// WithSleep replaces the wait between retries (tests record it instead).
func WithSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = f }
}

// WithOnRetry is called before each retry, so the caller can show it.
func WithOnRetry(f func(Retry)) Option { return func(o *options) { o.onRetry = f } }

// OpenAI is a generator speaking the OpenAI chat-completions protocol with
// streaming: Ollama (/v1), llama.cpp server, LM Studio, vLLM, OpenRouter,
// OpenAI and Anthropic's compatible endpoint.
//
// Generate connects, retries what is safe to retry (connect errors, 429
// honouring Retry-After, 5xx) with capped exponential backoff, and returns
// once the first text arrived: nothing is retried after that. A reply is
// complete only when a finish_reason arrived; otherwise Recv fails with
// core.ErrIncomplete and the partial text is not presented as a reply.
type OpenAI struct {
	cfg       BackendConfig
	key       string
	http      HTTPDoer // with the configured headers
	client    *openai.Client
	policy    retryPolicy
	anthropic bool

	mu    sync.Mutex
	model string // resolved model (cfg.Model, or the server's first)
	tok   tokenizerState
}

var _ core.Generator = (*OpenAI)(nil)

// NewOpenAI builds a client for one configured backend. It does not touch
// the network.
func NewOpenAI(cfg BackendConfig, opts ...Option) (*OpenAI, error) {
	o := options{getenv: os.Getenv, base: defaultBackoff, max: defaultMaxBackoff,
		maxRetryWait: defaultMaxRetryWait, sleep: sleepCtx}
	for _, f := range opts {
		f(&o)
	}
	cfg = cfg.withDefaults()
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("backend %q: base_url %q is not an http(s) URL (e.g. http://127.0.0.1:11434/v1)", cfg.Name, cfg.BaseURL)
	}
	c := &OpenAI{cfg: cfg, model: cfg.Model, anthropic: isAnthropic(u)}
	if cfg.APIKeyEnv != "" && o.getenv != nil {
		c.key = strings.TrimSpace(o.getenv(cfg.APIKeyEnv))
	}
	inner := o.doer
	if inner == nil {
		inner = newHTTPClient(cfg.ConnectTimeout)
	}
	c.http = &watchDoer{inner: inner, headers: cfg.Headers}
	occ := openai.DefaultConfig(c.key)
	occ.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	occ.HTTPClient = c.http
	occ.EmptyMessagesLimit = 1 << 30 // keep-alives are fine; the idle watchdog guards silence
	c.client = openai.NewClientWithConfig(occ)
	c.policy = retryPolicy{maxAttempts: cfg.MaxAttempts, base: o.base, max: o.max,
		maxRetryWait: o.maxRetryWait, sleep: o.sleep, onRetry: o.onRetry}
	return c, nil
}

// Name labels the backend: "NAME:MODEL" (e.g. "local:llama3.1:8b").
func (c *OpenAI) Name() string {
	c.mu.Lock()
	m := c.model
	c.mu.Unlock()
	if m == "" {
		return c.cfg.Name
	}
	return c.cfg.Name + ":" + m
}

// Config returns the backend's configuration (defaults filled in).
func (c *OpenAI) Config() BackendConfig { return c.cfg }

func isAnthropic(u *url.URL) bool {
	h := strings.ToLower(u.Hostname())
	return h == "anthropic.com" || strings.HasSuffix(h, ".anthropic.com")
}

// Generate starts one streamed generation. It returns after the first text
// arrived (or fails); the stream then yields that text and the rest.
func (c *OpenAI) Generate(ctx context.Context, req core.GenRequest) (core.TextStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, c.cancelled(err, "", 0)
	}
	model, err := c.resolveModel(ctx)
	if err != nil {
		return nil, err
	}
	creq := c.chatRequest(model, req)
	for n := 1; ; n++ {
		s, f := c.attempt(ctx, creq, n, req.Params.MaxTokens)
		if f == nil {
			return s, nil
		}
		f.err.Attempts = n
		if !f.retry || n >= c.policy.maxAttempts {
			return nil, f.err
		}
		wait := c.policy.backoff(n)
		if f.hasWait {
			if f.wait > c.policy.maxRetryWait {
				f.err.What += fmt.Sprintf("; the server asks to wait %s before trying again", f.wait.Round(time.Second))
				f.err.Hint = "try again later, or switch to another backend (--backend)"
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

// chatRequest turns a core request into go-openai's, with the config's
// defaults and each server's quirks.
func (c *OpenAI) chatRequest(model string, req core.GenRequest) openai.ChatCompletionRequest {
	msgs := make([]openai.ChatCompletionMessage, 0, len(req.Messages))
	for _, m := range req.Messages {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	r := openai.ChatCompletionRequest{Model: model, Messages: msgs, Stop: req.Params.Stop}
	r.MaxTokens = req.Params.MaxTokens
	if r.MaxTokens <= 0 {
		r.MaxTokens = c.cfg.MaxTokens
	}
	temp, set := req.Params.Temperature, req.Params.Temperature != 0
	if !set && c.cfg.Temperature != nil {
		temp, set = *c.cfg.Temperature, true
	}
	if set {
		hi := 2.0
		if c.anthropic {
			hi = 1 // Anthropic's compatible endpoint accepts 0–1 only
		}
		temp = math.Max(0, math.Min(hi, temp))
		if temp == 0 {
			// go-openai omits a zero temperature (omitempty): send the
			// smallest positive one so "0" still means greedy.
			r.Temperature = math.SmallestNonzeroFloat32
		} else {
			r.Temperature = float32(temp)
		}
	}
	if c.cfg.IncludeUsage {
		r.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	// OpenAI's reasoning models refuse max_tokens and sampling settings.
	if openai.NewReasoningValidator().Validate(r) != nil {
		r.MaxCompletionTokens, r.MaxTokens = r.MaxTokens, 0
		r.Temperature = 0
	}
	return r
}

// failure is one failed attempt: the error to report and whether (and
// after how long) it may be retried.
type failure struct {
	err     *GenError
	retry   bool
	wait    time.Duration
	hasWait bool
}

// attempt makes one request and reads until the first text, so that every
// failure before it can still be retried.
func (c *OpenAI) attempt(ctx context.Context, creq openai.ChatCompletionRequest, n, maxTokens int) (*stream, *failure) {
	actx, cancel := context.WithCancelCause(ctx)
	// Keep-alives without a single event for as long as the headers may
	// take (the model queued or loading) is a stream that will not start.
	w := &watch{header: c.cfg.HeaderTimeout, idle: c.cfg.IdleTimeout, progress: c.cfg.HeaderTimeout, cancel: cancel}
	actx = context.WithValue(actx, watchKey{}, w)
	raw, err := c.client.CreateChatCompletionStream(actx, creq)
	if err != nil {
		w.stop()
		f := c.openFailure(ctx, actx, w, err)
		cancel(nil)
		return nil, f
	}
	if maxTokens <= 0 {
		maxTokens = creq.MaxTokens + creq.MaxCompletionTokens
	}
	w.mu.Lock()
	body := w.body
	w.mu.Unlock()
	if body == nil { // a substituted doer answered without our wrapper
		raw.Close()
		w.stop()
		cancel(nil)
		return nil, &failure{err: &GenError{Backend: c.Name(), Kind: core.ErrUnavailable, Err: ErrMalformed,
			What: "the server's answer has no body"}}
	}
	s := &stream{c: c, parent: ctx, actx: actx, cancel: cancel, w: w, raw: raw, sse: newSSEReader(body),
		attempts: n, maxTokens: maxTokens}
	for len(s.pending) == 0 && s.fail == nil && !s.eof {
		s.step()
	}
	if s.fail != nil {
		s.Close()
		return nil, s.fail
	}
	return s, nil
}

// openFailure classifies an error from sending the request (before any
// stream): transport errors, deadlines and HTTP error statuses.
func (c *OpenAI) openFailure(ctx, actx context.Context, w *watch, err error) *failure {
	if ctx.Err() != nil {
		return &failure{err: c.cancelled(ctx.Err(), "", 0)}
	}
	if errors.Is(context.Cause(actx), errHeaderTimeout) {
		return &failure{err: &GenError{Backend: c.Name(), Kind: core.ErrUnavailable, Err: errHeaderTimeout,
			What: fmt.Sprintf("no answer from %s within %s (connected, but no response headers)", c.cfg.BaseURL, c.cfg.HeaderTimeout),
			Hint: "the model may still be loading or the server is busy with another request; try again, or raise header_timeout in config"}}
	}
	status, headers := w.response()
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	msg := ""
	switch {
	case errors.As(err, &apiErr):
		msg = apiErr.Message
		if status == 0 {
			status = apiErr.HTTPStatusCode
		}
	case errors.As(err, &reqErr):
		msg = strings.TrimSpace(string(reqErr.Body))
		if msg == "" && reqErr.Err != nil {
			msg = reqErr.Err.Error()
		}
		if status == 0 {
			status = reqErr.HTTPStatusCode
		}
	}
	if status >= 400 {
		return c.statusFailure(status, headers, msg)
	}
	return c.transportFailure(err)
}

// statusFailure explains an HTTP error status.
func (c *OpenAI) statusFailure(status int, headers http.Header, msg string) *failure {
	msg = clip(msg, 300)
	ge := &GenError{Backend: c.Name(), Status: status, Kind: core.ErrUnavailable}
	detail := ""
	if msg != "" {
		detail = ": " + msg
	}
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusTooManyRequests:
		ge.Err = ErrRateLimited
		ge.What = "rate limited (429)" + detail
		ge.Hint = "wait a moment and try again, or switch to another backend (--backend)"
		wait, ok := parseRetryAfter(headers, time.Now())
		return &failure{err: ge, retry: true, wait: wait, hasWait: ok}
	case status >= 500:
		ge.Err = ErrServer
		ge.What = fmt.Sprintf("server error %d %s%s", status, http.StatusText(status), detail)
		ge.Hint = "the server may be overloaded or failed to load the model; check its log and try again"
		return &failure{err: ge, retry: true}
	case status == http.StatusBadRequest && (strings.Contains(lower, "n_ctx") || strings.Contains(lower, "context size") ||
		strings.Contains(lower, "context length") || strings.Contains(lower, "context window") || strings.Contains(lower, "too many tokens")):
		ge.What = "the prompt does not fit the server's context window" + detail
		ge.Hint = "start the server with a larger context (llama-server -c N) or lower `context` for this backend in config.lua to what the server has"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		ge.What = fmt.Sprintf("the server refused the request (%d %s)%s", status, http.StatusText(status), detail)
		switch {
		case c.cfg.APIKeyEnv == "":
			ge.Hint = "this server wants an API key: set api_key_env in config.lua to the name of an environment variable holding it"
		case c.key == "":
			ge.Hint = fmt.Sprintf("the environment variable %s (api_key_env) is empty or unset: export the key there", c.cfg.APIKeyEnv)
		default:
			ge.Hint = fmt.Sprintf("check the key in %s and that it may use model %q", c.cfg.APIKeyEnv, c.cfg.Model)
		}
	case status == http.StatusNotFound:
		ge.What = "not found (404)" + detail
		ge.Hint = fmt.Sprintf("check base_url (it usually ends in /v1) and that the server offers model %q (see `diorama backends`)", c.cfg.Model)
	default:
		ge.What = fmt.Sprintf("the server rejected the request (%d %s)%s", status, http.StatusText(status), detail)
		ge.Hint = "check model and parameters for this backend in config.lua"
	}
	return &failure{err: ge}
}

// transportFailure explains an error below HTTP (no status).
func (c *OpenAI) transportFailure(err error) *failure {
	kind := netKind(err)
	var urlErr *url.Error
	if errors.As(err, &urlErr) && urlErr.Err != nil {
		err = urlErr.Err // the URL is in What already
	}
	ge := &GenError{Backend: c.Name(), Kind: core.ErrUnavailable, Err: err}
	switch kind {
	case "dns":
		ge.What = "cannot resolve the host of " + c.cfg.BaseURL
		ge.Hint = "check base_url in config.lua"
		return &failure{err: ge}
	case "tls":
		ge.What = "TLS handshake with " + c.cfg.BaseURL + " failed"
		ge.Hint = "check the scheme of base_url (local servers usually speak plain http)"
		return &failure{err: ge}
	case "dial":
		ge.What = "cannot connect to " + c.cfg.BaseURL
		ge.Hint = "is the server running? start it (ollama serve, llama-server, LM Studio's server) or fix base_url; `diorama backends` probes every backend"
		return &failure{err: ge, retry: true}
	case "request":
		ge.What = "cannot send the request"
		return &failure{err: ge}
	default:
		ge.What = "the connection to " + c.cfg.BaseURL + " failed before an answer"
		ge.Hint = "check that the server is up; `diorama backends` probes it"
		return &failure{err: ge, retry: true}
	}
}

// netKind sorts a transport error: "dns", "tls", "dial" (connect failed or
// timed out), "request" (never sent: not a transport error) or "other".
func netKind(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "dns"
	}
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var uaErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &recErr) || errors.As(err, &uaErr) || errors.As(err, &hostErr) {
		return "tls"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return "dial"
	}
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		return "request"
	}
	return "other"
}

// cancelled is the error for a generation stopped by its caller (Esc).
func (c *OpenAI) cancelled(err error, partial string, attempts int) *GenError {
	return &GenError{Backend: c.Name(), What: "generation cancelled", Kind: core.ErrIncomplete,
		Err: err, Partial: partial, Attempts: attempts}
}

// resolveModel returns the configured model or, when none is, the first one
// the server lists (llama.cpp serves one model and ignores the name).
func (c *OpenAI) resolveModel(ctx context.Context) (string, error) {
	c.mu.Lock()
	m := c.model
	c.mu.Unlock()
	if m != "" {
		return m, nil
	}
	pctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout+5*time.Second)
	defer cancel()
	models, _, err := c.listModels(pctx)
	if err != nil || len(models) == 0 {
		ge := &GenError{Backend: c.Name(), Kind: core.ErrUnavailable, Err: err,
			What: "no model configured and none could be listed from " + c.cfg.BaseURL,
			Hint: "set model for this backend in config.lua (or DIORAMA_MODEL)"}
		if err != nil {
			if f := c.classifyProbeErr(err); f != nil {
				ge = f.err
			}
		}
		return "", ge
	}
	c.mu.Lock()
	c.model = models[0].ID
	c.mu.Unlock()
	return models[0].ID, nil
}
