package shell

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"

	"diorama/core"
)

func hasSpinner(s string) bool {
	for _, f := range spinFrames {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

func rowWith(rows []string, sub string) string {
	for _, r := range rows {
		if strings.Contains(r, sub) {
			return r
		}
	}
	return ""
}

func TestSendLineStreams(t *testing.T) {
	app := newFakeApp()
	step := make(chan struct{})
	app.turn = func(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
		obs.Speaker("mara")
		<-step // the spinner shows until the first token
		obs.Token("mara", "Well, ")
		obs.Token("mara", "*smiles* ")
		<-step // the turn is still running: the text must already show
		obs.Token("mara", "hi.")
		obs.Reply("mara", "Well, *smiles* hi.")
		app.commit(line, "mara", "Well, *smiles* hi.")
		return &core.TurnResult{Replies: []core.Reply{{Who: "mara", Text: "Well, *smiles* hi."}}}, nil
	}
	hs := start(t, app, 80, 24, Options{})
	hs.typeText("hello there")
	hs.waitFor("the typed line", func(s string) bool { return strings.Contains(s, "> hello there") })
	hs.enter()

	hs.waitText("Ana: hello there")
	hs.waitFor("a spinner after Mara's name", func(s string) bool {
		r := rowWith(strings.Split(s, "\n"), "Mara:")
		return r != "" && hasSpinner(r)
	})
	if got := hs.inputRow(); strings.Contains(got, "hello") {
		t.Fatalf("the input still holds the sent line: %q", got)
	}

	step <- struct{}{}
	hs.waitText("Mara: Well, smiles")
	if r := rowWith(hs.rows(), "Mara:"); hasSpinner(strings.TrimPrefix(r, "Mara:")) && !strings.Contains(r, "Well") {
		t.Fatalf("spinner still shown after the first token: %q", r)
	}
	if st, ok := hs.styleOf("smiles"); !ok || !hasAttr(st, tcell.AttrItalic) {
		t.Fatalf("the *action* is not italic")
	}
	step <- struct{}{}
	hs.waitText("Mara: Well, smiles hi.")
	hs.waitFor("the spinner to stop", func(s string) bool {
		return !hasSpinner(rowWith(strings.Split(s, "\n"), "Mara:"))
	})
	if !app.called("turn:hello there") {
		t.Fatal("the app did not get the turn")
	}
	// The committed lines replaced the provisional ones (ids now known).
	hs.key(tcell.KeyF4, tcell.ModNone)
	hs.waitText("#101 Mara: Well, smiles hi.")
}

func hasAttr(st tcell.Style, a tcell.AttrMask) bool {
	_, _, attrs := st.Decompose()
	return attrs&a != 0
}

func TestNarrationDistinct(t *testing.T) {
	app := newFakeApp()
	app.entries = []Entry{
		{Text: "Rain drums on the tin roof.", Narration: true, Event: 1},
		{Who: "mara", Name: "Mara", Text: "Plain speech.", Event: 2},
	}
	hs := start(t, app, 80, 24, Options{})
	hs.waitText("Rain drums")
	nst, _ := hs.styleOf("Rain drums")
	sst, _ := hs.styleOf("Plain speech")
	if nst == sst {
		t.Fatal("narration and speech share a style")
	}
	// Speaker colours are stable: the name's colour is the cast colour.
	mst, _ := hs.styleOf("Mara:")
	fg, _, _ := mst.Decompose()
	if want := castColors(app.st.Cast.Members())["mara"]; fg != want {
		t.Fatalf("Mara's colour = %v, want %v", fg, want)
	}
}

func TestScrollback(t *testing.T) {
	app := newFakeApp()
	for i := 1; i <= 200; i++ {
		app.entries = append(app.entries, Entry{Who: "mara", Name: "Mara", Text: fmt.Sprintf("line %03d", i), Event: int64(i)})
	}
	hs := start(t, app, 80, 20, Options{})
	hs.waitText("line 200")

	hs.key(tcell.KeyPgUp, tcell.ModNone)
	hs.waitGone("line 200")
	hs.waitText("more below")
	if !strings.Contains(hs.text(), "line 18") {
		t.Fatalf("one page up should show the lines before:\n%s", hs.text())
	}
	hs.key(tcell.KeyEnd, tcell.ModNone)
	hs.waitText("line 200")
	hs.waitGone("more below")

	hs.key(tcell.KeyHome, tcell.ModNone)
	hs.waitText("line 001")
	hs.key(tcell.KeyPgDn, tcell.ModNone)
	hs.waitGone("line 001")

	// The wheel scrolls too.
	hs.key(tcell.KeyEnd, tcell.ModNone)
	hs.waitGone("more below")
	hs.s.InjectMouse(5, 5, tcell.WheelUp, tcell.ModNone)
	hs.waitGone("line 200")
	hs.s.InjectMouse(5, 5, tcell.WheelDown, tcell.ModNone)
	hs.waitText("line 200")
}

func TestScrolledUpStaysWhileStreaming(t *testing.T) {
	app := newFakeApp()
	for i := 1; i <= 100; i++ {
		app.entries = append(app.entries, Entry{Who: "mara", Name: "Mara", Text: fmt.Sprintf("line %03d", i), Event: int64(i)})
	}
	step := make(chan struct{})
	app.turn = func(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
		obs.Speaker("mara")
		obs.Token("mara", "streamed words")
		<-step
		obs.Reply("mara", "streamed words")
		return &core.TurnResult{}, nil
	}
	hs := start(t, app, 80, 20, Options{})
	hs.waitText("line 100")
	hs.typeText("go on")
	hs.enter()
	hs.waitText("streamed words")
	hs.key(tcell.KeyPgUp, tcell.ModNone)
	hs.waitGone("streamed words")
	scene := func() string { return strings.Join(hs.rows()[:18], "\n") }
	before := scene()
	step <- struct{}{}
	hs.waitFor("the turn to end", func(string) bool { return !hasSpinner(hs.rows()[18]) })
	hs.settle()
	if after := scene(); after != before {
		t.Fatalf("the view moved while scrolled up:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	hs.key(tcell.KeyEnd, tcell.ModNone)
	hs.waitText("streamed words")
}

func TestResize(t *testing.T) {
	app := newFakeApp()
	for i := 1; i <= 30; i++ {
		app.entries = append(app.entries, Entry{Who: "mara", Name: "Mara", Text: fmt.Sprintf("line %02d is a line of some length to wrap around", i), Event: int64(i)})
	}
	hs := start(t, app, 100, 30, Options{Panel: true})
	hs.waitText("line 30")
	hs.waitText("You feel")
	hs.typeText("draft")
	for _, sz := range [][2]int{{50, 15}, {120, 40}, {30, 6}, {80, 24}} {
		hs.resize(sz[0], sz[1])
		hs.waitText("line 30")
		rows := hs.rows()
		if len(rows) != sz[1] {
			t.Fatalf("%v: %d rows", sz, len(rows))
		}
		for _, r := range rows {
			if w := uniseg.StringWidth(r); w > sz[0] {
				t.Fatalf("%v: row wider than the screen (%d): %q", sz, w, r)
			}
		}
		if got := hs.inputRow(); got != "> draft" {
			t.Fatalf("%v: input row = %q", sz, got)
		}
	}
}

func TestHelpAndWho(t *testing.T) {
	app := newFakeApp()
	app.exec = func(ctx context.Context, cmd string, args []string) (string, error) {
		switch cmd {
		case "who":
			return "Mara is here, in the driver's seat.", nil
		case "rewind":
			return "", fmt.Errorf("/rewind arrives with time travel (issue 8)")
		}
		return "", fmt.Errorf("no %s", cmd)
	}
	hs := start(t, app, 100, 90, Options{})
	hs.typeText("/help")
	hs.enter()
	hs.waitText("/skip DURATION|LABEL")
	for _, want := range []string{"/state", "/prompt ID", "/who", "/rewind [N]", "/branch NAME", "/branches",
		"/checkout NAME", "/regen", "/delete", "/reload", "/quit", "/panel", "F2", "Ctrl+C"} {
		if !strings.Contains(hs.text(), want) {
			t.Errorf("/help does not list %q", want)
		}
	}

	hs.typeText("/who")
	hs.enter()
	hs.waitText("Mara is here, in the driver's seat.")
	if !app.called("exec:who") {
		t.Fatal("/who did not reach Exec")
	}

	hs.typeText("/rewind 2")
	hs.enter()
	hs.waitText("/rewind 2: /rewind arrives with time travel (issue 8)")
	if !app.called("exec:rewind 2") {
		t.Fatal("/rewind did not reach Exec with its argument")
	}

	hs.typeText("/frobnicate")
	hs.enter()
	hs.waitText("unknown command /frobnicate")
}

func TestTabCompletion(t *testing.T) {
	app := newFakeApp()
	hs := start(t, app, 100, 30, Options{})
	hs.typeText("/he")
	hs.key(tcell.KeyTab, tcell.ModNone)
	hs.waitFor("completion", func(string) bool { return hs.inputRow() == "> /help" })

	hs.key(tcell.KeyCtrlU, tcell.ModCtrl)
	hs.typeText("/prompt m")
	hs.key(tcell.KeyTab, tcell.ModNone)
	hs.waitFor("argument completion", func(string) bool { return hs.inputRow() == "> /prompt mara" })

	hs.key(tcell.KeyCtrlU, tcell.ModCtrl)
	hs.typeText("/re")
	hs.key(tcell.KeyTab, tcell.ModNone)
	hs.waitText("/redraw  /regen  /reload")
}

func TestKeyBindingsAreCommands(t *testing.T) {
	app := newFakeApp()
	app.exec = func(ctx context.Context, cmd string, args []string) (string, error) { return "here: Ana, Mara", nil }
	hs := start(t, app, 80, 24, Options{Keys: map[string]string{"Ctrl+O": "/who", "F4": ""}})
	hs.key(tcell.KeyCtrlO, tcell.ModCtrl)
	hs.waitText("here: Ana, Mara")
	if !app.called("exec:who") {
		t.Fatal("Ctrl+O did not run /who")
	}
}

func TestCancelWithEsc(t *testing.T) {
	app := newFakeApp()
	started := make(chan struct{})
	app.turn = func(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
		obs.Speaker("mara")
		obs.Token("mara", "Partial answ")
		close(started)
		<-ctx.Done()
		return nil, &core.TurnError{Line: line, Err: ctx.Err()}
	}
	hs := start(t, app, 80, 24, Options{})
	hs.typeText("wait for it")
	hs.enter()
	<-started
	hs.waitText("Partial answ")
	hs.key(tcell.KeyEsc, tcell.ModNone)
	hs.waitText("cancelled: nothing was saved")
	hs.waitFor("the line back in the input", func(string) bool { return hs.inputRow() == "> wait for it" })
	if s := hs.text(); strings.Contains(s, "Partial") || strings.Contains(s, "Ana: wait for it") {
		t.Fatalf("half-shown lines stayed:\n%s", s)
	}
	// The line can be sent again.
	app.turn = nil
	hs.enter()
	hs.waitText("Mara: Hello, Ana.")
}

func TestCtrlCAsksMidGeneration(t *testing.T) {
	app := newFakeApp()
	cancelled := make(chan struct{})
	app.turn = func(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
		obs.Speaker("mara")
		<-ctx.Done()
		close(cancelled)
		return nil, &core.TurnError{Line: line, Err: ctx.Err()}
	}
	hs := start(t, app, 80, 24, Options{})
	hs.typeText("hi")
	hs.enter()
	hs.waitText("Ana: hi")
	hs.key(tcell.KeyCtrlC, tcell.ModCtrl)
	hs.waitText("Quit anyway? y/N")
	hs.typeText("n")
	hs.waitGone("Quit anyway?")
	hs.key(tcell.KeyCtrlC, tcell.ModCtrl)
	hs.waitText("Quit anyway? y/N")
	hs.key(tcell.KeyCtrlC, tcell.ModCtrl)
	select {
	case err := <-hs.done:
		if err != nil {
			t.Fatalf("Run = %v, want nil on quit", err)
		}
		hs.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("a second Ctrl+C did not quit")
	}
	select {
	case <-cancelled:
	default:
		t.Fatal("quitting did not cancel the turn")
	}
}

func TestWideCharactersOnScreen(t *testing.T) {
	app := newFakeApp()
	text := "漢字かな交じり文は幅が二つ 👩‍👩‍👧 family 🇯🇵 flag e\u0301te\u0301 naïve 한국어도 마찬가지입니다"
	app.entries = []Entry{{Who: "mara", Name: "Mara", Text: text, Event: 1}}
	hs := start(t, app, 80, 24, Options{})
	hs.waitText("Mara:")
	for _, w := range []int{21, 17, 12, 9} {
		hs.resize(w, 24)
		hs.waitText("Mara:")
		hs.mu.Lock()
		frame, fw, fh := hs.frame, hs.w, hs.h
		hs.mu.Unlock()
		var shown strings.Builder
		for y := 0; y < fh-2; y++ {
			for x := 0; x < fw; x++ {
				c := string(frame[y*fw+x].Runes)
				cw := uniseg.StringWidth(c)
				if cw == 2 && x == fw-1 {
					t.Fatalf("width %d: a wide character in the last column of row %d", w, y)
				}
				if cw == 2 {
					x++
				}
				shown.WriteString(c)
			}
		}
		got := strings.ReplaceAll(shown.String(), " ", "")
		for _, g := range []string{"漢", "👩‍👩‍👧", "🇯🇵", "e\u0301", "한", "다"} {
			if !strings.Contains(got, g) {
				t.Fatalf("width %d: %q is missing or split:\n%s", w, g, hs.text())
			}
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	app := newFakeApp()
	app.entries = []Entry{{Who: "mara", Name: "Mara", Text: "bad \xff\xfe bytes", Event: 1}}
	app.turn = func(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
		obs.Speaker("mara")
		// A character split across chunks is not garbled; a broken one shows as U+FFFD.
		obs.Token("mara", "caf\xc3")
		obs.Token("mara", "\xa9 and \xc0 junk")
		obs.Reply("mara", "café and \xc0 junk")
		return &core.TurnResult{}, nil
	}
	hs := start(t, app, 80, 24, Options{})
	hs.waitText("bad \uFFFD\uFFFD bytes")
	hs.typeText("x")
	hs.enter()
	hs.waitText("café and \uFFFD junk")

	// A paste with control characters and a replacement rune.
	hs.s.PostEventWait(tcell.NewEventPaste(true))
	for _, r := range "pasted\tline \uFFFD\x01end" {
		hs.s.InjectKey(tcell.KeyRune, r, tcell.ModNone)
	}
	hs.s.PostEventWait(tcell.NewEventPaste(false))
	hs.waitFor("the paste", func(string) bool { return strings.HasPrefix(hs.inputRow(), "> pasted    line \uFFFD") })
}

func TestLongPaste(t *testing.T) {
	app := newFakeApp()
	hs := start(t, app, 80, 24, Options{})
	long := strings.Repeat("lorem ipsum dolor sit amet ", 200) + "THE END"
	hs.s.PostEventWait(tcell.NewEventPaste(true))
	for _, r := range long {
		hs.s.InjectKey(tcell.KeyRune, r, tcell.ModNone)
	}
	hs.s.PostEventWait(tcell.NewEventPaste(false))
	hs.waitText("THE END")
	rows := hs.rows()
	// The input grows to at most a quarter of the screen and shows the end.
	if n := 0; true {
		for _, r := range rows {
			if strings.Contains(r, "lorem") {
				n++
			}
		}
		if n > 24/4 {
			t.Fatalf("the input takes %d rows", n)
		}
	}
}

func TestTinyTerminal(t *testing.T) {
	app := newFakeApp()
	app.info.Pack = "a-pack-with-a-rather-long-name"
	for i := 1; i <= 20; i++ {
		app.entries = append(app.entries, Entry{Who: "mara", Name: "Mara", Text: fmt.Sprintf("line %02d", i), Event: int64(i)})
	}
	hs := start(t, app, 40, 10, Options{Panel: true})
	hs.waitText("line 20")
	rows := hs.rows()
	if len(rows) != 10 {
		t.Fatalf("%d rows", len(rows))
	}
	if strings.Contains(hs.text(), "You feel") || strings.Contains(hs.text(), "│ ") && strings.Contains(hs.text(), "Memories") {
		t.Fatalf("the side panel shows on a 40-column screen:\n%s", hs.text())
	}
	status := rows[8]
	if uniseg.StringWidth(status) > 40 || !strings.Contains(status, "The pier") {
		t.Fatalf("status row = %q", status)
	}
	hs.typeText("hello")
	hs.enter()
	hs.waitText("Mara: Hello, Ana.")
	hs.resize(12, 3)
	hs.resize(1, 1)
	hs.resize(40, 10)
	hs.waitText("Mara: Hello, Ana.")
}

func TestPanelShowsOnlyThePlayersFeelings(t *testing.T) {
	app := newFakeApp()
	st := app.st
	st.Edges[core.EdgeKey("ana", "mara")] = &core.Edge{From: "ana", To: "mara", Affinity: 3, Trust: -1, Notes: []string{"grateful for the ride"}}
	st.Edges[core.EdgeKey("mara", "ana")] = &core.Edge{From: "mara", To: "ana", Affinity: -4, Trust: -5, Notes: []string{"SECRET resents Ana"}}
	st.Edges[core.EdgeKey("mara", "jun")] = &core.Edge{From: "mara", To: "jun", Affinity: 5, Notes: []string{"SECRET loves Jun"}}
	st.Events["storm"] = &core.StoryEvent{ID: "storm", Title: "The storm", Status: core.EventActive, Props: []string{"oilskin"}}
	st.Events["picnic"] = &core.StoryEvent{ID: "picnic", Title: "Old picnic", Status: core.EventCompleted, Props: []string{"basket"}}
	st.Threads["t1"] = &core.Thread{ID: "t1", Text: "who rang the bell?", Status: "open"}
	app.entries = []Entry{{Who: "ana", Name: "Ana", Text: "Where were you?", Player: true, Event: 7}}
	app.prompts["mara"] = core.Prompt{Manifest: core.Manifest{Speaker: "mara", Budget: 4096, Tokens: 812,
		Memories: []int64{7}, Scores: []core.MemoryScore{{ID: 7, Score: 0.81}}}}

	hs := start(t, app, 120, 40, Options{})
	hs.key(tcell.KeyF2, tcell.ModNone)
	hs.waitText("You feel")
	s := hs.text()
	for _, want := range []string{"Ana (you)", "reach the lighthouse", "affinity +3", "grateful for the ride", "The storm", "oilskin",
		"who rang the bell?", "Memories of Mara", "812 of 4096", "#7 0.81", "Where were you?", "impatient"} {
		if !strings.Contains(s, want) {
			t.Errorf("the panel does not show %q", want)
		}
	}
	for _, secret := range []string{"SECRET", "-4", "resents", "basket"} {
		if strings.Contains(s, secret) {
			t.Errorf("the panel shows %q:\n%s", secret, s)
		}
	}
	// Cycle the selected bot: Jun has no prompt yet.
	hs.key(tcell.KeyF3, tcell.ModNone)
	hs.waitText("Memories of Jun")
	if strings.Contains(hs.text(), "SECRET") {
		t.Fatal("a secret shows after cycling")
	}
	// Tab on an empty input toggles the panel too.
	hs.key(tcell.KeyTab, tcell.ModNone)
	hs.waitGone("You feel")
}

func TestNoticesDoNotDisturb(t *testing.T) {
	app := newFakeApp()
	for i := 1; i <= 60; i++ {
		app.entries = append(app.entries, Entry{Who: "mara", Name: "Mara", Text: fmt.Sprintf("line %02d", i), Event: int64(i)})
	}
	hs := start(t, app, 80, 20, Options{})
	hs.waitText("line 60")
	hs.typeText("half typed")
	hs.waitText("> half typed")
	app.notices <- "reload rejected: rules.lua:12: unexpected symbol"
	hs.waitText("reload rejected: rules.lua:12")
	if got := hs.inputRow(); got != "> half typed" {
		t.Fatalf("the input changed: %q", got)
	}
	if st, _ := hs.styleOf("reload rejected"); !hasAttr(st, tcell.AttrDim) {
		t.Fatal("a notice is not dim")
	}
	hs.key(tcell.KeyPgUp, tcell.ModNone)
	hs.waitGone("reload rejected")
	scene := func() string { return strings.Join(hs.rows()[:18], "\n") }
	before := scene()
	app.notices <- "reload applied"
	hs.settle()
	if scene() != before {
		t.Fatal("a notice moved the scrolled-up view")
	}
}

func TestStatusBar(t *testing.T) {
	app := newFakeApp()
	app.st.Containers["car"] = &core.Container{ID: "car", Name: "the car", Location: "pier"}
	app.st.Entities["mara"].Container, app.st.Entities["mara"].Slot = "car", "driver"
	app.turn = func(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
		obs.Speaker("mara")
		for i := 0; i < 10; i++ {
			obs.Token("mara", "word ")
			time.Sleep(2 * time.Millisecond)
		}
		obs.Reply("mara", strings.Repeat("word ", 10))
		return &core.TurnResult{}, nil
	}
	app.info.Save = "/tmp/harbour.db"
	hs := start(t, app, 160, 24, Options{})
	hs.waitText("The pier")
	hs.waitText("save: /tmp/harbour.db")
	status := hs.rows()[22]
	for _, want := range []string{"harbour", "The pier", "Wed 1 May 18:00", "Ana, Mara (driver)", "branch main", "OFFLINE"} {
		if !strings.Contains(status, want) {
			t.Errorf("status %q lacks %q", status, want)
		}
	}
	if strings.Contains(status, "Jun") {
		t.Errorf("status lists Jun, who is elsewhere: %q", status)
	}
	hs.typeText("go")
	hs.enter()
	hs.waitText("tok/s")
}

func TestPanicRestoresTerminal(t *testing.T) {
	app := newFakeApp()
	app.turn = func(context.Context, string, core.TurnObserver) (*core.TurnResult, error) {
		panic("boom in the engine")
	}
	s := &finiScreen{SimulationScreen: tcell.NewSimulationScreen("UTF-8"), started: make(chan struct{})}
	got := make(chan any, 1)
	go func() {
		defer func() { got <- recover() }()
		_ = Run(context.Background(), s, app, Options{})
	}()
	<-s.started
	for _, r := range "hi" {
		s.InjectKey(tcell.KeyRune, r, tcell.ModNone)
	}
	s.InjectKey(tcell.KeyEnter, 0, tcell.ModNone)
	select {
	case r := <-got:
		if r == nil || !strings.Contains(fmt.Sprint(r), "boom in the engine") {
			t.Fatalf("recovered %v, want the engine's panic", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the panic did not reach Run")
	}
	if !s.finished.Load() {
		t.Fatal("the screen was not restored (Fini not called)")
	}
}

func TestDeleteFlowReloads(t *testing.T) {
	app := newFakeApp()
	app.entries = []Entry{
		{Who: "ana", Name: "Ana", Text: "keep me", Player: true, Event: 10},
		{Who: "ana", Name: "Ana", Text: "regrettable line", Player: true, Event: 12},
	}
	app.exec = func(ctx context.Context, cmd string, args []string) (string, error) {
		if cmd != "delete" {
			return "", fmt.Errorf("no %s", cmd)
		}
		if len(args) == 2 && args[1] == "--confirm" {
			app.mu.Lock()
			app.entries = app.entries[:1]
			app.mu.Unlock()
			return "deleted line #12 and what followed", nil
		}
		return "would undo: line #12 (Ana: regrettable line)\nrun /delete 12 --confirm to do it", nil
	}
	hs := start(t, app, 100, 24, Options{})
	hs.key(tcell.KeyF4, tcell.ModNone)
	hs.waitText("#12 Ana: regrettable line")
	hs.typeText("/delete ")
	hs.key(tcell.KeyTab, tcell.ModNone) // offers the latest line ids
	hs.waitText("10  12")
	hs.typeText("12")
	hs.enter()
	hs.waitText("run /delete 12 --confirm to do it")
	hs.typeText("/delete 12 --confirm")
	hs.enter()
	hs.waitText("deleted line #12")
	hs.waitGone("Ana: regrettable line")
	if !strings.Contains(hs.text(), "#10 Ana: keep me") {
		t.Fatalf("the reloaded transcript lost the kept line:\n%s", hs.text())
	}
}

func TestBusyKeepsTheLine(t *testing.T) {
	app := newFakeApp()
	release := make(chan struct{})
	app.turn = func(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error) {
		obs.Speaker("mara")
		<-release
		obs.Reply("mara", "done")
		return &core.TurnResult{}, nil
	}
	hs := start(t, app, 100, 24, Options{})
	hs.typeText("first")
	hs.enter()
	hs.waitText("Ana: first")
	hs.typeText("second")
	hs.enter()
	hs.waitText("a reply is on its way")
	if got := hs.inputRow(); got != "… second" {
		t.Fatalf("input = %q", got)
	}
	close(release)
	hs.waitText("Mara: done")
}

func TestCtrlCWhenIdle(t *testing.T) {
	app := newFakeApp()
	hs := start(t, app, 80, 24, Options{})
	hs.typeText("draft")
	hs.waitText("> draft")
	hs.key(tcell.KeyCtrlC, tcell.ModCtrl)
	hs.waitText("input cleared")
	hs.key(tcell.KeyCtrlC, tcell.ModCtrl)
	select {
	case err := <-hs.done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
		hs.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl+C on an empty input did not quit")
	}
}
