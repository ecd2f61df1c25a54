package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Replay re-runs a recorded branch (root first, as a session file holds it)
// through rules: each player's line goes through Session.Turn, each other
// turn through Session.Act (or Engine.Do, for commands applied without the
// rules), and the model's outputs recorded in the log — replies and their
// backend, raw state updates, scene summaries — are fed back in order. It
// starts from the recorded world, as a save played again would, and stops
// at the first place where the events or the state differ from the
// recording. This is how an author checks that a change of rules did not
// break an old story.
//
// An error means the recording cannot be replayed at all; a divergence is
// a result.
func Replay(ctx context.Context, rules Rules, rec []Event, opts ReplayOptions) (*ReplayReport, error) {
	if len(rec) == 0 {
		return nil, errors.New("replay: the recording is empty")
	}
	// The replay's log numbers events 1, 2, 3…: compare against the
	// recording numbered so, and report the recording's own seqs.
	lin, err := Linear(rec)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	rp := &replayer{orig: rec}
	rep, err := rp.run(ctx, rules, lin, opts)
	if err == nil && rep.Divergence != nil && rep.Divergence.Index < len(rec) {
		rep.Divergence.Seq = rec[rep.Divergence.Index].Seq
	}
	if err == nil && rep.Divergence == nil && rp.final != nil {
		rep.StateHash = renumbered(rp.final, rec).Hash()
	}
	return rep, err
}

// renumbered returns st, the state after a path numbered 1, 2, 3…, with the
// seqs it holds put back in the numbering of orig, that path as recorded.
func renumbered(st *State, orig []Event) *State {
	at := func(seq int64) int64 {
		if seq >= 1 && seq <= int64(len(orig)) {
			return orig[seq-1].Seq
		}
		return seq
	}
	c := st.Clone()
	c.LastSeq, c.SceneStart = at(st.LastSeq), at(st.SceneStart)
	c.Pinned = make(map[int64]bool, len(st.Pinned))
	for id, on := range st.Pinned {
		c.Pinned[at(id)] = on
	}
	return c
}

// replayer remembers the recording's own numbering for messages.
type replayer struct {
	orig  []Event
	final *State // the replayed state at the end
}

// meta renders an event's envelope for a divergence, naming its cause in
// the recording's numbering.
func (r *replayer) meta(e *Event) string {
	s := fmt.Sprintf(" [mask %s, world time %d", e.Mask, e.WorldTime)
	if c := e.CausedBy; c != 0 {
		if c >= 1 && c <= int64(len(r.orig)) {
			c = r.orig[c-1].Seq
		}
		s += fmt.Sprintf(", from #%d", c)
	}
	return s + "]"
}

func (r *replayer) run(ctx context.Context, rules Rules, rec []Event, opts ReplayOptions) (*ReplayReport, error) {
	p, err := rec[0].Decode()
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	wc, ok := p.(*WorldCreated)
	if !ok {
		return nil, fmt.Errorf("replay: the recording starts with %s, not %s", rec[0].Type, TypeWorldCreated)
	}
	log, err := NewMemLog(&wc.World)
	if err != nil {
		return nil, fmt.Errorf("replay: the recorded world: %w", err)
	}
	eng, err := NewEngine(ctx, log, log, "main")
	if err != nil {
		return nil, err
	}
	gen := newRecordedGen(rec)
	if opts.Context <= 0 {
		opts.Context, opts.ReplyReserve = 8192, 512
	}
	sess := &Session{Engine: eng, Generator: gen, Rules: rules, Recall: log,
		Context: opts.Context, ReplyReserve: opts.ReplyReserve, Count: opts.Count}
	rep := &ReplayReport{}
	recState := NewState()
	if err := recState.Apply(&rec[0]); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	first, err := log.Events("main")
	if err != nil {
		return nil, err
	}
	if d := compareEvents(&rec[0], &first[0], recState); d != "" {
		rep.Divergence = &Divergence{Index: 0, Seq: 1, What: "the creation of the world differs: " + d,
			Recorded: Describe(&rec[0], recState), Replayed: Describe(&first[0], recState)}
		return rep, nil
	}
	rep.Events = 1
	for start := 1; start < len(rec); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := start
		for end < len(rec) && rec[end].Turn == rec[start].Turn {
			end++
		}
		turn := rec[start:end]
		gen.load(turn, recState.Cast.Player)
		got, err := replayTurn(ctx, sess, gen, turn, recState)
		if err != nil {
			rep.Divergence = &Divergence{Index: start, Seq: turn[0].Seq, Turn: turn[0].Turn, What: "the turn could not be played",
				Recorded: Describe(&turn[0], recState), Replayed: replayLine(err.Error())}
			return rep, nil
		}
		for i := range turn {
			if i >= len(got) {
				rep.Divergence = &Divergence{Index: start + i, Seq: turn[i].Seq, Turn: turn[i].Turn, What: "an event is missing",
					Recorded: Describe(&turn[i], recState) + r.meta(&turn[i]), Replayed: "(nothing)"}
				return rep, nil
			}
			if d := compareEvents(&turn[i], &got[i], recState); d != "" {
				rep.Divergence = &Divergence{Index: start + i, Seq: turn[i].Seq, Turn: turn[i].Turn, What: d,
					Recorded: Describe(&turn[i], recState) + r.meta(&turn[i]), Replayed: Describe(&got[i], eng.State()) + r.meta(&got[i])}
				return rep, nil
			}
		}
		if len(got) > len(turn) {
			rep.Divergence = &Divergence{Index: end, Seq: got[len(turn)].Seq, Turn: turn[0].Turn, What: "an extra event",
				Recorded: "(nothing: the turn ended)", Replayed: Describe(&got[len(turn)], eng.State()) + r.meta(&got[len(turn)])}
			return rep, nil
		}
		if err := recState.ApplyAll(turn); err != nil {
			return nil, fmt.Errorf("replay: the recording: %w", err)
		}
		if got, want := eng.State().Hash(), recState.Hash(); got != want {
			diff := DiffStates(recState, eng.State())
			rep.Divergence = &Divergence{Index: end - 1, Seq: turn[len(turn)-1].Seq, Turn: turn[0].Turn, What: "the state differs after the turn",
				Recorded: "state " + clip(want, 12), Replayed: "state " + clip(got, 12) + ": " + strings.Join(diff, "; ")}
			return rep, nil
		}
		rep.Turns++
		rep.Events += len(turn)
		start = end
	}
	rep.StateHash = eng.State().Hash()
	r.final = eng.State()
	return rep, nil
}

// ReplayOptions tune Replay; the zero value works.
type ReplayOptions struct {
	Context      int // the model's context window in tokens (default 8192)
	ReplyReserve int
	Count        func(string) int
}

// ReplayReport is what Replay found.
type ReplayReport struct {
	Turns      int         // turns replayed without a difference
	Events     int         // events replayed without a difference
	StateHash  string      // the final state's hash, in the recording's numbering (when nothing diverged)
	Divergence *Divergence // the first difference, or nil
}

// Divergence is the first place a replay differs from its recording.
type Divergence struct {
	Index    int   // the recorded event's position (0: the first event)
	Seq      int64 // its seq in the recording
	Turn     int64
	What     string // what differs
	Recorded string // the recorded side
	Replayed string // the replayed side
}

func (d *Divergence) String() string {
	return fmt.Sprintf("diverged at event %d (turn %d): %s\n  recorded: %s\n  replayed: %s", d.Seq, d.Turn, d.What, d.Recorded, d.Replayed)
}

func replayLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// compareEvents returns how got differs from want, or "".
func compareEvents(want, got *Event, st *State) string {
	switch {
	case want.Type != got.Type:
		return fmt.Sprintf("the event type differs (%s, %s)", want.Type, got.Type)
	case want.Seq != got.Seq || want.Parent != got.Parent:
		return "the event is numbered differently"
	}
	wp, err1 := canonicalPayload(want)
	gp, err2 := canonicalPayload(got)
	switch {
	case err1 != nil:
		return "the recorded payload does not decode: " + err1.Error()
	case err2 != nil:
		return "the replayed payload does not decode: " + err2.Error()
	case wp != gp:
		return "the payload differs"
	case want.Mask != got.Mask:
		return fmt.Sprintf("the witness mask differs (%s, %s)", want.Mask, got.Mask)
	case want.CausedBy != got.CausedBy:
		return fmt.Sprintf("what caused it differs (#%d, #%d)", want.CausedBy, got.CausedBy)
	case want.WorldTime != got.WorldTime:
		return fmt.Sprintf("the world time differs (%d, %d)", want.WorldTime, got.WorldTime)
	case want.Turn != got.Turn:
		return fmt.Sprintf("the turn differs (%d, %d)", want.Turn, got.Turn)
	}
	return ""
}

// replayTurn plays one recorded turn and returns the events it wrote.
func replayTurn(ctx context.Context, sess *Session, gen *recordedGen, turn []Event, recState *State) ([]Event, error) {
	allPacks := true
	for i := range turn {
		if turn[i].Type != TypePackLoaded {
			allPacks = false
		}
	}
	if allPacks {
		// Rule changes are records of the session: they replay as recorded,
		// so the current pack's own hash does not count as a divergence.
		drafts := make([]Draft, len(turn))
		for i := range turn {
			p, err := turn[i].Decode()
			if err != nil {
				return nil, err
			}
			drafts[i] = Draft{Type: turn[i].Type, Payload: p, Mask: turn[i].Mask, WorldTime: turn[i].WorldTime, CausedBy: turn[i].CausedBy}
		}
		return sess.Engine.Append(ctx, drafts)
	}
	if turn[0].Type == TypeLineSaid && turn[0].CausedBy == 0 {
		p, err := turn[0].Decode()
		if err != nil {
			return nil, err
		}
		if ls := p.(*LineSaid); ls.Who == recState.Cast.Player {
			res, err := sess.Turn(ctx, ls.Text, TurnObserver{})
			if err != nil {
				return nil, err
			}
			return res.Events, nil
		}
	}
	return replayAct(ctx, sess, gen, turn)
}

// replayAct replays a turn of commands. The log does not say which events
// were the commands and which their consequences, so it finds out: it
// takes the first event's command, plays it on a scratch copy and, while
// what that produces is a prefix of the recorded turn, adds the command of
// the next event not produced yet. A turn the rules reproduce whole is
// played for real through Session.Act; else, if the events are exactly
// what Engine.Do makes of their commands (commands applied without the
// rules), through Do. Otherwise the Act attempt's events are returned for
// the caller to report.
func replayAct(ctx context.Context, sess *Session, gen *recordedGen, turn []Event) ([]Event, error) {
	var cmds []Command
	var last []Event
	var lastErr error
	for pos := 0; pos < len(turn); {
		p, err := turn[pos].Decode()
		if err != nil {
			return nil, err
		}
		c, ok := commandOf(&turn[pos], p)
		if !ok {
			break
		}
		cmds = append(cmds, c)
		last, lastErr = dryRun(ctx, sess, gen, func(s *Session) ([]Event, error) {
			evs, _, err := s.Act(ctx, cmds...)
			return evs, err
		})
		if lastErr != nil {
			break
		}
		n := matching(turn, last)
		if n == len(turn) && len(last) == len(turn) {
			evs, _, err := sess.Act(ctx, cmds...)
			return evs, err
		}
		if n < len(last) || len(last) <= pos {
			break
		}
		pos = len(last)
	}
	if all, ok := commandsOf(turn); ok {
		got, err := dryRun(ctx, sess, gen, func(s *Session) ([]Event, error) { return s.Engine.Do(ctx, all...) })
		if err == nil && len(got) == len(turn) && matching(turn, got) == len(turn) {
			return sess.Engine.Do(ctx, all...)
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	if last == nil {
		return nil, fmt.Errorf("a turn that starts with %s cannot be replayed: it comes from no command", turn[0].Type)
	}
	return last, nil
}

// matching counts the leading events of got equal to the recorded ones.
func matching(rec, got []Event) int {
	n := 0
	for n < len(rec) && n < len(got) && compareEvents(&rec[n], &got[n], nil) == "" {
		n++
	}
	return n
}

// commandsOf returns the commands of a whole turn (a scene end that came
// with a move of the player goes with the move), or false if an event is
// not the effect of a command.
func commandsOf(turn []Event) ([]Command, bool) {
	var out []Command
	for i := range turn {
		p, err := turn[i].Decode()
		if err != nil {
			return nil, false
		}
		if se, ok := p.(*SceneEnded); ok && i > 0 && strings.HasPrefix(se.Reason, "moved to ") &&
			(turn[i-1].Type == TypeEntityMoved || turn[i-1].Type == TypeContainerMoved) {
			continue
		}
		c, ok := commandOf(&turn[i], p)
		if !ok {
			if _, isEnd := p.(*SceneEnded); isEnd {
				out = append(out, Command{Op: "end_scene"})
				continue
			}
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}

// dryRun plays fn on a copy of the session whose log writes nothing, with
// the recorded outputs rewound afterwards.
func dryRun(ctx context.Context, sess *Session, gen *recordedGen, fn func(*Session) ([]Event, error)) ([]Event, error) {
	saved := gen.save()
	defer gen.restore(saved)
	st := sess.Engine.State()
	dry := *sess
	dry.Engine = &Engine{log: &dryLog{turn: st.Turn}, mem: sess.Engine.mem, branch: sess.Engine.branch, state: st}
	dry.LastPrompts = nil
	return fn(&dry)
}

// dryLog is an EventLog that numbers a turn the way MemLog would and
// writes nothing.
type dryLog struct{ turn int64 }

func (d *dryLog) AppendTurn(ctx context.Context, branch string, parent int64, drafts []Draft, project func([]Event) (*State, error)) ([]Event, error) {
	evs := make([]Event, len(drafts))
	prev := parent
	for i, dr := range drafts {
		typ, v, payload, err := EncodeDraft(dr)
		if err != nil {
			return nil, err
		}
		caused := dr.CausedBy
		if dr.CausedByIndex > 0 && dr.CausedByIndex <= i {
			caused = evs[dr.CausedByIndex-1].Seq
		}
		evs[i] = Event{Seq: prev + 1, Parent: prev, Branch: branch, Turn: d.turn + 1, Type: typ, Version: v, Payload: payload,
			Mask: dr.Mask, CausedBy: caused, WorldTime: dr.WorldTime}
		prev++
	}
	if _, err := project(evs); err != nil {
		return nil, err
	}
	return evs, nil
}

func (d *dryLog) LoadState(ctx context.Context, branch string) (*State, error) {
	return nil, errors.New("a dry run loads nothing")
}

// recordedGen is the generator of a replay: it hands out, per speaker and
// purpose, the outputs recorded in the turn being replayed, and names
// itself after the backend that wrote the recorded reply.
type recordedGen struct {
	queues map[[2]string][]recorded
	name   string
}

type recorded struct {
	text    string
	err     error
	backend string
}

func newRecordedGen(rec []Event) *recordedGen {
	g := &recordedGen{name: "replay"}
	for i := range rec {
		if rec[i].Type != TypeLineSaid {
			continue
		}
		if p, err := rec[i].Decode(); err == nil && p.(*LineSaid).Backend != "" {
			g.name = p.(*LineSaid).Backend
			break
		}
	}
	return g
}

// notGeneratedPrefix is how a state update the model failed to give is
// recorded (see Session.stateUpdate).
const notGeneratedPrefix = "state update not generated: "

// load queues the outputs recorded in turn.
func (g *recordedGen) load(turn []Event, player string) {
	g.queues = map[[2]string][]recorded{}
	push := func(who, purpose string, r recorded) {
		k := [2]string{who, purpose}
		g.queues[k] = append(g.queues[k], r)
	}
	for i := range turn {
		p, err := turn[i].Decode()
		if err != nil {
			continue
		}
		switch p := p.(type) {
		case *LineSaid:
			if p.Who != player {
				push(p.Who, PurposeReply, recorded{text: p.Text, backend: p.Backend})
			}
		case *StateUpdate:
			r := recorded{text: p.Raw}
			if p.Raw == "" && len(p.Rejected) > 0 && strings.HasPrefix(p.Rejected[0], notGeneratedPrefix) {
				r = recorded{err: errors.New(strings.TrimPrefix(p.Rejected[0], notGeneratedPrefix))}
			}
			push(p.Who, PurposeStateUpdate, r)
		case *SummaryWritten:
			push(p.Who, PurposeSummary, recorded{text: p.Text})
		}
	}
}

func (g *recordedGen) save() map[[2]string][]recorded {
	out := make(map[[2]string][]recorded, len(g.queues))
	for k, v := range g.queues {
		out[k] = v
	}
	return out
}

func (g *recordedGen) restore(q map[[2]string][]recorded) { g.queues = q }

func (g *recordedGen) Name() string { return g.name }

func (g *recordedGen) Generate(ctx context.Context, req GenRequest) (TextStream, error) {
	purpose := req.Purpose
	if purpose == "" {
		purpose = PurposeReply
	}
	k := [2]string{req.Speaker, purpose}
	q := g.queues[k]
	if len(q) == 0 {
		if purpose == PurposeSummary {
			return nil, fmt.Errorf("replay: no summary recorded: %w", ErrNotQueued)
		}
		return nil, fmt.Errorf("the recording has no %s of %q in this turn (the rules asked for one): %w", strings.ReplaceAll(purpose, "_", " "), req.Speaker, ErrNotQueued)
	}
	r := q[0]
	g.queues[k] = q[1:]
	if r.err != nil {
		return nil, r.err
	}
	if purpose == PurposeReply && r.backend != "" {
		g.name = r.backend
	}
	return &onceStream{text: r.text}, nil
}

// onceStream yields its text in one chunk.
type onceStream struct {
	text string
	done bool
}

func (s *onceStream) Recv() (string, error) {
	if s.done {
		return "", io.EOF
	}
	s.done = true
	return s.text, nil
}

func (s *onceStream) Close() error { return nil }
