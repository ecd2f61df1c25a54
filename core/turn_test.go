package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"diorama/core"
)

// dumpRules is the leakiest template possible: it writes every fact it is
// given into the prompt. If nothing outside a POV reaches it, no template can
// leak it either.
type dumpRules struct{}

func (dumpRules) Hook(ctx context.Context, hook string, st *core.State, seed uint64, args ...any) ([]core.Command, error) {
	return nil, nil
}

func (dumpRules) Speakers(ctx context.Context, st *core.State, line string, seed uint64) ([]string, error) {
	return core.DefaultSpeakers(st, line), nil
}

func (dumpRules) Template(ctx context.Context, name string, facts map[string]any) (any, error) {
	b, _ := json.Marshal(facts)
	var items []any
	for _, l := range facts["lines"].([]any) {
		m := l.(map[string]any)
		items = append(items, map[string]any{"text": m["name"].(string) + ": " + m["text"].(string), "event": m["id"]})
	}
	var memIDs []any
	for _, m := range facts["memories"].([]any) {
		memIDs = append(memIDs, m.(map[string]any)["id"])
	}
	return []any{
		map[string]any{"name": "facts", "text": string(b), "priority": 100.0, "memories": memIDs},
		map[string]any{"name": "lines", "items": items, "priority": 50.0},
		map[string]any{"name": "ask", "role": "user", "text": "Reply.", "priority": 100.0},
	}, nil
}

// queueGen is a minimal scripted generator: texts per (speaker, purpose).
type queueGen struct {
	q   map[string][]string
	err error
}

func (g *queueGen) push(who, purpose, text string) {
	if g.q == nil {
		g.q = map[string][]string{}
	}
	g.q[who+"/"+purpose] = append(g.q[who+"/"+purpose], text)
}

func (g *queueGen) Name() string { return "queue" }

func (g *queueGen) Generate(ctx context.Context, req core.GenRequest) (core.TextStream, error) {
	if g.err != nil {
		return nil, g.err
	}
	k := req.Speaker + "/" + req.Purpose
	if len(g.q[k]) == 0 {
		if req.Purpose == core.PurposeStateUpdate {
			return &strStream{parts: []string{"[]"}}, nil
		}
		return nil, fmt.Errorf("no reply queued for %q", req.Speaker)
	}
	t := g.q[k][0]
	g.q[k] = g.q[k][1:]
	return &strStream{parts: strings.SplitAfter(t, " ")}, nil
}

type strStream struct {
	parts []string
	cut   bool
}

func (s *strStream) Recv() (string, error) {
	if len(s.parts) == 0 {
		if s.cut {
			return "", core.ErrIncomplete
		}
		return "", io.EOF
	}
	p := s.parts[0]
	s.parts = s.parts[1:]
	return p, nil
}

func (s *strStream) Close() error { return nil }

func newSession(t *testing.T) (*core.Session, *queueGen, *core.MemLog) {
	t.Helper()
	eng, log := mustEngine(t)
	g := &queueGen{}
	return &core.Session{Engine: eng, Generator: g, Rules: dumpRules{}, Recall: log, Context: 4096, ReplyReserve: 256}, g, log
}

func TestTurn(t *testing.T) {
	ctx := context.Background()
	s, g, log := newSession(t)
	g.push("jun", core.PurposeReply, "*Jun unfolds the map.* Left at the lake road.")
	g.push("jun", core.PurposeStateUpdate, "```json\n[{\"op\":\"hold\",\"who\":\"jun\",\"item\":\"map\"},{\"op\":\"fly\"}]\n```")
	var streamed strings.Builder
	res, err := s.Turn(ctx, "Jun, which way?", core.TurnObserver{Token: func(id, c string) { streamed.WriteString(c) }})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(res.Replies), 1; got != want {
		t.Fatalf("replies: %d, want %d (only the named bot answers)", got, want)
	}
	if got, want := streamed.String(), res.Replies[0].Text; got != want {
		t.Fatalf("streamed %q, reply %q", got, want)
	}
	st := s.Engine.State()
	if got := st.Entities["jun"].Holding; len(got) != 1 || got[0] != "map" {
		t.Fatalf("state update not applied: jun holds %v", got)
	}
	if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0], `unknown op "fly"`) {
		t.Fatalf("rejected: %v", res.Rejected)
	}
	if got, want := st.NowString(), "1999-08-14T21:32"; got != want {
		t.Fatalf("clock %s, want %s (minutes_per_turn)", got, want)
	}
	evs, _ := log.Events("main")
	var types []string
	for _, e := range evs[1:] {
		types = append(types, e.Type)
	}
	if got, want := strings.Join(types, ","), "line_said,line_said,state_update_proposed,item_held,time_advanced"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	// Every event of the turn is one turn; the reply is caused by the line.
	if evs[2].CausedBy != evs[1].Seq || evs[4].CausedBy != evs[3].Seq {
		t.Fatalf("caused_by chain broken: %+v", evs)
	}
	// The manifest names the written line ids, not placeholders.
	man := s.LastPrompts["jun"].Manifest
	if len(man.Events) == 0 || man.Events[len(man.Events)-1] != evs[1].Seq {
		t.Fatalf("manifest events %v, want the player's line %d", man.Events, evs[1].Seq)
	}
}

func TestTurnFailsWhole(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		gen  func(g *queueGen)
		want error
	}{
		{"Unavailable", func(g *queueGen) { g.err = core.ErrUnavailable }, core.ErrUnavailable},
		{"NothingQueued", func(g *queueGen) {}, nil},
		{"Empty", func(g *queueGen) { g.push("jun", core.PurposeReply, "   ") }, core.ErrEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, g, log := newSession(t)
			tc.gen(g)
			before, _ := log.Events("main")
			hash := s.Engine.State().Hash()
			_, err := s.Turn(ctx, "Jun?", core.TurnObserver{})
			var te *core.TurnError
			if !errors.As(err, &te) || te.Line != "Jun?" {
				t.Fatalf("want a TurnError keeping the line, got %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			after, _ := log.Events("main")
			if len(after) != len(before) || s.Engine.State().Hash() != hash {
				t.Fatal("a failed turn wrote something")
			}
		})
	}
}

func TestDefaultSpeakers(t *testing.T) {
	eng, _ := mustEngine(t)
	st := eng.State()
	for line, want := range map[string]string{
		"Jun, which way?":            "jun",
		"mara and jun, stop.":        "mara,jun",
		"Jun and Mara":               "jun,mara",
		"anyone hungry?":             "mara,jun",
		"junction ahead, maraschino": "mara,jun",
	} {
		if got := strings.Join(core.DefaultSpeakers(st, line), ","); got != want {
			t.Errorf("%q: got %s, want %s", line, got, want)
		}
	}
}

// TestWitnessProperty: random moves in and out of earshot, lines and facts,
// thousands of steps with a fixed seed; for every prompt built, nothing
// whose mask excludes the speaker appears in it, and no other character's
// edge note. Zero leaks is the only passing figure.
func TestWitnessProperty(t *testing.T) {
	steps := 3000
	if testing.Short() {
		steps = 600
	}
	ctx := context.Background()
	s, g, log := newSession(t)
	r := rand.New(rand.NewPCG(7, 11))
	locs := []string{"road", "gas_station", "shop", "lake"}
	do := func(js string) {
		c, err := core.ParseCommand([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Engine.Do(ctx, c) // rejections are fine
	}
	// Private notes on every edge, each unique.
	for _, a := range []string{"you", "mara", "jun"} {
		for _, b := range []string{"you", "mara", "jun"} {
			if a != b {
				do(fmt.Sprintf(`{"op":"adjust","who":%q,"to":%q,"note":"EDGE-%s-%s"}`, a, b, a, b))
			}
		}
	}
	prompts, leaks := 0, 0
	for i := 0; i < steps; i++ {
		switch r.IntN(6) {
		case 0, 1:
			who := []string{"you", "mara", "jun"}[r.IntN(3)]
			do(fmt.Sprintf(`{"op":"move","who":%q,"location":%q}`, who, locs[r.IntN(len(locs))]))
		case 2:
			who := []string{"you", "mara", "jun"}[r.IntN(3)]
			do(fmt.Sprintf(`{"op":"note_fact","who":%q,"fact":"FACT-%d"}`, who, i))
		default:
			line := fmt.Sprintf("LINE-%d", i)
			g.q = nil
			for _, b := range []string{"mara", "jun"} {
				g.push(b, core.PurposeReply, fmt.Sprintf("REPLY-%s-%d", b, i))
			}
			if _, err := s.Turn(ctx, line, core.TurnObserver{}); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			for bot, pr := range s.LastPrompts {
				prompts++
				leaks += checkPOV(t, log, bot, pr)
			}
			s.LastPrompts = nil
		}
	}
	if prompts < steps/4 {
		t.Fatalf("only %d prompts built", prompts)
	}
	if leaks != 0 {
		t.Fatalf("%d leaks in %d prompts", leaks, prompts)
	}
	t.Logf("%d prompts, 0 leaks", prompts)
}

// markers caches the unique text of each line and fact event by seq.
var markers = map[int64]string{}

// checkPOV counts what in pr the bot could not know.
func checkPOV(t *testing.T, log *core.MemLog, bot string, pr core.Prompt) int {
	t.Helper()
	evs, _ := log.Events("main")
	bit := map[string]int{"you": 0, "mara": 1, "jun": 2}[bot]
	text := pr.Text()
	byID := map[int64]core.Event{}
	leaks := 0
	for _, e := range evs {
		byID[e.Seq] = e
		if e.Mask.Has(bit) {
			continue
		}
		marker, ok := markers[e.Seq]
		if !ok {
			switch e.Type {
			case core.TypeLineSaid:
				p, _ := e.Decode()
				marker = p.(*core.LineSaid).Text
			case core.TypeFactNoted:
				p, _ := e.Decode()
				marker = p.(*core.FactNoted).Fact
			}
			markers[e.Seq] = marker
		}
		if marker != "" && containsToken(text, marker) {
			t.Errorf("%s's prompt holds %q (event %d, mask %s)", bot, marker, e.Seq, e.Mask)
			leaks++
		}
	}
	for _, id := range append(append([]int64{}, pr.Manifest.Memories...), pr.Manifest.Events...) {
		if e, ok := byID[id]; !ok || !e.Mask.Has(bit) {
			t.Errorf("%s's manifest names %d, which it did not witness", bot, id)
			leaks++
		}
	}
	for _, a := range []string{"you", "mara", "jun"} {
		for _, b := range []string{"you", "mara", "jun"} {
			if a != b && a != bot && strings.Contains(text, fmt.Sprintf("EDGE-%s-%s", a, b)) {
				t.Errorf("%s's prompt holds %s's note about %s", bot, a, b)
				leaks++
			}
		}
	}
	return leaks
}

// containsToken reports whether marker occurs in text not followed by a
// digit (LINE-1 must not match LINE-12).
func containsToken(text, marker string) bool {
	for off := 0; ; {
		i := strings.Index(text[off:], marker)
		if i < 0 {
			return false
		}
		end := off + i + len(marker)
		if end == len(text) || text[end] < '0' || text[end] > '9' {
			return true
		}
		off = end
	}
}

func TestBuildPromptBudget(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 500; i++ {
		var secs []core.Section
		for j := 0; j < 1+r.IntN(6); j++ {
			s := core.Section{Name: fmt.Sprintf("s%d", j), Priority: r.IntN(5), Text: strings.Repeat("word ", r.IntN(200))}
			if r.IntN(3) == 0 {
				s.Text = ""
				for k := 0; k < r.IntN(30); k++ {
					s.Items = append(s.Items, core.SectionItem{Text: strings.Repeat("x", 1+r.IntN(40)), Event: int64(k + 1)})
				}
			}
			if r.IntN(4) == 0 {
				s.Role = "user"
			}
			secs = append(secs, s)
		}
		budget := 20 + r.IntN(400)
		pr, err := core.BuildPrompt(secs, budget, core.EstimateTokens)
		if err != nil {
			continue
		}
		total := 0
		for _, m := range pr.Messages {
			total += core.EstimateTokens(m.Content) + 4
		}
		if pr.Manifest.Tokens > budget {
			t.Fatalf("case %d: manifest says %d tokens, budget %d", i, pr.Manifest.Tokens, budget)
		}
	}
}

func TestBuildPromptDropsLowestFirst(t *testing.T) {
	secs := []core.Section{
		{Name: "system", Priority: 100, Text: strings.Repeat("a ", 50)},
		{Name: "memories", Priority: 10, Text: strings.Repeat("m ", 50)},
		{Name: "lines", Priority: 50, Items: []core.SectionItem{{Text: "one", Event: 1}, {Text: "two", Event: 2}, {Text: "three", Event: 3}}},
		{Name: "ask", Role: "user", Priority: 100, Text: "go"},
	}
	pr, err := core.BuildPrompt(secs, 50, core.EstimateTokens)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range pr.Manifest.Sections {
		got[s.Name] = s.Included
	}
	if got["memories"] || !got["system"] || !got["lines"] || !got["ask"] {
		t.Fatalf("sections: %+v", pr.Manifest.Sections)
	}
	if len(pr.Messages) != 2 || pr.Messages[1].Role != "user" {
		t.Fatalf("messages: %+v", pr.Messages)
	}
	if _, err := core.BuildPrompt(secs, 5, core.EstimateTokens); err == nil {
		t.Fatal("an impossible budget built a prompt")
	}
}
