package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"diorama/core"
	"diorama/store"
)

func init() {
	groups = append(groups, group{name: "log", run: benchLog})
}

// benchWorld is the synthetic world: the cast of three in a car, places to
// go, a story event with props.
func benchWorld() *core.WorldSpec {
	return &core.WorldSpec{
		ID: "bench", Title: "Synthetic", Start: core.StartSpec{Location: "road", Time: "2000-01-01T20:00"}, MinutesPerTurn: 1,
		Player: core.CharacterSpec{ID: "you", At: &core.AtSpec{Container: "car", Slot: "back_left"}},
		Characters: []core.CharacterSpec{
			{ID: "mara", Mood: "tired", At: &core.AtSpec{Container: "car", Slot: "driver"}},
			{ID: "jun", Mood: "restless", At: &core.AtSpec{Container: "car", Slot: "passenger"}},
		},
		Locations: []core.LocationSpec{{ID: "road"}, {ID: "gas_station"}, {ID: "shop"}, {ID: "lake"}},
		Containers: []core.ContainerSpec{{ID: "car", Location: "road", Slots: map[string]core.SlotSpec{
			"driver": {}, "passenger": {}, "back_left": {}, "back_right": {}}}},
		Relationships: []core.EdgeSpec{{From: "mara", To: "jun", Affinity: -30, Note: "resents him"}},
		StoryEvents:   []core.StoryEventSpec{{ID: "picnic", Props: []string{"basket", "blanket"}}},
	}
}

// genStats is what building a synthetic save measured.
type genStats struct {
	events, turns int
	elapsed       time.Duration
}

// generate builds a save of about n events with random valid commands,
// five proposed per turn, each turn one transaction.
func generate(path string, n int, seed uint64) (genStats, error) {
	ctx := context.Background()
	st, err := store.Create(path, benchWorld())
	if err != nil {
		return genStats{}, err
	}
	defer st.Close()
	eng, err := core.NewEngine(ctx, st, st, store.DefaultBranch)
	if err != nil {
		return genStats{}, err
	}
	r := rand.New(rand.NewPCG(seed, 7))
	var gs genStats
	start := time.Now()
	for written := 1; written < n; {
		cmds := make([]core.Command, 5)
		for i := range cmds {
			cmds[i] = core.SyntheticCommand(r, eng.State())
		}
		drafts, _ := eng.Plan(cmds)
		if len(drafts) == 0 {
			continue
		}
		if over := written + len(drafts) - n; over > 0 {
			drafts = drafts[:len(drafts)-over]
		}
		if _, err := eng.Append(ctx, drafts); err != nil {
			return gs, err
		}
		written += len(drafts)
		gs.events += len(drafts)
		gs.turns++
	}
	gs.elapsed = time.Since(start)
	return gs, nil
}

// save returns a synthetic save of n events, building it once per program run.
func (b *bench) save(n int) (string, genStats, error) {
	if p, ok := b.saves[n]; ok {
		return p, genStats{}, nil
	}
	p := filepath.Join(b.dir, fmt.Sprintf("synthetic-%d.db", n))
	_ = os.Remove(p)
	gs, err := generate(p, n, 1)
	if err != nil {
		return "", gs, err
	}
	b.saves[n] = p
	return p, gs, nil
}

func benchLog(b *bench) ([]result, error) {
	path, gs, err := b.save(b.events)
	if err != nil {
		return nil, err
	}
	var out []result
	secs := gs.elapsed.Seconds()
	out = append(out,
		plain("append: events/s (turns of ~4 events, one transaction each)", float64(gs.events)/secs, "events/s"),
		plain("append: turns/s", float64(gs.turns)/secs, "turns/s"))

	// Full projection rebuild.
	var rates []float64
	for i := 0; i < b.runs; i++ {
		st, err := store.Open(path)
		if err != nil {
			return nil, err
		}
		_, stats, err := st.Rebuild(context.Background(), store.DefaultBranch)
		st.Close()
		if err != nil {
			return nil, err
		}
		rates = append(rates, float64(stats.Events)/stats.Duration.Seconds())
	}
	out = append(out, atLeast(fmt.Sprintf("rebuild all projections (%dk events)", b.events/1000), median(rates), "events/s", 200_000))

	// Open-and-ready and resident memory, each in a fresh process.
	var opens, rss []float64
	for i := 0; i < b.runs; i++ {
		rep, err := measureOpen(path)
		if err != nil {
			return nil, err
		}
		opens = append(opens, rep.OpenMS)
		rss = append(rss, rep.RSSKB/1024)
	}
	out = append(out,
		atMost(fmt.Sprintf("open save and be ready (%dk events)", b.events/1000), median(opens), "ms", 300),
		atMost(fmt.Sprintf("resident memory after open (%dk events)", b.events/1000), median(rss), "MB", 150))
	return out, nil
}

// measureOpen runs this program again with -child-open and reads its report.
func measureOpen(path string) (openReport, error) {
	var rep openReport
	return rep, runChild("-child-open", path, &rep)
}

// runChild runs this program again with flag and path (a child mode of
// main) and decodes the JSON report it prints into rep.
func runChild(flag, path string, rep any) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, flag, path)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	if err := json.Unmarshal(out, rep); err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	return nil
}

// openReport is what childOpen reports.
type openReport struct {
	OpenMS float64 `json:"open_ms"` // time to ready
	RSSKB  float64 `json:"rss_kb"`  // peak resident memory then
}

// childOpen opens the save, loads the main branch's state and reports the
// elapsed time and the process's peak resident memory (VmHWM).
func childOpen(path string, w io.Writer) error {
	start := time.Now()
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	eng, err := core.NewEngine(context.Background(), st, st, store.DefaultBranch)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	_ = eng.State()
	kb, err := peakRSS()
	if err != nil {
		return err
	}
	st.Close()
	return json.NewEncoder(w).Encode(openReport{OpenMS: float64(elapsed.Microseconds()) / 1000, RSSKB: kb})
}

// peakRSS reads VmHWM (peak resident set) from /proc/self/status, in KiB.
func peakRSS() (float64, error) { return rssKB("VmHWM") }
