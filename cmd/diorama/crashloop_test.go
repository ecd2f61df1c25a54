package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"diorama/core"
	"diorama/store"
)

// The crash loop (issue #10): a child process plays real turns on a save
// made from the bundled night-drive pack, through the app's own wiring
// (openApp: the Lua pack, the offline backend, the embedding and
// significance workers running), and reports each action it committed; the
// parent SIGKILLs it at random moments, reopens the save and checks it:
// SQLite's integrity and foreign keys, every reported turn present and
// byte for byte what the child was told it committed, no half turn, the
// state from snapshot + tail equal to the state folded from the log, the
// projection and the memory indexes consistent, and the workers catching
// up to no lag. DIORAMA_CRASHLOOP_ITERATIONS sets the number of kills
// (`make torture` runs several hundred).

const (
	crashLoopEnv     = "DIORAMA_CRASHLOOP_CHILD_SAVE" // the save the child plays
	crashLoopNextEnv = "DIORAMA_CRASHLOOP_NEXT"       // the number of its first action
)

// crashLoopKind is what action n of the story is: mostly the player's
// turns, now and then a time skip (an elision, or a jump that closes the
// scene and has each bot write a summary) or a regeneration of the last
// reply (a sibling branch grafted and checked out).
func crashLoopKind(n int) string {
	switch {
	case n%10 == 9:
		return "regen"
	case n%10 == 4:
		return "skip"
	}
	return "turn"
}

// crashLoopLine is the player's line of action n: numbered, so each one
// can be found on the log exactly once.
func crashLoopLine(n int) string {
	switch n % 3 {
	case 0:
		return fmt.Sprintf("line %d: Mara, how far is the lake now?", n)
	case 1:
		return fmt.Sprintf("line %d: Jun, put on something from the old days.", n)
	}
	return fmt.Sprintf("line %d: Mara, Jun, remember the radio station number %d?", n, n*7)
}

// crashLoopSkip is the skip of action n.
func crashLoopSkip(n int) []string {
	if n%20 == 14 {
		return []string{"jump", "7h"}
	}
	return []string{"25m"}
}

// turnRecord identifies one turn on a path: its events' seqs, how many
// there are and a digest of everything in them.
type turnRecord struct {
	turn        int64
	first, last int64
	count       int
	sum         string
}

func (r turnRecord) String() string {
	return fmt.Sprintf("%d:%d:%d:%d:%s", r.turn, r.first, r.last, r.count, r.sum)
}

func parseTurnRecord(s string) (turnRecord, error) {
	var r turnRecord
	f := strings.Split(s, ":")
	if len(f) != 5 {
		return r, fmt.Errorf("bad turn record %q", s)
	}
	var err error
	for i, p := range []*int64{&r.turn, &r.first, &r.last} {
		if *p, err = strconv.ParseInt(f[i], 10, 64); err != nil {
			return r, fmt.Errorf("bad turn record %q", s)
		}
	}
	if r.count, err = strconv.Atoi(f[3]); err != nil {
		return r, fmt.Errorf("bad turn record %q", s)
	}
	r.sum = f[4]
	return r, nil
}

// turnGroups splits events (consecutive on a path) by turn.
func turnGroups(evs []core.Event) [][]core.Event {
	var out [][]core.Event
	for i, e := range evs {
		if i == 0 || e.Turn != evs[i-1].Turn {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], e)
	}
	return out
}

// turnRecords returns the records of the turns of events (consecutive on
// a path).
func turnRecords(evs []core.Event) []turnRecord {
	var out []turnRecord
	for _, g := range turnGroups(evs) {
		h := sha256.New()
		for _, e := range g {
			fmt.Fprintf(h, "%d|%d|%s|%d|%s|%d|%s|%d|%d|%d\n", e.Seq, e.Parent, e.Branch, e.Turn, e.Type, e.Version, e.Payload, e.Mask, e.CausedBy, e.WorldTime)
		}
		out = append(out, turnRecord{turn: g[0].Turn, first: g[0].Seq, last: g[len(g)-1].Seq, count: len(g), sum: hex.EncodeToString(h.Sum(nil))[:16]})
	}
	return out
}

// TestCrashLoopChild is the child of TestCrashLoop: it opens the save as
// `diorama play` does and plays actions from DIORAMA_CRASHLOOP_NEXT on,
// forever, printing after each commit
//
//	committed N KIND BRANCH HEAD TURN:FIRST:LAST:COUNT:SUM…
//
// (the records of the turns the action wrote), until it is killed.
func TestCrashLoopChild(t *testing.T) {
	db := os.Getenv(crashLoopEnv)
	if db == "" {
		t.Skip("run by TestCrashLoop")
	}
	fail := func(err error) {
		fmt.Println("error", oneLine(err.Error()))
		os.Exit(2)
	}
	next, err := strconv.Atoi(os.Getenv(crashLoopNextEnv))
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	e := &env{stdout: io.Discard, stderr: io.Discard, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	a, err := openApp(ctx, e, appOptions{db: db, backend: "offline"})
	if err != nil {
		fail(err)
	}
	if a.memory == nil {
		fail(fmt.Errorf("the app started no memory workers"))
	}
	fmt.Printf("ready %s %d\n", a.sess.Engine.Branch(), a.State().LastSeq)
	for n := next; ; n++ {
		kind := crashLoopKind(n)
		before := a.State().LastSeq
		fmt.Printf("begin %d %s\n", n, kind)
		var evs []core.Event
		switch kind {
		case "turn":
			res, err := a.Turn(ctx, crashLoopLine(n), core.TurnObserver{})
			if err != nil {
				fail(err)
			}
			evs = res.Events
		case "skip":
			c, err := parseSkip(crashLoopSkip(n), a.State().Now())
			if err != nil {
				fail(err)
			}
			if evs, _, err = a.sess.Act(ctx, c); err != nil {
				fail(err)
			}
		case "regen":
			if _, err := a.Exec(ctx, "regen", nil); err != nil {
				fail(err)
			}
			// The turns the regeneration rewrote: those holding an event
			// written now, whole (a tail long enough to reach back before
			// the first of them).
			tail, err := a.st.Tail(ctx, a.State().LastSeq, 400)
			if err != nil {
				fail(err)
			}
			from := -1
			for i, e := range tail {
				if e.Seq > before {
					from = i
					break
				}
			}
			if from <= 0 {
				fail(fmt.Errorf("regen wrote nothing after event %d", before))
			}
			for from > 0 && tail[from-1].Turn == tail[from].Turn {
				from--
			}
			if from == 0 {
				fail(fmt.Errorf("regen rewrote more than the tail holds"))
			}
			evs = tail[from:]
		}
		if len(evs) == 0 {
			fail(fmt.Errorf("action %d (%s) wrote nothing", n, kind))
		}
		var b strings.Builder
		fmt.Fprintf(&b, "committed %d %s %s %d", n, kind, a.sess.Engine.Branch(), a.State().LastSeq)
		for _, r := range turnRecords(evs) {
			b.WriteString(" " + r.String())
		}
		fmt.Println(b.String())
		if n%4 == 2 {
			// The player reads the reply: the workers have the writer
			// to themselves.
			time.Sleep(15 * time.Millisecond)
		}
	}
}

// crashModel is what the parent knows of the save: what the children
// reported committed.
type crashModel struct {
	branch string               // the checked-out branch
	head   int64                // its head
	turns  map[int64]turnRecord // the turns of its path, by turn number
	others map[string]int64     // the other branches' heads (old replies)
	lines  map[int]bool         // the numbered player lines on its path
	next   int                  // the next action
	// took is how long action n took, by n%60 (its kind, its line and
	// the reader's pause before it repeat so), from the report before.
	took map[int]time.Duration
}

// crashKill says how a child run went, for the summary.
type crashKill struct {
	reported    int           // actions reported committed
	unreported  bool          // an action committed but was not reported
	beforeFirst bool          // killed before the first commit
	ready       bool          // the app had opened
	open        time.Duration // from the start to the app open
	acting      time.Duration // in the actions reported
	lagEmbed    int           // memories left unembedded at the kill
	lagScore    int           // memories left unscored at the kill
	lost        int           // turns reported committed and not on the save (must be 0)
	snapshots   int           // snapshots checked against the log
}

// TestCrashLoop kills children playing real turns with the memory workers
// running, at random moments, and checks the save after each kill.
func TestCrashLoop(t *testing.T) {
	if os.Getenv(crashLoopEnv) != "" {
		t.Skip("in the child")
	}
	iterations := 30
	if v, err := strconv.Atoi(os.Getenv("DIORAMA_CRASHLOOP_ITERATIONS")); err == nil && v > 0 {
		iterations = v
	}
	start := time.Now()
	pack := copyPack(t, nightDrive)
	db := filepath.Join(t.TempDir(), "crash.db")
	mustRun(t, "init", "--db", db, "--pack", pack)
	m := &crashModel{others: map[string]int64{}, lines: map[int]bool{}, next: 1, took: map[int]time.Duration{}}
	// The save as init made it: every turn on it is reported.
	func() {
		s, err := store.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if m.branch, err = s.CurrentBranch(t.Context()); err != nil {
			t.Fatal(err)
		}
		evs, err := s.Events(t.Context(), m.branch)
		if err != nil {
			t.Fatal(err)
		}
		m.head = evs[len(evs)-1].Seq
		m.turns = map[int64]turnRecord{}
		for _, r := range turnRecords(evs) {
			m.turns[r.turn] = r
		}
	}()
	rng := rand.New(rand.NewPCG(2024, 10))
	var (
		reported, unreported, beforeFirst, opening, opened, withLag, maxLag, maxLost, snapshots int
		childTime, checkTime, openTime, actTime                                                 time.Duration
	)
	for it := range iterations {
		t0 := time.Now()
		k := crashLoopRun(t, it, db, m, rng)
		t1 := time.Now()
		checkCrashLoop(t, it, db, m, &k)
		childTime += t1.Sub(t0)
		checkTime += time.Since(t1)
		reported += k.reported
		maxLost = max(maxLost, k.lost)
		snapshots += k.snapshots
		if k.unreported {
			unreported++
		}
		if k.beforeFirst {
			beforeFirst++
		}
		if !k.ready {
			opening++
		} else {
			opened++
			openTime += k.open
		}
		actTime += k.acting
		if k.lagEmbed+k.lagScore > 0 {
			withLag++
			maxLag = max(maxLag, k.lagEmbed, k.lagScore)
		}
	}
	regens := 0
	for n := 1; n < m.next; n++ {
		if crashLoopKind(n) == "regen" {
			regens++
		}
	}
	el := time.Since(start)
	per := func(d time.Duration) time.Duration { return (d / time.Duration(iterations)).Round(time.Millisecond) }
	t.Logf("crash loop: %d kills in %s (%s a kill: child %s, of which opening the app %s, an action %s; checks %s); %d actions committed (%d reported, %d found unreported after a kill; "+
		"%d regenerations), %d turns on %s, %d branches; %d kills before the child's first commit (%d while the app opened), %d with the workers behind (up to %d memories); "+
		"%d snapshot checks; most turns lost after a reported commit: %d",
		iterations, el.Round(time.Millisecond), per(el), per(childTime), (openTime / time.Duration(max(opened, 1))).Round(time.Millisecond),
		(actTime / time.Duration(max(reported, 1))).Round(100*time.Microsecond), per(checkTime), m.next-1, reported, unreported,
		regens, len(m.turns), m.branch, len(m.others)+1, beforeFirst, opening, withLag, maxLag, snapshots, maxLost)
}

// crashLoopRun runs one child and kills it: after a random number of
// commits (none, sometimes) and a random delay. It updates the model with
// what the child reported.
func crashLoopRun(t *testing.T, it int, db string, m *crashModel, rng *rand.Rand) crashKill {
	t.Helper()
	var k crashKill
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLoopChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashLoopEnv+"="+db, crashLoopNextEnv+"="+strconv.Itoa(m.next))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	killAfter := 1 + rng.IntN(8)
	mode := rng.IntN(8)
	var delay time.Duration
	switch mode {
	case 0: // before the first commit: while the app opens, or in the first action
		killAfter = 0
		delay = time.Duration(rng.IntN(150_000)) * time.Microsecond
	case 1: // well after the commit: the workers are writing, or a turn is
		delay = time.Duration(rng.IntN(30_000)) * time.Microsecond
	case 2, 3: // aimed at the next action's commit, at its end (set below)
	default: // within a few milliseconds of the commit: the workers' batch
		delay = time.Duration(rng.IntN(3000)) * time.Microsecond
	}
	aim := rng.Float64()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started, lastAt := time.Now(), time.Time{}
	killed := false
	kill := func() {
		killed = true
		if d, ok := m.took[m.next%60]; ok && (mode == 2 || mode == 3) {
			delay = time.Duration(float64(d) * (0.8 + 0.25*aim))
		}
		go func() {
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
		}()
	}
	if killAfter == 0 {
		kill()
	}
	lines := bufio.NewScanner(out)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		line := lines.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "begin":
			if len(f) != 3 || f[1] != strconv.Itoa(m.next) || f[2] != crashLoopKind(m.next) {
				t.Fatalf("kill %d: child said %q, want action %d (%s) next", it, line, m.next, crashLoopKind(m.next))
			}
		case "ready":
			k.ready = true
			k.open = time.Since(started)
			lastAt = time.Now()
		case "error":
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("kill %d: child: %s", it, line)
		case "committed":
			if len(f) < 6 {
				t.Fatalf("kill %d: child said %q", it, line)
			}
			n, _ := strconv.Atoi(f[1])
			if n != m.next || f[2] != crashLoopKind(n) {
				t.Fatalf("kill %d: child committed %q, want action %d (%s)", it, line, m.next, crashLoopKind(m.next))
			}
			head, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				t.Fatalf("kill %d: child said %q", it, line)
			}
			var recs []turnRecord
			for _, s := range f[5:] {
				r, err := parseTurnRecord(s)
				if err != nil {
					t.Fatalf("kill %d: %v", it, err)
				}
				recs = append(recs, r)
			}
			if f[3] != m.branch {
				if f[2] != "regen" {
					t.Fatalf("kill %d: a %s moved the story to branch %s", it, f[2], f[3])
				}
				m.others[m.branch] = m.head
				m.branch = f[3]
			}
			m.head = head
			for _, r := range recs {
				m.turns[r.turn] = r
			}
			last := recs[len(recs)-1].turn
			for tn := range m.turns {
				if tn > last {
					delete(m.turns, tn)
				}
			}
			if f[2] == "turn" {
				m.lines[n] = true
			}
			d := time.Since(lastAt)
			if old, ok := m.took[n%60]; ok {
				d = (3*old + d) / 4
			}
			m.took[n%60] = d
			m.next++
			k.reported++
			k.acting += time.Since(lastAt)
			lastAt = time.Now()
			if !killed && k.reported >= killAfter {
				kill()
			}
		}
	}
	err = cmd.Wait()
	if !killed || err == nil {
		t.Fatalf("kill %d: child ended by itself (%v) after %d commits", it, err, k.reported)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("kill %d: child ended with %v, not by SIGKILL", it, err)
	}
	k.beforeFirst = k.reported == 0
	return k
}

// crashCheck is the check of the save after one kill.
type crashCheck struct {
	t   *testing.T
	it  int
	m   *crashModel
	k   *crashKill
	s   *store.Store
	raw *sql.DB // read-only, beside the store's pools

	branch      string         // the checked-out branch
	regenerated bool           // by a regeneration the child did not report
	evs         []core.Event   // its path
	groups      [][]core.Event // by turn
	player      string
}

func (c *crashCheck) fatal(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("kill %d (after action %d): "+format, append([]any{c.it, c.m.next - 1}, args...)...)
}

// count runs a query of one integer.
func (c *crashCheck) count(q string, args ...any) int64 {
	c.t.Helper()
	var n int64
	if err := c.raw.QueryRow(q, args...).Scan(&n); err != nil {
		c.fatal("%s: %v", q, err)
	}
	return n
}

// checkCrashLoop reopens the save after a kill and checks it against what
// the child reported; an action that committed without being reported is
// checked like the others and taken into the model. Then the app opens it
// as play does and its workers must catch up.
func checkCrashLoop(t *testing.T, it int, db string, m *crashModel, k *crashKill) {
	t.Helper()
	c := &crashCheck{t: t, it: it, m: m, k: k}
	s, err := store.Open(db) // recovers the WAL
	if err != nil {
		c.fatal("reopen: %v", err)
	}
	c.s = s
	defer s.Close()
	if c.raw, err = sql.Open("sqlite3", "file:"+db+"?mode=ro"); err != nil {
		t.Fatal(err)
	}
	defer c.raw.Close()
	c.sqlite()
	c.indexes()
	c.path()
	fork, extra := c.reported()
	c.lines(extra)
	c.whole()
	c.state()

	// What committed unreported joins the model.
	recs := turnRecords(c.evs)
	if c.regenerated {
		m.others[m.branch] = m.head
		m.branch = c.branch
		for _, r := range recs {
			if r.turn >= fork {
				m.turns[r.turn] = r
			}
		}
		m.next++
	}
	if extra {
		r := recs[len(recs)-1]
		m.turns[r.turn] = r
		if crashLoopKind(m.next) == "turn" {
			m.lines[m.next] = true
		}
		m.next++
	}
	m.head = c.evs[len(c.evs)-1].Seq
	k.unreported = c.regenerated || extra
	s.Close()
	c.catchUp(db)
}

// sqlite runs SQLite's checks (integrity_check covers the FTS5 index too)
// and checks that every event is on some branch's path, and that no branch
// head stops inside a turn.
func (c *crashCheck) sqlite() {
	c.t.Helper()
	var ok string
	if err := c.raw.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		c.fatal("integrity_check: %q %v", ok, err)
	}
	rows, err := c.raw.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		c.fatal("foreign_key_check: %v", err)
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		c.fatal("foreign_key_check: rows name missing rows")
	}
	if all, reach := c.count(`SELECT count(*) FROM events`), c.count(`WITH RECURSIVE up(seq) AS (
		SELECT seq FROM heads UNION SELECT e.parent FROM up JOIN events e ON e.seq = up.seq WHERE e.parent IS NOT NULL)
		SELECT count(*) FROM up`); all != reach {
		c.fatal("%d events in the save, %d on a branch's path: events were written without their head", all, reach)
	}
	if n := c.count(`SELECT count(*) FROM heads h JOIN events e ON e.seq = h.seq JOIN events n ON n.parent = h.seq AND n.turn = e.turn`); n != 0 {
		c.fatal("%d branch heads stop inside a turn", n)
	}
}

// indexes checks that the memory indexes match the memories (each commit,
// a turn's or a worker's, moves them together) and notes the workers' lag.
func (c *crashCheck) indexes() {
	c.t.Helper()
	mems := c.count(`SELECT count(*) FROM memories`)
	if n := c.count(`SELECT count(*) FROM memory_fts_docsize`); n != mems {
		c.fatal("%d memories, %d rows in the lexical index", mems, n)
	}
	// (A memory nobody witnessed is marked indexed with no vector: it
	// cannot be recalled.)
	if n, idx := c.count(`SELECT count(*) FROM memory_vec_rowids`), c.count(`SELECT count(*) FROM memories WHERE indexed <> 0 AND mask & 7 <> 0`); n != idx {
		c.fatal("%d memories marked indexed, %d rows in the vector index", idx, n)
	}
	if n := c.count(`SELECT count(*) FROM memories m WHERE indexed <> 0 AND mask & 7 <> 0 AND NOT EXISTS (SELECT 1 FROM memory_vec_rowids r WHERE r.rowid = m.id)`); n != 0 {
		c.fatal("%d memories marked indexed are not in the vector index", n)
	}
	c.k.lagEmbed = int(c.count(`SELECT count(*) FROM memories WHERE indexed = 0`))
	c.k.lagScore = int(c.count(`SELECT count(*) FROM memories WHERE significance IS NULL`))
}

// path finds the checked-out branch, the reported one or the sibling a
// regeneration under way committed, and reads its path.
func (c *crashCheck) path() {
	c.t.Helper()
	ctx := c.t.Context()
	m := c.m
	for name, head := range m.others {
		if h, err := c.s.Head(ctx, name); err != nil || h != head {
			c.fatal("branch %s at %d (%v), reported at %d", name, h, err, head)
		}
	}
	var err error
	if c.branch, err = c.s.CurrentBranch(ctx); err != nil {
		c.fatal("%v", err)
	}
	if c.branch != m.branch {
		if _, old := m.others[c.branch]; old || crashLoopKind(m.next) != "regen" {
			c.fatal("checked out %s, reported %s (the action under way was a %s)", c.branch, m.branch, crashLoopKind(m.next))
		}
		if h, err := c.s.Head(ctx, m.branch); err != nil || h != m.head {
			c.fatal("branch %s at %d (%v), reported at %d", m.branch, h, err, m.head)
		}
		c.regenerated = true
	}
	if c.evs, err = c.s.Events(ctx, c.branch); err != nil {
		c.fatal("%v", err)
	}
	c.groups = turnGroups(c.evs)
	for i := 1; i < len(c.groups); i++ {
		if a, b := c.groups[i-1][0].Turn, c.groups[i][0].Turn; b != a+1 {
			c.fatal("turn %d follows turn %d on %s: a turn is split or missing", b, a, c.branch)
		}
	}
	origin := core.NewState()
	if err := origin.ApplyAll(c.evs[:1]); err != nil {
		c.fatal("%v", err)
	}
	c.player = origin.Cast.Player
}

// reported checks that every reported turn is on the path exactly as the
// child was told it committed (on an unreported regeneration's sibling, up
// to the turn where it forks, which it returns), and that at most the
// action under way committed besides (extra: it added a turn).
func (c *crashCheck) reported() (fork int64, extra bool) {
	c.t.Helper()
	m := c.m
	got := map[int64]turnRecord{}
	var last int64
	for _, r := range turnRecords(c.evs) {
		got[r.turn] = r
		last = r.turn
	}
	fork = -1
	var lost []int64
	var lastReported int64
	for tn, want := range m.turns {
		lastReported = max(lastReported, tn)
		g, ok := got[tn]
		switch {
		case ok && g == want:
		case ok && c.regenerated && tn > 0:
			if fork < 0 || tn < fork {
				fork = tn
			}
		default:
			lost = append(lost, tn)
		}
	}
	c.k.lost = len(lost)
	if len(lost) > 0 {
		c.fatal("%d turns reported committed are missing or changed on %s: %v", len(lost), c.branch, lost)
	}
	if c.regenerated {
		if fork < 0 {
			c.fatal("the regeneration on %s changed no turn", c.branch)
		}
		for tn := fork; tn <= lastReported; tn++ {
			if got[tn] == m.turns[tn] {
				c.fatal("the regeneration on %s left turn %d as it was after rewriting turn %d", c.branch, tn, fork)
			}
		}
	}
	head := c.evs[len(c.evs)-1].Seq
	pending := crashLoopKind(m.next)
	switch d := last - lastReported; {
	case d < 0:
		c.fatal("the save ends at turn %d, the child reported turn %d", last, lastReported)
	case d > 1 || (d == 1 && pending == "regen"):
		c.fatal("%d turns after the last reported one (the action under way was a %s)", d, pending)
	case d == 0 && !c.regenerated && head != m.head:
		c.fatal("head at %d, reported %d", head, m.head)
	case d == 1:
		// The action under way committed: it is the one the child began.
		g := c.groups[len(c.groups)-1]
		if pending == "turn" {
			if n, ok := c.playerLine(g[0]); !ok || n != m.next {
				c.fatal("the unreported turn %d does not open with line %d", g[0].Turn, m.next)
			}
		} else if !slices.ContainsFunc(g, func(e core.Event) bool { return e.Type == core.TypeTimeSkipped }) {
			c.fatal("the unreported turn %d is not the skip under way", g[0].Turn)
		}
		extra = true
	}
	return fork, extra
}

// playerLine returns the number of the player's line e, if it is one.
func (c *crashCheck) playerLine(e core.Event) (int, bool) {
	c.t.Helper()
	if e.Type != core.TypeLineSaid {
		return 0, false
	}
	p, err := e.Decode()
	if err != nil {
		c.fatal("event %d: %v", e.Seq, err)
	}
	ls := p.(*core.LineSaid)
	if ls.Who != c.player {
		return 0, false
	}
	var n int
	if _, err := fmt.Sscanf(ls.Text, "line %d:", &n); err != nil || ls.Text != crashLoopLine(n) {
		c.fatal("event %d: player line %q", e.Seq, ls.Text)
	}
	return n, true
}

// lines checks that each numbered line reported committed is on the path
// once, and no other (but the one under way if it committed).
func (c *crashCheck) lines(extra bool) {
	c.t.Helper()
	m := c.m
	seen := map[int]int{}
	for _, e := range c.evs {
		if n, ok := c.playerLine(e); ok {
			seen[n]++
		}
	}
	for n := range m.lines {
		if seen[n] != 1 {
			c.fatal("line %d, reported committed, is on the save %d times", n, seen[n])
		}
	}
	for n, k := range seen {
		if !m.lines[n] && !(n == m.next && extra && k == 1) {
			c.fatal("line %d is on the save %d times, never reported committed", n, k)
		}
	}
}

// whole checks the shape of each of the player's turns: the player's line
// first, each reply followed by its state update, the clock last.
func (c *crashCheck) whole() {
	c.t.Helper()
	for _, g := range c.groups {
		if _, ok := c.playerLine(g[0]); !ok {
			continue
		}
		var open []string // replies waiting for their state update
		for _, e := range g[1:] {
			switch e.Type {
			case core.TypeLineSaid:
				p, _ := e.Decode()
				open = append(open, p.(*core.LineSaid).Who)
			case core.TypeStateUpdate:
				p, _ := e.Decode()
				if who := p.(*core.StateUpdate).Who; len(open) == 0 || open[0] != who {
					c.fatal("turn %d: a state update of %s without its reply", e.Turn, who)
				}
				open = open[1:]
			}
		}
		if len(open) > 0 || g[len(g)-1].Type != core.TypeTimeAdvanced || len(g) < 4 {
			c.fatal("turn %d is not whole: replies %v without a state update, %d events, the last %s", g[0].Turn, open, len(g), g[len(g)-1].Type)
		}
	}
}

// state checks the state and the projection: the state loaded (nearest
// snapshot plus the tail) equals the log folded from the root, so does the
// state at each snapshot on the path, and the projection tables reflect the
// head.
func (c *crashCheck) state() {
	c.t.Helper()
	ctx := c.t.Context()
	head := c.evs[len(c.evs)-1].Seq
	snaps := map[int64]bool{}
	rows, err := c.raw.Query(`SELECT seq FROM snapshots`)
	if err != nil {
		c.fatal("%v", err)
	}
	for rows.Next() {
		var seq int64
		rows.Scan(&seq)
		snaps[seq] = true
	}
	rows.Close()
	folded := core.NewState()
	for i := range c.evs {
		if err := folded.ApplyAll(c.evs[i : i+1]); err != nil {
			c.fatal("fold the log at event %d: %v", c.evs[i].Seq, err)
		}
		if seq := c.evs[i].Seq; snaps[seq] && seq != head {
			at, err := c.s.StateAt(ctx, seq)
			if err != nil || at.Hash() != folded.Hash() {
				c.fatal("the snapshot at event %d differs from the log folded to it (%v)", seq, err)
			}
			c.k.snapshots++
		}
	}
	st, err := c.s.LoadState(ctx, c.branch)
	if err != nil {
		c.fatal("load state: %v", err)
	}
	if st.LastSeq != head || st.Hash() != folded.Hash() {
		c.fatal("the state loaded at event %d differs from the log folded to %d", st.LastSeq, head)
	}
	if p := c.count(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'projection_seq'`); p != head {
		c.fatal("the projection is at event %d, the head at %d", p, head)
	}
	for id, en := range folded.Entities {
		b, _ := json.Marshal(en)
		var got string
		if err := c.raw.QueryRow(`SELECT json FROM entities WHERE id = ?`, id).Scan(&got); err != nil || got != string(b) {
			c.fatal("entity %s in the projection: %s (%v), in the state: %s", id, got, err, b)
		}
	}
	if n := c.count(`SELECT count(*) FROM entities`); n != int64(len(folded.Entities)) {
		c.fatal("%d entities in the projection, %d in the state", n, len(folded.Entities))
	}
	// The memories are the path's lines, facts and summaries, as written.
	type mem struct {
		kind, who, text string
		mask            int64
	}
	want := map[int64]mem{}
	for _, e := range c.evs {
		p, err := e.Decode()
		if err != nil {
			c.fatal("event %d: %v", e.Seq, err)
		}
		if kind, who, text, ok := core.MemoryOf(p); ok {
			want[e.Seq] = mem{kind, who, text, int64(e.Mask)}
		}
	}
	rows, err = c.raw.Query(`SELECT id, kind, who, text, mask FROM memories`)
	if err != nil {
		c.fatal("%v", err)
	}
	n := 0
	for rows.Next() {
		var id int64
		var g mem
		if err := rows.Scan(&id, &g.kind, &g.who, &g.text, &g.mask); err != nil {
			c.fatal("%v", err)
		}
		if w, ok := want[id]; !ok || w != g {
			rows.Close()
			c.fatal("memory %d in the projection: %+v, on the path: %+v (%v)", id, g, w, ok)
		}
		n++
	}
	rows.Close()
	if n != len(want) {
		c.fatal("%d memories in the projection, %d on the path", n, len(want))
	}
}

// catchUp opens the save as play does and waits for the workers: every
// memory embedded and scored, each in both indexes.
func (c *crashCheck) catchUp(db string) {
	c.t.Helper()
	ctx := c.t.Context()
	e := &env{stdout: io.Discard, stderr: io.Discard, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	a, err := openApp(ctx, e, appOptions{db: db, backend: "offline"})
	if err != nil {
		c.fatal("open the app: %v", err)
	}
	defer a.Close()
	if a.State().LastSeq != c.m.head || a.sess.Engine.Branch() != c.m.branch {
		c.fatal("the app opened on %s at event %d, the save is on %s at %d", a.sess.Engine.Branch(), a.State().LastSeq, c.m.branch, c.m.head)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := a.memory.workers.CatchUp(cctx); err != nil {
		c.fatal("the workers do not catch up: %v", err)
	}
	unemb, unsc, ok := a.MemoryLag(ctx)
	if !ok || unemb != 0 || unsc != 0 {
		c.fatal("the workers caught up with %d memories unembedded, %d unscored (%v)", unemb, unsc, ok)
	}
	ms, err := a.st.MemoryStatus(ctx)
	if err != nil {
		c.fatal("%v", err)
	}
	if n := c.count(`SELECT count(*) FROM memories WHERE mask & 7 <> 0`); ms.IndexRows != n {
		c.fatal("the workers caught up with %d memories witnessed, %d rows in the vector index", n, ms.IndexRows)
	}
	if n := c.count(`SELECT count(*) FROM memory_fts_docsize`); n != int64(ms.Memories) {
		c.fatal("the workers caught up with %d memories, %d rows in the lexical index", ms.Memories, n)
	}
}
