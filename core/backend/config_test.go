package backend_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"diorama/core/backend"
)

func writeConfig(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

const goodConfig = `-- my backends
local ollama = "http://127.0.0.1:11434/v1"
return {
  default = "ollama",
  backends = {
    ollama = {
      base_url = ollama,
      model = "llama3.1:8b",
      context = 8192,
      max_tokens = 300,
      temperature = 0.8,
      idle_timeout = 30,
    },
    ["local"] = { base_url = "http://127.0.0.1:8080/v1", tokenizer = "llamacpp", max_attempts = 2 },
    openrouter = {
      base_url = "https://openrouter.ai/api/v1",
      model = "meta-llama/llama-3.1-70b-instruct",
      api_key_env = "OPENROUTER_API_KEY",
      headers = { ["X-Title"] = "diorama" },
      include_usage = true,
      header_timeout = 2.5,
    },
  },
}
`

func TestLoadConfig(t *testing.T) {
	t.Run("Good", func(t *testing.T) {
		p := writeConfig(t, goodConfig)
		cfg, err := backend.LoadConfig(p, env())
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.Found || cfg.Default != "ollama" || cfg.DefaultSource != p+":4" {
			t.Fatalf("cfg = %+v", cfg)
		}
		o := cfg.Backends["ollama"]
		if o.BaseURL != "http://127.0.0.1:11434/v1" || o.Model != "llama3.1:8b" || o.Context != 8192 || o.MaxTokens != 300 ||
			o.Temperature == nil || *o.Temperature != 0.8 || o.IdleTimeout != 30*time.Second || o.Source != p+":6" {
			t.Fatalf("ollama = %+v", o)
		}
		if l := cfg.Backends["local"]; l.Tokenizer != backend.TokenizerLlamaCpp || l.MaxAttempts != 2 {
			t.Fatalf("local = %+v", l)
		}
		or := cfg.Backends["openrouter"]
		if or.APIKeyEnv != "OPENROUTER_API_KEY" || or.Headers["X-Title"] != "diorama" || !or.IncludeUsage || or.HeaderTimeout != 2500*time.Millisecond {
			t.Fatalf("openrouter = %+v", or)
		}
		if got, want := strings.Join(cfg.Names(), ","), "local,ollama,openrouter,offline,scripted"; got != want {
			t.Fatalf("names = %s, want %s", got, want)
		}
	})

	t.Run("MissingFileIsEmpty", func(t *testing.T) {
		cfg, err := backend.LoadConfig(filepath.Join(t.TempDir(), "nope.lua"), env())
		if err != nil || cfg.Found || cfg.Default != "" || len(cfg.Backends) != 0 {
			t.Fatalf("cfg %+v, err %v", cfg, err)
		}
	})

	for _, tc := range []struct {
		name, src, want string
	}{
		{"SyntaxError", "return {\n  default = \"x\",\n  backends = { a = { base_url = \"http://x\" } \n  oops\n}\n",
			":4: "},
		{"LocalKeyword", "return {\n  backends = {\n    local = { base_url = \"http://x\" },\n  },\n}\n",
			`:3: syntax error near 'local' (` + "`local`" + ` is a Lua keyword: name that backend ["local"]`},
		{"UnknownTopKey", "return {\n  default = \"offline\",\n  backend = {},\n}\n",
			`:3: unknown key "backend" in the top-level table (did you mean "backends"?)`},
		{"UnknownBackendKey", "return {\n  backends = {\n    ollama = {\n      base_url = \"http://127.0.0.1:11434/v1\",\n      modle = \"llama3\",\n    },\n  },\n}\n",
			`:5: unknown key "modle" in backend "ollama" (did you mean "model"?)`},
		{"APIKeyRefused", "return { backends = { oai = { base_url = \"https://api.openai.com/v1\",\n api_key = \"sk-123\" } } }\n",
			":2: api_key is not accepted: keys are never stored in files"},
		{"KeyNotName", "return { backends = { oai = { base_url = \"https://api.openai.com/v1\",\n api_key_env = \"sk-123\" } } }\n",
			":2: api_key_env is the NAME of an environment variable"},
		{"WrongType", "return {\n backends = {\n  a = {\n   base_url = \"http://x\",\n   context = \"big\",\n  },\n },\n}\n",
			`:5: context must be a number, got string`},
		{"OutOfRange", "return { backends = { a = { base_url = \"http://x\",\n temperature = 5 } } }\n",
			`:2: temperature must be between 0 and 2, got 5`},
		{"NotAURL", "return { backends = { a = {\n base_url = \"127.0.0.1:11434\" } } }\n",
			`:2: base_url: "127.0.0.1:11434" is not an http(s) URL`},
		{"NoBaseURL", "return { backends = {\n a = { model = \"m\" } } }\n",
			`:2: backend "a" needs base_url`},
		{"Builtin", "return { backends = {\n offline = { base_url = \"http://x\" } } }\n",
			`:2: "offline" is a built-in backend and cannot be redefined`},
		{"UnknownDefault", "return {\n default = \"gpt\",\n backends = {} }\n",
			`:2: default "gpt" is not a backend`},
		{"RuntimeError", "local x = nil\nreturn { default = x.y }\n",
			`:2: attempt to index a non-table object(nil)`},
		{"NoIO", "local f = io.open('/etc/passwd')\nreturn {}\n",
			`:1: attempt to index a non-table object(nil)`},
		{"NoLoad", "return load('return 1')()\n", `:1: attempt to call a non-function object`},
		{"NotATable", "return 42\n", "must return a table"},
		// Go cannot recover from running out of memory: a config that
		// grows a string must be stopped before it does.
		{"RepBomb", "return { default = string.rep(\"x\", 2^40) }\n", "string.rep: the result would be longer than"},
		{"ConcatBomb", "local s = \"x\"\nwhile true do s = s .. s end\n", "used more than 64 MiB of memory"},
		{"EndlessLoop", "while true do end\n", "took longer than 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.src)
			_, err := backend.LoadConfig(p, env())
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q\nwant it to start with the file and contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfigEnv(t *testing.T) {
	t.Run("DefineEnvBackend", func(t *testing.T) {
		cfg, err := backend.LoadConfig(filepath.Join(t.TempDir(), "none.lua"),
			env("DIORAMA_BASE_URL", "http://127.0.0.1:1234/v1", "DIORAMA_MODEL", "qwen", "DIORAMA_API_KEY_ENV", "LMS_KEY"))
		if err != nil {
			t.Fatal(err)
		}
		b := cfg.Backends["env"]
		if cfg.Default != "env" || cfg.DefaultSource != "environment" || b.BaseURL != "http://127.0.0.1:1234/v1" || b.Model != "qwen" || b.APIKeyEnv != "LMS_KEY" {
			t.Fatalf("cfg = %+v, env = %+v", cfg, b)
		}
	})
	t.Run("ModelOverridesDefault", func(t *testing.T) {
		p := writeConfig(t, goodConfig)
		cfg, err := backend.LoadConfig(p, env("DIORAMA_MODEL", "mistral"))
		if err != nil {
			t.Fatal(err)
		}
		b := cfg.Backends["env"]
		if cfg.Default != "env" || b.BaseURL != "http://127.0.0.1:11434/v1" || b.Model != "mistral" || b.Context != 8192 {
			t.Fatalf("env = %+v", b)
		}
		if cfg.Backends["ollama"].Model != "llama3.1:8b" {
			t.Fatal("the configured backend was changed")
		}
	})
	t.Run("OverridesEnvBackendFromFile", func(t *testing.T) {
		p := writeConfig(t, "return { backends = { env = { base_url = \"http://127.0.0.1:8080/v1\", model = \"a\", context = 4096 } } }")
		cfg, err := backend.LoadConfig(p, env("DIORAMA_MODEL", "b"))
		if err != nil {
			t.Fatal(err)
		}
		if b := cfg.Backends["env"]; b.Model != "b" || b.Context != 4096 || cfg.Default != "env" {
			t.Fatalf("env = %+v", b)
		}
	})
	t.Run("ModelWithoutURL", func(t *testing.T) {
		_, err := backend.LoadConfig(filepath.Join(t.TempDir(), "none.lua"), env("DIORAMA_MODEL", "x"))
		if err == nil || !strings.Contains(err.Error(), "DIORAMA_BASE_URL") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("BadURL", func(t *testing.T) {
		_, err := backend.LoadConfig(filepath.Join(t.TempDir(), "none.lua"), env("DIORAMA_BASE_URL", "localhost:11434"))
		if err == nil || !strings.Contains(err.Error(), "DIORAMA_BASE_URL") {
			t.Fatalf("err = %v", err)
		}
	})
}
