package lua_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"diorama/core"
	"diorama/core/backend"
	"diorama/lua"
)

// TestLongPlayStaysInBudget: a scripted 1,000-turn session on the bundled
// night-drive pack across 30+ scenes. Every prompt fits its budget, the
// current scene is always in it, and the prompt at turn 1,000 is within 1.5×
// the size of the prompt at turn 100: closed scenes are carried by
// summaries, not by their raw lines.
func TestLongPlayStaysInBudget(t *testing.T) {
	turns := 1000
	if testing.Short() {
		turns = 300
	}
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
	gen := backend.NewScripted()
	gen.SetDefault(core.PurposeReply, "\"Still here. The road goes on and on, and so do we.\"")
	gen.SetDefault(core.PurposeStateUpdate, "[]")
	sess := &core.Session{Engine: eng, Generator: gen, Rules: p, Recall: log, Context: 2500, ReplyReserve: 300}
	budget := sess.Context - sess.ReplyReserve
	places := []string{"highway", "gas_station"}
	size := map[int]int{}
	for i := 1; i <= turns; i++ {
		if i%30 == 0 {
			// The car drives on: a new scene.
			c := core.Command{Op: "move", Who: "car", Location: places[(i/30)%2]}
			if _, _, err := sess.Act(ctx, c); err != nil {
				t.Fatalf("turn %d: %v", i, err)
			}
		}
		res, err := sess.Turn(ctx, fmt.Sprintf("Mara, Jun, how are we doing at mile %d?", i), core.TurnObserver{})
		if err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		st := eng.State()
		here := st.Locations[st.Entities[st.Cast.Player].Location].Name
		for bot, pr := range res.Prompts {
			if pr.Manifest.Tokens > budget {
				t.Fatalf("turn %d: %s's prompt has %d tokens, budget %d", i, bot, pr.Manifest.Tokens, budget)
			}
			text := pr.Text()
			if !strings.Contains(text, "# The scene") || !strings.Contains(text, here) {
				t.Fatalf("turn %d: %s's prompt lacks the current scene (%s)", i, bot, here)
			}
			if i == 100 || i == turns {
				size[i] += pr.Manifest.Tokens
			}
		}
	}
	if st := eng.State(); st.Scene < 30 {
		t.Fatalf("only %d scenes", st.Scene)
	}
	if ratio := float64(size[turns]) / float64(size[100]); ratio > 1.5 {
		t.Fatalf("prompt size at turn %d is %.2f× turn 100 (%d vs %d tokens)", turns, ratio, size[turns], size[100])
	}
	t.Logf("%d turns, %d scenes; prompt tokens at 100: %d, at %d: %d", turns, eng.State().Scene, size[100], turns, size[turns])
}
