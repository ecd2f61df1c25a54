// Command diorama-bench measures the engine against the performance budgets
// of DESIGN.md section 12 and prints one table plus a JSON file.
//
//	diorama-bench [-events 100000] [-runs 5] [-out docs/bench.json] [-group NAME,...]
//
// Without -group every group runs except the opt-in ones (soak: 5,000
// turns, minutes), which run only when named: diorama-bench -group soak.
//
// The machine this project runs on has 2 cores and is noisy: every figure is
// the median of several runs, and figures meant to be compared are taken in
// one run.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"diorama/cmd/internal/gctune"
)

// result is one row of the table.
type result struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Budget string  `json:"budget,omitempty"` // e.g. ">= 200000" or "<= 300"
	Met    *bool   `json:"met,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// report is the JSON file.
type report struct {
	Date    string   `json:"date"`
	Go      string   `json:"go"`
	CPUs    int      `json:"cpus"`
	Command string   `json:"command"`
	Events  int      `json:"events"`
	Runs    int      `json:"runs"`
	Results []result `json:"results"`
}

func main() {
	gctune.Apply() // as the app runs
	if len(os.Args) > 2 && os.Args[1] == "-child-play" {
		// Re-executed by measurePlay: play turns on a save in a fresh
		// process and report its peak resident memory.
		if err := childPlay(os.Args[2], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "diorama-bench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "-child-open" {
		// Re-executed by measureOpen: open a save in a fresh process and
		// report time-to-ready and resident memory.
		if err := childOpen(os.Args[2], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "diorama-bench:", err)
			os.Exit(1)
		}
		return
	}
	events := flag.Int("events", 100_000, "events in the synthetic save")
	runs := flag.Int("runs", 5, "repetitions per figure (the median is reported)")
	out := flag.String("out", "", "write the JSON report to this file")
	dir := flag.String("dir", "", "folder for synthetic saves (default: a temporary folder)")
	groupsHelp := "comma-separated figure groups to run (default: all except " + strings.Join(optInNames(), ", ") +
		": opt-in, run only when named): " + strings.Join(groupNames(), ",")
	only := flag.String("only", "", groupsHelp)
	grp := flag.String("group", "", "same as -only")
	flag.Parse()
	if err := run(*events, *runs, *out, *dir, *only+","+*grp, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "diorama-bench:", err)
		os.Exit(1)
	}
}

// group is a set of figures measured together. An opt-in group is left
// out of the default run (it takes minutes) and runs only when named.
type group struct {
	name  string
	run   func(b *bench) ([]result, error)
	optIn bool
}

// groups is the list every issue with a performance figure extends.
var groups []group

func groupNames() []string {
	var names []string
	for _, g := range groups {
		names = append(names, g.name)
	}
	return names
}

func optInNames() []string {
	var names []string
	for _, g := range groups {
		if g.optIn {
			names = append(names, g.name)
		}
	}
	return names
}

// bench is shared by the groups: the parameters and the synthetic saves
// already built, so a save is generated once per run of the program.
type bench struct {
	events int
	runs   int
	dir    string
	saves  map[int]string // events -> path
}

func run(events, runs int, out, dir, only string, w io.Writer) error {
	if runs < 1 {
		return fmt.Errorf("-runs must be at least 1")
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "diorama-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	b := &bench{events: events, runs: runs, dir: dir, saves: map[int]string{}}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			if !slices.Contains(groupNames(), n) {
				return fmt.Errorf("no figure group %q (groups: %s)", n, strings.Join(groupNames(), ","))
			}
			want[n] = true
		}
	}
	rep := report{Date: time.Now().UTC().Format("2006-01-02"), Go: runtime.Version(), CPUs: runtime.NumCPU(),
		Command: "diorama-bench " + strings.Join(os.Args[1:], " "), Events: events, Runs: runs}
	for _, g := range groups {
		if len(want) > 0 && !want[g.name] || len(want) == 0 && g.optIn {
			continue
		}
		fmt.Fprintf(os.Stderr, "diorama-bench: %s...\n", g.name)
		rs, err := g.run(b)
		if err != nil {
			return fmt.Errorf("%s: %w", g.name, err)
		}
		rep.Results = append(rep.Results, rs...)
	}
	printTable(w, rep)
	if out != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
	}
	return nil
}

func printTable(w io.Writer, rep report) {
	fmt.Fprintf(w, "diorama-bench — %s, %s, %d CPUs, %d events, median of %d\n\n", rep.Date, rep.Go, rep.CPUs, rep.Events, rep.Runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "| figure\t| value\t| budget\t| met\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|")
	for _, r := range rep.Results {
		met := ""
		if r.Met != nil {
			met = "yes"
			if !*r.Met {
				met = "**NO**"
			}
		}
		val := formatValue(r.Value) + " " + r.Unit
		if r.Note != "" {
			val += " (" + r.Note + ")"
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t|\n", r.Name, val, r.Budget, met)
	}
	tw.Flush()
}

func formatValue(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// atLeast and atMost build a result with its budget check.
func atLeast(name string, v float64, unit string, budget float64) result {
	ok := v >= budget
	return result{Name: name, Value: v, Unit: unit, Budget: ">= " + formatValue(budget) + " " + unit, Met: &ok}
}

func atMost(name string, v float64, unit string, budget float64) result {
	ok := v <= budget
	return result{Name: name, Value: v, Unit: unit, Budget: "<= " + formatValue(budget) + " " + unit, Met: &ok}
}

func plain(name string, v float64, unit string) result {
	return result{Name: name, Value: v, Unit: unit}
}

// median of a sample (which it sorts).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// percentile p (0..100) of a sample (which it sorts).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	i := int(float64(len(xs)-1) * p / 100)
	return xs[i]
}
