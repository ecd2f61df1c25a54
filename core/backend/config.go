package backend

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Names of the built-in backends; they always exist and cannot be
// redefined in config.lua.
const (
	BuiltinOffline  = "offline"
	BuiltinScripted = "scripted"
	// EnvBackend is the backend the DIORAMA_* environment variables define.
	EnvBackend = "env"
)

// Values of a backend's `tokenizer` key.
const (
	TokenizerAuto     = ""         // llama.cpp's /tokenize when detected, else the estimate
	TokenizerLlamaCpp = "llamacpp" // always llama.cpp server's /tokenize
	TokenizerEstimate = "estimate" // always EstimateTokens
)

// BackendConfig is one named OpenAI-compatible backend.
type BackendConfig struct {
	Name        string
	BaseURL     string // e.g. http://127.0.0.1:11434/v1
	Model       string // "" = the first model the server lists
	APIKeyEnv   string // the NAME of the environment variable holding the key; the key itself is never stored
	Headers     map[string]string
	Context     int      // context window in tokens; 0 = unknown
	MaxTokens   int      // reply cap when a request sets none (default 400)
	Temperature *float64 // nil = the server's default
	Tokenizer   string   // TokenizerAuto, TokenizerLlamaCpp or TokenizerEstimate
	// IncludeUsage asks for the usage chunk (stream_options.include_usage).
	IncludeUsage   bool
	ConnectTimeout time.Duration // TCP/TLS connect (default 5s)
	HeaderTimeout  time.Duration // until the response headers (default 120s)
	IdleTimeout    time.Duration // longest silence mid-stream (default 60s)
	MaxAttempts    int           // requests per generation, retries included (default 4)
	Source         string        // where it was defined: "config.lua:12" or "environment"
}

func (b BackendConfig) withDefaults() BackendConfig {
	if b.ConnectTimeout <= 0 {
		b.ConnectTimeout = DefaultConnectTimeout
	}
	if b.HeaderTimeout <= 0 {
		b.HeaderTimeout = DefaultHeaderTimeout
	}
	if b.IdleTimeout <= 0 {
		b.IdleTimeout = DefaultIdleTimeout
	}
	if b.MaxAttempts <= 0 {
		b.MaxAttempts = DefaultMaxAttempts
	}
	if b.MaxTokens <= 0 {
		b.MaxTokens = DefaultMaxTokens
	}
	return b
}

// LocalServer is an address probed when no backend is configured.
type LocalServer struct {
	Name    string // "ollama", "llamacpp"
	BaseURL string
}

// DefaultLocalServers are probed, in order, when no default backend is
// configured: Ollama on 11434, then llama.cpp server on 8080.
func DefaultLocalServers() []LocalServer {
	return []LocalServer{
		{Name: "ollama", BaseURL: "http://127.0.0.1:11434/v1"},
		{Name: "llamacpp", BaseURL: "http://127.0.0.1:8080/v1"},
	}
}

// Config is the user's backend configuration: config.lua plus the
// environment overrides.
type Config struct {
	Path  string // the config file looked for
	Found bool   // whether it existed
	// Default names the backend used when none is asked for; "" = probe the
	// local servers, else the offline renderer.
	Default       string
	DefaultSource string // where Default came from: "config.lua:3", "environment"
	Backends      map[string]BackendConfig

	// Local are probed, in order, when there is no Default (nil: the
	// DefaultLocalServers; empty: probe nothing).
	Local        []LocalServer
	ProbeTimeout time.Duration // per local probe (default 300ms)
	// OfflineRender renders replies for the offline backend (the turn loop
	// supplies a Lua template); nil renders a plain reply from the facts.
	OfflineRender RenderFunc
	// Getenv reads API keys (nil: os.Getenv).
	Getenv func(string) string
	// Options are passed to every OpenAI-compatible backend Resolve builds.
	Options []Option
}

// Names lists every backend: the configured ones sorted, then the
// built-ins.
func (c *Config) Names() []string {
	var names []string
	if c != nil {
		for n := range c.Backends {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return append(names, BuiltinOffline, BuiltinScripted)
}

// ConfigError is a problem in config.lua or the environment, with where it
// is.
type ConfigError struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *ConfigError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	}
	return e.Msg
}

// DefaultConfigPath is diorama/config.lua in the user's config directory
// (~/.config/diorama/config.lua on Linux).
func DefaultConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "diorama", "config.lua"), nil
}

// LoadConfig reads the backend config: path ("" = DefaultConfigPath), a Lua
// file returning
//
//	return {
//	  default = "ollama",
//	  backends = {
//	    ollama = { base_url = "http://127.0.0.1:11434/v1", model = "llama3.1:8b", context = 8192 },
//	    openrouter = { base_url = "https://openrouter.ai/api/v1", model = "…", api_key_env = "OPENROUTER_API_KEY" },
//	  },
//	}
//
// evaluated in a sandbox (base, string, table and math only; no io, os or
// load), with unknown keys rejected at file:line. (`local` is a Lua
// keyword: a backend by that name is written ["local"] = { … }.) A missing
// file is an empty config. Then DIORAMA_BASE_URL, DIORAMA_MODEL and
// DIORAMA_API_KEY_ENV, read through getenv, define or override the backend
// "env" and make it the default.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := &Config{Backends: map[string]BackendConfig{}, Getenv: getenv}
	if path == "" {
		p, err := DefaultConfigPath()
		if err == nil {
			path = p
		}
	}
	cfg.Path = path
	if path != "" {
		src, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read backend config: %w", err)
		default:
			cfg.Found = true
			if err := parseConfig(cfg, path, src); err != nil {
				return nil, err
			}
		}
	}
	if err := applyEnv(cfg, getenv); err != nil {
		return nil, err
	}
	return cfg, nil
}

// applyEnv applies the DIORAMA_* overrides.
func applyEnv(cfg *Config, getenv func(string) string) error {
	baseURL := strings.TrimSpace(getenv("DIORAMA_BASE_URL"))
	model := strings.TrimSpace(getenv("DIORAMA_MODEL"))
	keyEnv := strings.TrimSpace(getenv("DIORAMA_API_KEY_ENV"))
	if baseURL == "" && model == "" && keyEnv == "" {
		return nil
	}
	b, ok := cfg.Backends[EnvBackend]
	if !ok {
		// Start from the configured default, so DIORAMA_MODEL alone
		// switches the model on the usual server.
		if d, ok := cfg.Backends[cfg.Default]; ok {
			b = d
			b.Headers = copyHeaders(d.Headers)
		}
	}
	b.Name = EnvBackend
	b.Source = "environment"
	if baseURL != "" {
		b.BaseURL = baseURL
	}
	if model != "" {
		b.Model = model
	}
	if keyEnv != "" {
		b.APIKeyEnv = keyEnv
	}
	if b.BaseURL == "" {
		return &ConfigError{Msg: "DIORAMA_MODEL or DIORAMA_API_KEY_ENV is set but DIORAMA_BASE_URL is not, and no default backend gives a base URL: set DIORAMA_BASE_URL (e.g. http://127.0.0.1:11434/v1)"}
	}
	if err := checkURL(b.BaseURL); err != nil {
		return &ConfigError{Msg: "DIORAMA_BASE_URL: " + err.Error()}
	}
	cfg.Backends[EnvBackend] = b
	cfg.Default, cfg.DefaultSource = EnvBackend, "environment"
	return nil
}

func copyHeaders(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = v
	}
	return out
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL (e.g. http://127.0.0.1:11434/v1)", s)
	}
	return nil
}
