package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"diorama/core"
	"diorama/core/backend"
	"diorama/lua"
	"diorama/store"
)

func init() {
	groups = append(groups,
		group{name: "turn", run: benchTurn},
		group{name: "prompt", run: benchPrompt})
}

// The turn benchmark plays the bundled night_drive pack with the scripted
// backend: everything a turn costs except the model.
const (
	turnPack      = "night_drive"
	turnLine      = "Mara, Jun, what now?"
	turnWarmup    = 10
	turnMeasured  = 200 // per save size
	smallSave     = 1_000
	middleSave    = 10_000
	promptTurns   = 20
	turnProfileEV = "DIORAMA_BENCH_TURN_PROFILE" // write a CPU profile of the measured turns here
)

// packSaves caches the pristine synthetic saves of the pack's world, by
// event count; each use works on a copy, so one group's turns do not
// change what the next group starts from.
var packSaves = map[int]string{}

// packSave returns a copy, named for its user, of a synthetic save of about
// n events in world (built once per program run).
func (b *bench) packSave(world *core.WorldSpec, n int, use string) (string, error) {
	p, ok := packSaves[n]
	if !ok {
		p = filepath.Join(b.dir, fmt.Sprintf("%s-%d.db", world.ID, n))
		_ = os.Remove(p)
		if _, err := generateWorld(p, world, n, 1); err != nil {
			return "", err
		}
		if err := indexSave(p); err != nil {
			return "", err
		}
		packSaves[n] = p
	}
	dst := filepath.Join(b.dir, fmt.Sprintf("%s-%d-%s.db", world.ID, n, use))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(dst + suffix)
		if err := copyFile(p+suffix, dst+suffix); err != nil && !(suffix != "" && os.IsNotExist(err)) {
			return "", err
		}
	}
	return dst, nil
}

// indexSave runs the memory workers over the save at path until every
// memory is embedded, indexed and scored, as a save that has been played
// for a while is: turns then recall through the vector and lexical indexes,
// not the inline fallback for unindexed memories.
func indexSave(path string) error {
	ctx := context.Background()
	pack, err := loadTurnPack()
	if err != nil {
		return err
	}
	defer pack.Close()
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	w := st.StartWorkers(store.WorkerOptions{Scorer: lua.HeuristicScorer{Pack: func() *lua.Pack { return pack }}})
	defer w.Close()
	if err := w.CatchUp(ctx); err != nil {
		return fmt.Errorf("index %s: %w", path, err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Words for synthetic lines: varied enough that the lexical index has work.
var (
	lineOpeners = []string{"Honestly,", "Look,", "Wait,", "Remember when", "I swear", "Dude,", "Sure.", "Okay, so", "Listen,", "Funny thing:"}
	lineMiddles = []string{"the radio keeps cutting out", "we passed that diner twice", "the lake is further than the map says",
		"nobody bought coffee", "your phone has no signal out here", "the gas light came on an hour ago",
		"there was a deer on the shoulder", "the picnic basket is in the trunk", "you never called after the crash",
		"the stars are unreal tonight", "I can't feel my legs", "the cooler is leaking again"}
	lineEnders = []string{"and I'm not saying it again.", "— just saying.", "so keep your eyes on the road.", "right?",
		"which is classic.", "and that's fine.", "if you want my opinion.", "*shrugs*", "*laughs*", "before midnight."}
)

func syntheticLine(r *rand.Rand, i int) string {
	return fmt.Sprintf("%s %s %s (%d)", lineOpeners[r.IntN(len(lineOpeners))], lineMiddles[r.IntN(len(lineMiddles))],
		lineEnders[r.IntN(len(lineEnders))], i)
}

// generateWorld builds a save of about n events in world as generate does,
// and in each turn writes as many line_said events (said by someone random
// of the cast, heard by those in earshot) as other events, so about half the
// save is lines and the store holds a memory row for each. It ends with the
// whole cast back in the car on its start location, a steady scene to play.
func generateWorld(path string, world *core.WorldSpec, n int, seed uint64) (genStats, error) {
	ctx := context.Background()
	st, err := store.Create(path, world)
	if err != nil {
		return genStats{}, err
	}
	defer st.Close()
	eng, err := core.NewEngine(ctx, st, st, store.DefaultBranch)
	if err != nil {
		return genStats{}, err
	}
	r := rand.New(rand.NewPCG(seed, 11))
	var gs genStats
	start := time.Now()
	lines, others := 0, 0
	for written := 1; written < n; {
		cmds := make([]core.Command, 5)
		for i := range cmds {
			cmds[i] = core.SyntheticCommand(r, eng.State())
		}
		drafts, _ := eng.Plan(cmds)
		// Lines first (the talk of the turn), then what it changed; as many
		// lines as needed to keep lines at half of the events.
		s := eng.State()
		members := s.Cast.Members()
		k := max(1, len(drafts)+others-lines)
		turn := make([]core.Draft, 0, k+len(drafts))
		for range k {
			who := members[r.IntN(len(members))]
			turn = append(turn, core.Draft{Type: core.TypeLineSaid, Payload: &core.LineSaid{Who: who, Text: syntheticLine(r, written+len(turn))},
				Mask: s.Earshot(who), WorldTime: s.Clock})
		}
		turn = append(turn, drafts...)
		if over := written + len(turn) - n; over > 0 {
			turn = turn[:len(turn)-over]
		}
		if _, err := eng.Append(ctx, turn); err != nil {
			return gs, err
		}
		for _, d := range turn {
			if d.Type == core.TypeLineSaid {
				lines++
			} else {
				others++
			}
		}
		written += len(turn)
		gs.events += len(turn)
		gs.turns++
	}
	if err := steadyScene(ctx, eng, world); err != nil {
		return gs, err
	}
	gs.elapsed = time.Since(start)
	return gs, nil
}

// steadyScene puts the world's containers and cast back where the world
// spec starts them (the whole cast in the car, in their seats): a steady
// scene to play. Moves that are already true are dropped by Plan.
func steadyScene(ctx context.Context, eng *core.Engine, world *core.WorldSpec) error {
	var cmds []core.Command
	for _, c := range world.Containers {
		cmds = append(cmds, core.Command{Op: "move", Who: c.ID, Location: c.Location})
	}
	cast := append([]core.CharacterSpec{world.Player}, world.Characters...)
	// Everyone out first, so the seats are free; then each to their place.
	for _, c := range cast {
		cmds = append(cmds, core.Command{Op: "move", Who: c.ID, Location: world.Start.Location})
	}
	for _, c := range cast {
		switch {
		case c.At == nil:
		case c.At.Container != "":
			cmds = append(cmds, core.Command{Op: "move", Who: c.ID, Container: c.At.Container, Slot: c.At.Slot})
		case c.At.Location != "":
			cmds = append(cmds, core.Command{Op: "move", Who: c.ID, Location: c.At.Location})
		}
	}
	drafts, _ := eng.Plan(cmds)
	if len(drafts) == 0 {
		return nil
	}
	_, err := eng.Append(ctx, drafts)
	return err
}

// timedLog and timedRecall add up the time a turn spends in the store:
// writing the turn (with the projection the engine computes inside the
// transaction) and reading lines and memories for the prompts. They cost
// two clock reads a call, about a microsecond a turn. Rules are not wrapped:
// the session looks for optional interfaces on them.
type timedLog struct {
	core.EventLog
	spent time.Duration
}

func (l *timedLog) AppendTurn(ctx context.Context, branch string, parent int64, drafts []core.Draft, project func([]core.Event) (*core.State, error)) ([]core.Event, error) {
	t := time.Now()
	evs, err := l.EventLog.AppendTurn(ctx, branch, parent, drafts, project)
	l.spent += time.Since(t)
	return evs, err
}

// timedRecall adds up the time spent in store reads; the session runs each
// bot's reads ahead, on goroutines of their own, so the sum may overlap the
// rest of the turn.
type timedRecall struct {
	inner core.Recall
	spent atomic.Int64 // nanoseconds
}

func (r *timedRecall) RecentLines(ctx context.Context, who core.Mask, limit int) ([]core.Line, error) {
	t := time.Now()
	ls, err := r.inner.RecentLines(ctx, who, limit)
	r.spent.Add(int64(time.Since(t)))
	return ls, err
}

func (r *timedRecall) Recall(ctx context.Context, who core.Mask, query string, k int) ([]core.Recalled, error) {
	t := time.Now()
	ms, err := r.inner.Recall(ctx, who, query, k)
	r.spent.Add(int64(time.Since(t)))
	return ms, err
}

// turnRig is an open save played by a session on the scripted backend.
type turnRig struct {
	log      *timedLog
	recall   *timedRecall
	st       *store.Store
	sess     *core.Session
	script   *backend.Scripted
	workers  *store.Workers // nil: no memory workers run
	vary     bool           // a new line each turn (else turnLine every time: a steady scene)
	n        int            // events in the save when opened
	memories int            // memory rows then
	turn     int
}

func openRig(ctx context.Context, path string, pack *lua.Pack) (*turnRig, error) {
	st, err := store.Open(path)
	if err != nil {
		return nil, err
	}
	log, recall := &timedLog{EventLog: st}, &timedRecall{inner: st}
	eng, err := core.NewEngine(ctx, log, st, store.DefaultBranch)
	if err != nil {
		st.Close()
		return nil, err
	}
	script := backend.NewScripted()
	sess := &core.Session{Engine: eng, Generator: script, Rules: pack, Recall: recall, Context: 8192, ReplyReserve: 512}
	return &turnRig{log: log, recall: recall, st: st, sess: sess, script: script}, nil
}

// startWorkers runs the memory workers (local embedder, the pack's
// significance heuristic) on the rig's save, caught up before it returns;
// from then on each turn pauses them while it is played and wakes them for
// the memories it wrote, as the app does.
func (r *turnRig) startWorkers(ctx context.Context, pack *lua.Pack) error {
	r.workers = r.st.StartWorkers(store.WorkerOptions{Scorer: lua.HeuristicScorer{Pack: func() *lua.Pack { return pack }}})
	if err := r.workers.CatchUp(ctx); err != nil {
		return err
	}
	// The workers load the in-memory copies as they start; wait for them
	// here, so that every measured turn has them, as play soon does.
	return r.st.LoadCopies(ctx)
}

// openPlayingRig opens a rig on the save and starts its memory workers, as
// a playing session does.
func openPlayingRig(ctx context.Context, path string, pack *lua.Pack) (*turnRig, error) {
	r, err := openRig(ctx, path, pack)
	if err != nil {
		return nil, err
	}
	if err := r.startWorkers(ctx, pack); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// close stops the workers and closes the save.
func (r *turnRig) close() {
	if r.workers != nil {
		r.workers.Close()
	}
	r.st.Close()
}

var replyTexts = []string{
	"*glances at the mirror* Sure. We keep going until the lake.",
	"Dude, remember when we drove out here with no map at all? We'll be fine.",
	"*turns the radio down* Gas first. Then we talk about where.",
	"I vote lake. Nobody's going to be there this late.",
	"*drums on the dashboard* Now? Now we find out if the diner's still open.",
}

// turnTime is one turn's wall time, the parts of it spent in the store, and
// the CPU time the whole process used meanwhile (GC workers included): on a
// busy machine a wall time far above the CPU time is waiting, not work.
type turnTime struct{ total, append, recall, cpu time.Duration }

// slowTail returns how many turns the slowest 1/frac of ts are (at least
// one) and the mean of each part of their time. It sorts ts.
func slowTail(ts []turnTime, frac int) (int, turnTime) {
	slices.SortFunc(ts, func(a, b turnTime) int { return int(a.total - b.total) })
	tail := ts[len(ts)-max(1, len(ts)/frac):]
	var sum turnTime
	for _, t := range tail {
		sum.total, sum.append, sum.recall, sum.cpu = sum.total+t.total, sum.append+t.append, sum.recall+t.recall, sum.cpu+t.cpu
	}
	n := time.Duration(len(tail))
	return len(tail), turnTime{total: sum.total / n, append: sum.append / n, recall: sum.recall / n, cpu: sum.cpu / n}
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// play runs one turn: a reply and an empty state update queued for every
// bot, then the player's line. It returns the turn's wall time; setup is
// outside it.
func (r *turnRig) play(ctx context.Context) (_ turnTime, err error) {
	// A fresh script each turn: Scripted keeps every request it served (for
	// tests' Calls), and hundreds of turns of retained prompts would load
	// the garbage collector with the test double's memory, not the engine's.
	r.script = backend.NewScripted()
	r.sess.Generator = r.script
	s := r.sess.Engine.State()
	for i, bot := range s.Cast.Bots {
		r.script.Push(bot, core.PurposeReply, replyTexts[(r.turn+i)%len(replyTexts)])
		r.script.Push(bot, core.PurposeStateUpdate, "[]")
	}
	r.turn++
	r.log.spent = 0
	r.recall.spent.Store(0)
	if r.workers != nil {
		// The workers wait while the turn is played, and are woken for the
		// memories it wrote, as the app does; they finish them (and
		// checkpoint) before play returns, untimed: in play the player
		// takes seconds to type the next line. Finishing here rather than
		// before this rig's next turn matters: the sizes take turns, and
		// one save's workers must not take the other core from the next
		// save's turn (in play there is one save).
		if err := r.workers.CatchUp(ctx); err != nil {
			return turnTime{}, err
		}
		r.workers.Pause()
		defer func() {
			r.workers.Resume()
			if cerr := r.workers.CatchUp(ctx); cerr != nil && err == nil {
				err = cerr
			}
		}()
	}
	cpu0 := processCPU()
	start := time.Now()
	line := turnLine
	if r.vary {
		// A line of its own each turn, to both bots: what it recalls
		// and the words it looks up change as in play.
		line = "Mara, Jun, " + syntheticLine(rand.New(rand.NewPCG(uint64(r.turn), 3)), r.turn)
	}
	res, err := r.sess.Turn(ctx, line, core.TurnObserver{})
	d := turnTime{total: time.Since(start), append: r.log.spent, recall: time.Duration(r.recall.spent.Load()), cpu: processCPU() - cpu0}
	if err != nil {
		return d, err
	}
	if len(res.Replies) != len(s.Cast.Bots) {
		return d, fmt.Errorf("turn %d: %d of %d bots answered (the scene is not steady)", r.turn, len(res.Replies), len(s.Cast.Bots))
	}
	if p := r.script.Pending(); p != 0 {
		return d, fmt.Errorf("turn %d: %d scripted items left over: %s", r.turn, p, strings.Join(r.script.PendingList(), "; "))
	}
	return d, nil
}

// playTurns is how many turns measurePlay's child plays.
const playTurns = 200

// playReport is what childPlay reports.
type playReport struct {
	PeakKB   float64 `json:"peak_kb"`  // VmHWM at the end
	HeapMB   float64 `json:"heap_mb"`  // Go heap in use after a GC at the end
	Memories float64 `json:"memories"` // memories in the save when opened
}

// measurePlay runs this program again with -child-play on a copy of the
// save and reads its report.
func measurePlay(path string) (playReport, error) {
	var rep playReport
	tmp := path + ".play"
	defer os.Remove(tmp)
	if err := copyFile(path, tmp); err != nil {
		return rep, err
	}
	return rep, runChild("-child-play", tmp, &rep)
}

// childPlay opens the save with the turn pack, starts the memory workers
// (which load the in-memory copies), plays playTurns turns as the turn
// group does and reports the peak resident memory.
func childPlay(path string, w io.Writer) error {
	ctx := context.Background()
	pack, err := loadTurnPack()
	if err != nil {
		return err
	}
	defer pack.Close()
	rig, err := openPlayingRig(ctx, path, pack)
	if err != nil {
		return err
	}
	defer rig.close()
	rig.vary = true
	mst, err := rig.st.MemoryStatus(ctx)
	if err != nil {
		return err
	}
	for range playTurns {
		if _, err := rig.play(ctx); err != nil {
			return err
		}
	}
	peak, err := rssKB("VmHWM")
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(playReport{PeakKB: peak, HeapMB: heapAfterGC() / (1 << 20), Memories: float64(mst.Memories)})
}

// loadTurnPack loads the pack the turn benchmarks play.
func loadTurnPack() (*lua.Pack, error) {
	dir, err := packDir(turnPack)
	if err != nil {
		return nil, err
	}
	return lua.Load(dir, lua.Options{})
}

func benchTurn(b *bench) ([]result, error) {
	ctx := context.Background()
	pack, err := loadTurnPack()
	if err != nil {
		return nil, err
	}
	defer pack.Close()
	sizes := []int{smallSave}
	for _, n := range []int{middleSave, b.events} {
		if n > sizes[len(sizes)-1] {
			sizes = append(sizes, n)
		}
	}
	rigs := make([]*turnRig, len(sizes))
	var ready []float64
	var readyMemories, readyHeap float64
	for i, n := range sizes {
		path, err := b.packSave(pack.World(), n, "turn")
		if err != nil {
			return nil, err
		}
		if i == len(sizes)-1 {
			// Resident memory of a fresh process playing on the largest
			// save, the memory workers running.
			for range max(1, b.runs/2) {
				rep, err := measurePlay(path)
				if err != nil {
					return nil, err
				}
				ready = append(ready, rep.PeakKB/1024)
				readyMemories, readyHeap = rep.Memories, rep.HeapMB
			}
		}
		if rigs[i], err = openRig(ctx, path, pack); err != nil {
			return nil, err
		}
		defer rigs[i].close()
		if err := rigs[i].startWorkers(ctx, pack); err != nil {
			return nil, err
		}
		rigs[i].vary = true
		rigs[i].n = int(rigs[i].sess.Engine.State().LastSeq)
		mst, err := rigs[i].st.MemoryStatus(ctx)
		if err != nil {
			return nil, err
		}
		rigs[i].memories = mst.Memories
	}
	for _, rig := range rigs {
		for range turnWarmup {
			if _, err := rig.play(ctx); err != nil {
				return nil, fmt.Errorf("warm-up on %d events: %w", rig.n, err)
			}
		}
	}
	if p := os.Getenv(turnProfileEV); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// The sizes take turns, so the machine's noise falls on both alike.
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	times := make([][]turnTime, len(rigs))
	for range turnMeasured {
		for i, rig := range rigs {
			d, err := rig.play(ctx)
			if err != nil {
				return nil, fmt.Errorf("on %d events: %w", rig.n, err)
			}
			times[i] = append(times[i], d)
		}
	}
	runtime.ReadMemStats(&m1)
	turns := uint64(turnMeasured * len(rigs))
	var out []result
	p50 := make([]float64, len(rigs))
	for i, rig := range rigs {
		label := fmt.Sprintf("%s events, %s memories indexed", kilo(rig.n), kilo(rig.memories))
		ts := times[i]
		var total, app, rec, cpu []float64
		for _, t := range ts {
			total = append(total, ms(t.total))
			cpu = append(cpu, ms(t.cpu))
			app = append(app, ms(t.append))
			rec = append(rec, ms(t.recall))
		}
		p50[i] = percentile(total, 50)
		r50 := atMost("turn overhead p50 ("+label+")", p50[i], "ms", 5)
		r50.Note = fmt.Sprintf("medians: append %.2f; store reads %.2f, run ahead on the store's goroutine while the hooks and prompts run; process CPU %.2f",
			median(app), median(rec), percentile(cpu, 50))
		// The slow tail: which part grew in the slowest 2% of turns.
		n, mean := slowTail(ts, 50)
		r99 := atMost("turn overhead p99 ("+label+")", percentile(total, 99), "ms", 20)
		r99.Note = fmt.Sprintf("process CPU p99 %.1f; slowest %d: mean %.1f, append %.1f, store reads %.1f (overlapped)",
			percentile(cpu, 99), n, ms(mean.total), ms(mean.append), ms(mean.recall))
		out = append(out, r50, r99)
	}
	last := len(rigs) - 1
	ratio := atMost(fmt.Sprintf("turn overhead p50 %s ÷ %s events", kilo(rigs[last].n), kilo(rigs[0].n)), p50[last]/p50[0], "×", 1.5)
	out = append(out, plain("turn: heap allocated per turn", float64(m1.TotalAlloc-m0.TotalAlloc)/float64(turns)/(1<<20), "MB"),
		plain("turn: GC cycles per turn", float64(m1.NumGC-m0.NumGC)/float64(turns), ""))
	ratio.Note = fmt.Sprintf("%d turns per size after %d warm-up, scripted backend, a new line to both bots each turn, memory workers caught up between turns", turnMeasured, turnWarmup)
	out = append(out, ratio)
	rss := atMost(fmt.Sprintf("resident memory in play (%s events, %s memories indexed)", kilo(rigs[last].n), kilo(int(readyMemories))), median(ready), "MB", 150)
	rss.Note = fmt.Sprintf("peak (VmHWM) of a fresh process playing %d turns as above, the memory workers running and the in-memory copies loaded; Go heap in use after GC at the end %.1f MB", playTurns, readyHeap)
	out = append(out, rss)
	return out, nil
}

// benchPrompt plays a steady scene (the same place, nobody moves) on a small
// save and measures how much of each bot's prompt is the previous prompt's
// prefix: what a server's prompt cache can reuse.
func benchPrompt(b *bench) ([]result, error) {
	ctx := context.Background()
	pack, err := loadTurnPack()
	if err != nil {
		return nil, err
	}
	defer pack.Close()
	path, err := b.packSave(pack.World(), smallSave, "prompt")
	if err != nil {
		return nil, err
	}
	rig, err := openRig(ctx, path, pack)
	if err != nil {
		return nil, err
	}
	defer rig.close()
	loc := rig.sess.Engine.State().Entities[rig.sess.Engine.State().Cast.Player].Location
	prev := map[string]string{}
	var ratios []float64
	breaks := map[string]int{}
	for t := 0; t < promptTurns; t++ {
		if _, err := rig.play(ctx); err != nil {
			return nil, err
		}
		s := rig.sess.Engine.State()
		if at := s.Entities[s.Cast.Player].Location; at != loc {
			return nil, fmt.Errorf("turn %d: the scene moved from %s to %s", t+1, loc, at)
		}
		for _, bot := range s.Cast.Bots {
			text := rig.sess.LastPrompts[bot].Text()
			if old, ok := prev[bot]; ok {
				n := commonPrefix(old, text)
				ratios = append(ratios, float64(core.EstimateTokens(text[:n]))/float64(core.EstimateTokens(text)))
				breaks[sectionAt(text, n)]++
			}
			prev[bot] = text
		}
	}
	if len(ratios) == 0 {
		return nil, fmt.Errorf("no prompts to compare")
	}
	mean := 0.0
	for _, r := range ratios {
		mean += r
	}
	mean /= float64(len(ratios))
	lo := slices.Min(ratios)
	res := atLeast(fmt.Sprintf("prompt prefix reuse, steady scene (median of %d pairs)", len(ratios)), median(ratios), "", 0.8)
	res.Note = fmt.Sprintf("min %.2f, mean %.2f; prefix ends in %s", lo, mean, topBreaks(breaks))
	return []result{res}, nil
}

// commonPrefix is the length in bytes of the longest common prefix of a
// and b, backed off to a rune boundary.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	for n > 0 && n < len(b) && b[n]&0xC0 == 0x80 {
		n--
	}
	return n
}

// sectionAt names the section heading (a line starting "# " or a message
// role "[user]") last seen before offset n of a prompt's text.
func sectionAt(text string, n int) string {
	head := "the first section"
	for off := 0; off < n; {
		end := strings.IndexByte(text[off:], '\n')
		if end < 0 {
			end = len(text) - off
		}
		if l := text[off : off+end]; strings.HasPrefix(l, "# ") || strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			head = fmt.Sprintf("%q", l)
		}
		off += end + 1
	}
	return head
}

// topBreaks lists where prefixes ended, most frequent first.
func topBreaks(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// kilo writes a count in thousands ("100k", "1k", "1.2k").
func kilo(n int) string {
	if n%1000 == 0 || n >= 10_000 {
		return fmt.Sprintf("%dk", (n+500)/1000)
	}
	return fmt.Sprintf("%.1fk", float64(n)/1000)
}
