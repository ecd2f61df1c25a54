package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runBackendsCmd(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(&env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: getenv}, args)
	return code, out.String(), errb.String()
}

func TestBackends(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			w.Write([]byte(`{"object":"list","data":[{"id":"llama3.1:8b","owned_by":"library"}]}`))
		case "/api/version":
			w.Write([]byte(`{"version":"0.5.7"}`))
		case "/api/show":
			w.Write([]byte(`{"parameters":"stop x"}`))
		case "/api/ps":
			w.Write([]byte(`{"models":[]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	cfg := filepath.Join(t.TempDir(), "config.lua")
	os.WriteFile(cfg, []byte(`return {
  default = "home",
  backends = {
    home = { base_url = "`+srv.URL+`/v1", model = "llama3.1:8b", context = 8192 },
    gone = { base_url = "http://`+closed+`/v1", model = "m", api_key_env = "GONE_KEY", connect_timeout = 0.5 },
  },
}
`), 0o644)
	code, out, errs := runBackendsCmd(t, func(string) string { return "" }, "backends", "--config", cfg, "--timeout", "2s")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	t.Log("\n" + out)
	for _, want := range []string{
		"config: " + cfg + "\n",
		"default: home (from " + cfg + ":2)",
		"* home      " + srv.URL + "/v1  model llama3.1:8b  context 8192\n    reachable (ollama 0.5.7), 1 model: llama3.1:8b; server context 2048\n",
		"    warning: Ollama's /v1 endpoint ignores the requested context size",
		"PARAMETER num_ctx 8192",
		"  gone      http://" + closed + "/v1  model m  key $GONE_KEY (UNSET)\n    unreachable: ",
		"cannot connect",
		"  offline   built-in: renders replies from the world state, no model\n",
		"  scripted  built-in: replies queued by tests",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	t.Run("NoConfig", func(t *testing.T) {
		code, out, _ := runBackendsCmd(t, func(string) string { return "" }, "backends", "--config", filepath.Join(t.TempDir(), "none.lua"))
		if code != 0 || !strings.Contains(out, "(not found") || !strings.Contains(out, "default: none configured; without --backend, diorama uses: ") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("EnvOverride", func(t *testing.T) {
		getenv := func(k string) string {
			return map[string]string{"DIORAMA_BASE_URL": srv.URL + "/v1", "DIORAMA_MODEL": "llama3.1:8b"}[k]
		}
		code, out, _ := runBackendsCmd(t, getenv, "backends", "--config", filepath.Join(t.TempDir(), "none.lua"))
		if code != 0 || !strings.Contains(out, "default: env (from environment)") || !strings.Contains(out, "* env ") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("BadConfig", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "config.lua")
		os.WriteFile(bad, []byte("return {\n  bakends = {},\n}\n"), 0o644)
		code, _, errs := runBackendsCmd(t, func(string) string { return "" }, "backends", "--config", bad)
		if code != 1 || !strings.Contains(errs, bad+`:2: unknown key "bakends"`) {
			t.Fatalf("exit %d: %s", code, errs)
		}
	})
}
