package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"diorama/core"
	"diorama/core/backend"
	"diorama/store"
)

func init() {
	groups = append(groups, group{name: "soak", run: benchSoak, optIn: true})
}

// The soak (issue #10): soakTurns scripted turns in one process on a fresh
// save of the bundled night_drive pack, the memory workers running between
// turns as in the app; both bots answer every line with varied text, and
// every soakSceneTurns turns the car drives on, so the scene ends and each
// bot writes its summary. Memory must stay flat, turn overhead must not
// grow past what the bigger save explains, and nothing may be left running
// once everything is closed.
const (
	soakTurns      = 5_000
	soakSceneTurns = 50 // turns per scene (the car moves on after each)
	soakSeed       = 10
	// soakProfileEV names a file prefix: heap profiles (after a GC) are
	// written to PREFIX-heap-N.pprof at the first and last checkpoints.
	soakProfileEV = "DIORAMA_BENCH_SOAK_PROFILE"
)

// soakStops is where the car goes, in turn.
var soakStops = []string{"gas_station", "lake", "highway"}

// soakReport is what a soak measured.
type soakReport struct {
	turns, window    int               // turns played; the length of the first and last windows
	times            []time.Duration   // each turn's wall time
	cpu              []time.Duration   // the process's CPU time during each turn (GC included)
	parts            []turnTime        // each turn's wall time spent appending and reading the store
	sceneEnd         []bool            // whether the turn ended a scene (summaries: more work)
	rss, heap        map[int]float64   // at turn n (0: before the first): VmRSS in KiB, Go heap in use after a GC in bytes
	copies           map[int]float64   // at turn n: bytes the store's in-memory copies hold (MemoryStatus.CopyBytes)
	mems             map[int]int       // at turn n: memories in the save
	peakKB           float64           // VmHWM at the end
	goroutines       [2]int            // before opening anything, after closing everything
	events           int64             // events in the save at the end
	memories         int               // memory rows at the end
	unembedded       int               // memories the workers had not reached when the turns ended
	moves, summaries int               // scenes ended, summaries written
	rejected         int               // commands refused (should be none)
	workers          store.WorkerStats // what the workers did
	elapsed          time.Duration     // the turns, checkpoints included
	byType           map[string]int    // events by type
}

// rssKB reads a field (VmRSS, VmHWM) of /proc/self/status, in KiB.
func rssKB(field string) (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			if fields := strings.Fields(rest); len(fields) > 0 {
				return strconv.ParseFloat(fields[0], 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// heapAfterGC collects and returns the Go heap in use.
func heapAfterGC() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse)
}

// settleGoroutines waits (briefly) for goroutines that are ending to end and
// returns the count: at most want if they all did.
func settleGoroutines(want int) int {
	deadline := time.Now().Add(3 * time.Second)
	n := runtime.NumGoroutine()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// runSoak plays turns on a fresh save in dir; checkpoints (RSS, heap after
// a GC, progress to w) fall every turns/5 turns, so a 5,000-turn soak
// reports at 1,000 and 5,000 and compares turns 1–1,000 with 4,001–5,000.
func runSoak(ctx context.Context, dir string, turns int, w io.Writer) (*soakReport, error) {
	if turns < 5 {
		return nil, fmt.Errorf("a soak needs at least 5 turns")
	}
	rep := &soakReport{turns: turns, window: turns / 5, rss: map[int]float64{}, heap: map[int]float64{},
		copies: map[int]float64{}, mems: map[int]int{}, byType: map[string]int{}}
	runtime.GC()
	rep.goroutines[0] = settleGoroutines(0)
	if err := soak(ctx, dir, rep, w); err != nil {
		return rep, err
	}
	rep.goroutines[1] = settleGoroutines(rep.goroutines[0])
	return rep, nil
}

// soak does runSoak's work; everything it opens is closed when it returns.
func soak(ctx context.Context, dir string, rep *soakReport, w io.Writer) error {
	pack, err := loadTurnPack()
	if err != nil {
		return err
	}
	defer pack.Close()
	path := filepath.Join(dir, "soak.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
	st, err := store.Create(path, pack.World())
	if err != nil {
		return err
	}
	st.Close()
	rig, err := openPlayingRig(ctx, path, pack)
	if err != nil {
		return err
	}
	defer rig.close()
	if rep.rss[0], err = rssKB("VmRSS"); err != nil {
		return err
	}
	rep.heap[0] = heapAfterGC()

	r := rand.New(rand.NewPCG(soakSeed, 10))
	var lines []string
	start := time.Now()
	for i := 1; i <= rep.turns; i++ {
		line, t, err := rep.turn(ctx, rig, r, i)
		if err != nil {
			return fmt.Errorf("turn %d: %w", i, err)
		}
		lines = append(lines, line)
		rep.times = append(rep.times, t.total)
		rep.cpu = append(rep.cpu, t.cpu)
		rep.parts = append(rep.parts, t)
		rep.sceneEnd = append(rep.sceneEnd, i%soakSceneTurns == 0)
		if i%rep.window == 0 {
			// A checkpoint: resident memory, then the live heap (a GC),
			// and how much of it the store's copies of the memories and
			// the vector index hold: they grow with the story by design.
			if rep.rss[i], err = rssKB("VmRSS"); err != nil {
				return err
			}
			rep.heap[i] = heapAfterGC()
			mst, err := rig.st.MemoryStatus(ctx)
			if err != nil {
				return err
			}
			rep.copies[i], rep.mems[i] = float64(mst.CopyBytes), mst.Memories
			if p := os.Getenv(soakProfileEV); p != "" && (i == rep.window || i == rep.turns) {
				if err := writeHeapProfile(fmt.Sprintf("%s-heap-%d.pprof", p, i)); err != nil {
					return err
				}
			}
			ms := rep.windowMS(rep.times, i-rep.window+1, i)
			fmt.Fprintf(w, "diorama-bench: soak: %d/%d turns, %s; turns %d–%d p50 %.2f ms, p99 %.2f ms; VmRSS %.1f MB, Go heap %.1f MB; %d goroutines\n",
				i, rep.turns, time.Since(start).Round(time.Second), i-rep.window+1, i,
				percentile(slices.Clone(ms), 50), percentile(ms, 99), rep.rss[i]/1024, rep.heap[i]/(1<<20), runtime.NumGoroutine())
		}
	}
	rep.elapsed = time.Since(start)
	rep.workers = rig.workers.Stats()
	mst, err := rig.st.MemoryStatus(ctx)
	if err != nil {
		return err
	}
	rep.memories, rep.unembedded = mst.Memories, mst.Unembedded
	if rep.peakKB, err = rssKB("VmHWM"); err != nil {
		return err
	}
	for _, kb := range rep.rss { // the kernel updates VmHWM lazily
		rep.peakKB = max(rep.peakKB, kb)
	}

	// Every line of the player once, in order: nothing lost, nothing doubled.
	evs, err := rig.st.Events(ctx, store.DefaultBranch)
	if err != nil {
		return err
	}
	var said []string
	for _, e := range evs {
		rep.byType[e.Type]++
		if e.Type != core.TypeLineSaid {
			continue
		}
		p, err := e.Decode()
		if err != nil {
			return fmt.Errorf("event %d: %w", e.Seq, err)
		}
		if l := p.(*core.LineSaid); l.Who == rig.sess.Engine.State().Cast.Player {
			said = append(said, l.Text)
		}
	}
	if !slices.Equal(said, lines) {
		return fmt.Errorf("the log holds %d lines of the player, not the %d played once each in order", len(said), len(lines))
	}
	rep.events = evs[len(evs)-1].Seq
	if got := rep.byType[core.TypeSummaryWritten]; got != rep.summaries {
		return fmt.Errorf("%d summaries in the log, %d written", got, rep.summaries)
	}
	return nil
}

// turn plays turn i: a line addressed to both bots, a varied reply from
// each, state updates that mostly change nothing, now and then a mood, and
// every soakSceneTurns turns the driver's update drives the car on (the
// scene ends; both bots summarize it). It returns the line and the turn's
// wall time; the script is set up outside it.
func (rep *soakReport) turn(ctx context.Context, rig *turnRig, r *rand.Rand, i int) (string, turnTime, error) {
	script := backend.NewScripted() // fresh each turn: Scripted keeps the requests it served
	rig.sess.Generator = script
	s := rig.sess.Engine.State()
	bots := s.Cast.Bots
	line := "Mara, Jun: " + syntheticLine(r, i)
	move := i%soakSceneTurns == 0
	for j, bot := range bots {
		reply := fmt.Sprintf("%s %s", replyTexts[r.IntN(len(replyTexts))], syntheticLine(r, i))
		script.Push(bot, core.PurposeReply, reply)
		update := "[]"
		switch {
		case j == 0 && move:
			to := soakStops[(i/soakSceneTurns-1)%len(soakStops)]
			update = fmt.Sprintf(`[{"op":"move","who":"car","location":%q}]`, to)
			for _, b := range bots {
				script.Push(b, core.PurposeSummary, fmt.Sprintf("%s remembers scene %d: %s", s.Entities[b].Name, s.Scene, syntheticLine(r, i)))
			}
		case r.IntN(8) == 0:
			moods := []string{"tired", "restless", "amused", "wistful", "irritated", "calm"}
			update = fmt.Sprintf(`[{"op":"set_mood","who":%q,"mood":%q}]`, bot, moods[r.IntN(len(moods))])
		}
		script.Push(bot, core.PurposeStateUpdate, update)
	}
	if rig.workers != nil {
		// As in the turn group: the workers finish the last turn's
		// memories (and checkpoint) first, untimed, as while a player
		// types; then they wait while the turn is played.
		if err := rig.workers.CatchUp(ctx); err != nil {
			return line, turnTime{}, err
		}
		rig.workers.Pause()
		defer func() { rig.workers.Resume(); rig.workers.Kick() }()
	}
	rig.log.spent = 0
	rig.recall.spent.Store(0)
	cpu0 := processCPU()
	start := time.Now()
	res, err := rig.sess.Turn(ctx, line, core.TurnObserver{})
	d := turnTime{total: time.Since(start), cpu: processCPU() - cpu0, append: rig.log.spent, recall: time.Duration(rig.recall.spent.Load())}
	if err != nil {
		return line, d, err
	}
	if len(res.Replies) != len(bots) {
		return line, d, fmt.Errorf("%d of %d bots answered", len(res.Replies), len(bots))
	}
	if p := script.Pending(); p != 0 {
		return line, d, fmt.Errorf("%d scripted items left over: %s", p, strings.Join(script.PendingList(), "; "))
	}
	rep.rejected += len(res.Rejected)
	if move {
		if sc := rig.sess.Engine.State().Scene; sc == s.Scene {
			return line, d, fmt.Errorf("the car moved but scene %d did not end", sc)
		}
		rep.moves++
		rep.summaries += len(bots)
	}
	return line, d, nil
}

// thousands writes n with a comma every three digits ("4,001").
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// windowMS is ds of turns from..to (1-based, inclusive) in ms.
func (rep *soakReport) windowMS(ds []time.Duration, from, to int) []float64 {
	var out []float64
	for _, t := range ds[from-1 : to] {
		out = append(out, ms(t))
	}
	return out
}

// splitMS is the wall times of the turns from..to that ended a scene (ends)
// and of the others.
func (rep *soakReport) splitMS(from, to int) (ordinary, ends []float64) {
	for i := from - 1; i < to; i++ {
		if rep.sceneEnd[i] {
			ends = append(ends, ms(rep.times[i]))
		} else {
			ordinary = append(ordinary, ms(rep.times[i]))
		}
	}
	return ordinary, ends
}

func benchSoak(b *bench) ([]result, error) {
	dir, err := os.MkdirTemp(b.dir, "soak-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep, err := runSoak(context.Background(), dir, soakTurns, os.Stderr)
	if err != nil {
		return nil, err
	}
	return rep.results(), nil
}

// results are the table rows of a soak.
func (rep *soakReport) results() []result {
	n, k := rep.turns, rep.window
	mb := func(kb float64) float64 { return kb / 1024 }
	at := thousands
	var series []string
	for t := k; t <= n; t += k {
		series = append(series, fmt.Sprintf("%s: %.1f/%.1f", at(t), mb(rep.rss[t]), rep.heap[t]/(1<<20)))
	}

	played := plain("soak: scripted turns in one process", float64(n), "turns")
	played.Note = fmt.Sprintf("%s; fresh night_drive save, 2 bots answering, memory workers caught up between turns; "+
		"%d events, %d memories (%d not yet embedded at the end), %d scenes ended, %d summaries, %d commands refused",
		rep.elapsed.Round(time.Second), rep.events, rep.memories, rep.unembedded, rep.moves, rep.summaries, rep.rejected)
	rss0 := plain("soak: resident memory (VmRSS) before the first turn", mb(rep.rss[0]), "MB")
	rss0.Note = fmt.Sprintf("Go heap in use after GC %.1f MB", rep.heap[0]/(1<<20))
	rssA := plain("soak: resident memory (VmRSS) at turn "+at(k), mb(rep.rss[k]), "MB")
	rssA.Note = fmt.Sprintf("Go heap in use after GC %.1f MB", rep.heap[k]/(1<<20))
	rssB := atMost("soak: resident memory (VmRSS) at turn "+at(n), mb(rep.rss[n]), "MB", 150)
	rssB.Note = fmt.Sprintf("Go heap in use after GC %.1f MB; peak (VmHWM) %.1f MB", rep.heap[n]/(1<<20), mb(rep.peakKB))
	rssRatio := plain(fmt.Sprintf("soak: VmRSS turn %s ÷ turn %s", at(n), at(k)), rep.rss[n]/rep.rss[k], "×")
	rssRatio.Note = "VmRSS/Go heap MB by turn: " + strings.Join(series, ", ") + "; it follows the live heap times the collector's target (GOGC=200: up to 3×)"
	// The leak check: the live heap less the copies, which hold every
	// memory by design (their size per memory is reported below).
	rest := func(t int) float64 { return rep.heap[t] - rep.copies[t] }
	heapRatio := atMost(fmt.Sprintf("soak: Go heap in use after GC less the in-memory copies, turn %s ÷ turn %s", at(n), at(k)), rest(n)/rest(k), "×", 1.25)
	heapRatio.Note = fmt.Sprintf("%.1f MB and %.1f MB; turn %s ÷ turn %s: %.2f×", rest(k)/(1<<20), rest(n)/(1<<20), at(n), at(n-k), rest(n)/rest(n-k))
	copies := plain("soak: the store's in-memory copies of the memories and the vector index at turn "+at(n), rep.copies[n]/(1<<20), "MB")
	perMemory := 0.0
	if grown := rep.mems[n] - rep.mems[k]; grown > 0 {
		perMemory = (rep.copies[n] - rep.copies[k]) / float64(grown)
	}
	copies.Note = fmt.Sprintf("%.1f MB at turn %s; %d and %d memories: about %.0f bytes a memory, growing with the story by design", rep.copies[k]/(1<<20), at(k), rep.mems[k], rep.mems[n], perMemory)

	window := func(from, to int) (r50, r99 result, p50, p99 float64) {
		wall := rep.windowMS(rep.times, from, to)
		cpu := rep.windowMS(rep.cpu, from, to)
		ord, ends := rep.splitMS(from, to)
		p50, p99 = percentile(slices.Clone(wall), 50), percentile(slices.Clone(wall), 99)
		name := fmt.Sprintf("turns %s–%s", at(from), at(to))
		r50 = plain("soak: turn overhead p50, "+name, p50, "ms")
		r50.Note = fmt.Sprintf("process CPU p50 %.2f ms", percentile(slices.Clone(cpu), 50))
		r99 = plain("soak: turn overhead p99, "+name, p99, "ms")
		// The slow tail: where the slowest 1% of turns spent their time.
		nt, mean := slowTail(slices.Clone(rep.parts[from-1:to]), 100)
		r99.Note = fmt.Sprintf("process CPU p99 %.2f ms; slowest %d: mean %.1f: append %.1f, store reads %.1f (run ahead, overlapping the rest), the rest %.1f; turns ending no scene p99 %.2f ms; %d scene-ending turns (2 summaries each) median %.2f ms",
			percentile(cpu, 99), nt, ms(mean.total), ms(mean.append), ms(mean.recall), ms(mean.total-mean.append-mean.recall), percentile(ord, 99), len(ends), median(ends))
		return r50, r99, p50, p99
	}
	e50, e99, p50a, p99a := window(1, k)
	l50, l99, p50b, p99b := window(n-k+1, n)
	cpuA, cpuB := rep.windowMS(rep.cpu, 1, k), rep.windowMS(rep.cpu, n-k+1, n)
	a, b := fmt.Sprintf("turns %s–%s", at(n-k+1), at(n)), fmt.Sprintf("turns 1–%s", at(k))
	r50 := atMost(fmt.Sprintf("soak: turn overhead p50 %s ÷ %s", a, b), p50b/p50a, "×", 1.5)
	r50.Note = fmt.Sprintf("process CPU p50 ratio %.2f×", percentile(slices.Clone(cpuB), 50)/percentile(slices.Clone(cpuA), 50))
	r99 := atMost(fmt.Sprintf("soak: turn overhead p99 %s ÷ %s", a, b), p99b/p99a, "×", 1.5)
	r99.Note = fmt.Sprintf("process CPU p99 ratio %.2f×", percentile(cpuB, 99)/percentile(cpuA, 99))

	gor := atMost("soak: goroutines after closing everything", float64(rep.goroutines[1]), "", float64(rep.goroutines[0]))
	gor.Note = fmt.Sprintf("%d before opening anything", rep.goroutines[0])
	return []result{played, rss0, rssA, rssB, rssRatio, heapRatio, copies, e50, e99, l50, l99, r50, r99, gor}
}
