package backend

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzConfigLua evaluates mutated config.lua sources, the user's backend
// config, as LoadConfig does. Whatever the source, parseConfig returns a
// config or a *ConfigError at the file (FILE[:LINE]: message, no Lua
// traceback), never panics or hangs past its 2s budget; and a config it
// accepts holds only what the decoder promises: named, non-built-in
// backends with an http(s) base_url, values within their documented
// ranges, and a default that names a backend.
func FuzzConfigLua(f *testing.F) {
	const path = "/home/u/.config/diorama/config.lua"
	for _, s := range []string{
		`return { default = "ollama", backends = { ollama = { base_url = "http://127.0.0.1:11434/v1", model = "llama3.1:8b", context = 8192 } } }`,
		"-- my backends\nlocal ollama = \"http://127.0.0.1:11434/v1\"\nreturn {\n  default = \"ollama\",\n  backends = {\n    ollama = {\n      base_url = ollama,\n      model = \"llama3.1:8b\",\n      context = 8192,\n      max_tokens = 300,\n      temperature = 0.8,\n      idle_timeout = 30,\n    },\n    [\"local\"] = { base_url = \"http://127.0.0.1:8080/v1\", tokenizer = \"llamacpp\", max_attempts = 2 },\n    openrouter = {\n      base_url = \"https://openrouter.ai/api/v1\",\n      model = \"meta-llama/llama-3.1-70b-instruct\",\n      api_key_env = \"OPENROUTER_API_KEY\",\n      headers = { [\"X-Title\"] = \"diorama\" },\n      include_usage = true,\n      header_timeout = 2.5,\n    },\n  },\n}\n",
		`return { backends = { a = { base_url = "http://x", tokenizer = "auto", connect_timeout = 0.5 } }, default = "a" }`,
		"return {\n  backends = {\n    local = { base_url = \"http://x\" },\n  },\n}\n",
		`return { backends = { oai = { base_url = "https://api.openai.com/v1", api_key = "sk-123" } } }`,
		`return { backends = { [1] = {} } }`,
		`return { default = "offline" }`,
		`local t = {} for i = 1, 3 do t["b" .. i] = { base_url = "http://h" .. i } end return { backends = t }`,
		`return { backends = { a = { base_url = "http://" .. string.rep("a", 3) .. ".test", model = ("m"):upper() } } }`,
		`error("no")`, `return 42`, `return`, `local x = nil return { default = x.y }`, `return {`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg := &Config{Backends: map[string]BackendConfig{}}
		start := time.Now()
		err := parseConfig(cfg, path, src)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %v", d)
		}
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if ce.File != path || ce.Line < 0 || !strings.HasPrefix(err.Error(), path) {
				t.Fatalf("error not at the file: %q (file %q, line %d)", err, ce.File, ce.Line)
			}
			if strings.Contains(ce.Msg, "stack traceback:") {
				t.Fatalf("error carries a traceback: %q", err)
			}
			return
		}
		for name, b := range cfg.Backends {
			switch {
			case b.Name != name:
				t.Fatalf("backend %q named %q", name, b.Name)
			case name == BuiltinOffline || name == BuiltinScripted:
				t.Fatalf("built-in %q redefined", name)
			case checkURL(b.BaseURL) != nil:
				t.Fatalf("backend %q: base_url %q", name, b.BaseURL)
			case !strings.HasPrefix(b.Source, path):
				t.Fatalf("backend %q: source %q", name, b.Source)
			case b.Context != 0 && (b.Context < 256 || b.Context > 1<<24),
				b.MaxTokens != 0 && (b.MaxTokens < 1 || b.MaxTokens > 1<<20),
				b.MaxAttempts != 0 && (b.MaxAttempts < 1 || b.MaxAttempts > 10),
				b.Temperature != nil && !(*b.Temperature >= 0 && *b.Temperature <= 2):
				t.Fatalf("backend %q: value out of range: %+v", name, b)
			case b.ConnectTimeout < 0 || b.ConnectTimeout > time.Hour, b.HeaderTimeout < 0 || b.HeaderTimeout > time.Hour,
				b.IdleTimeout < 0 || b.IdleTimeout > time.Hour:
				t.Fatalf("backend %q: timeout out of range: %+v", name, b)
			case b.Tokenizer != TokenizerAuto && b.Tokenizer != TokenizerLlamaCpp && b.Tokenizer != TokenizerEstimate:
				t.Fatalf("backend %q: tokenizer %q", name, b.Tokenizer)
			case strings.HasPrefix(b.APIKeyEnv, "sk-"):
				t.Fatalf("backend %q: a key in api_key_env", name)
			}
		}
		if d := cfg.Default; d != "" && d != BuiltinOffline && d != BuiltinScripted {
			if _, ok := cfg.Backends[d]; !ok {
				t.Fatalf("default %q is not a backend", d)
			}
		}
	})
}
