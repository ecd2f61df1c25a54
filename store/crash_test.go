package store_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"diorama/core"
	"diorama/store"
	"diorama/store/storetest"
)

// crashEnv names the save TestCrashChild appends to; unset, it skips.
const crashEnv = "DIORAMA_CRASH_CHILD_SAVE"

// crashTurnSize is how many events turn n has: they vary, so a half turn
// cannot pass for a whole one.
func crashTurnSize(turn int64) int { return 2 + int(turn%5) }

// crashFact is the text of event i of turn n.
func crashFact(turn int64, i, n int) string {
	// Long enough that a turn spans several pages of the WAL.
	return fmt.Sprintf("turn %d event %d of %d %s", turn, i, n, strings.Repeat("x", 900))
}

// TestCrashChild is the child of TestCrash: it appends turns to the save
// forever, printing "committed N" after each commit, until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	ctx := context.Background()
	s, err := store.Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	st, err := s.LoadState(ctx, store.DefaultBranch)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for {
		turn := st.Turn + 1
		n := crashTurnSize(turn)
		drafts := make([]core.Draft, n)
		for i := range drafts {
			drafts[i] = core.Draft{Type: core.TypeFactNoted, Payload: &core.FactNoted{Who: "mara", Fact: crashFact(turn, i+1, n)}, Mask: 0b010, WorldTime: turn}
		}
		var next *core.State
		if _, err := s.AppendTurn(ctx, store.DefaultBranch, st.LastSeq, drafts, func(evs []core.Event) (*core.State, error) {
			next = st.Clone()
			return next, next.ApplyAll(evs)
		}); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		st = next
		fmt.Printf("committed %d\n", turn)
	}
}

// TestCrash kills a child process appending turns at random moments and
// checks after each kill that the save is intact: every turn reported
// committed is there and whole, no turn is half written, and the head is
// the last whole turn. DIORAMA_CRASH_ITERATIONS sets the number of kills.
func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	iterations := 25
	if v, err := strconv.Atoi(os.Getenv("DIORAMA_CRASH_ITERATIONS")); err == nil && v > 0 {
		iterations = v
	}
	path := filepath.Join(t.TempDir(), "save.db")
	s, err := store.Create(path, storetest.World())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rng := rand.New(rand.NewPCG(2024, 6))
	var last int64 // last turn a child reported committed
	unreported := 0
	for it := range iterations {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of commits, a random moment later.
		killAfter := 1 + rng.IntN(30)
		delay := time.Duration(rng.IntN(2000)) * time.Microsecond
		lines := bufio.NewScanner(out)
		seen, killed := 0, false
		for lines.Scan() {
			line := lines.Text()
			if strings.HasPrefix(line, "error") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("iteration %d: child: %s", it, line)
			}
			if n, ok := strings.CutPrefix(line, "committed "); ok {
				turn, err := strconv.ParseInt(n, 10, 64)
				if err != nil {
					t.Fatalf("child said %q", line)
				}
				if turn != last+1 {
					t.Fatalf("iteration %d: child committed turn %d after %d", it, turn, last)
				}
				last = turn
				seen++
				if seen == killAfter && !killed {
					killed = true
					go func() {
						time.Sleep(delay)
						cmd.Process.Signal(syscall.SIGKILL)
					}()
				}
			}
		}
		err = cmd.Wait()
		if !killed || err == nil {
			t.Fatalf("iteration %d: child ended by itself (%v) after %d commits", it, err, seen)
		}
		got := checkCrashedSave(t, path, last)
		if got > last {
			unreported++
		}
		last = got
	}
	t.Logf("%d kills, %d turns; %d kills fell between a commit and its report", iterations, last, unreported)
}

// checkCrashedSave reopens the save after a kill and checks it; it returns
// the last turn in the save (the reported one, or one more committed just
// before the kill).
func checkCrashedSave(t *testing.T, path string, reported int64) int64 {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	var ok string
	if err := rawDB(t, path).QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
	evs, err := s.Events(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	total, err := s.EventCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int(total) != len(evs) {
		t.Fatalf("%d events in the save, %d on the branch: a turn was written without its head", total, len(evs))
	}
	// Group the path into turns and check each is whole and in order.
	var turn int64
	i := 1 // after world_created
	for i < len(evs) {
		turn++
		n := crashTurnSize(turn)
		if i+n > len(evs) {
			t.Fatalf("turn %d: %d of %d events", turn, len(evs)-i, n)
		}
		for j := range n {
			e := evs[i+j]
			p, err := e.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if e.Turn != turn || p.(*core.FactNoted).Fact != crashFact(turn, j+1, n) {
				t.Fatalf("event %d: turn %d, %.30q: want turn %d event %d of %d", e.Seq, e.Turn, p.(*core.FactNoted).Fact, turn, j+1, n)
			}
		}
		i += n
	}
	if turn != reported && turn != reported+1 {
		t.Fatalf("save ends at turn %d, child reported %d committed", turn, reported)
	}
	st, err := s.LoadState(ctx, store.DefaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	if st.Turn != turn || st.LastSeq != evs[len(evs)-1].Seq {
		t.Fatalf("head at turn %d event %d, want turn %d event %d", st.Turn, st.LastSeq, turn, evs[len(evs)-1].Seq)
	}
	if got := st.Memories; got != int64(len(evs)-1) {
		t.Fatalf("state counts %d memories, want %d", got, len(evs)-1)
	}
	ms, err := s.Memories(ctx, core.MaskAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(evs)-1 || (len(ms) > 0 && ms[len(ms)-1].ID != st.LastSeq) {
		t.Fatalf("%d memory rows, want %d up to event %d", len(ms), len(evs)-1, st.LastSeq)
	}
	return turn
}
