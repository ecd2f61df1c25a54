package shell

import (
	"context"
	"fmt"
	"testing"

	"github.com/gdamore/tcell/v2"
)

// BenchmarkRedraw measures a full redraw of a 120×40 screen over a
// 10,000-line transcript while a reply streams in (one token per frame).
func BenchmarkRedraw(b *testing.B) {
	for _, c := range []struct {
		lines int
		sync  bool
	}{{100, false}, {10_000, false}, {10_000, true}} {
		lines, sync := c.lines, c.sync
		b.Run(fmt.Sprintf("lines=%d/sync=%v", lines, sync), func(b *testing.B) {
			s := tcell.NewSimulationScreen("UTF-8")
			if err := s.Init(); err != nil {
				b.Fatal(err)
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
			u.draw()
			b.ReportAllocs()
			for b.Loop() {
				live.raw = append(live.raw, "word "...)
				live.changed()
				u.draw()
				if sync {
					s.Sync()
				}
			}
		})
	}
}

// BenchmarkScrollToTop measures jumping to the top of a long transcript and
// back (layout of the entries passed through, then cached).
func BenchmarkScrollToTop(b *testing.B) {
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	defer s.Fini()
	s.SetSize(120, 40)
	app := &staticApp{st: benchState(), entries: benchTranscript(10_000)}
	u := newUI(context.Background(), s, app, Options{})
	u.refresh()
	u.tr.reset(entries(app.entries))
	u.draw()
	for b.Loop() {
		u.tr.home()
		u.draw()
		u.tr.end()
		u.draw()
	}
}

func TestRenderBenchmark(t *testing.T) {
	st, err := RenderBench(10_000, 20)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 20 || st.Mean <= 0 || st.P99 < st.P50 {
		t.Fatalf("stats = %+v", st)
	}
	// Not a timed assertion (the budget is checked by diorama-bench).
	t.Logf("10k-line redraw: mean %v p99 %v", st.Mean, st.P99)
}
