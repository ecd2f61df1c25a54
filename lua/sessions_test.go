package lua_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"diorama/core"
	"diorama/core/backend"
	"diorama/lua"
)

var updateSessions = flag.Bool("update-sessions", false, "record worlds/night_drive/tests/sessions/first_stop.jsonl again")

const nightDriveSession = "../worlds/night_drive/tests/sessions/first_stop.jsonl"

// recordNightDrive plays a short story on the bundled night_drive pack with
// scripted model output (replies, state updates; scene summaries fall back
// to the offline summariser) and returns it as a session file.
func recordNightDrive(t *testing.T) []byte {
	t.Helper()
	ctx := context.Background()
	p, err := lua.Load("../worlds/night_drive", lua.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	log, err := core.NewMemLog(p.World())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := core.NewEngine(ctx, log, log, "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Append(ctx, []core.Draft{{Type: core.TypePackLoaded, Mask: core.MaskAll,
		Payload: &core.PackLoaded{Pack: p.World().ID, Version: p.World().Version, Hash: p.Hash()}}}); err != nil {
		t.Fatal(err)
	}
	gen := backend.NewScripted()
	gen.SetDefault(core.PurposeReply, "Hm.")
	gen.SetDefault(core.PurposeStateUpdate, "[]")
	sess := &core.Session{Engine: eng, Generator: gen, Rules: p, Recall: log, Context: 8192, ReplyReserve: 512}
	say := func(line string, script ...string) {
		t.Helper()
		for i := 0; i+2 < len(script)+1; i += 3 {
			gen.Push(script[i], core.PurposeReply, script[i+1])
			gen.Push(script[i], core.PurposeStateUpdate, script[i+2])
		}
		if _, err := sess.Turn(ctx, line, core.TurnObserver{}); err != nil {
			t.Fatalf("turn %q: %v", line, err)
		}
	}
	act := func(cmd string) {
		t.Helper()
		c, err := core.ParseCommand([]byte(cmd))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := sess.Act(ctx, c); err != nil {
			t.Fatalf("act %s: %v", cmd, err)
		}
	}
	say("Mara, how far is the lake?", "mara", "*eyes on the road* An hour. Maybe less if Jun stops talking.",
		`[{"op":"set_mood","who":"mara","mood":"wary"}]`)
	say("Jun, what are you humming?", "jun", "Dude, remember when we drove up here with no headlights? Classic.",
		`[{"op":"set_mood","who":"jun","mood":"nostalgic"},{"op":"note_fact","who":"jun","fact":"Sam asked about the song"}]`)
	act(`{"op":"move","who":"car","location":"lake"}`)
	say("Mara, is that the picnic spot?", "mara", "The table's still there. Somebody carved our names in it.",
		`[{"op":"adjust","who":"mara","to":"you","affinity":3,"note":"remembered the spot"}, {"op":"fly","who":"mara"}]`)
	act(`{"op":"skip","kind":"jump","minutes":4320,"label":"three days later"}`)
	say("Jun, we should do this again.", "jun", "Every summer. I mean it this time.", `not json`)
	evs, err := log.Events("main")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := core.WriteSession(&buf, core.SessionHeader{Branch: "main"}, evs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPackSessions: `diorama test` replays a pack's recorded sessions: the
// bundled one passes, and through a changed rule it fails at the line of
// the first event that differs.
func TestPackSessions(t *testing.T) {
	if *updateSessions {
		if err := os.MkdirAll(filepath.Dir(nightDriveSession), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(nightDriveSession, recordNightDrive(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	only := regexp.MustCompile("^session ")
	rep, err := lua.RunTests(ctx, "../worlds/night_drive", lua.TestOptions{Run: only})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 1 || rep.Failed != 0 {
		t.Fatalf("replaying the recorded session: %+v (after a deliberate change of the pack's rules, record it again: go test ./lua -run TestPackSessions -update-sessions)", rep.Results)
	}

	// A copy of the pack whose reply hook changed: Jun's "remember when"
	// no longer costs him Mara's goodwill.
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../worlds/night_drive")); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.lua")
	b, _ := os.ReadFile(rules)
	changed := strings.Replace(string(b), `s.act.adjust({ who = "mara", to = "jun", affinity = -2 })`, `s.act.adjust({ who = "mara", to = "jun", affinity = -5 })`, 1)
	if changed == string(b) {
		t.Fatal("the rule to change is not in rules.lua any more")
	}
	os.WriteFile(rules, []byte(changed), 0o644)
	rep, err = lua.RunTests(ctx, dir, lua.TestOptions{Run: only})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 {
		t.Fatalf("a changed rule went unnoticed: %+v", rep.Results)
	}
	r := rep.Results[0]
	if r.Line == 0 || !strings.Contains(r.Msg, "the payload differs") || !strings.Contains(r.Msg, `"affinity":-5`) || !strings.Contains(r.Msg, `"affinity":-2`) {
		t.Fatalf("divergence: %s", r)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "tests", "sessions", "first_stop.jsonl"))
	if at := strings.Split(string(data), "\n")[r.Line-1]; !strings.Contains(at, `"relationship_adjusted"`) {
		t.Fatalf("the failure points at line %d: %s", r.Line, at)
	}
}
