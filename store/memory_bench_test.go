package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"diorama/core"
	"diorama/store"
)

// BenchmarkRetrieve is top-8 retrieval over a save of
// DIORAMA_BENCH_MEMORIES (default 20,000) lines, every memory indexed and
// scored. diorama-bench's memory group measures the 100k figure.
func BenchmarkRetrieve(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("DIORAMA_BENCH_MEMORIES")); err == nil {
		n = v
	}
	ctx := context.Background()
	s, _ := newSave(b)
	eng := mustEngine(b, s, store.DefaultBranch)
	r := rand.New(rand.NewPCG(1, 1))
	for written := 0; written < n; written += 50 {
		var texts []string
		for i := range 50 {
			texts = append(texts, fmt.Sprintf("%s %s %s (%d)", fillOpeners[r.IntN(len(fillOpeners))], fillMiddles[r.IntN(len(fillMiddles))],
				fillEnders[r.IntN(len(fillEnders))], written+i))
		}
		if _, err := eng.Append(ctx, lineTurn(eng.State(), []core.Mask{7, 7, 3, 5}[r.IntN(4)], texts...)); err != nil {
			b.Fatal(err)
		}
	}
	w := startWorkers(b, s)
	if err := w.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	queries := []string{"Mara, Jun, what now?", "Do you remember the deer on the shoulder?", "Where did you hide the spare key?",
		"the radio keeps cutting out", "Is the cooler still leaking?"}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		// A query of its own each time: nothing comes from the cache of
		// partitions searched a moment ago for the same line.
		q := fmt.Sprintf("%s (%d)", queries[i%len(queries)], i)
		if _, _, err := s.Retrieve(ctx, core.Mask(1<<(i%3)), q, 8); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRetrieveTurns is BenchmarkRetrieve between writes, as in play:
// each iteration a turn of three lines is appended, the workers catch up,
// then two bots recall for the player's line.
func BenchmarkRetrieveTurns(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("DIORAMA_BENCH_MEMORIES")); err == nil {
		n = v
	}
	ctx := context.Background()
	s, _ := newSave(b)
	eng := mustEngine(b, s, store.DefaultBranch)
	r := rand.New(rand.NewPCG(1, 1))
	line := func(i int) string {
		return fmt.Sprintf("%s %s %s (%d)", fillOpeners[r.IntN(len(fillOpeners))], fillMiddles[r.IntN(len(fillMiddles))],
			fillEnders[r.IntN(len(fillEnders))], i)
	}
	for written := 0; written < n; written += 50 {
		var texts []string
		for i := range 50 {
			texts = append(texts, line(written+i))
		}
		if _, err := eng.Append(ctx, lineTurn(eng.State(), 7, texts...)); err != nil {
			b.Fatal(err)
		}
	}
	w := startWorkers(b, s)
	if err := w.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var recall time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		if _, err := eng.Append(ctx, lineTurn(eng.State(), 7, line(n+3*i), line(n+3*i+1), line(n+3*i+2))); err != nil {
			b.Fatal(err)
		}
		if err := w.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for bot := 1; bot <= 2; bot++ {
			if _, _, err := s.Retrieve(ctx, core.Mask(1<<bot), fmt.Sprintf("Mara, Jun, what now? (%d)", i), 8); err != nil {
				b.Fatal(err)
			}
		}
		recall += time.Since(start)
		i++
	}
	b.ReportMetric(float64(recall.Microseconds())/float64(i)/2000, "ms/recall")
}
