package main

import (
	"fmt"
	"time"

	"diorama/cmd/diorama/shell"
)

func init() {
	groups = append(groups, group{name: "shell", run: benchShell})
}

const (
	shellLines  = 10_000
	shellFrames = 300
)

// benchShell measures the chat shell's frames on tcell's simulation screen
// (120×40, side panel open) over a 10,000-line transcript while a reply
// streams in: a full repaint (every cell pushed, as after a resize) and an
// ordinary frame (changed cells only).
func benchShell(b *bench) ([]result, error) {
	var mean, p50, p99, redraw []float64
	for i := 0; i < b.runs; i++ {
		st, err := shell.RenderBench(shellLines, shellFrames)
		if err != nil {
			return nil, err
		}
		mean = append(mean, ms(st.Mean))
		p50 = append(p50, ms(st.P50))
		p99 = append(p99, ms(st.P99))
		redraw = append(redraw, ms(st.Redraw))
	}
	name := fmt.Sprintf("shell: full-screen redraw, %d-line transcript", shellLines)
	r := atMost(name+" (mean)", median(mean), "ms", 5)
	r.Note = fmt.Sprintf("p50 %.2f, p99 %.2f; 120×40 with side panel, %d frames a run, one streamed token per frame",
		median(p50), median(p99), shellFrames)
	return []result{
		r,
		plain("shell: ordinary streaming frame (changed cells only), mean", median(redraw), "ms"),
	}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
