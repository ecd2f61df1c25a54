package lua

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"
)

// watchdogTick is how often a call's allocations are sampled.
const watchdogTick = time.Millisecond

// memGuard enforces a call's memory cap. gopher-lua cannot account for its
// allocations, so the guard watches the process: the cumulative bytes
// allocated (cheap to read) say when to look closer, and a forced GC then
// tells garbage from growth. A call fails only when the live heap grew by
// more than the cap since it began: a hook that churns through garbage
// (every Lua number operation allocates) is never stopped for it. The
// process-wide view cannot tell goroutines apart, so live growth elsewhere
// at the same time counts against the call; the cap is generous for that.
type memGuard struct {
	mu      sync.Mutex
	limit   uint64
	base    uint64 // cumulative allocations when last checked
	heap0   uint64 // heap bytes (live and unswept) when the call began, lowered to the live heap at the first check
	tripped bool
}

func newMemGuard(limit uint64) *memGuard {
	h, a := heapStats()
	return &memGuard{limit: limit, base: a, heap0: h}
}

// over reports whether the call, about to allocate extra more bytes, is
// over its cap.
func (g *memGuard) over(extra uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tripped {
		return true
	}
	if _, allocs := heapStats(); allocs+extra-g.base <= g.limit {
		return false
	}
	runtime.GC()
	heap, allocs := heapStats()
	if heap < g.heap0 {
		// The baseline held garbage of earlier work: measure growth from
		// here (so a call may grow by up to twice its cap before it fails).
		g.heap0 = heap
	}
	if heap+extra-g.heap0 > g.limit {
		g.tripped = true
		return true
	}
	g.base = allocs
	return false
}

var heapSamples = []string{"/memory/classes/heap/objects:bytes", "/gc/heap/allocs:bytes"}

// heapStats returns the bytes of heap objects (live, plus dead ones not yet
// swept) and the cumulative bytes allocated by the process.
func heapStats() (heap, allocs uint64) {
	var s [2]metrics.Sample
	s[0].Name, s[1].Name = heapSamples[0], heapSamples[1]
	metrics.Read(s[:])
	if s[0].Value.Kind() == metrics.KindUint64 {
		heap = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		allocs = s[1].Value.Uint64()
	}
	return heap, allocs
}

// callErr is the raw outcome of a failed call: the Lua error text (position
// prefix included when Lua gave one) and, when the call was stopped from
// outside, the cause (ErrTimeout, ErrMemory or the caller's ctx error).
type callErr struct {
	msg      string
	trace    string
	cause    error
	rejected error
}

// invoke calls fn with args under a deadline and the memory cap, with cs as
// the current call. p.mu must be held.
func (p *Pack) invoke(ctx context.Context, cs *callState, timeout time.Duration, fn *glua.LFunction, nret int, args ...glua.LValue) ([]glua.LValue, *callErr) {
	if err := ctx.Err(); err != nil {
		return nil, &callErr{msg: err.Error(), cause: err}
	}
	// The deadline is on the CPU time of the thread running the call where
	// the OS can tell (Linux), with a wall-clock backstop well beyond it;
	// elsewhere it is on wall time.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	clock, cpu := threadCPUClock()
	wall := timeout
	if cpu {
		wall = 10*timeout + time.Second
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tctx, tcancel := context.WithTimeoutCause(ctx, wall, ErrTimeout)
	defer tcancel()
	cs.ctx, cs.cancel, cs.timeout = tctx, cancel, timeout
	cs.mem = newMemGuard(uint64(p.opts.MaxMemory))

	done := make(chan struct{})
	wd := &watch{ctx: tctx, cancel: cancel, mem: cs.mem, done: done}
	if cpu {
		wd.clock, wd.cpu0, wd.budget = clock, clock(), timeout
	}
	go wd.run()
	defer close(done)

	L := p.L
	p.cur = cs
	L.SetContext(tctx)
	err := L.CallByParam(glua.P{Fn: fn, NRet: nret, Protect: true}, args...)
	var rets []glua.LValue
	if err == nil {
		rets = make([]glua.LValue, nret)
		for i := 0; i < nret; i++ {
			rets[i] = L.Get(-nret + i)
		}
	}
	L.RemoveContext()
	L.SetTop(0)
	p.cur = nil
	if err == nil {
		return rets, nil
	}
	raw := luaErrorText(err)
	ce := &callErr{msg: clearMsg(raw)}
	var ae *glua.ApiError
	if errors.As(err, &ae) {
		ce.trace = ae.StackTrace
	}
	if tctx.Err() != nil {
		ce.cause = context.Cause(tctx)
		file, line, _, ok := splitWhere(ce.msg)
		var what string
		switch {
		case errors.Is(ce.cause, ErrTimeout):
			what = fmt.Sprintf("timed out after %v (an endless loop or too much work?)", timeout)
		case errors.Is(ce.cause, ErrMemory):
			what = fmt.Sprintf("memory limit exceeded (%s per call)", sizeString(int64(cs.mem.limit)))
		default:
			what = "stopped: " + ce.cause.Error()
		}
		if ok {
			ce.msg = Problem{File: file, Line: line, Msg: what}.String()
		} else {
			ce.msg = what
		}
		return nil, ce
	}
	if cs.rejected != nil && strings.Contains(raw, cs.rejected.Error()) {
		ce.rejected = cs.rejected
	}
	return nil, ce
}

// watch cancels a call that is over its memory cap or, when the thread's
// CPU clock is available, its CPU-time budget.
type watch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	mem    *memGuard
	done   <-chan struct{}
	clock  func() time.Duration
	cpu0   time.Duration
	budget time.Duration
}

func (w *watch) run() {
	t := time.NewTicker(watchdogTick)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-w.ctx.Done():
			return
		case <-t.C:
			if w.clock != nil && w.clock()-w.cpu0 > w.budget {
				w.cancel(ErrTimeout)
				return
			}
			if w.mem.over(0) {
				w.cancel(ErrMemory)
				return
			}
		}
	}
}

// charge is called by builtins before they allocate n bytes: it refuses
// the allocation when the current call would go over its memory cap.
func (p *Pack) charge(L *glua.LState, what string, n int) {
	if n > maxString {
		L.RaiseError("%s: result would be %s (limit %s)", what, sizeString(int64(n)), sizeString(maxString))
	}
	cs := p.cur
	if cs == nil || cs.mem == nil {
		return
	}
	if cs.mem.over(uint64(n)) {
		cs.cancel(ErrMemory)
		L.RaiseError("%s: memory limit exceeded (%s per call)", what, sizeString(int64(cs.mem.limit)))
	}
}

// checkBudget reports whether the current call must stop (used by long
// builtins that never return to the VM's own context check).
func (p *Pack) checkBudget() error {
	cs := p.cur
	if cs == nil || cs.ctx == nil {
		return nil
	}
	if cs.ctx.Err() != nil {
		return context.Cause(cs.ctx)
	}
	return nil
}

// luaErrorText extracts the message of a gopher-lua error without its
// stack traceback.
func luaErrorText(err error) string {
	var ae *glua.ApiError
	if !errors.As(err, &ae) {
		return err.Error()
	}
	switch obj := ae.Object.(type) {
	case glua.LString:
		msg := string(obj)
		if msg == "lua callstack overflow" {
			return "call stack overflow (recursion too deep?)"
		}
		if strings.HasPrefix(msg, "registry overflow") || strings.HasSuffix(msg, ": registry overflow") {
			return strings.TrimSuffix(msg, "registry overflow") + "too many values on the Lua stack"
		}
		return msg
	case nil:
		return err.Error()
	case *glua.LNilType:
		return "error(nil)"
	default:
		return fmt.Sprintf("error object is a %s value", obj.Type())
	}
}

// maxErrorMsg bounds the message of a failed call, in bytes.
const maxErrorMsg = 2000

// clearMsg makes the message of a failed call fit to show on one line: a
// pack's error(...) text can hold anything, so control characters (newlines,
// terminal escapes) are escaped as \n, \r, \xNN or \uNNNN, and a message
// longer than maxErrorMsg (error(string.rep("x", 4e6)) would otherwise hand
// the host megabytes) is cut, saying how long it was.
func clearMsg(msg string) string {
	clean := true
	for i := 0; i < len(msg); i++ {
		if c := msg[i]; c < 0x20 && c != '\t' || c == 0x7f || c == 0xc2 { // 0xc2 may start a C1 control
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		for i := 0; i < len(msg); {
			r, size := utf8.DecodeRuneInString(msg[i:])
			switch {
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r < 0x20 && r != '\t' || r == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r >= 0x80 && r <= 0x9f && size == 2: // C1 controls (0x9b is a terminal's CSI)
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteString(msg[i : i+size])
			}
			i += size
		}
		msg = b.String()
	}
	if len(msg) > maxErrorMsg {
		cut := maxErrorMsg
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = fmt.Sprintf("%s… (%s in all)", msg[:cut], sizeString(int64(len(msg))))
	}
	return msg
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
