package shell

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"

	"diorama/core"
)

// RenderStats is what RenderBench measured. Every frame appends a token to
// a reply streaming at the bottom, lays out what changed and paints every
// cell of the screen.
type RenderStats struct {
	Lines  int // transcript lines
	Frames int // frames per measure
	// Full repaint: the frame is pushed whole to the screen (Sync), as
	// after a resize. Mean, P50, P99 and Max are of these frames.
	Mean, P50, P99, Max time.Duration
	// Redraw is the mean of ordinary frames (Show sends changed cells only).
	Redraw time.Duration
}

// RenderBenchmark measures redrawing a full 120×40 simulation screen (side
// panel open) showing a transcript of lines lines (speech with actions,
// narration, CJK and emoji) while a reply streams into it, and returns the
// mean time of a full-repaint frame. The budget (DESIGN.md §12) is 5 ms.
func RenderBenchmark(lines int) (time.Duration, error) {
	st, err := RenderBench(lines, 300)
	return st.Mean, err
}

// RenderBench is RenderBenchmark with a frame count and the distribution.
func RenderBench(lines, frames int) (RenderStats, error) {
	if lines < 0 || frames <= 0 {
		return RenderStats{}, errors.New("render benchmark: lines must be >= 0 and frames > 0")
	}
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		return RenderStats{}, fmt.Errorf("render benchmark: %w", err)
	}
	defer s.Fini()
	s.SetSize(120, 40)
	app := &staticApp{st: benchState(), entries: benchTranscript(lines)}
	u := newUI(context.Background(), s, app, Options{Panel: true})
	u.refresh()
	u.tr.reset(entries(app.entries))
	live := newEntry(Entry{Who: "mara", Name: "Mara"})
	live.streaming = true
	u.tr.add(live)
	u.draw() // the first frame lays out the visible window
	words := strings.Fields("she *leans closer* and whispers that the 地図 was never lost 🗺️ only hidden")
	measure := func(full bool) []time.Duration {
		times := make([]time.Duration, frames)
		for i := range frames {
			t0 := time.Now()
			live.raw = append(live.raw, words[i%len(words)]+" "...)
			live.changed()
			u.draw()
			if full {
				s.Sync()
			}
			times[i] = time.Since(t0)
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return times
	}
	mean := func(ts []time.Duration) time.Duration {
		var sum time.Duration
		for _, t := range ts {
			sum += t
		}
		return sum / time.Duration(len(ts))
	}
	redraw := measure(false)
	full := measure(true)
	return RenderStats{
		Lines:  lines,
		Frames: frames,
		Mean:   mean(full),
		P50:    full[frames/2],
		P99:    full[min(frames-1, frames*99/100)],
		Max:    full[frames-1],
		Redraw: mean(redraw),
	}, nil
}

// benchTranscript makes n lines of varied text.
func benchTranscript(n int) []Entry {
	texts := []string{
		"*looks up from the map* You're late. The ferry left an hour ago, and the next one won't wait for us either.",
		"I know. I had to go back for the lantern — it's the only one that still works after the storm.",
		"The rain eases. Somewhere below the pier, a bell rings twice and falls silent.",
		"駅の灯りが消えた。 *肩をすくめる* まあ、歩けばいい。",
		"Fine. 🙂 But if we miss the last light at the lighthouse, you're explaining it to the harbourmaster. 🌊⛵",
	}
	out := make([]Entry, n)
	for i := range out {
		t := texts[i%len(texts)]
		switch i % 5 {
		case 0, 3:
			out[i] = Entry{Who: "mara", Name: "Mara", Text: t, Event: int64(i + 1)}
		case 1, 4:
			out[i] = Entry{Who: "ana", Name: "Ana", Text: t, Player: true, Event: int64(i + 1)}
		default:
			out[i] = Entry{Text: t, Narration: true, Event: int64(i + 1)}
		}
	}
	return out
}

// benchState is a small world for the status bar and the side panel.
func benchState() *core.State {
	st := core.NewState()
	st.World = core.WorldInfo{ID: "harbour", Title: "Harbour", Start: "2024-05-01T18:00"}
	st.Cast = core.Cast{Player: "ana", Bots: []string{"mara", "jun"}}
	st.Locations["pier"] = &core.Location{ID: "pier", Name: "The pier"}
	st.Entities["ana"] = &core.Entity{ID: "ana", Name: "Ana", Location: "pier", Mood: "tired", Goals: []string{"reach the lighthouse"}, Holding: []string{"lantern"}}
	st.Entities["mara"] = &core.Entity{ID: "mara", Name: "Mara", Bot: true, Location: "pier", Mood: "impatient"}
	st.Entities["jun"] = &core.Entity{ID: "jun", Name: "Jun", Bot: true, Location: "station"}
	st.Edges[core.EdgeKey("ana", "mara")] = &core.Edge{From: "ana", To: "mara", Affinity: 2, Trust: 1, Notes: []string{"she waited"}}
	st.Events["storm"] = &core.StoryEvent{ID: "storm", Title: "The storm", Status: core.EventActive, Props: []string{"lantern", "oilskin"}}
	st.Threads["t1"] = &core.Thread{ID: "t1", Text: "who rang the bell?", Status: "open"}
	return st
}

// staticApp serves a fixed state and transcript (the benchmark's app).
type staticApp struct {
	st      *core.State
	entries []Entry
}

func (a *staticApp) State() *core.State { return a.st }

func (a *staticApp) Transcript(_ context.Context, limit int) ([]Entry, error) {
	if limit >= 0 && limit < len(a.entries) {
		return a.entries[len(a.entries)-limit:], nil
	}
	return a.entries, nil
}

func (a *staticApp) Turn(context.Context, string, core.TurnObserver) (*core.TurnResult, error) {
	return nil, errors.New("a static transcript plays no turns")
}

func (a *staticApp) LastPrompt(string) (core.Prompt, bool) { return core.Prompt{}, false }

func (a *staticApp) Info() Info {
	return Info{Pack: "harbour", Branch: "main", Backend: "OFFLINE", Save: "bench.db"}
}

func (a *staticApp) Exec(_ context.Context, cmd string, _ []string) (string, error) {
	return "", fmt.Errorf("/%s: not in the benchmark", cmd)
}

func (a *staticApp) Notices() <-chan string { return nil }
