package lua

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"diorama/core"
	"diorama/core/backend"
)

// TestOptions tunes RunTests.
type TestOptions struct {
	Run     *regexp.Regexp // only tests whose name matches; nil runs all
	Timeout time.Duration  // per test (CPU time of its Lua; default 30s)
	Options Options        // for the pack's own VM
}

// TestResult is the outcome of one pack test.
type TestResult struct {
	File     string // the test file, as a path under the pack folder
	Line     int    // where it failed (0 when it passed)
	Name     string
	Passed   bool
	Msg      string
	Duration time.Duration
}

// String renders a failure as "FILE:LINE: test "NAME": message".
func (r TestResult) String() string {
	pos := r.File
	if r.Line > 0 {
		pos = fmt.Sprintf("%s:%d", r.File, r.Line)
	}
	if r.Passed {
		return fmt.Sprintf("%s: test %q: ok (%v)", pos, r.Name, r.Duration.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s: test %q: %s", pos, r.Name, r.Msg)
}

// TestReport is the outcome of a pack's tests.
type TestReport struct {
	Results        []TestResult
	Passed, Failed int
}

// RunTests runs the pack tests in dir/tests/*.lua headless: each test gets
// a fresh load of the pack, a fresh in-memory save and the scripted
// backend. A test file registers tests with test(NAME, function(t) ... end).
// Errors are for a pack or a test file that cannot be loaded at all; a
// failing test is a result.
func RunTests(ctx context.Context, dir string, opts TestOptions) (*TestReport, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	files, hash, err := readPack(dir)
	if err != nil {
		return nil, err
	}
	// The pack must load before any test can run.
	probe, err := load(dir, opts.Options, files, hash)
	if err != nil {
		return nil, err
	}
	probe.Close()
	testFiles, err := readTests(dir)
	if err != nil {
		return nil, err
	}
	rep := &TestReport{}
	for _, name := range sortedKeys(testFiles) {
		if err := runTestFile(ctx, dir, name, testFiles, files, hash, opts, rep); err != nil {
			return rep, err
		}
	}
	return rep, runSessions(ctx, dir, files, hash, opts, rep)
}

// readTests reads tests/*.lua (and modules below tests/ that they require).
func readTests(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	root := os.DirFS(dir)
	err := fs.WalkDir(root, "tests", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && name == "tests" {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || path.Ext(name) != ".lua" || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		out[name] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read tests of %s: %w", dir, err)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// registered is one test(NAME, fn) of a test file.
type registered struct {
	name  string
	fn    *glua.LFunction
	where Problem
}

// runTestFile loads one test file in its own sandboxed VM and runs its
// tests. Only files directly under tests/ are test files; deeper ones are
// modules for them.
func runTestFile(ctx context.Context, dir, name string, testFiles, packFiles map[string][]byte, hash string, opts TestOptions, rep *TestReport) error {
	if strings.Count(name, "/") != 1 {
		return nil
	}
	all := make(map[string][]byte, len(packFiles)+len(testFiles))
	for k, v := range packFiles {
		all[k] = v
	}
	for k, v := range testFiles {
		all[k] = v
	}
	vmOpts := opts.Options.withDefaults()
	vmOpts.MaxMemory = 1 << 30 // a test drives whole turns, which allocate on the host side
	tp := &Pack{dir: dir, opts: vmOpts, files: all, hash: hash,
		hooks: map[string][]*handler{}, prompts: map[string]*handler{}, eventByID: map[string]*eventDecl{}}
	tp.newVM()
	defer tp.L.Close()
	var tests []registered
	tp.base.RawSetString("test", tp.L.NewFunction(func(L *glua.LState) int {
		n := L.CheckString(1)
		fn := L.CheckFunction(2)
		tests = append(tests, registered{name: n, fn: fn, where: where(L, 1)})
		return 0
	}))
	fn, perr := compileChunk(tp.L, testFiles[name], tp.chunkName(name))
	if perr != nil {
		return &LoadError{Problems: []Problem{*perr}}
	}
	fn.Env = tp.env
	if _, ce := tp.invoke(ctx, &callState{rng: newRand(0, name)}, vmOpts.LoadTimeout, fn, 0); ce != nil {
		at := ce.position(tp.chunkName(name))
		at.Msg = ce.msg
		if _, _, rest, ok := splitWhere(ce.msg); ok {
			at.Msg = rest
		}
		return &LoadError{Problems: []Problem{at}}
	}
	tp.frozen = true
	for _, tc := range tests {
		if opts.Run != nil && !opts.Run.MatchString(tc.name) {
			continue
		}
		start := time.Now()
		res := runOneTest(ctx, tp, dir, name, tc, packFiles, hash, opts)
		res.Duration = time.Since(start)
		rep.Results = append(rep.Results, res)
		if res.Passed {
			rep.Passed++
		} else {
			rep.Failed++
		}
	}
	return nil
}

// harness is one running test: its save, session and scripted backend.
type harness struct {
	tp       *Pack
	rules    *Pack
	log      *core.MemLog
	sess     *core.Session
	gen      *backend.Scripted
	cs       *callState
	failure  *TestResult  // set by a failed expectation
	expectMT *glua.LTable // the metatable of t:expect(V)'s expectations
}

func runOneTest(ctx context.Context, tp *Pack, dir, file string, tc registered, packFiles map[string][]byte, hash string, opts TestOptions) TestResult {
	res := TestResult{File: tp.chunkName(file), Name: tc.name, Line: tc.where.Line}
	fail := func(msg string) TestResult { res.Msg = msg; return res }
	rules, err := load(dir, opts.Options, packFiles, hash)
	if err != nil {
		return fail("load pack: " + oneLine(err.Error()))
	}
	defer rules.Close()
	log, err := core.NewMemLog(rules.World())
	if err != nil {
		return fail(err.Error())
	}
	eng, err := core.NewEngine(ctx, log, log, "main")
	if err != nil {
		return fail(err.Error())
	}
	if _, err := eng.Append(ctx, []core.Draft{{Type: core.TypePackLoaded, Mask: core.MaskAll,
		Payload: &core.PackLoaded{Pack: rules.World().ID, Version: rules.World().Version, Hash: rules.Hash()}}}); err != nil {
		return fail(err.Error())
	}
	gen := backend.NewScripted()
	h := &harness{tp: tp, rules: rules, log: log, gen: gen,
		sess: &core.Session{Engine: eng, Generator: gen, Rules: rules, Recall: log, Context: 8192, ReplyReserve: 512}}
	h.cs = &callState{st: eng.State(), rng: newRand(core.Seed(eng.State()), tc.name), actDeny: "in a test, change the world with t:act{...}"}
	t := h.object()
	_, ce := tp.invoke(ctx, h.cs, opts.Timeout, tc.fn, 0, t)
	if h.failure != nil {
		res.Line, res.Msg = h.failure.Line, h.failure.Msg
		if h.failure.File != "" {
			res.File = h.failure.File
		}
		return res
	}
	if ce != nil {
		at := ce.position(res.File)
		if at.File != "" {
			res.File = at.File
		}
		res.Line = at.Line
		res.Msg = ce.msg
		if _, _, rest, ok := splitWhere(ce.msg); ok {
			res.Msg = rest
		}
		return res
	}
	res.Passed, res.Line = true, 0
	return res
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// refresh points t:state() at the engine's current state.
func (h *harness) refresh() {
	h.cs.st = h.sess.Engine.State()
	h.cs.scratch = nil
	h.cs.version++
	h.cs.cache = nil
}

// fail records a failed expectation at the test line that made it and
// stops the test.
func (h *harness) fail(L *glua.LState, format string, args ...any) {
	at := where(L, 1)
	h.failure = &TestResult{File: at.File, Line: at.Line, Msg: fmt.Sprintf(format, args...)}
	L.RaiseError("%s", h.failure.Msg)
}

// t, the test's handle, and the expectations t:expect(V) returns are
// facades: userdata with a locked metatable of our own, whose only keys are
// the pack-test methods (t:reply, t:say, …; t:expect(V):equals, …; any other
// key reads nil) and which refuse writes. Each method checks its receiver,
// so t.state() or t.say({}, ...) is a clear error. No Go value is reachable
// through them. (They were gopher-luar values: luar's pointer metamethods
// let a test overwrite its handle with t ^ {} or copy it with -t, its
// receiver conversion turned t.state() or t.say({}, "x") into a Go
// nil-pointer panic, and tostring(t) showed a memory address.)

// testMethods are t's methods; each gets L with t at 1 and the arguments
// from 2 on.
var testMethods = map[string]func(h *harness, L *glua.LState) int{
	"reply":    (*harness).reply,
	"summary":  (*harness).summary,
	"say":      (*harness).say,
	"act":      (*harness).act,
	"state":    (*harness).state,
	"prompt":   (*harness).prompt,
	"manifest": (*harness).manifest,
	"expect":   (*harness).expect,
}

// expectation is what t:expect(V) returns.
type expectation struct {
	h *harness
	v glua.LValue
}

// expectMethods are an expectation's methods; each gets L with the
// expectation at 1 and the arguments from 2 on.
var expectMethods = map[string]func(e *expectation, L *glua.LState) int{
	"equals":       (*expectation).equals,
	"contains":     func(e *expectation, L *glua.LState) int { return e.contains(L, false) },
	"not_contains": func(e *expectation, L *glua.LState) int { return e.contains(L, true) },
	"is_true":      (*expectation).isTrue,
	"is_nil":       (*expectation).isNil,
}

// facadeMT builds the metatable of one kind of facade (named kind, its
// methods called as call, e.g. "t:%s(...)"): the userdata's Value must be a
// T for a method to run.
func facadeMT[T any](L *glua.LState, kind, call string, methods map[string]func(T, *glua.LState) int) *glua.LTable {
	index := L.CreateTable(0, len(methods))
	for name, fn := range methods {
		index.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			var v T
			ok := false
			if ud, isUD := L.Get(1).(*glua.LUserData); isUD {
				v, ok = ud.Value.(T)
			}
			if !ok {
				L.RaiseError("%s: call it with a colon on %s (got a %s in its place)", fmt.Sprintf(call, name), kind, L.Get(1).Type())
			}
			return fn(v, L)
		}))
	}
	mt := L.CreateTable(0, 4)
	mt.RawSetString("__index", index)
	mt.RawSetString("__newindex", L.NewFunction(func(L *glua.LState) int {
		L.RaiseError("%s is read-only", kind)
		return 0
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(kind))
		return 1
	}))
	mt.RawSetString("__metatable", glua.LString(lockedMeta))
	return mt
}

// object builds t for one test.
func (h *harness) object() glua.LValue {
	L := h.tp.L
	h.expectMT = facadeMT(L, "an expectation", "t:expect(V):%s(...)", expectMethods)
	t := L.NewUserData()
	t.Value = h
	t.Metatable = facadeMT(L, "the test handle", "t:%s(...)", testMethods)
	return t
}

func (h *harness) bot(L *glua.LState, n int) string {
	id := L.CheckString(n)
	if !h.sess.Engine.State().Cast.IsBot(id) {
		L.ArgError(n, fmt.Sprintf("%q is not a bot of this pack (bots: %s)", id, strings.Join(h.sess.Engine.State().Cast.Bots, ", ")))
	}
	return id
}

// reply queues the next reply of a bot and the state update after it.
func (h *harness) reply(L *glua.LState) int {
	id := h.bot(L, 2)
	text := L.CheckString(3)
	update := "[]"
	if v := L.Get(4); v != glua.LNil {
		tbl, ok := v.(*glua.LTable)
		if !ok {
			L.ArgError(4, "want a list of command tables or nil")
		}
		g, err := h.tp.toGo(tbl, 0)
		if err != nil {
			L.ArgError(4, err.Error())
		}
		if m, isMap := g.(map[string]any); isMap && len(m) == 0 {
			g = []any{}
		}
		b, err := json.Marshal(g)
		if err != nil {
			L.ArgError(4, err.Error())
		}
		update = string(b)
	}
	h.gen.Push(id, core.PurposeReply, text)
	h.gen.Push(id, core.PurposeStateUpdate, update)
	return 0
}

// summary is t:summary(ID, TEXT): the next scene summary of that bot.
// Without one, the engine writes the offline summary: a test never fails
// for want of a queued summary.
func (h *harness) summary(L *glua.LState) int {
	id := h.bot(L, 2)
	h.gen.Push(id, core.PurposeSummary, L.CheckString(3))
	return 0
}

// state is t:state(): a read-only view of the current state.
func (h *harness) state(L *glua.LState) int {
	h.refresh()
	L.Push(h.tp.newS())
	return 1
}

// say plays a full turn; a turn that fails fails the test.
func (h *harness) say(L *glua.LState) int {
	line := L.CheckString(2)
	res, err := h.sess.Turn(L.Context(), line, core.TurnObserver{})
	h.refresh()
	if err != nil {
		h.fail(L, "t:say(%q): %s", line, oneLine(err.Error()))
	}
	for _, e := range res.HookErrors {
		h.fail(L, "t:say(%q): %s", line, oneLine(e))
	}
	return 0
}

// act applies one command with what follows from it under the pack's rules
// (story-event hooks, time-skip rules); a rejection raises a Lua error with
// the core's reason (catch it with pcall to test a rejection).
func (h *harness) act(L *glua.LState) int {
	tbl := L.CheckTable(2)
	g, err := h.tp.toGo(tbl, 0)
	if err != nil {
		L.ArgError(2, err.Error())
	}
	m, ok := g.(map[string]any)
	if !ok {
		L.ArgError(2, "want a command table like { op = \"move\", who = ..., ... }")
	}
	cmd, err := core.CommandFromMap(m)
	var problems []string
	if err == nil {
		_, problems, err = h.sess.Act(L.Context(), cmd)
	}
	h.refresh()
	if err != nil {
		L.RaiseError("rejected: %s", err.Error())
	}
	for _, p := range problems {
		h.fail(L, "t:act: %s", oneLine(p))
	}
	return 0
}

// lastPrompt returns the last prompt built for a bot, building one now if
// no turn has built it yet.
func (h *harness) lastPrompt(L *glua.LState, id string) core.Prompt {
	if pr, ok := h.sess.LastPrompts[id]; ok {
		return pr
	}
	pr, err := h.sess.Prompt(L.Context(), id)
	if err != nil {
		L.RaiseError("prompt for %s: %s", id, oneLine(err.Error()))
	}
	return pr
}

func (h *harness) prompt(L *glua.LState) int {
	L.Push(glua.LString(h.lastPrompt(L, h.bot(L, 2)).Text()))
	return 1
}

func (h *harness) manifest(L *glua.LState) int {
	pr := h.lastPrompt(L, h.bot(L, 2))
	b, err := json.Marshal(pr.Manifest)
	if err != nil {
		L.RaiseError("manifest: %s", err.Error())
	}
	var v any
	_ = json.Unmarshal(b, &v)
	lv, err := h.tp.toLua(v, 0)
	if err != nil {
		L.RaiseError("manifest: %s", err.Error())
	}
	L.Push(lv)
	return 1
}

// expect is t:expect(V): an expectation on V with equals, contains,
// not_contains, is_true and is_nil.
func (h *harness) expect(L *glua.LState) int {
	e := L.NewUserData()
	e.Value = &expectation{h: h, v: L.Get(2)}
	e.Metatable = h.expectMT
	L.Push(e)
	return 1
}

// equals is :equals(X): deep equality (tables compared by content).
func (e *expectation) equals(L *glua.LState) int {
	want := L.Get(2)
	if !e.h.equal(e.v, want) {
		e.h.fail(L, "expected %s, got %s", e.h.show(want), e.h.show(e.v))
	}
	return 0
}

// isTrue is :is_true().
func (e *expectation) isTrue(L *glua.LState) int {
	if e.v != glua.LTrue {
		e.h.fail(L, "expected true, got %s", e.h.show(e.v))
	}
	return 0
}

// isNil is :is_nil().
func (e *expectation) isNil(L *glua.LState) int {
	if e.v != glua.LNil {
		e.h.fail(L, "expected nil, got %s", e.h.show(e.v))
	}
	return 0
}

// contains is :contains(S) (a substring of a string, or an element of a
// list) and, negated, :not_contains(S).
func (e *expectation) contains(L *glua.LState, negate bool) int {
	h, v, want := e.h, e.v, L.Get(2)
	found := false
	switch x := v.(type) {
	case glua.LString:
		s, ok := want.(glua.LString)
		if !ok {
			h.fail(L, "contains: want a string to look for in a string, got %s", h.show(want))
		}
		found = strings.Contains(string(x), string(s))
	case *glua.LTable:
		t := h.tp.resolve(x)
		for i := 1; i <= t.Len(); i++ {
			if h.equal(t.RawGetInt(i), want) {
				found = true
				break
			}
		}
	default:
		h.fail(L, "contains: want a string or a list, got %s", h.show(v))
	}
	if found == negate {
		if negate {
			h.fail(L, "expected %s not to contain %s", clipShow(h.show(v)), h.show(want))
		}
		h.fail(L, "expected %s to contain %s", clipShow(h.show(v)), h.show(want))
	}
	return 0
}

func (h *harness) equal(a, b glua.LValue) bool {
	ga, errA := h.tp.toGo(a, 0)
	gb, errB := h.tp.toGo(b, 0)
	if errA != nil || errB != nil {
		return a == b
	}
	return reflect.DeepEqual(ga, gb)
}

// show renders a value for a failure message: strings quoted, tables as
// JSON.
func (h *harness) show(v glua.LValue) string {
	switch x := v.(type) {
	case glua.LString:
		return fmt.Sprintf("%q", string(x))
	case *glua.LTable:
		g, err := h.tp.toGo(x, 0)
		if err == nil {
			if b, err := json.Marshal(g); err == nil {
				return string(b)
			}
		}
	}
	return v.String()
}

// clipShow keeps long values (a whole prompt) readable in one line.
func clipShow(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:100] + " … " + s[len(s)-80:]
}

// PackTests reports whether dir has a tests folder.
func PackTests(dir string) bool {
	info, err := os.Stat(filepath.Join(dir, "tests"))
	return err == nil && info.IsDir()
}
