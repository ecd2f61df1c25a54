package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestMemoriesAndStatus plays turns through the CLI (the app's workers
// index and score them, and catch up before the command exits), then asks
// what each character recalls and how the save stands.
func TestMemoriesAndStatus(t *testing.T) {
	db := packSave(t)
	secret := "Mara, I hid the spare key under the blue flowerpot. Don't tell Jun."
	lines := []string{secret}
	for i := range 30 { // enough that the secret leaves the prompts' history
		lines = append(lines, fmt.Sprintf("Mara, tell me about the radio station number %d.", i))
	}
	for _, l := range lines {
		if code, out, errs := runCheckCmd(t, "turn", "--db", db, "--backend", "offline", l); code != 0 {
			t.Fatalf("turn %q: exit %d\n%s%s", l, code, out, errs)
		}
	}
	code, out, errs := runCheckCmd(t, "status", "--db", db)
	if code != 0 || !strings.Contains(out, "workers   caught up") || !strings.Contains(out, "local:ngram") {
		t.Fatalf("status: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCheckCmd(t, "status", "--db", db, "--json")
	var st saveStatus
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Memory.Memories == 0 || st.Memory.Unembedded != 0 ||
		st.Memory.Unscored != 0 || st.Memory.IndexRows != int64(st.Memory.Memories) || len(st.Branches) == 0 {
		t.Fatalf("status --json: exit %d %+v\n%s%s", code, st, out, errs)
	}

	// Mara heard it (she was in the car): it comes first, with its parts.
	code, out, errs = runCheckCmd(t, "memories", "--db", db, "--pov", "mara", "--query", "Where is the spare key?", "--json")
	if code != 0 {
		t.Fatalf("memories: exit %d\n%s%s", code, out, errs)
	}
	var first memoryRow
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first); err != nil {
		t.Fatalf("memories --json: %v\n%s", err, out)
	}
	if first.Text != secret || first.Score == nil || first.Parts["lexical"] <= 0 || first.Parts["vector"] <= 0 || first.Significance == 0 {
		t.Fatalf("first memory: %+v", first)
	}
	code, out, _ = runCheckCmd(t, "memories", "--db", db, "--pov", "mara", "--query", "Where is the spare key?")
	if code != 0 || !strings.Contains(out, "Mara recalls") || !strings.Contains(out, "vector ") || !strings.Contains(out, secret) {
		t.Fatalf("memories (text):\n%s", out)
	}
	code, out, _ = runCheckCmd(t, "memories", "--db", db, "--pov", "jun", "--limit", "100")
	if code != 0 || !strings.Contains(out, "Jun's memories, newest first") {
		t.Fatalf("memories of jun:\n%s", out)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"memories", "--db", db}, 2, "--pov ID is required"},
		{[]string{"memories", "--db", db, "--pov", "nobody"}, 2, `"nobody" is not one of the cast`},
		{[]string{"status"}, 1, "--db SAVE is required"},
	} {
		code, _, errs := runCheckCmd(t, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
}
