package core

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Rules is what the turn loop needs from a world pack: hooks, the speaker
// rule and prompt templates. The Lua runtime satisfies it.
type Rules interface {
	// Hook runs every handler of a hook against a read-only view of st and
	// returns the commands they issued.
	Hook(ctx context.Context, hook string, st *State, seed uint64, args ...any) ([]Command, error)
	// Speakers returns the bots that answer line, in order.
	Speakers(ctx context.Context, st *State, line string, seed uint64) ([]string, error)
	// Template calls a prompt template with facts and returns its result
	// (sections for prompts, a string for the offline renderer).
	Template(ctx context.Context, name string, facts map[string]any) (any, error)
}

// Recall is what the turn loop needs from the memory store: the recent lines
// a character witnessed and memories relevant to a query, filtered by the
// witness mask inside the query.
type Recall interface {
	RecentLines(ctx context.Context, who Mask, limit int) ([]Line, error)
	Recall(ctx context.Context, who Mask, query string, k int) ([]Recalled, error)
}

// Session plays turns on an engine: a player's line in, each bot's reply
// out, the world moved on, all as one atomic turn.
type Session struct {
	Engine    *Engine
	Generator Generator
	Rules     Rules
	Recall    Recall // may be nil: no lines or memories beyond the turn
	// Context is the model's context window in tokens; ReplyReserve is kept
	// free for the reply. The prompt budget is their difference.
	Context      int
	ReplyReserve int
	MaxTokens    int // reply length limit passed to the model
	// Count estimates tokens; it must not under-count.
	Count func(string) int
	// RecentLines is how many witnessed lines go into a prompt (before
	// budget trimming); Memories how many retrieved memories.
	RecentLines int
	Memories    int

	// LastPrompts holds the last prompt built for each bot.
	LastPrompts map[string]Prompt
}

// TurnObserver receives a turn's progress as it happens. Any field may be nil.
type TurnObserver struct {
	Speaker  func(id string)                   // a bot starts its reply
	Token    func(id, chunk string)            // streamed text
	Reply    func(id, text string)             // a bot's reply is complete
	Rejected func(id string, reasons []string) // commands of a state update were refused
	HookErr  func(hook string, err error)      // a hook failed; the turn goes on
}

// TurnResult is what a committed turn wrote and showed.
type TurnResult struct {
	Events     []Event
	Replies    []Reply
	Rejected   []string
	HookErrors []string
	Prompts    map[string]Prompt
}

// Reply is one bot's line in a turn.
type Reply struct {
	Who  string
	Text string
}

// TurnError is a turn that did not commit. Nothing was written; Line is the
// player's line, to offer again.
type TurnError struct {
	Line string
	Err  error
}

func (e *TurnError) Error() string {
	return fmt.Sprintf("turn not saved (your line is kept): %v", e.Err)
}

func (e *TurnError) Unwrap() error { return e.Err }

// MaxLineBytes bounds a player's line.
const MaxLineBytes = 16 << 10

// Hook names the turn loop fires.
const (
	HookTurnStart   = "turn_start"
	HookUserMessage = "user_message"
	HookReply       = "reply"
	HookTimeSkip    = "time_skip"
	HookSceneEnd    = "scene_end"
)

// pendingTurn accumulates a turn's drafts on a scratch state.
type pendingTurn struct {
	s       *Session
	scratch *State
	drafts  []Draft
	lines   []Line // lines drafted this turn (negative ids)
	res     *TurnResult
	obs     TurnObserver
	seed    uint64
	depth   int                     // how deep consequences are chained (see maxFollowDepth)
	ahead   map[string]*recallAhead // each bot's reply reads, under way (recallAhead)
}

// add drafts d on the scratch state and returns its 1-based index.
func (p *pendingTurn) add(d Draft) (int, error) {
	if err := applyDraft(p.scratch, d); err != nil {
		return 0, err
	}
	p.drafts = append(p.drafts, d)
	return len(p.drafts), nil
}

// addOne validates one command against the scratch state and drafts its
// events as caused by draft index cause.
func (p *pendingTurn) addOne(c Command, cause int) error {
	ds, err := Decide(p.scratch, c, p.s.Engine.mem)
	if err != nil {
		return err
	}
	for _, d := range ds {
		d.CausedByIndex = cause
		if _, err := p.add(d); err != nil {
			return err
		}
	}
	return nil
}

// maxFollowDepth bounds how deep consequences may chain (a hook whose
// command fires a hook whose command…), so a pack cannot loop the engine.
const maxFollowDepth = 4

// addCommands validates commands against the scratch state, drafts the
// accepted ones as caused by draft index cause, and runs what follows from
// each (story-event hooks, time-skip rules, scene hooks). It returns the
// reasons of the rejected ones; an error only for a cancelled turn.
func (p *pendingTurn) addCommands(ctx context.Context, cmds []Command, cause int) ([]string, error) {
	var rejected []string
	sr, _ := p.s.Rules.(StoryRules)
	for _, c := range cmds {
		if sr != nil && isStoryOp(c.Op) && p.depth < maxFollowDepth {
			p.depth++
			rej, err := p.storyChange(ctx, sr, c, cause)
			p.depth--
			if err != nil {
				return rejected, err
			}
			rejected = append(rejected, rej...)
			continue
		}
		var before *State
		if closesScene(c.Op) {
			before = p.scratch.Clone()
		}
		if err := p.addOne(c, cause); err != nil {
			rejected = append(rejected, fmt.Sprintf("%s: %v", c, err))
			continue
		}
		if before != nil && p.scratch.Scene != before.Scene {
			// The scene closed: each bot writes its own summary of it.
			if err := p.sceneClosed(ctx, before, cause); err != nil {
				return rejected, err
			}
		}
		if p.depth < maxFollowDepth {
			p.depth++
			err := p.follow(ctx, c, cause)
			p.depth--
			if err != nil {
				return rejected, err
			}
		}
	}
	return rejected, nil
}

// follow runs what follows from an accepted command: a time skip runs the
// pack's timeskip rules and the time_skip hook (and a jump ends the scene);
// an explicit scene end fires scene_end.
func (p *pendingTurn) follow(ctx context.Context, c Command, cause int) error {
	switch c.Op {
	case "skip":
		sk := p.scratch.LastSkip
		if sk == nil {
			return nil
		}
		if rules, ok := p.s.Rules.(SkipRules); ok {
			cmds, err := rules.TimeSkip(ctx, p.scratch, p.seed, *sk)
			if err != nil {
				if err := p.hookFailed(ctx, "timeskip rules", err, cause); err != nil {
					return err
				}
			} else if err := p.commands(ctx, cmds, cause); err != nil {
				return err
			}
		}
		view := map[string]any{"kind": sk.Kind, "minutes": float64(sk.Minutes), "label": sk.Label}
		if err := p.hook(ctx, HookTimeSkip, cause, view); err != nil {
			return err
		}
		// Scheduled story events whose time the skip passed fire now.
		if err := p.storyEvents(ctx, cause); err != nil {
			return err
		}
		if sk.Kind == "jump" {
			return p.hook(ctx, HookSceneEnd, cause, map[string]any{"scene": float64(p.scratch.Scene - 1), "reason": "jump"})
		}
	case "end_scene":
		return p.hook(ctx, HookSceneEnd, cause, map[string]any{"scene": float64(p.scratch.Scene - 1), "reason": "explicit"})
	}
	return nil
}

// commands adds commands and records their rejections in the result.
func (p *pendingTurn) commands(ctx context.Context, cmds []Command, cause int) error {
	rej, err := p.addCommands(ctx, cmds, cause)
	if len(rej) > 0 {
		p.res.Rejected = append(p.res.Rejected, rej...)
	}
	return err
}

// closesScene reports whether a command may end the scene (a move of the
// player or of the container carrying the player, a jump, end_scene).
func closesScene(op string) bool {
	return op == "move" || op == "skip" || op == "end_scene"
}

func isStoryOp(op string) bool {
	return op == "start_event" || op == "complete_event" || op == "cancel_event"
}

// SkipRules runs a pack's time-skip rules: what changed while time passed.
type SkipRules interface {
	TimeSkip(ctx context.Context, st *State, seed uint64, skip Skip) ([]Command, error)
}

func (p *pendingTurn) hook(ctx context.Context, name string, cause int, args ...any) error {
	if p.s.Rules == nil {
		return nil
	}
	cmds, err := p.s.Rules.Hook(ctx, name, p.scratch, p.seed, args...)
	if err != nil {
		return p.hookFailed(ctx, name, err, cause)
	}
	return p.commands(ctx, cmds, cause)
}

// hookFailed reports and records a failed hook; the turn goes on without
// its commands. A cancelled context is not a hook failure: it ends the turn.
func (p *pendingTurn) hookFailed(ctx context.Context, name string, err error, cause int) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if p.obs.HookErr != nil {
		p.obs.HookErr(name, err)
	}
	p.res.HookErrors = append(p.res.HookErrors, fmt.Sprintf("%s: %v", name, err))
	_, aerr := p.add(Draft{Type: TypeHookFailed, Payload: &HookFailed{Hook: name, Error: err.Error()}, Mask: 0, WorldTime: p.scratch.Clock, CausedByIndex: cause})
	return aerr
}

// Turn plays one turn: the player's line, hooks, each chosen bot's reply and
// state update, the clock. The turn commits as one transaction or not at
// all; on failure the error is a *TurnError holding the line.
func (s *Session) Turn(ctx context.Context, line string, obs TurnObserver) (*TurnResult, error) {
	line = strings.TrimSpace(line)
	fail := func(err error) (*TurnResult, error) { return nil, &TurnError{Line: line, Err: err} }
	switch {
	case line == "":
		return fail(errors.New("say something: the line is empty"))
	case len(line) > MaxLineBytes:
		return fail(fmt.Errorf("the line is too long (%d bytes, at most %d)", len(line), MaxLineBytes))
	case !utf8.ValidString(line):
		line = strings.ToValidUTF8(line, "\uFFFD")
	}
	st := s.Engine.State()
	p := &pendingTurn{s: s, res: &TurnResult{Prompts: map[string]Prompt{}}, obs: obs, seed: Seed(st)}
	// The reads first: they need only the log and the line, and the clone
	// of a long story's state (thousands of pins) takes a while.
	defer p.recallAhead(ctx, &st.Cast, line)()
	p.scratch = st.Clone()
	player := st.Cast.Player
	lineIdx, err := p.addLine(player, line, "")
	if err != nil {
		return fail(err)
	}
	if err := p.hook(ctx, HookTurnStart, lineIdx); err != nil {
		return fail(err)
	}
	if err := p.hook(ctx, HookUserMessage, lineIdx, line); err != nil {
		return fail(err)
	}
	if err := p.storyEvents(ctx, lineIdx); err != nil {
		return fail(err)
	}
	speakers, err := s.speakers(ctx, p, line)
	if err != nil {
		return fail(err)
	}
	for _, bot := range speakers {
		if err := s.reply(ctx, p, bot, line, lineIdx); err != nil {
			return fail(err)
		}
	}
	if m := st.World.MinutesPerTurn; m > 0 {
		d := Draft{Type: TypeTimeAdvanced, Payload: &TimeAdvanced{Minutes: int64(m)}, Mask: MaskAll,
			WorldTime: p.scratch.Clock + int64(m), CausedByIndex: lineIdx}
		if _, err := p.add(d); err != nil {
			return fail(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	events, err := s.Engine.Append(ctx, p.drafts)
	if err != nil {
		return fail(err)
	}
	p.res.Events = events
	// Pending line ids (-1, -2, …) become the written events' seqs.
	idOf := map[int64]int64{}
	for i, d := range p.drafts {
		if d.Type == TypeLineSaid {
			idOf[-int64(i+1)] = events[i].Seq
		}
	}
	if s.LastPrompts == nil {
		s.LastPrompts = map[string]Prompt{}
	}
	for who, pr := range p.res.Prompts {
		for i, id := range pr.Manifest.Memories {
			if id < 0 {
				pr.Manifest.Memories[i] = idOf[id]
			}
		}
		for i, id := range pr.Manifest.Events {
			if id < 0 {
				pr.Manifest.Events[i] = idOf[id]
			}
		}
		s.LastPrompts[who] = pr
	}
	return p.res, nil
}

// addLine drafts a line_said and remembers it as a pending line whose id
// is the negated draft index.
func (p *pendingTurn) addLine(who, text, backend string) (int, error) {
	d := Draft{Type: TypeLineSaid, Payload: &LineSaid{Who: who, Text: text, Backend: backend},
		Mask: p.scratch.Earshot(who), WorldTime: p.scratch.Clock}
	idx, err := p.add(d)
	if err != nil {
		return 0, err
	}
	p.lines = append(p.lines, Line{ID: -int64(idx), Who: who, Text: text, Mask: d.Mask, WorldTime: d.WorldTime})
	return idx, nil
}

// speakers asks the rules who answers and keeps the bots that heard the line.
func (s *Session) speakers(ctx context.Context, p *pendingTurn, line string) ([]string, error) {
	var ids []string
	if s.Rules != nil {
		var err error
		if ids, err = s.Rules.Speakers(ctx, p.scratch, line, p.seed); err != nil {
			return nil, fmt.Errorf("choose speakers: %w", err)
		}
	} else {
		ids = DefaultSpeakers(p.scratch, line)
	}
	heard := p.lines[0].Mask
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !p.scratch.Cast.IsBot(id) {
			return nil, fmt.Errorf("choose speakers: %q is not a bot of this cast", id)
		}
		if seen[id] || !heard.Has(p.scratch.Cast.Bit(id)) {
			continue // a bot that did not hear the line cannot answer it
		}
		seen[id] = true
		out = append(out, id)
	}
	return out, nil
}

// DefaultSpeakers is the built-in speaker rule, used when no rules are
// loaded: the bots named in the line, in order of mention; otherwise every
// bot present, in cast order.
func DefaultSpeakers(st *State, line string) []string {
	lower := strings.ToLower(line)
	type hit struct {
		id  string
		pos int
	}
	var hits []hit
	for _, id := range st.Cast.Bots {
		e := st.Entities[id]
		best := -1
		for _, name := range []string{strings.ToLower(e.Name), strings.ToLower(e.ID)} {
			if i := wordIndex(lower, name); i >= 0 && (best < 0 || i < best) {
				best = i
			}
		}
		if best >= 0 {
			hits = append(hits, hit{id, best})
		}
	}
	if len(hits) > 0 {
		if len(hits) == 2 && hits[1].pos < hits[0].pos {
			hits[0], hits[1] = hits[1], hits[0]
		}
		out := make([]string, len(hits))
		for i, h := range hits {
			out[i] = h.id
		}
		return out
	}
	var out []string
	player := st.Entities[st.Cast.Player]
	for _, id := range st.Cast.Bots {
		if st.Entities[id].Location == player.Location {
			out = append(out, id)
		}
	}
	return out
}

// wordIndex finds word in s at word boundaries, or -1.
func wordIndex(s, word string) int {
	if word == "" {
		return -1
	}
	for off := 0; ; {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(word)
		before := i == 0 || !isWordByte(s[i-1])
		after := end == len(s) || !isWordByte(s[end])
		if before && after {
			return i
		}
		off = i + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// reply renders one bot's reply and its state update into the turn.
func (s *Session) reply(ctx context.Context, p *pendingTurn, bot, line string, lineIdx int) error {
	facts, pr, err := s.prompt(ctx, p.scratch, bot, line, p.lines, promptKind{template: "reply", recall: true, ahead: p.ahead[bot]})
	if err != nil {
		return err
	}
	p.res.Prompts[bot] = pr
	if p.obs.Speaker != nil {
		p.obs.Speaker(bot)
	}
	text, err := s.generate(ctx, GenRequest{Messages: pr.Messages, Params: GenParams{MaxTokens: s.MaxTokens},
		Purpose: PurposeReply, Speaker: bot, Facts: facts}, func(chunk string) {
		if p.obs.Token != nil {
			p.obs.Token(bot, chunk)
		}
	})
	if err != nil {
		if strings.Contains(err.Error(), s.Generator.Name()) {
			return fmt.Errorf("%s's reply: %w", p.scratch.Entities[bot].Name, err)
		}
		return fmt.Errorf("%s's reply (%s): %w", p.scratch.Entities[bot].Name, s.Generator.Name(), err)
	}
	replyIdx, err := p.addLine(bot, text, s.Generator.Name())
	if err != nil {
		return err
	}
	p.drafts[replyIdx-1].CausedByIndex = lineIdx
	p.res.Replies = append(p.res.Replies, Reply{Who: bot, Text: text})
	if p.obs.Reply != nil {
		p.obs.Reply(bot, text)
	}
	if err := p.hook(ctx, HookReply, replyIdx, bot, text); err != nil {
		return err
	}
	return s.stateUpdate(ctx, p, bot, line, text, replyIdx)
}

// stateUpdate asks the model which commands the reply implies; accepted ones
// become events, the rest are recorded with reasons. A failed or malformed
// update changes nothing and does not void the reply.
func (s *Session) stateUpdate(ctx context.Context, p *pendingTurn, bot, line, reply string, replyIdx int) error {
	facts, pr, err := s.prompt(ctx, p.scratch, bot, line, p.lines, promptKind{template: "state_update", extra: map[string]any{"reply": reply}})
	if err != nil {
		return err
	}
	raw, genErr := s.generate(ctx, GenRequest{Messages: pr.Messages, Params: GenParams{MaxTokens: 400, Temperature: 0.2},
		Purpose: PurposeStateUpdate, Speaker: bot, Facts: facts}, nil)
	if genErr != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	su := &StateUpdate{Who: bot, Raw: raw}
	var cmds []Command
	switch {
	case genErr != nil:
		// A cut or failed update is not recorded as if it were the model's
		// answer: a replay must not parse half of one.
		su.Raw = ""
		su.Rejected = []string{"state update not generated: " + genErr.Error()}
	default:
		var perr error
		cmds, su.Rejected, perr = ParseStateUpdate(raw)
		if perr != nil {
			su.Rejected = append(su.Rejected, perr.Error())
		}
	}
	idx, err := p.add(Draft{Type: TypeStateUpdate, Payload: su, Mask: 0, WorldTime: p.scratch.Clock, CausedByIndex: replyIdx})
	if err != nil {
		return err
	}
	rej, err := p.addCommands(ctx, cmds, idx)
	if err != nil {
		return err
	}
	su.Rejected = append(su.Rejected, rej...)
	su.Accepted = len(cmds) - len(rej)
	if len(su.Rejected) > 0 {
		p.res.Rejected = append(p.res.Rejected, su.Rejected...)
		if p.obs.Rejected != nil {
			p.obs.Rejected(bot, su.Rejected)
		}
	}
	return nil
}

// generate streams one generation to completion.
func (s *Session) generate(ctx context.Context, req GenRequest, token func(string)) (string, error) {
	stream, err := s.Generator.Generate(ctx, req)
	if err != nil {
		return "", err
	}
	defer stream.Close()
	var b strings.Builder
	for {
		chunk, err := stream.Recv()
		if chunk != "" {
			b.WriteString(chunk)
			if token != nil {
				token(chunk)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return b.String(), err
		}
	}
	text := strings.TrimSpace(b.String())
	if text == "" && req.Purpose == PurposeReply {
		return "", ErrEmpty
	}
	return text, nil
}

// Prompt builds the prompt bot would get now (with no new player line):
// what `diorama prompt` shows.
func (s *Session) Prompt(ctx context.Context, bot string) (Prompt, error) {
	st := s.Engine.State()
	if !st.Cast.IsBot(bot) {
		return Prompt{}, fmt.Errorf("%q is not a bot of this cast (bots: %s)", bot, joinIDs(st.Cast.Bots))
	}
	_, pr, err := s.prompt(ctx, st, bot, "", nil, promptKind{template: "reply", recall: true})
	return pr, err
}

// historyStep is the granularity, in events, at which the start of a
// prompt's history window moves. Cutting the window in steps instead of
// sliding it line by line keeps consecutive prompts' prefixes identical
// for several turns, which is what a server's prompt cache reuses.
const historyStep = 48

// historyWindow keeps the lines of the current scene (raw lines of closed
// scenes are carried by summaries and retrieval, not verbatim) and, when
// there are more than n, cuts the oldest ones at a step boundary.
func historyWindow(lines []Line, sceneStart int64, n int) []Line {
	kept := lines[:0:0]
	for _, l := range lines {
		if l.ID < 0 || l.ID > sceneStart {
			kept = append(kept, l)
		}
	}
	written := 0
	for _, l := range kept {
		if l.ID > 0 {
			written++
		}
	}
	if written <= n {
		return kept
	}
	oldest := kept[written-n].ID
	cutoff := oldest - oldest%historyStep
	out := kept[:0:0]
	for _, l := range kept {
		if l.ID < 0 || l.ID >= cutoff {
			out = append(out, l)
		}
	}
	return out
}

// promptKind says what a prompt is for: the reply (with recall) or the state
// update, which needs only the exchange.
type promptKind struct {
	template string
	recall   bool
	extra    map[string]any // facts added before the template runs
	ahead    *recallAhead   // the recall, already under way (nil: read it now)
}

// recallAhead is a bot's reads for its reply prompt (its last lines and
// its recalled memories), started as the turn begins. They depend only on
// what the log holds and on the player's line, and nothing is written
// until the turn commits, so they run on the store (another goroutine, the
// other core) while the hooks, the speaker rule and the first bot's prompt
// and reply run here; the result is what reading at prompt time gives.
type recallAhead struct {
	done  chan struct{}
	lines []Line
	mems  []Recalled
	err   error
}

// historyLines is the fewest lines a prompt's history window holds
// (Session.RecentLines, 24 unless set).
func (s *Session) historyLines() int {
	if s.RecentLines <= 0 {
		return 24
	}
	return s.RecentLines
}

// recentLimit is how many of a bot's last lines a reply prompt reads:
// historyLines + historyStep always covers the history window (at most one
// line per event, so a step adds at most historyStep lines beyond it).
func (s *Session) recentLimit() int { return s.historyLines() + historyStep }

// memoryK is how many memories a reply prompt recalls.
func (s *Session) memoryK() int {
	if s.Memories <= 0 {
		return 8
	}
	return s.Memories
}

// recall reads a bot's last lines and recalled memories for a reply to line.
func (s *Session) recall(ctx context.Context, bot string, mask Mask, line string) ([]Line, []Recalled, error) {
	lines, err := s.Recall.RecentLines(ctx, mask, s.recentLimit())
	if err != nil {
		return nil, nil, fmt.Errorf("recall lines for %s: %w", bot, err)
	}
	mems, err := s.Recall.Recall(ctx, mask, line, s.memoryK())
	if err != nil {
		return nil, nil, fmt.Errorf("recall memories for %s: %w", bot, err)
	}
	return lines, mems, nil
}

// recallAhead starts the reads of every bot's reply prompt for line (who
// will answer is not known yet; a bot that does not answer wasted a few
// reads on the other core). They run one bot after the other, in cast
// order (the order bots are named in and take turns in), so the first
// bot's reads are not queued behind the second's. The returned stop ends
// them and waits.
func (p *pendingTurn) recallAhead(ctx context.Context, cast *Cast, line string) (stop func()) {
	s := p.s
	if s.Recall == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	type job struct {
		bot  string
		mask Mask
		a    *recallAhead
	}
	var jobs []job
	p.ahead = map[string]*recallAhead{}
	for _, bot := range cast.Bots {
		bit := cast.Bit(bot)
		if bit < 0 {
			continue
		}
		a := &recallAhead{done: make(chan struct{})}
		p.ahead[bot] = a
		jobs = append(jobs, job{bot, Mask(1 << bit), a})
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for _, j := range jobs {
			j.a.lines, j.a.mems, j.a.err = s.recall(ctx, j.bot, j.mask, line)
			close(j.a.done)
		}
	}()
	return func() { cancel(); <-finished }
}

// prompt gathers a bot's point of view and renders a template into a prompt.
func (s *Session) prompt(ctx context.Context, st *State, bot, line string, pending []Line, kind promptKind) (map[string]any, Prompt, error) {
	bit := st.Cast.Bit(bot)
	mask := Mask(1 << bit)
	var lines []Line
	var mems []Recalled
	if s.Recall != nil && kind.recall {
		var err error
		if a := kind.ahead; a != nil {
			select {
			case <-a.done:
			case <-ctx.Done():
				return nil, Prompt{}, ctx.Err()
			}
			lines, mems, err = slices.Clone(a.lines), a.mems, a.err
		} else {
			lines, mems, err = s.recall(ctx, bot, mask, line)
		}
		if err != nil {
			return nil, Prompt{}, err
		}
		mems = filterClosed(mems, closedProps(st))
	}
	lines = append(lines, pending...)
	sortLinesByID(lines)
	lines = historyWindow(lines, st.SceneStart, s.historyLines())
	facts := POVFacts(st, bot, lines, mems, line)
	facts["commands"] = CommandHelp()
	count := s.Count
	if count == nil {
		count = EstimateTokens
	}
	lore, loreHits := loreFacts(st, bot, lines, line, s.budget(), count)
	facts["lore"] = lore
	for k, v := range kind.extra {
		facts[k] = v
	}
	template := kind.template
	if s.Rules == nil {
		return nil, Prompt{}, errors.New("no rules loaded: prompts need templates")
	}
	v, err := s.Rules.Template(ctx, template, facts)
	if err != nil {
		return nil, Prompt{}, fmt.Errorf("prompt template %q for %s: %w", template, bot, err)
	}
	secs, err := SectionsFromValue(v)
	if err != nil {
		return nil, Prompt{}, fmt.Errorf("prompt template %q: %w", template, err)
	}
	pr, err := BuildPrompt(secs, s.budget(), count)
	if err != nil {
		return nil, Prompt{}, fmt.Errorf("prompt for %s: %w", bot, err)
	}
	pr.Manifest.Speaker = bot
	pr.Manifest.Template = template
	for _, sec := range pr.Manifest.Sections {
		if sec.Name == "lore" && sec.Included {
			pr.Manifest.Lore = loreHits
		}
	}
	for _, m := range mems {
		if m.Mask.Has(bit) {
			pr.Manifest.Scores = append(pr.Manifest.Scores, MemoryScore{ID: m.ID, Score: m.Score, Parts: m.Parts})
		}
	}
	return facts, pr, nil
}

// EstimateTokens is a conservative token estimate for when the backend
// offers no tokenizer: one token per three bytes, or per rune for text
// outside ASCII (CJK and emoji run about one token per character), plus one.
// Real tokenizers give fewer tokens for English prose (about four bytes a
// token), so the estimate errs on the side of a prompt that fits.
func EstimateTokens(s string) int {
	if s == "" {
		return 0
	}
	bytes, runes := len(s), utf8.RuneCountInString(s)
	n := bytes / 3
	if nonASCII := bytes - runes; nonASCII > 0 && runes > n {
		n = runes
	}
	return n + 1
}

// Seed derives the PRNG seed for Lua from the log: the world and the last
// event. The same log gives the same seed.
func Seed(st *State) uint64 {
	h := fnv.New64a()
	h.Write([]byte(st.World.ID))
	return h.Sum64() ^ uint64(st.LastSeq)*0x9E3779B97F4A7C15
}

// Act applies commands the way the world's rules expect: each validated
// against the state left by the ones before, with what follows from it (a
// story event's hooks and promotions, a time skip's rules, scene summaries
// and hooks), then the story events' conditions, all as one turn. A rejected command writes nothing and returns its reason.
// It is what the shell's /skip, a pack test's t:act and the CLI use when a
// pack is loaded.
func (s *Session) Act(ctx context.Context, cmds ...Command) ([]Event, []string, error) {
	st := s.Engine.State()
	p := &pendingTurn{s: s, scratch: st.Clone(), res: &TurnResult{}, seed: Seed(st)}
	for _, c := range cmds {
		// Validate first, so a rejection is an error and not a consequence.
		if _, err := Decide(p.scratch, c, s.Engine.mem); err != nil {
			return nil, nil, err
		}
		rej, err := p.addCommands(ctx, []Command{c}, 0)
		if err != nil {
			return nil, nil, err
		}
		p.res.Rejected = append(p.res.Rejected, rej...)
	}
	// The world changed: story events whose conditions now hold start or end.
	if err := p.storyEvents(ctx, 0); err != nil {
		return nil, nil, err
	}
	if len(p.drafts) == 0 {
		return nil, p.res.Rejected, nil
	}
	events, err := s.Engine.Append(ctx, p.drafts)
	if err != nil {
		return nil, nil, err
	}
	return events, append(p.res.Rejected, p.res.HookErrors...), nil
}
