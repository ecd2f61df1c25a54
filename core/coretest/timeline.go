// Package coretest holds the acceptance tests every log implementation must
// pass (the SQLite store and core's in-memory MemLog run the same ones), and
// the small world, rules and generator they play with.
package coretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"diorama/core"
)

// Log is a log under test: a Timeline that is also the memory index and
// the recall of the sessions played on it.
type Log interface {
	core.Timeline
	core.MemoryIndex
	core.Recall
}

// Subject opens a fresh log of world for a test.
type Subject struct {
	Open func(t *testing.T, w *core.WorldSpec) Log
	// Rebuild re-projects branch from the log alone, ignoring snapshots and
	// projection tables; nil folds the branch's path from the root.
	Rebuild func(t *testing.T, l Log, branch string) *core.State
}

// World is the test world: the player "you" with the bots "mara" (driver)
// and "jun" (passenger, holding the map) in the car on the road, two
// minutes a turn.
func World() *core.WorldSpec {
	return &core.WorldSpec{
		ID: "timeline_test", Title: "Time travel (test)", Version: "1",
		Start:          core.StartSpec{Location: "road", Time: "2024-06-01T21:00"},
		MinutesPerTurn: 2,
		Player:         core.CharacterSpec{ID: "you", Name: "Sam", At: &core.AtSpec{Container: "car", Slot: "back"}},
		Characters: []core.CharacterSpec{
			{ID: "mara", Name: "Mara", Mood: "tired", At: &core.AtSpec{Container: "car", Slot: "driver"}},
			{ID: "jun", Name: "Jun", Mood: "bored", Holding: []string{"map"}, At: &core.AtSpec{Container: "car", Slot: "passenger"}},
		},
		Locations:  []core.LocationSpec{{ID: "road", Name: "The road"}, {ID: "shop", Name: "The shop"}},
		Containers: []core.ContainerSpec{{ID: "car", Name: "The car", Location: "road", Slots: map[string]core.SlotSpec{"driver": {}, "passenger": {}, "back": {}}}},
	}
}

// Rules are rules with no hooks: the named bots answer, prompts are one
// fixed section.
type Rules struct{}

// Hook implements core.Rules.
func (Rules) Hook(ctx context.Context, hook string, st *core.State, seed uint64, args ...any) ([]core.Command, error) {
	return nil, nil
}

// Speakers implements core.Rules.
func (Rules) Speakers(ctx context.Context, st *core.State, line string, seed uint64) ([]string, error) {
	return core.DefaultSpeakers(st, line), nil
}

// Template implements core.Rules.
func (Rules) Template(ctx context.Context, name string, facts map[string]any) (any, error) {
	return []any{
		map[string]any{"name": "scene", "text": "A night drive.", "priority": 100.0},
		map[string]any{"name": "ask", "role": "user", "text": fmt.Sprint(facts["player_line"]), "priority": 100.0},
	}, nil
}

// Gen is a scripted generator: queued state updates per bot ("[]" when
// none), and replies numbered in the order they are asked for, so a
// regenerated reply differs from the one it replaces.
type Gen struct {
	n       int
	updates map[string][]string
}

// Update queues the next state update of bot.
func (g *Gen) Update(bot, raw string) {
	if g.updates == nil {
		g.updates = map[string][]string{}
	}
	g.updates[bot] = append(g.updates[bot], raw)
}

// Name implements core.Generator.
func (g *Gen) Name() string { return "coretest" }

// Generate implements core.Generator.
func (g *Gen) Generate(ctx context.Context, req core.GenRequest) (core.TextStream, error) {
	switch req.Purpose {
	case core.PurposeStateUpdate:
		q := g.updates[req.Speaker]
		if len(q) == 0 {
			return &stream{text: "[]"}, nil
		}
		g.updates[req.Speaker] = q[1:]
		return &stream{text: q[0]}, nil
	case core.PurposeSummary:
		return nil, core.ErrNotQueued
	}
	g.n++
	return &stream{text: fmt.Sprintf("%s answers, take %d.", req.Speaker, g.n)}, nil
}

type stream struct {
	text string
	done bool
}

func (s *stream) Recv() (string, error) {
	if s.done {
		return "", io.EOF
	}
	s.done = true
	return s.text, nil
}

func (s *stream) Close() error { return nil }

// fixture is a log with a session playing on it.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	log  Log
	sess *core.Session
	gen  *Gen
	subj Subject
}

func newFixture(t *testing.T, subj Subject) *fixture {
	t.Helper()
	ctx := context.Background()
	l := subj.Open(t, World())
	eng, err := core.NewEngine(ctx, l, l, "main")
	if err != nil {
		t.Fatal(err)
	}
	g := &Gen{}
	return &fixture{t: t, ctx: ctx, log: l, gen: g, subj: subj,
		sess: &core.Session{Engine: eng, Generator: g, Rules: Rules{}, Recall: l, Context: 4096, ReplyReserve: 256}}
}

func (f *fixture) eng() *core.Engine { return f.sess.Engine }

// say plays a turn whose bot (if named) proposes update.
func (f *fixture) say(line, bot, update string) *core.TurnResult {
	f.t.Helper()
	if bot != "" && update != "" {
		f.gen.Update(bot, update)
	}
	res, err := f.sess.Turn(f.ctx, line, core.TurnObserver{})
	if err != nil {
		f.t.Fatalf("turn %q: %v", line, err)
	}
	return res
}

// do applies commands as one turn.
func (f *fixture) do(cmds ...string) []core.Event {
	f.t.Helper()
	var cs []core.Command
	for _, c := range cmds {
		cmd, err := core.ParseCommand([]byte(c))
		if err != nil {
			f.t.Fatal(err)
		}
		cs = append(cs, cmd)
	}
	evs, err := f.eng().Do(f.ctx, cs...)
	if err != nil {
		f.t.Fatalf("do %v: %v", cmds, err)
	}
	return evs
}

// path returns the events of branch, root first.
func (f *fixture) path(branch string) []core.Event {
	f.t.Helper()
	heads, err := f.log.Heads(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, h := range heads {
		if h.Name == branch {
			evs, err := f.log.PathAfter(f.ctx, 0, h.Seq)
			if err != nil {
				f.t.Fatal(err)
			}
			return evs
		}
	}
	f.t.Fatalf("no branch %s", branch)
	return nil
}

// rebuilt is branch's state from a full rebuild.
func (f *fixture) rebuilt(branch string) *core.State {
	f.t.Helper()
	if f.subj.Rebuild != nil {
		return f.subj.Rebuild(f.t, f.log, branch)
	}
	st := core.NewState()
	if err := st.ApplyAll(f.path(branch)); err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fixture) heads() string {
	f.t.Helper()
	hs, err := f.log.Heads(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "%s=%d ", h.Name, h.Seq)
	}
	return b.String()
}

// lastLine is the newest line the player heard, from the log's recall.
func (f *fixture) lastLine() string {
	f.t.Helper()
	ls, err := f.log.RecentLines(f.ctx, 1, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(ls) == 0 {
		return ""
	}
	return ls[0].Text
}

// story plays the standard scenario: five turns with replies, state
// updates and commands, and a pin of a fact.
func (f *fixture) story() {
	f.t.Helper()
	f.say("Mara, are you tired?", "mara", `[{"op":"set_mood","who":"mara","mood":"wary"},{"op":"note_fact","who":"mara","fact":"Sam asked if I was tired"}]`)
	f.say("Jun, pass me the map.", "jun", `[{"op":"give","who":"jun","to":"you","item":"map"}]`)
	f.say("Mara, look at the sky!", "mara", `[{"op":"adjust","who":"mara","to":"you","affinity":5,"note":"the sky"}]`)
	f.do(`{"op":"set_activity","who":"you","doing":"reading the map"}`)
	f.say("Jun, anything to eat?", "jun", `[{"op":"set_mood","who":"jun","mood":"hungry"}]`)
}

// Run runs the acceptance tests against subj.
func Run(t *testing.T, subj Subject) {
	t.Run("RewindThenContinue", func(t *testing.T) { testRewind(t, subj) })
	t.Run("RewindErrorsChangeNothing", func(t *testing.T) { testRewindErrors(t, subj) })
	t.Run("Branches", func(t *testing.T) { testBranches(t, subj) })
	t.Run("SwitchThousandTimes", func(t *testing.T) { testSwitch(t, subj) })
	t.Run("DeleteDropsExactlyTheClosure", func(t *testing.T) { testDeleteClosure(t, subj) })
	t.Run("DeleteDropsWhatNoLongerValidates", func(t *testing.T) { testDeleteInvalid(t, subj) })
	t.Run("DeleteErrorsChangeNothing", func(t *testing.T) { testDeleteErrors(t, subj) })
	t.Run("Regenerate", func(t *testing.T) { testRegen(t, subj) })
	t.Run("ExportReplayLossless", func(t *testing.T) { testExportReplay(t, subj) })
}

func hashes(evs []core.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%d:%d:%s:%s", e.Seq, e.Turn, e.Type, e.Payload)
	}
	return out
}

func testRewind(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	ctx, eng := f.ctx, f.eng()
	oldPath := hashes(f.path("main"))
	oldHash, oldTip, oldTurn := eng.State().Hash(), eng.State().LastSeq, eng.State().Turn
	res, err := eng.Rewind(ctx, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != fmt.Sprintf("main@turn%d", oldTurn) || res.From != oldTip || res.Turns != 2 {
		t.Fatalf("rewind = %+v", res)
	}
	// Two turns back: before the set_activity turn, after "Mara, look".
	if got := f.lastLine(); !strings.HasPrefix(got, "mara answers") {
		t.Fatalf("after rewind the last line is %q", got)
	}
	if eng.State().Entities["you"].Doing != "" {
		t.Fatal("the rewound turn's activity is still in the state")
	}
	if got, want := eng.State().Hash(), f.rebuilt("main").Hash(); got != want {
		t.Fatal("the state after rewind is not the rebuilt state")
	}
	// Continue: the old tip stays intact.
	f.say("Mara, let's stop for coffee.", "mara", `[{"op":"set_mood","who":"mara","mood":"relieved"}]`)
	if got := hashes(f.path(res.Kept)); !slices.Equal(got, oldPath) {
		t.Fatalf("the old tip's path changed:\n%v\nwant\n%v", got, oldPath)
	}
	if err := eng.Checkout(ctx, res.Kept); err != nil {
		t.Fatal(err)
	}
	if eng.State().Hash() != oldHash {
		t.Fatal("the old tip's state changed")
	}
	if !strings.HasPrefix(f.lastLine(), "jun answers") {
		t.Fatalf("old tip's last line %q", f.lastLine())
	}
	if err := eng.Checkout(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	// Rewind to an event; a second rewind from the same turn gets a new name.
	evs := f.path("main")
	to := evs[3].Seq
	turnNow := eng.State().Turn
	res2, err := eng.Rewind(ctx, 0, to)
	if err != nil {
		t.Fatal(err)
	}
	if eng.State().LastSeq != to || res2.Kept != fmt.Sprintf("main@turn%d", turnNow) {
		t.Fatalf("rewind --to: head %d, kept %q", eng.State().LastSeq, res2.Kept)
	}
	if res2.Kept == res.Kept {
		t.Fatal("two kept tips share a name")
	}
	if got, want := eng.State().Hash(), f.rebuilt("main").Hash(); got != want {
		t.Fatal("the state after rewind --to is not the rebuilt state")
	}
}

func testRewindErrors(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	ctx, eng := f.ctx, f.eng()
	hash := eng.State().Hash()
	other := f.path("main")[2].Seq
	if err := eng.NewBranch(ctx, "side", other, false); err != nil {
		t.Fatal(err)
	}
	sideHead := f.heads()
	for _, tc := range []struct {
		turns int
		to    int64
		want  string
	}{
		{turns: 50, want: "only 5 turns"},
		{turns: 0, want: "at least one turn"},
		{to: 999999, want: "not on branch"},
		{to: eng.State().LastSeq, want: "already"},
	} {
		_, err := eng.Rewind(ctx, tc.turns, tc.to)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("rewind %d/%d: err = %v, want %q", tc.turns, tc.to, err, tc.want)
		}
		if f.heads() != sideHead || eng.State().Hash() != hash {
			t.Fatalf("a failed rewind changed something: %s (was %s)", f.heads(), sideHead)
		}
	}
}

func testBranches(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	ctx, eng := f.ctx, f.eng()
	fork := f.path("main")[5].Seq
	if err := eng.NewBranch(ctx, "what-if", fork, true); err != nil {
		t.Fatal(err)
	}
	if cur, _ := f.log.CurrentBranch(ctx); cur != "what-if" || eng.Branch() != "what-if" {
		t.Fatalf("checked out %q, engine on %q", cur, eng.Branch())
	}
	f.do(`{"op":"set_mood","who":"jun","mood":"giddy"}`)
	for _, bad := range []string{"", "-x", "a b", "what-if", strings.Repeat("x", 65), "main"} {
		if err := eng.NewBranch(ctx, bad, 0, false); err == nil {
			t.Fatalf("branch %q accepted", bad)
		}
	}
	if err := eng.NewBranch(ctx, "nowhere", 999999, false); !errors.Is(err, core.ErrNoEvent) {
		t.Fatalf("branch at a missing event: %v", err)
	}
	bs, err := eng.Branches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].Name != "main" || bs[1].Name != "what-if" || !bs[1].Current || bs[0].Current {
		t.Fatalf("branches = %+v", bs)
	}
	if bs[1].Fork != fork || bs[1].ForkWith != "main" || bs[0].Fork != fork || bs[1].Events != int64(len(f.path("what-if"))) {
		t.Fatalf("fork points: %+v", bs)
	}
	if bs[0].LastLine == nil || !strings.HasPrefix(bs[0].LastLine.Text, "jun answers") {
		t.Fatalf("main's last line: %+v", bs[0].LastLine)
	}
	// Rename the checked-out branch: it stays checked out.
	if err := eng.Rename(ctx, "what-if", "giddy"); err != nil {
		t.Fatal(err)
	}
	if cur, _ := f.log.CurrentBranch(ctx); cur != "giddy" || eng.Branch() != "giddy" {
		t.Fatalf("after rename: checked out %q, engine on %q", cur, eng.Branch())
	}
	if err := eng.Rename(ctx, "giddy", "main"); !errors.Is(err, core.ErrBranchExists) {
		t.Fatalf("rename onto main: %v", err)
	}
	if err := eng.DeleteBranch(ctx, "giddy"); !errors.Is(err, core.ErrCheckedOut) {
		t.Fatalf("delete the checked-out branch: %v", err)
	}
	mainPath := hashes(f.path("main"))
	if err := eng.Checkout(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	if err := eng.DeleteBranch(ctx, "giddy"); err != nil {
		t.Fatal(err)
	}
	if err := eng.Checkout(ctx, "giddy"); !errors.Is(err, core.ErrNoBranch) {
		t.Fatalf("checkout a deleted branch: %v", err)
	}
	if got := hashes(f.path("main")); !slices.Equal(got, mainPath) {
		t.Fatal("deleting a branch changed main")
	}
}

func testSwitch(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	ctx, eng := f.ctx, f.eng()
	fork := f.path("main")[4].Seq
	if err := eng.NewBranch(ctx, "alt", fork, true); err != nil {
		t.Fatal(err)
	}
	f.say("Jun, sing something.", "jun", `[{"op":"set_activity","who":"jun","doing":"singing"}]`)
	f.do(`{"op":"move","who":"car","location":"shop"}`)
	want := map[string]string{"alt": eng.State().Hash()}
	lines := map[string]string{"alt": f.lastLine()}
	if err := eng.Checkout(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	want["main"], lines["main"] = eng.State().Hash(), f.lastLine()
	if want["main"] == want["alt"] || lines["main"] == lines["alt"] {
		t.Fatal("the two branches should differ")
	}
	for i := range 1000 {
		b := []string{"alt", "main"}[i%2]
		if err := eng.Checkout(ctx, b); err != nil {
			t.Fatal(err)
		}
		if got := eng.State().Hash(); got != want[b] {
			t.Fatalf("switch %d to %s: state %s, want %s", i, b, got[:12], want[b][:12])
		}
		if i%100 < 2 {
			if got := f.lastLine(); got != lines[b] {
				t.Fatalf("switch %d to %s: recall's last line %q, want %q", i, b, got, lines[b])
			}
			if got := f.rebuilt(b).Hash(); got != want[b] {
				t.Fatalf("switch %d to %s: the rebuilt state differs", i, b)
			}
		}
	}
	// A session on the switched engine plays on the branch it is on.
	f.say("Mara, still here?", "", "")
	if got := f.path("main"); got[len(got)-1].Seq != eng.State().LastSeq {
		t.Fatal("the turn after switching did not land on main")
	}
}

// closure is the caused_by closure of seq in path, computed the plain way.
func closure(path []core.Event, seq int64) map[int64]bool {
	in := map[int64]bool{seq: true}
	for _, e := range path {
		if in[e.CausedBy] {
			in[e.Seq] = true
		}
	}
	return in
}

func testDeleteClosure(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	ctx, eng := f.ctx, f.eng()
	path := f.path("main")
	// The player's line "Mara, look at the sky!" and everything it caused.
	var target core.Event
	for _, e := range path {
		if e.Type == core.TypeLineSaid && strings.Contains(string(e.Payload), "look at the sky") {
			target = e
		}
	}
	want := closure(path, target.Seq)
	if len(want) < 5 { // line, reply, state update, adjust, time
		t.Fatalf("closure of %d is only %v", target.Seq, want)
	}
	oldHash, oldPath := eng.State().Hash(), hashes(path)
	plan, err := eng.PlanDelete(ctx, target.Seq)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]bool{}
	for _, d := range plan.Dropped {
		got[d.Event.Seq] = true
	}
	if len(got) != len(want) {
		t.Fatalf("dropped %v, want the closure %v", got, want)
	}
	for s := range want {
		if !got[s] {
			t.Fatalf("dropped %v, want the closure %v", got, want)
		}
	}
	if !strings.Contains(plan.Preview(), "how Mara feels about Sam: affinity: 5 → 0") {
		t.Fatalf("preview:\n%s", plan.Preview())
	}
	// The preview wrote nothing.
	if eng.State().Hash() != oldHash || !slices.Equal(hashes(f.path("main")), oldPath) {
		t.Fatal("the preview changed the branch")
	}
	if err := eng.Delete(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if eng.Branch() != plan.NewBranch || plan.NewBranch != fmt.Sprintf("main~del%d", target.Seq) {
		t.Fatalf("engine on %q, plan branch %q", eng.Branch(), plan.NewBranch)
	}
	// The new path is the old one minus the closure, in order, turns
	// renumbered without gaps.
	var wantTypes []string
	for _, e := range path {
		if !want[e.Seq] {
			wantTypes = append(wantTypes, e.Type+string(e.Payload))
		}
	}
	newPath := f.path(plan.NewBranch)
	var gotTypes []string
	for i, e := range newPath {
		gotTypes = append(gotTypes, e.Type+string(e.Payload))
		if i > 0 && e.Turn != newPath[i-1].Turn && e.Turn != newPath[i-1].Turn+1 {
			t.Fatalf("turns jump at event %d: %d after %d", e.Seq, e.Turn, newPath[i-1].Turn)
		}
	}
	if !slices.Equal(gotTypes, wantTypes) {
		t.Fatalf("new path:\n%s\nwant:\n%s", strings.Join(gotTypes, "\n"), strings.Join(wantTypes, "\n"))
	}
	// Checked against a full rebuild of the edited path.
	if got, want := eng.State().Hash(), f.rebuilt(plan.NewBranch).Hash(); got != want {
		t.Fatal("the state after delete is not the rebuilt state")
	}
	if eng.State().Edge("mara", "you").Affinity != 0 || eng.State().Clock != plan.Before.Clock-2 {
		t.Fatalf("edge %+v, clock %d", eng.State().Edge("mara", "you"), eng.State().Clock)
	}
	// The original branch is untouched.
	if !slices.Equal(hashes(f.path("main")), oldPath) {
		t.Fatal("delete changed the original branch")
	}
	// The story goes on on the new branch.
	f.say("Jun, still hungry?", "", "")
	if f.path(plan.NewBranch)[len(f.path(plan.NewBranch))-1].Seq != eng.State().LastSeq {
		t.Fatal("the next turn did not land on the new branch")
	}
}

func testDeleteInvalid(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	f.do(`{"op":"give","who":"you","to":"mara","item":"map"}`)
	ctx, eng := f.ctx, f.eng()
	path := f.path("main")
	var reply, give core.Event
	for _, e := range path {
		if e.Type == core.TypeLineSaid && strings.Contains(string(e.Payload), `"who":"jun"`) && reply.Seq == 0 {
			reply = e
		}
		if e.Type == core.TypeItemGiven && strings.Contains(string(e.Payload), `"who":"you"`) {
			give = e
		}
	}
	plan, err := eng.PlanDelete(ctx, reply.Seq)
	if err != nil {
		t.Fatal(err)
	}
	want := closure(path, reply.Seq)
	var extra []core.Dropped
	for _, d := range plan.Dropped {
		if !want[d.Event.Seq] {
			extra = append(extra, d)
		}
	}
	if len(extra) != 1 || extra[0].Event.Seq != give.Seq || !strings.Contains(extra[0].Why, "no longer valid") {
		t.Fatalf("beyond the closure, dropped %+v; want only the give #%d, as no longer valid", extra, give.Seq)
	}
	preview := plan.Preview()
	for _, s := range []string{fmt.Sprintf("#%d", give.Seq), "item not held", "Jun: holding: (none) → [\"map\"]"} {
		if !strings.Contains(preview, s) {
			t.Fatalf("preview lacks %q:\n%s", s, preview)
		}
	}
	if err := eng.Delete(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if got := eng.State().Holder("map"); got != "jun" {
		t.Fatalf("the map is with %q", got)
	}
	if got, want := eng.State().Hash(), f.rebuilt(eng.Branch()).Hash(); got != want {
		t.Fatal("the state after delete is not the rebuilt state")
	}
}

func testDeleteErrors(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	ctx, eng := f.ctx, f.eng()
	fork := f.path("main")[3].Seq
	if err := eng.NewBranch(ctx, "side", fork, true); err != nil {
		t.Fatal(err)
	}
	f.do(`{"op":"set_mood","who":"jun","mood":"sly"}`)
	sideOnly := eng.State().LastSeq
	if err := eng.Checkout(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	before, hash := f.heads(), eng.State().Hash()
	for _, tc := range []struct {
		seq  int64
		want string
	}{
		{1, "creation of the world"},
		{999999, "no event"},
		{sideOnly, "not on branch main"},
	} {
		_, err := eng.PlanDelete(ctx, tc.seq)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("delete %d: err = %v, want %q", tc.seq, err, tc.want)
		}
	}
	plan, err := eng.PlanDelete(ctx, f.path("main")[4].Seq)
	if err != nil {
		t.Fatal(err)
	}
	// The story moved on since the preview: the plan is refused.
	f.do(`{"op":"set_mood","who":"mara","mood":"cross"}`)
	before, hash = f.heads(), eng.State().Hash()
	if err := eng.Delete(ctx, plan); err == nil || !strings.Contains(err.Error(), "preview") {
		t.Fatalf("stale plan: err = %v", err)
	}
	if f.heads() != before || eng.State().Hash() != hash {
		t.Fatal("a refused delete changed something")
	}
}

func testRegen(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	ctx, eng := f.ctx, f.eng()
	path := f.path("main")
	oldHash := eng.State().Hash()
	f.gen.Update("jun", `[{"op":"set_mood","who":"jun","mood":"sleepy"}]`)
	res, err := f.sess.Regenerate(ctx, core.TurnObserver{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != "main~2" || res.From != "main" || eng.Branch() != "main~2" || res.Reply.Who != "jun" {
		t.Fatalf("regen = %+v", res)
	}
	if !strings.HasPrefix(res.Reply.Text, "jun answers") || strings.Contains(string(res.Old.Payload), res.Reply.Text) {
		t.Fatalf("new reply %q, old %s", res.Reply.Text, res.Old.Payload)
	}
	if eng.State().Entities["jun"].Mood != "sleepy" {
		t.Fatalf("the new state update did not apply: jun is %q", eng.State().Entities["jun"].Mood)
	}
	if f.lastLine() != res.Reply.Text {
		t.Fatalf("recall's last line %q, want the new reply", f.lastLine())
	}
	// The new reply is a sibling of the old one; the time that passed with
	// the player's line carried over.
	np := f.path("main~2")
	var newReply core.Event
	for _, e := range np {
		if e.Type == core.TypeLineSaid && strings.Contains(string(e.Payload), res.Reply.Text) {
			newReply = e
		}
	}
	if newReply.Parent != res.Old.Parent || newReply.CausedBy != res.Old.CausedBy || newReply.Turn != res.Old.Turn {
		t.Fatalf("new reply %+v is not a sibling of %+v", newReply, res.Old)
	}
	if np[len(np)-1].Type != core.TypeTimeAdvanced || eng.State().Clock != f.rebuilt("main").Clock {
		t.Fatal("the turn's clock did not carry over")
	}
	if got, want := eng.State().Hash(), f.rebuilt("main~2").Hash(); got != want {
		t.Fatal("the state after regenerate is not the rebuilt state")
	}
	newHash := eng.State().Hash()
	// Flip between the siblings.
	for i := range 4 {
		b, h := "main", oldHash
		if i%2 == 1 {
			b, h = "main~2", newHash
		}
		if err := eng.Checkout(ctx, b); err != nil {
			t.Fatal(err)
		}
		if eng.State().Hash() != h {
			t.Fatalf("flip %d to %s: state differs", i, b)
		}
	}
	if !slices.Equal(hashes(f.path("main")), hashes(path)) {
		t.Fatal("regenerate changed the original branch")
	}
	// A second swipe from main~2 is main~3.
	res3, err := f.sess.Regenerate(ctx, core.TurnObserver{})
	if err != nil || res3.Branch != "main~3" {
		t.Fatalf("second regen: %+v, %v", res3, err)
	}
}

func testExportReplay(t *testing.T, subj Subject) {
	f := newFixture(t, subj)
	f.story()
	f.do(`{"op":"move","who":"car","location":"shop"}`)
	f.say("Mara, what do you want?", "mara", `not json at all`)
	var buf bytes.Buffer
	if err := core.WriteSession(&buf, core.SessionHeader{Branch: "main"}, f.path("main")); err != nil {
		t.Fatal(err)
	}
	sf, err := core.ReadSession(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if !slices.Equal(hashes(sf.Events), hashes(f.path("main"))) {
		t.Fatal("export → import is not lossless")
	}
	rep, err := core.Replay(f.ctx, Rules{}, sf.Events, core.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Divergence != nil {
		t.Fatalf("replay diverged: %s", rep.Divergence)
	}
	if rep.StateHash != f.eng().State().Hash() || rep.Events != len(sf.Events) {
		t.Fatalf("replay: %+v; want state %s", rep, f.eng().State().Hash())
	}
	// A branch that forked keeps its numbering: the file gives its state
	// byte for byte, and it replays.
	if _, err := f.eng().Rewind(f.ctx, 2, 0); err != nil {
		t.Fatal(err)
	}
	f.say("Jun, what's that noise?", "jun", `[{"op":"set_mood","who":"jun","mood":"alarmed"}]`)
	buf.Reset()
	if err := core.WriteSession(&buf, core.SessionHeader{}, f.path("main")); err != nil {
		t.Fatal(err)
	}
	sf, err = core.ReadSession(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("read back a forked branch: %v", err)
	}
	if !slices.Equal(hashes(sf.Events), hashes(f.path("main"))) {
		t.Fatal("export → import of a forked branch is not lossless")
	}
	st := core.NewState()
	if err := st.ApplyAll(sf.Events); err != nil || st.Hash() != f.eng().State().Hash() {
		t.Fatalf("the exported forked branch folds to another state (%v)", err)
	}
	rep, err = core.Replay(f.ctx, Rules{}, sf.Events, core.ReplayOptions{})
	if err != nil || rep.Divergence != nil {
		t.Fatalf("replay of a forked branch: %v %v", err, rep.Divergence)
	}
	if rep.StateHash != f.eng().State().Hash() {
		t.Fatal("the replay of a forked branch reports another state hash")
	}
}
