package lua_test

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"diorama/lua"
)

// TestLimits: runaway hooks are stopped with an error naming the hook, and
// the pack goes on working.
func TestLimits(t *testing.T) {
	// Cases that test a cap rather than the deadline get time to reach it,
	// even under the race detector.
	roomy := lua.Options{HookTimeout: 10 * time.Second}
	cases := []struct {
		name  string
		code  string
		opts  lua.Options
		cause error  // errors.Is target, or nil
		want  string // in the message
	}{
		{"endless loop", `while true do end`, lua.Options{}, lua.ErrTimeout, "timed out after 50ms"},
		{"endless loop in pcall", `while true do pcall(function() while true do end end) end`, lua.Options{}, lua.ErrTimeout, "timed out"},
		{"recursion", `local function f(n) return f(n + 1) + 1 end f(1)`, roomy, nil, "call stack overflow"},
		{"pcall recursion", `local function f() pcall(f) error("deep") end f()`, roomy, nil, ""},
		{"string.rep bomb", `local x = string.rep("x", 1e9)`, roomy, nil, "string.rep: result would be 953.7 MiB (limit 4 MiB)"},
		{"string.rep method", `local x = ("xy"):rep(1e8)`, roomy, nil, "string.rep: result would be"},
		{"doubling", `local x = "x" for i = 1, 40 do x = x .. x end`, lua.Options{HookTimeout: 10 * time.Second, MaxMemory: 16 << 20}, lua.ErrMemory, "memory limit exceeded (16 MiB per call)"},
		{"rep loop", `local t = {} for i = 1, 1e6 do t[i] = string.rep("x", 1e6) .. i end`, lua.Options{HookTimeout: 10 * time.Second}, lua.ErrMemory, "memory limit exceeded"},
		{"huge table", `local t = {} for i = 1, 1e9 do t[i] = { i } end`, lua.Options{HookTimeout: 10 * time.Second}, lua.ErrMemory, "memory limit exceeded"},
		{"huge table, small cap", `local t = {} for i = 1, 1e9 do t[i] = i end`, lua.Options{HookTimeout: 10 * time.Second, MaxMemory: 8 << 20}, lua.ErrMemory, "memory limit exceeded (8 MiB per call)"},
		{"table.concat", `local t = {} local s = string.rep("x", 1e6) for i = 1, 10 do t[i] = s end local x = table.concat(t)`, roomy, nil, "table.concat: result longer than 4 MiB"},
		{"gsub", `local x = string.gsub(string.rep("x", 1e5), "x", string.rep("y", 100))`, roomy, nil, "string.gsub: result longer than 4 MiB"},
		{"format", `local x = string.format("%99d%99d", 1, 2) .. string.format("%100d", 1)`, roomy, nil, "width or precision longer than two digits"},
		{"pattern bomb", `string.find(string.rep("a", 3000), ".-.-.-.-.-b")`, lua.Options{}, lua.ErrTimeout, "timed out"},
		{"greedy pattern", `string.match(string.rep("a", 200000), ".*b")`, roomy, nil, "pattern too complex"},
		{"gmatch bomb", `for w in string.gmatch(string.rep("a", 3000), "(.-)(.-)(.-)b") do end`, lua.Options{}, lua.ErrTimeout, "timed out"},
		{"unpack", `local t = {} for i = 1, 100000 do t[i] = i end local a = { unpack(t) }`, roomy, nil, "unpack: too many results"},
		{"string.byte", `local x = { string.byte(string.rep("x", 100000), 1, -1) }`, roomy, nil, "string.byte: too many results"},
		{"too many commands", `for i = 1, 2000 do s.act.set_mood{ who = "jun", mood = "m" .. i } end`, lua.Options{HookTimeout: 10 * time.Second}, nil, "too many commands from one call (limit 1000)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustLoad(t, "on(\"turn_start\", function(s)\n  "+tc.code+"\nend)\n"+goodHook, tc.opts)
			st := stateOf(t, p.World())
			start := time.Now()
			_, err := p.RunHook(bg, "turn_start", st, 1)
			took := time.Since(start)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `hook "turn_start" (`) {
				t.Errorf("error %q does not name the hook", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("error %q is not %v", msg, tc.cause)
			}
			if took > 30*time.Second { // CPU-time deadlines: a busy machine stretches wall time
				t.Errorf("took %v to stop", took)
			}
			cmds, err := p.RunHook(bg, "reply", st, 1)
			if err != nil || len(cmds) != 1 {
				t.Fatalf("the pack broke: %v %v", cmds, err)
			}
		})
	}
}

// TestChurnIsNotAMemoryBomb: a hook that allocates a lot of garbage but
// keeps little is not stopped for memory.
func TestChurnIsNotAMemoryBomb(t *testing.T) {
	p := mustLoad(t, `on("turn_start", function(s)
  local n = 0
  for i = 1, 300 do
    local x = string.rep("x", 1e6) .. i
    n = n + #x
  end
  log(n)
end)`, lua.Options{HookTimeout: 10 * time.Second, MaxMemory: 32 << 20})
	if _, err := p.RunHook(bg, "turn_start", stateOf(t, p.World()), 1); err != nil {
		t.Fatal(err)
	}
}

func TestCallerContext(t *testing.T) {
	p := mustLoad(t, `on("turn_start", function(s) while true do end end)`, lua.Options{HookTimeout: time.Minute})
	ctx, cancel := contextWithTimeout(20 * time.Millisecond)
	defer cancel()
	_, err := p.RunHook(ctx, "turn_start", stateOf(t, p.World()), 1)
	if err == nil || !strings.Contains(err.Error(), "stopped: context deadline exceeded") {
		t.Fatalf("err %v", err)
	}
}

// TestDeadlineIsCPUTime: on Linux a hook's deadline counts the CPU time it
// uses, not the time it waits while the machine is busy (a local model
// server at full tilt): a hook that needs about 12ms of CPU passes a 100ms
// deadline even when it gets a fraction of a core. (The margin is wide: on
// a machine whose two CPUs are hyperthreads of one core, the same work
// costs two to four times the CPU time when the sibling is busy too.)
func TestDeadlineIsCPUTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CPU-time deadlines need Linux; elsewhere the deadline is wall time")
	}
	if raceEnabled {
		t.Skip("the race detector distorts CPU timings")
	}
	p := mustLoad(t, `on("turn_start", function(s, n) local x = 0 for i = 1, n do x = x + i % 7 end end)`,
		lua.Options{HookTimeout: 100 * time.Millisecond})
	st := stateOf(t, p.World())
	// Calibrate: iterations for about 12ms of work.
	n := 100000
	for {
		start := time.Now()
		if _, err := p.RunHook(bg, "turn_start", st, 1, n); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 10*time.Millisecond {
			n = int(float64(n) * float64(12*time.Millisecond) / float64(d))
			break
		}
		n *= 2
	}
	// Contention: more busy goroutines than cores.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4*runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for j := 0; j < 1e5; j++ {
				}
			}
		}()
	}
	start := time.Now()
	_, err := p.RunHook(bg, "turn_start", st, 1, n)
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("a 12ms hook failed under contention after %v: %v", took, err)
	}
	if took < 100*time.Millisecond {
		t.Logf("no contention to speak of (took %v): the test proves little this time", took)
	}
}
