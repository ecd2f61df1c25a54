package lua

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"diorama/core"
)

// SessionsDir is where a pack keeps its recorded sessions, under tests/.
const SessionsDir = "sessions"

// runSessions replays the recorded sessions in dir/tests/sessions/*.jsonl
// (exported with `diorama export --format jsonl`) through the pack: each is
// a test named "session NAME" that fails at the first divergence from the
// recording, at the line of the event that diverged.
func runSessions(ctx context.Context, dir string, packFiles map[string][]byte, hash string, opts TestOptions, rep *TestReport) error {
	files, err := filepath.Glob(filepath.Join(dir, "tests", SessionsDir, "*.jsonl"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, file := range files {
		name := "session " + strings.TrimSuffix(filepath.Base(file), ".jsonl")
		if opts.Run != nil && !opts.Run.MatchString(name) {
			continue
		}
		start := time.Now()
		res := replaySession(ctx, dir, file, name, packFiles, hash, opts)
		res.Duration = time.Since(start)
		rep.Results = append(rep.Results, res)
		if res.Passed {
			rep.Passed++
		} else {
			rep.Failed++
		}
	}
	return nil
}

func replaySession(ctx context.Context, dir, file, name string, packFiles map[string][]byte, hash string, opts TestOptions) TestResult {
	res := TestResult{File: file, Name: name}
	data, err := os.ReadFile(file)
	if err != nil {
		res.Msg = err.Error()
		return res
	}
	sf, err := core.ReadSession(bytes.NewReader(data))
	if err != nil {
		var se *core.SessionError
		if errors.As(err, &se) {
			res.Line, res.Msg = se.Line, "not a session file: "+se.Msg
		} else {
			res.Msg = err.Error()
		}
		return res
	}
	rules, err := load(dir, opts.Options, packFiles, hash)
	if err != nil {
		res.Msg = "load pack: " + oneLine(err.Error())
		return res
	}
	defer rules.Close()
	if got, want := rules.World().ID, sf.Header.World; want != "" && got != want {
		res.Msg = fmt.Sprintf("the session is world %q, the pack %q", want, got)
		return res
	}
	rr, err := core.Replay(ctx, rules, sf.Events, core.ReplayOptions{})
	if err != nil {
		res.Msg = oneLine(err.Error())
		return res
	}
	if d := rr.Divergence; d != nil {
		if d.Index < len(sf.Lines) {
			res.Line = sf.Lines[d.Index]
		}
		res.Msg = fmt.Sprintf("diverged at event %d (turn %d): %s; recorded: %s; replayed: %s", d.Seq, d.Turn, d.What, d.Recorded, d.Replayed)
		return res
	}
	res.Passed = true
	return res
}
