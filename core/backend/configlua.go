package backend

import (
	"diorama/core"

	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
)

var (
	reSyntax    = regexp.MustCompile(`(?s)^(.*?) line:(\d+)\(column:(\d+)\) near '(.*?)':\s+(.*?)\s*$`)
	reSyntaxEOF = regexp.MustCompile(`(?s)^(.*?) at EOF:\s+(.*?)\s*$`)
	reWhere     = regexp.MustCompile(`(?s)^(.*?):(\d+):\s?(.*)$`)
)

// parseConfig evaluates config.lua and decodes it into cfg.
func parseConfig(cfg *Config, path string, src []byte) error {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 120, RegistrySize: 1024, RegistryMaxSize: 1 << 16})
	defer L.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{"", lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	G := L.G.Global
	for _, name := range []string{"dofile", "loadfile", "load", "loadstring", "require", "module", "print",
		"collectgarbage", "getfenv", "setfenv", "newproxy", "_printregs", "gcinfo"} {
		G.RawSetString(name, lua.LNil)
	}
	if str, ok := G.RawGetString("string").(*lua.LTable); ok {
		str.RawSetString("dump", lua.LNil)
		str.RawSetString("rep", L.NewFunction(configRep))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ctx, over := context.WithCancelCause(ctx)
	defer guardHeap(over, configHeap)()
	L.SetContext(ctx)

	fn, err := L.Load(bytes.NewReader(src), path)
	if err != nil {
		return luaError(path, err)
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		if errors.Is(context.Cause(ctx), errConfigHeap) {
			return &ConfigError{File: path, Msg: fmt.Sprintf("used more than %d MiB of memory to evaluate (a string or table that keeps growing?)", configHeap>>20)}
		}
		if ctx.Err() != nil {
			return &ConfigError{File: path, Msg: "took longer than 2s to evaluate (an endless loop?)"}
		}
		return luaError(path, err)
	}
	ret := L.Get(-1)
	tbl, ok := ret.(*lua.LTable)
	if !ok {
		return &ConfigError{File: path, Msg: fmt.Sprintf("must return a table { default = …, backends = { … } }, got %s", ret.Type())}
	}
	d := &decoder{path: path, pos: fieldPositions(path, src)}
	return d.top(cfg, tbl)
}

// A config is a small table of settings; evaluating it may not take more
// than configHeap of memory, nor make a string longer than configString
// with string.rep: Go cannot recover from running out of memory, so a
// config that grows a string without end would otherwise kill the process.
const (
	configHeap   = 64 << 20
	configString = 1 << 20
)

var errConfigHeap = errors.New("config.lua used too much memory")

// configRep is string.rep with its result capped at configString bytes.
func configRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	if n <= 0 || s == "" {
		L.Push(lua.LString(""))
		return 1
	}
	if n > configString/len(s) {
		L.RaiseError("string.rep: the result would be longer than %d bytes", configString)
	}
	L.Push(lua.LString(strings.Repeat(s, n)))
	return 1
}

// guardHeap watches the Go heap every millisecond and cancels with
// errConfigHeap when it has grown by more than limit since the guard began
// (a string doubled in a loop grows far faster than anything else this
// process does meanwhile). The returned function stops it.
func guardHeap(cancel context.CancelCauseFunc, limit uint64) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	base := read()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if h := read(); h > base && h-base > limit {
					cancel(errConfigHeap)
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// luaError turns a gopher-lua compile or runtime error into file:line.
func luaError(path string, err error) error {
	msg := err.Error()
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Object != nil {
		msg = apiErr.Object.String()
	}
	msg = strings.TrimSpace(msg)
	if m := reSyntax.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		text := fmt.Sprintf("%s near '%s'", m[5], m[4])
		if m[4] == "local" {
			text += " (`local` is a Lua keyword: name that backend [\"local\"] = { … })"
		}
		return &ConfigError{File: path, Line: line, Msg: text}
	}
	if m := reSyntaxEOF.FindStringSubmatch(msg); m != nil {
		return &ConfigError{File: path, Msg: m[2] + " at end of file (an unclosed { or string?)"}
	}
	if m := reWhere.FindStringSubmatch(msg); m != nil && strings.HasSuffix(m[1], filepath.Base(path)) {
		line, _ := strconv.Atoi(m[2])
		rest := m[3]
		if i := strings.Index(rest, "\nstack traceback:"); i >= 0 {
			rest = rest[:i]
		}
		return &ConfigError{File: path, Line: line, Msg: strings.TrimSpace(rest)}
	}
	if i := strings.Index(msg, "\nstack traceback:"); i >= 0 {
		msg = msg[:i]
	}
	return &ConfigError{File: path, Msg: msg}
}

// decoder turns the returned table into a Config, strictly.
type decoder struct {
	path string
	pos  *positions
}

func (d *decoder) errf(keys []string, format string, args ...any) error {
	return &ConfigError{File: d.path, Line: d.pos.line(keys), Msg: fmt.Sprintf(format, args...)}
}

var (
	topKeys     = []string{"default", "backends"}
	backendKeys = []string{"base_url", "model", "api_key_env", "headers", "context", "max_tokens", "temperature",
		"tokenizer", "include_usage", "connect_timeout", "header_timeout", "idle_timeout", "max_attempts"}
)

func (d *decoder) top(cfg *Config, t *lua.LTable) error {
	err := d.each(t, nil, func(key string, v lua.LValue) error {
		switch key {
		case "default":
			s, e := d.str([]string{key}, v)
			if e != nil {
				return e
			}
			cfg.Default = s
			cfg.DefaultSource = d.where([]string{key})
		case "backends":
			bt, ok := v.(*lua.LTable)
			if !ok {
				return d.errf([]string{key}, "backends must be a table of named backends, got %s", v.Type())
			}
			return d.each(bt, []string{key}, func(name string, bv lua.LValue) error {
				keys := []string{"backends", name}
				if name == BuiltinOffline || name == BuiltinScripted {
					return d.errf(keys, "%q is a built-in backend and cannot be redefined; pick another name", name)
				}
				btab, ok := bv.(*lua.LTable)
				if !ok {
					return d.errf(keys, "backend %q must be a table { base_url = …, model = … }, got %s", name, bv.Type())
				}
				b, e := d.backend(name, btab)
				if e != nil {
					return e
				}
				cfg.Backends[name] = b
				return nil
			})
		default:
			return d.unknown([]string{key}, "the top-level table", topKeys)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cfg.Default != "" && cfg.Default != BuiltinOffline && cfg.Default != BuiltinScripted {
		if _, ok := cfg.Backends[cfg.Default]; !ok {
			return d.errf([]string{"default"}, "default %q is not a backend (have: %s)", cfg.Default, strings.Join(cfg.Names(), ", "))
		}
	}
	return nil
}

// each calls f for every string key of t in sorted order (so the first
// error is deterministic); a non-string key is an error.
func (d *decoder) each(t *lua.LTable, keys []string, f func(string, lua.LValue) error) error {
	type kv struct {
		k string
		v lua.LValue
	}
	var kvs []kv
	var bad lua.LValue
	t.ForEach(func(k, v lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			kvs = append(kvs, kv{string(s), v})
		} else if bad == nil {
			bad = k
		}
	})
	if bad != nil {
		return d.errf(keys, "unexpected entry %s in %s: use name = value", bad.String(), describe(keys))
	}
	sort.Slice(kvs, func(i, j int) bool {
		li, lj := d.pos.line(append(append([]string{}, keys...), kvs[i].k)), d.pos.line(append(append([]string{}, keys...), kvs[j].k))
		if li != lj {
			return li < lj
		}
		return kvs[i].k < kvs[j].k
	})
	for _, p := range kvs {
		if e := f(p.k, p.v); e != nil {
			return e
		}
	}
	return nil
}

func describe(keys []string) string {
	if len(keys) == 0 {
		return "the top-level table"
	}
	return strings.Join(keys, ".")
}

func (d *decoder) where(keys []string) string {
	if l := d.pos.line(keys); l > 0 {
		return fmt.Sprintf("%s:%d", d.path, l)
	}
	return d.path
}

func (d *decoder) unknown(keys []string, in string, allowed []string) error {
	k := keys[len(keys)-1]
	if k == "api_key" {
		return d.errf(keys, "api_key is not accepted: keys are never stored in files; put it in an environment variable and name that variable with api_key_env = \"OPENAI_API_KEY\"")
	}
	return d.errf(keys, "unknown key %q in %s%s (known: %s)", k, in, didYouMean(k, allowed), strings.Join(allowed, ", "))
}

func (d *decoder) backend(name string, t *lua.LTable) (BackendConfig, error) {
	b := BackendConfig{Name: name, Source: d.where([]string{"backends", name})}
	err := d.each(t, []string{"backends", name}, func(key string, v lua.LValue) error {
		keys := []string{"backends", name, key}
		var e error
		switch key {
		case "base_url":
			if b.BaseURL, e = d.str(keys, v); e == nil {
				if ue := checkURL(b.BaseURL); ue != nil {
					e = d.errf(keys, "base_url: %v", ue)
				}
			}
		case "model":
			b.Model, e = d.str(keys, v)
		case "api_key_env":
			if b.APIKeyEnv, e = d.str(keys, v); e == nil && strings.HasPrefix(b.APIKeyEnv, "sk-") {
				e = d.errf(keys, "api_key_env is the NAME of an environment variable holding the key (e.g. \"OPENAI_API_KEY\"), not the key itself")
			}
		case "tokenizer":
			if b.Tokenizer, e = d.str(keys, v); e == nil && b.Tokenizer != TokenizerLlamaCpp && b.Tokenizer != TokenizerEstimate && b.Tokenizer != "auto" {
				e = d.errf(keys, "tokenizer must be \"llamacpp\", \"estimate\" or \"auto\", got %q", b.Tokenizer)
			}
			if b.Tokenizer == "auto" {
				b.Tokenizer = TokenizerAuto
			}
		case "headers":
			b.Headers, e = d.headers(keys, v)
		case "context":
			b.Context, e = d.integer(keys, v, 256, 1<<24)
		case "max_tokens":
			b.MaxTokens, e = d.integer(keys, v, 1, 1<<20)
		case "max_attempts":
			b.MaxAttempts, e = d.integer(keys, v, 1, 10)
		case "temperature":
			var f float64
			if f, e = d.number(keys, v, 0, 2); e == nil {
				b.Temperature = &f
			}
		case "include_usage":
			lb, ok := v.(lua.LBool)
			if !ok {
				e = d.errf(keys, "include_usage must be true or false, got %s", v.Type())
			}
			b.IncludeUsage = bool(lb)
		case "connect_timeout", "header_timeout", "idle_timeout":
			var f float64
			if f, e = d.number(keys, v, 0.001, 3600); e == nil {
				dur := time.Duration(f * float64(time.Second))
				switch key {
				case "connect_timeout":
					b.ConnectTimeout = dur
				case "header_timeout":
					b.HeaderTimeout = dur
				default:
					b.IdleTimeout = dur
				}
			}
		default:
			e = d.unknown(keys, "backend "+strconv.Quote(name), backendKeys)
		}
		return e
	})
	if err != nil {
		return b, err
	}
	if b.BaseURL == "" {
		return b, d.errf([]string{"backends", name}, "backend %q needs base_url (e.g. base_url = \"http://127.0.0.1:11434/v1\")", name)
	}
	return b, nil
}

func (d *decoder) str(keys []string, v lua.LValue) (string, error) {
	s, ok := v.(lua.LString)
	if !ok {
		return "", d.errf(keys, "%s must be a string, got %s", keys[len(keys)-1], v.Type())
	}
	return strings.TrimSpace(string(s)), nil
}

func (d *decoder) number(keys []string, v lua.LValue, lo, hi float64) (float64, error) {
	n, ok := v.(lua.LNumber)
	f := float64(n)
	if !ok || math.IsNaN(f) {
		return 0, d.errf(keys, "%s must be a number, got %s", keys[len(keys)-1], v.Type())
	}
	if f < lo || f > hi {
		return 0, d.errf(keys, "%s must be between %g and %g, got %g", keys[len(keys)-1], lo, hi, f)
	}
	return f, nil
}

func (d *decoder) integer(keys []string, v lua.LValue, lo, hi int) (int, error) {
	f, err := d.number(keys, v, float64(lo), float64(hi))
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) {
		return 0, d.errf(keys, "%s must be a whole number, got %g", keys[len(keys)-1], f)
	}
	return int(f), nil
}

func (d *decoder) headers(keys []string, v lua.LValue) (map[string]string, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, d.errf(keys, "headers must be a table { [\"X-Title\"] = \"diorama\" }, got %s", v.Type())
	}
	h := map[string]string{}
	err := d.each(t, keys, func(k string, hv lua.LValue) error {
		s, ok := hv.(lua.LString)
		if !ok {
			return d.errf(append(append([]string{}, keys...), k), "header %q must be a string, got %s", k, hv.Type())
		}
		h[k] = string(s)
		return nil
	})
	return h, err
}

// didYouMean suggests the closest candidate to s, or "".
func didYouMean(s string, candidates []string) string { return core.DidYouMean(s, candidates) }
