package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"diorama/core"
	"diorama/store"
)

var noObs = core.TurnObserver{}

const nightDrive = "../../worlds/night_drive"

// mustRun runs diorama and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCheckCmd(t, args...)
	if code != 0 {
		t.Fatalf("diorama %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// playTurns plays lines on the save with the offline renderer.
func playTurns(t *testing.T, db string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		mustRun(t, "turn", "--db", db, "--backend", "offline", l)
	}
}

func stateHash(t *testing.T, db string, branch ...string) string {
	t.Helper()
	args := []string{"state", "--db", db, "--hash"}
	if len(branch) > 0 {
		args = append(args, "--branch", branch[0])
	}
	return strings.TrimSpace(mustRun(t, args...))
}

func TestRewindBranchCheckoutCLI(t *testing.T) {
	db := packSave(t)
	playTurns(t, db, "Mara, how far is the lake?", "Jun, remember the crash?", "Let's stop for coffee.")
	tip := stateHash(t, db)
	log := mustRun(t, "log", "--db", db)
	out := mustRun(t, "rewind", "--db", db)
	m := regexp.MustCompile(`kept as branch (\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "rewound 1 turn") {
		t.Fatalf("rewind: %s", out)
	}
	kept := m[1]
	if stateHash(t, db) == tip {
		t.Fatal("rewind did not move the checked-out branch")
	}
	// Rewind then continue: the old tip stays intact.
	playTurns(t, db, "Jun, music?")
	if got := stateHash(t, db, kept); got != tip {
		t.Fatal("the old tip changed after rewinding and playing on")
	}
	if got := mustRun(t, "log", "--db", db, "--branch", kept); got != log {
		t.Fatalf("the old tip's log changed:\n%s\nwant\n%s", got, log)
	}
	out = mustRun(t, "branches", "--db", db)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "* main ") || !strings.HasPrefix(lines[1], "  "+kept) || !strings.Contains(out, "forks from") {
		t.Fatalf("branches:\n%s", out)
	}
	// Checkout is remembered: state, log and the next turn use it.
	mustRun(t, "checkout", "--db", db, kept)
	if stateHash(t, db) != tip {
		t.Fatal("after checkout, state shows another branch")
	}
	if !strings.HasPrefix(mustRun(t, "branches", "--db", db), "  main") {
		t.Fatal("branches does not mark the checked-out branch")
	}
	playTurns(t, db, "Mara, pull over.")
	if stateHash(t, db, kept) == tip {
		t.Fatal("the turn after checkout did not land on the checked-out branch")
	}
	// A branch at an event, renamed and deleted (with a backup first).
	mustRun(t, "branch", "--db", db, "early", "--at", "3")
	mustRun(t, "branch", "--db", db, "--rename", "early", "earlier")
	out = mustRun(t, "branch", "--db", db, "--delete", "earlier")
	if !strings.Contains(out, "backup: ") {
		t.Fatalf("branch --delete: %s", out)
	}
	if bs, _ := store.Backups(db); len(bs) != 1 {
		t.Fatalf("backups: %v", bs)
	}
	mustRun(t, "rewind", "--db", db, "--to", "3")
	if !strings.Contains(mustRun(t, "log", "--db", db), "     3  turn") {
		t.Fatal("rewind --to 3: the log does not end at event 3")
	}
}

func TestDeleteCLI(t *testing.T) {
	db := packSave(t)
	playTurns(t, db, "Mara, how far is the lake?", "Jun, remember the crash?", "Let's stop for coffee.")
	// The player's second line.
	var id string
	for _, l := range strings.Split(mustRun(t, "log", "--db", db), "\n") {
		if strings.Contains(l, "remember the crash") && strings.Contains(l, `"who":"you"`) {
			id = strings.Fields(l)[0]
		}
	}
	before, tip := fileSum(t, db), stateHash(t, db)
	out := mustRun(t, "delete", "--db", db, id, "--dry-run")
	for _, want := range []string{"delete #" + id, "(the event deleted)", "(derived from #" + id + ")", "the state would change:", "how Mara feels about Jun: affinity", "the edited story would be branch main~del" + id} {
		if !strings.Contains(out, want) {
			t.Fatalf("delete --dry-run lacks %q:\n%s", want, out)
		}
	}
	if fileSum(t, db) != before {
		t.Fatal("delete --dry-run changed the save")
	}
	out = mustRun(t, "delete", "--db", db, id)
	if !strings.Contains(out, "now on branch main~del"+id) || !strings.Contains(out, "backup: ") {
		t.Fatalf("delete: %s", out)
	}
	if stateHash(t, db, "main") != tip {
		t.Fatal("delete changed the original branch")
	}
	if strings.Contains(mustRun(t, "log", "--db", db), "remember the crash") {
		t.Fatal("the deleted line is still on the checked-out branch")
	}
	if bs, _ := store.Backups(db); len(bs) != 1 {
		t.Fatalf("no backup before the delete: %v", bs)
	}
}

func TestExportImportReplayCLI(t *testing.T) {
	db := packSave(t)
	dir := t.TempDir()
	playTurns(t, db, "Mara, how far is the lake?", "Jun, remember the crash?")
	mustRun(t, "skip", "--db", db, "--backend", "offline", "three days later")
	playTurns(t, db, "Mara, what day is it?")
	// A branch that forked: its numbering has gaps.
	mustRun(t, "rewind", "--db", db)
	playTurns(t, db, "Jun, wake up.")
	session := filepath.Join(dir, "s.jsonl")
	mustRun(t, "export", "--db", db, "--format", "jsonl", "-o", session)
	imported := filepath.Join(dir, "imported.db")
	out := mustRun(t, "import-session", "--db", imported, session)
	if !strings.Contains(out, "into "+imported) {
		t.Fatalf("import-session: %s", out)
	}
	want := stateHash(t, db)
	if got := stateHash(t, imported); got != want {
		t.Fatalf("export → import changed the state: %s, want %s", got, want)
	}
	for _, args := range [][]string{
		{"replay", "--db", imported, "--pack", nightDrive},
		{"replay", "--db", db},
		{"replay", session, "--pack", nightDrive},
	} {
		out := mustRun(t, args...)
		if !strings.Contains(out, "no divergence (state "+want[:12]+")") {
			t.Fatalf("%v: %s", args, out)
		}
	}
	// A markdown transcript.
	md := mustRun(t, "export", "--db", db, "--format", "md")
	if !strings.HasPrefix(md, "# Night Drive") || !strings.Contains(md, "**Sam:** Jun, wake up.") || !strings.Contains(md, "three days later") {
		t.Fatalf("export --format md:\n%s", md)
	}

	t.Run("Divergence", func(t *testing.T) {
		// The same story through a pack whose hook changed: exit 1 at the
		// first event that differs, with both sides.
		pack := copyPack(t, nightDrive)
		rules := filepath.Join(pack, "rules.lua")
		b, _ := os.ReadFile(rules)
		changed := strings.Replace(string(b), `s.act.attend({ who = id, target = target })`, `s.act.attend({ who = id, target = "the radio" })`, 1)
		if changed == string(b) {
			t.Fatal("the pack's hook to change is not there any more")
		}
		os.WriteFile(rules, []byte(changed), 0o644)
		code, out, errs := runCheckCmd(t, "replay", "--db", imported, "--pack", pack)
		if code != 1 || !strings.Contains(out, "recorded: attention_set") || !strings.Contains(out, "the radio") ||
			!strings.Contains(errs, "diverged at event") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Fatalf("replay through a changed pack: exit %d\n%s%s", code, out, errs)
		}
	})
}

func copyPack(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "pack")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestBackupRestoreCLI(t *testing.T) {
	db := packSave(t)
	playTurns(t, db, "Mara, how far is the lake?")
	early := stateHash(t, db)
	backup := strings.TrimSpace(mustRun(t, "backup", "--db", db))
	if _, err := os.Stat(backup); err != nil || filepath.Dir(backup) != store.BackupDir(db) {
		t.Fatalf("backup at %q: %v", backup, err)
	}
	playTurns(t, db, "Jun, remember the crash?")
	late := stateHash(t, db)
	out := mustRun(t, "restore", "--db", db, backup)
	if !strings.Contains(out, "backed up at") {
		t.Fatalf("restore: %s", out)
	}
	if stateHash(t, db) != early {
		t.Fatal("restore did not bring the backup back")
	}
	// The save restore replaced was backed up first: nothing is lost.
	bs, _ := store.Backups(db)
	var prior string
	for _, b := range bs {
		if strings.Contains(b, "before-restore") {
			prior = b
		}
	}
	if prior == "" {
		t.Fatalf("no backup of the replaced save: %v", bs)
	}
	mustRun(t, "restore", "--db", db, prior)
	if stateHash(t, db) != late {
		t.Fatal("the replaced save's backup does not hold it")
	}
	// Rotation keeps the newest N.
	for range 4 {
		mustRun(t, "backup", "--db", db, "--keep", "3")
	}
	if bs, _ := store.Backups(db); len(bs) != 3 {
		t.Fatalf("after rotation: %d backups, want 3", len(bs))
	}
	list := mustRun(t, "backup", "--db", db, "--list")
	if strings.Count(list, "\n") != 3 {
		t.Fatalf("backup --list:\n%s", list)
	}
}

func TestTimeTravelBadInput(t *testing.T) {
	db := packSave(t)
	playTurns(t, db, "Mara, how far is the lake?")
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a session\n"), 0o644)
	session := filepath.Join(dir, "s.jsonl")
	mustRun(t, "export", "--db", db, "-o", session)
	b, _ := os.ReadFile(session)
	tampered := filepath.Join(dir, "tampered.jsonl")
	// An edit that changes the state the events give (Mara now sleeps at
	// the wheel): the header's state hash catches it.
	if !strings.Contains(string(b), `"doing":"driving"`) {
		t.Fatalf("the session has no activity to tamper with:\n%s", b)
	}
	os.WriteFile(tampered, []byte(strings.Replace(string(b), `"doing":"driving"`, `"doing":"sleeping"`, 1)), 0o644)
	cut := filepath.Join(dir, "cut.jsonl")
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(cut, []byte(strings.Join(lines[:len(lines)-3], "")), 0o644)
	newDB := filepath.Join(dir, "new.db")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"RewindTooFar", []string{"rewind", "--db", db, "--turns", "99"}, 1, "only 1 turn"},
		{"RewindBothWays", []string{"rewind", "--db", db, "--turns", "1", "--to", "2"}, 2, "not both"},
		{"RewindToMissing", []string{"rewind", "--db", db, "--to", "9999"}, 1, "not on branch main"},
		{"RewindToJunk", []string{"rewind", "--db", db, "--to", "x"}, 2, "not an event id"},
		{"BranchBadName", []string{"branch", "--db", db, "a b"}, 1, "not allowed"},
		{"BranchExists", []string{"branch", "--db", db, "main"}, 1, "exists already"},
		{"BranchDeleteCurrent", []string{"branch", "--db", db, "--delete", "main"}, 1, "checked out"},
		{"BranchDeleteMissing", []string{"branch", "--db", db, "--delete", "nope"}, 1, "no such branch"},
		{"CheckoutMissing", []string{"checkout", "--db", db, "nope"}, 1, "no such branch"},
		{"DeleteWorld", []string{"delete", "--db", db, "1"}, 1, "creation of the world"},
		{"DeleteMissing", []string{"delete", "--db", db, "9999", "--dry-run"}, 1, "no event 9999"},
		{"ExportBadFormat", []string{"export", "--db", db, "--format", "pdf"}, 2, "want jsonl or md"},
		{"ExportOverSave", []string{"export", "--db", db, "-o", db}, 1, "refusing to write over it"},
		{"ImportOverSave", []string{"import-session", "--db", db, session}, 1, "never writes over one"},
		{"ImportText", []string{"import-session", "--db", newDB, text}, 1, "notes.txt:1: not a diorama session"},
		{"ImportTampered", []string{"import-session", "--db", newDB, tampered}, 1, "changed after export"},
		{"ImportCut", []string{"import-session", "--db", newDB, cut}, 1, "cut short"},
		{"ReplayNoSource", []string{"replay", "--pack", nightDrive}, 2, "give --db SAVE or a session file"},
		{"ReplayWrongPack", []string{"replay", session, "--pack", "../../worlds/diner"}, 1, "the pack is world"},
		{"RestoreNotSave", []string{"restore", "--db", db, text}, 1, "not a diorama save"},
		{"RestoreItself", []string{"restore", "--db", db, db}, 1, "the save itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fileSum(t, db)
			code, out, errs := runCheckCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q (stdout %q); want exit %d and one line with %q", code, errs, out, tt.code, tt.want)
			}
			if fileSum(t, db) != before {
				t.Fatal("the save changed")
			}
			if _, err := os.Stat(newDB); err == nil {
				t.Fatal("a failed import left a save behind")
			}
			if bs, _ := store.Backups(db); len(bs) != 0 {
				t.Fatalf("a failed command took a backup: %v", bs)
			}
		})
	}
}

// TestShellTimeTravel drives the shell's history commands through
// App.Exec, as the shell does: /rewind, /branch, /branches, /checkout,
// /regen and the two steps of /delete.
func TestShellTimeTravel(t *testing.T) {
	db := packSave(t)
	ctx := context.Background()
	a, err := openApp(ctx, &env{getenv: func(string) string { return "" }}, appOptions{db: db, backend: "offline"})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			a.Close()
		}
	}()
	for _, l := range []string{"Mara, how far is the lake?", "Jun, remember the crash?", "Mara, are we there yet?"} {
		if _, err := a.Turn(ctx, l, noObs); err != nil {
			t.Fatal(err)
		}
	}
	exec := func(cmd string, args ...string) string {
		t.Helper()
		out, err := a.Exec(ctx, cmd, args)
		if err != nil {
			t.Fatalf("/%s %s: %v", cmd, strings.Join(args, " "), err)
		}
		return out
	}
	transcript := func() string {
		t.Helper()
		es, err := a.Transcript(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range es {
			b.WriteString(e.Text + "\n")
		}
		return b.String()
	}
	tip := a.State().Hash()
	out := exec("rewind")
	if !strings.Contains(out, "kept as branch main@turn") || strings.Contains(transcript(), "are we there yet") {
		t.Fatalf("/rewind: %s\ntranscript:\n%s", out, transcript())
	}
	if _, err := a.Turn(ctx, "Jun, music?", noObs); err != nil {
		t.Fatal(err)
	}
	exec("branch", "radio")
	if a.Info().Branch != "radio" {
		t.Fatalf("/branch did not switch: on %s", a.Info().Branch)
	}
	out = exec("branches")
	if !strings.Contains(out, "* radio") || !strings.Contains(out, "  main") || !strings.Contains(out, "main@turn") {
		t.Fatalf("/branches:\n%s", out)
	}
	kept := regexp.MustCompile(`main@turn\d+`).FindString(out)
	exec("checkout", kept)
	if a.State().Hash() != tip || !strings.Contains(transcript(), "are we there yet") {
		t.Fatal("/checkout of the old tip does not bring it back")
	}
	out = exec("regen")
	if !strings.Contains(out, "a new sibling on branch "+kept+"~2") && !strings.Contains(out, "on branch main~2") {
		t.Fatalf("/regen: %s", out)
	}
	// Flip back to the old reply and on to the new one.
	exec("checkout", kept)
	if a.State().Hash() != tip {
		t.Fatal("flipping back after /regen does not give the old state")
	}
	// /delete in two steps: the preview changes nothing, --confirm does it.
	var id int64
	es, _ := a.Transcript(ctx, 50)
	for _, e := range es {
		if e.Player && strings.Contains(e.Text, "remember the crash") {
			id = e.Event
		}
	}
	ids := strconv.FormatInt(id, 10)
	out = exec("delete", ids)
	if !strings.Contains(out, "run /delete "+ids+" --confirm to do it") || !strings.Contains(out, "(the event deleted)") {
		t.Fatalf("/delete preview:\n%s", out)
	}
	if a.State().Hash() != tip {
		t.Fatal("the /delete preview changed the state")
	}
	out = exec("delete", ids, "--confirm")
	if !strings.Contains(out, "deleted #"+ids) || strings.Contains(transcript(), "remember the crash") {
		t.Fatalf("/delete --confirm: %s\ntranscript:\n%s", out, transcript())
	}
	if _, err := a.Turn(ctx, "Mara, so?", noObs); err != nil {
		t.Fatal(err)
	}
	// Bad input is one line and changes nothing.
	before := a.State().Hash()
	for _, c := range [][]string{{"rewind", "x"}, {"checkout", "nope"}, {"delete", "1"}, {"delete", ids, "--force"}, {"branch", "a", "b"}} {
		_, err := a.Exec(ctx, c[0], c[1:])
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Fatalf("/%s: err = %v", strings.Join(c, " "), err)
		}
	}
	if a.State().Hash() != before {
		t.Fatal("a refused command changed the state")
	}
	// The checked-out branch is remembered by the next session.
	branch := a.Info().Branch
	a.Close()
	closed = true
	b, err := openApp(ctx, &env{getenv: func(string) string { return "" }}, appOptions{db: db, backend: "offline"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Info().Branch != branch || b.State().Hash() != before {
		t.Fatalf("reopened on %s, want %s", b.Info().Branch, branch)
	}
}
