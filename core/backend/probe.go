package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"diorama/core"
)

// ProbeResult is what a probe learned about a backend.
type ProbeResult struct {
	Reachable bool     // the server answered HTTP at all
	Server    string   // "ollama 0.5.7", "llama.cpp", "LM Studio", "" when unknown
	Models    []string // models it offers
	// ServerContext is the context size the server will really give a
	// prompt (Ollama's num_ctx, llama.cpp's n_ctx per slot), 0 if unknown.
	ServerContext  int
	ContextWarning string   // the server will truncate or refuse prompts of the configured size
	Notes          []string // other things worth knowing (model not offered, …)
	Err            error    // why it is unreachable or unusable
}

// Probe asks a generator's server what it is and what it offers. Built-in
// generators are always reachable. Probe never takes longer than ctx allows.
func Probe(ctx context.Context, g core.Generator) ProbeResult {
	switch g := g.(type) {
	case *OpenAI:
		return g.Probe(ctx)
	case *Offline:
		return ProbeResult{Reachable: true, Server: "built-in", Notes: []string{"renders replies from the world state through templates; no model"}}
	case *Scripted:
		return ProbeResult{Reachable: true, Server: "built-in", Notes: []string{"replies queued by tests"}}
	}
	return ProbeResult{Reachable: true, Notes: []string{"cannot be probed"}}
}

// Probe lists the server's models (GET /models), works out which server it
// is, and checks that the configured context fits what the server will
// really use: Ollama's /v1 endpoint ignores the requested context size and
// silently truncates to num_ctx; llama.cpp answers 400 beyond n_ctx; LM
// Studio answers an empty 200.
func (c *OpenAI) Probe(ctx context.Context) ProbeResult {
	var r ProbeResult
	models, status, err := c.listModels(ctx)
	if err != nil {
		r.Err = c.classifyProbeErr(err).err
		return r
	}
	r.Reachable = true
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		r.Err = c.statusFailure(status, nil, "").err
		return r
	case status == http.StatusNotFound:
		r.Err = &GenError{Backend: c.Name(), Status: status, Kind: core.ErrUnavailable,
			What: "no models endpoint at " + c.cfg.BaseURL + "/models",
			Hint: "check base_url: OpenAI-compatible servers usually serve under /v1 (http://127.0.0.1:11434/v1, http://127.0.0.1:8080/v1)"}
		return r
	case status >= 400:
		r.Err = c.statusFailure(status, nil, "").err
		return r
	}
	owned := ""
	for _, m := range models {
		r.Models = append(r.Models, m.ID)
		if owned == "" {
			owned = m.OwnedBy
		}
	}
	model := c.cfg.Model
	if model == "" && len(r.Models) > 0 {
		model = r.Models[0]
	}
	if c.cfg.Model != "" && len(r.Models) > 0 && !offers(r.Models, c.cfg.Model) {
		r.Notes = append(r.Notes, fmt.Sprintf("model %q is not among the models this server offers", c.cfg.Model))
	}
	root := c.root()
	switch {
	case c.hosted() != "":
		r.Server = c.hosted()
	case owned == "llamacpp":
		c.probeLlamaCpp(ctx, root, &r)
	case c.probeOllama(ctx, root, model, &r):
	case c.probeLlamaCpp(ctx, root, &r):
	case c.probeLMStudio(ctx, root, model, &r):
	case owned == "organization_owner":
		r.Server = "LM Studio"
	}
	if r.Server == "llama.cpp" {
		c.setLlamaCpp(true)
	}
	c.mu.Lock()
	c.tok.serverContext = r.ServerContext
	c.mu.Unlock()
	return r
}

func offers(models []string, m string) bool {
	for _, x := range models {
		if x == m || x == m+":latest" || strings.TrimSuffix(x, ":latest") == m {
			return true
		}
	}
	return false
}

// hosted names the hosted API base_url points at, "" for anything else
// (local and LAN servers get their native endpoints probed).
func (c *OpenAI) hosted() string {
	u, err := url.Parse(c.cfg.BaseURL)
	if err != nil {
		return ""
	}
	h := strings.ToLower(u.Hostname())
	for _, k := range []struct{ suffix, name string }{
		{"openai.com", "OpenAI"}, {"anthropic.com", "Anthropic"}, {"openrouter.ai", "OpenRouter"},
	} {
		if h == k.suffix || strings.HasSuffix(h, "."+k.suffix) {
			return k.name
		}
	}
	return ""
}

// root is the server root for native endpoints: base_url without /v1.
func (c *OpenAI) root() string {
	b := strings.TrimRight(c.cfg.BaseURL, "/")
	return strings.TrimSuffix(b, "/v1")
}

// classifyProbeErr turns a transport error of a probe into a failure.
func (c *OpenAI) classifyProbeErr(err error) *failure {
	var ge *GenError
	if errors.As(err, &ge) {
		return &failure{err: ge}
	}
	f := c.transportFailure(err)
	if netKind(err) == "dial" {
		f.err.Hint = "is the server running? start it (ollama serve, llama-server, LM Studio's server) or fix base_url"
	}
	return f
}

// listModels is GET base_url/models. A status error is returned as the
// status with a nil error; err is a transport or decoding failure.
func (c *OpenAI) listModels(ctx context.Context) ([]modelEntry, int, error) {
	var mr modelsResponse
	status, err := c.doJSON(ctx, http.MethodGet, strings.TrimRight(c.cfg.BaseURL, "/")+"/models", nil, &mr)
	if err != nil || status >= 300 {
		return nil, status, err
	}
	return mr.Data, status, nil
}

// doJSON sends a request with the backend's key and headers and decodes a
// 2xx JSON answer into out. A non-2xx status is returned with a nil error.
func (c *OpenAI) doJSON(ctx context.Context, method, url string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
		if c.anthropic {
			req.Header.Set("x-api-key", c.key)
			req.Header.Set("anthropic-version", "2023-06-01")
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, nil
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return resp.StatusCode, fmt.Errorf("%w: empty answer from %s", ErrMalformed, url)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%w: answer from %s is not the expected JSON: %v", ErrMalformed, url, err)
	}
	return resp.StatusCode, nil
}

// probeOllama detects Ollama (GET /api/version) and works out the context
// its /v1 endpoint will really use: the loaded runner's (GET /api/ps), the
// Modelfile's num_ctx (POST /api/show), or the server default.
func (c *OpenAI) probeOllama(ctx context.Context, root, model string, r *ProbeResult) bool {
	var v struct {
		Version string `json:"version"`
	}
	if st, err := c.doJSON(ctx, http.MethodGet, root+"/api/version", nil, &v); err != nil || st != http.StatusOK || v.Version == "" {
		return false
	}
	r.Server = "ollama " + v.Version
	if model == "" {
		return true
	}
	effective, source := 0, ""
	var ps struct {
		Models []struct {
			Name          string `json:"name"`
			Model         string `json:"model"`
			ContextLength int    `json:"context_length"`
		} `json:"models"`
	}
	if st, err := c.doJSON(ctx, http.MethodGet, root+"/api/ps", nil, &ps); err == nil && st == http.StatusOK {
		for _, m := range ps.Models {
			if m.ContextLength > 0 && (offers([]string{m.Name}, model) || offers([]string{m.Model}, model)) {
				effective, source = m.ContextLength, "the loaded model's context (ollama ps)"
			}
		}
	}
	var show struct {
		Parameters string         `json:"parameters"`
		ModelInfo  map[string]any `json:"model_info"`
	}
	trained := 0
	if st, err := c.doJSON(ctx, http.MethodPost, root+"/api/show", map[string]string{"model": model}, &show); err == nil && st == http.StatusOK {
		for _, line := range strings.Split(show.Parameters, "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[0] == "num_ctx" {
				if n, err := strconv.Atoi(f[1]); err == nil && n > 0 && effective == 0 {
					effective, source = n, "num_ctx in the model's Modelfile"
				}
			}
		}
		for k, val := range show.ModelInfo {
			if strings.HasSuffix(k, ".context_length") {
				if f, ok := val.(float64); ok {
					trained = int(f)
				}
			}
		}
	}
	if effective == 0 {
		effective, source = 4096, "Ollama's default for version "+v.Version+"; OLLAMA_CONTEXT_LENGTH may change it"
		if versionBefore(v.Version, 0, 6) {
			effective = 2048
		}
		source = "assumed: " + source
	}
	r.ServerContext = effective
	want := c.cfg.Context
	if want == 0 || want > effective {
		target := want
		if target == 0 {
			target = 8192
		}
		if trained > 0 && target > trained {
			target = trained
		}
		what := fmt.Sprintf("this backend has no `context` set, and Ollama's /v1 endpoint ignores the requested context size: prompts beyond %d tokens (%s) are silently truncated", effective, source)
		if want > 0 {
			what = fmt.Sprintf("Ollama's /v1 endpoint ignores the requested context size and silently truncates prompts to %d tokens (%s), but this backend's context is %d", effective, source, want)
		}
		r.ContextWarning = fmt.Sprintf("%s. To raise it, create a Modelfile with `FROM %s` and `PARAMETER num_ctx %d`, run `ollama create %s-ctx -f Modelfile` and use model %q; or restart the server as `OLLAMA_CONTEXT_LENGTH=%d ollama serve`. Or set context = %d for this backend in config.lua",
			what, model, target, baseModel(model), baseModel(model)+"-ctx", target, effective)
	}
	return true
}

func baseModel(m string) string {
	return strings.TrimSuffix(m, ":latest")
}

// versionBefore reports whether a dotted version is below major.minor;
// unreadable versions are not.
func versionBefore(v string, major, minor int) bool {
	v = strings.TrimPrefix(v, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimLeftFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma < major || ma == major && mi < minor
}

// probeLlamaCpp detects llama.cpp server (GET /props) and its context per
// slot; prompts beyond it are refused with a 400 naming n_ctx.
func (c *OpenAI) probeLlamaCpp(ctx context.Context, root string, r *ProbeResult) bool {
	var props struct {
		NCtx     int `json:"n_ctx"`
		Defaults *struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
		TotalSlots int    `json:"total_slots"`
		ModelPath  string `json:"model_path"`
	}
	st, err := c.doJSON(ctx, http.MethodGet, root+"/props", nil, &props)
	if err != nil || st != http.StatusOK || (props.Defaults == nil && props.TotalSlots == 0 && props.ModelPath == "") {
		return false
	}
	r.Server = "llama.cpp"
	nctx := props.NCtx
	if props.Defaults != nil && props.Defaults.NCtx > 0 {
		nctx = props.Defaults.NCtx
	}
	if nctx <= 0 {
		return true
	}
	r.ServerContext = nctx
	switch want := c.cfg.Context; {
	case want > nctx:
		r.ContextWarning = fmt.Sprintf("llama.cpp server has %d tokens of context per slot but this backend's context is %d: longer prompts are refused (400, n_ctx). Start llama-server with -c %d (multiplied by --parallel when it serves several slots), or set context = %d for this backend in config.lua",
			nctx, want, want, nctx)
	case want == 0:
		r.Notes = append(r.Notes, fmt.Sprintf("the server's context is %d tokens per slot; set context = %d for this backend in config.lua", nctx, nctx))
	}
	return true
}

// probeLMStudio detects LM Studio (GET /api/v0/models) and the loaded
// context length of the model.
func (c *OpenAI) probeLMStudio(ctx context.Context, root, model string, r *ProbeResult) bool {
	var lm struct {
		Data []struct {
			ID                  string `json:"id"`
			State               string `json:"state"`
			MaxContextLength    int    `json:"max_context_length"`
			LoadedContextLength int    `json:"loaded_context_length"`
		} `json:"data"`
	}
	st, err := c.doJSON(ctx, http.MethodGet, root+"/api/v0/models", nil, &lm)
	if err != nil || st != http.StatusOK || len(lm.Data) == 0 {
		return false
	}
	r.Server = "LM Studio"
	for _, m := range lm.Data {
		if m.ID != model || m.LoadedContextLength <= 0 {
			continue
		}
		r.ServerContext = m.LoadedContextLength
		if want := c.cfg.Context; want == 0 || want > m.LoadedContextLength {
			r.ContextWarning = fmt.Sprintf("LM Studio loaded %s with %d tokens of context and answers a longer prompt with an empty reply; set context = %d for this backend in config.lua, or raise the context length in LM Studio's model settings",
				model, m.LoadedContextLength, m.LoadedContextLength)
		}
	}
	return true
}

// ContextWindow is the context size to budget prompts against: the
// configured context, lowered to what the server really uses when a probe
// found out; 0 when neither is known.
func (c *OpenAI) ContextWindow() int {
	c.mu.Lock()
	server := c.tok.serverContext
	c.mu.Unlock()
	switch want := c.cfg.Context; {
	case want == 0:
		return server
	case server > 0 && server < want:
		return server
	default:
		return want
	}
}

// modelsResponse is GET /models.
type modelsResponse struct {
	Data []modelEntry `json:"data"`
}

type modelEntry struct {
	ID      string          `json:"id"`
	OwnedBy string          `json:"owned_by"`
	Meta    json.RawMessage `json:"meta"` // llama.cpp: {"n_ctx_train": …}
}
