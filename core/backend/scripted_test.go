package backend_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"diorama/core"
	"diorama/core/backend"
)

func req(speaker, purpose string) core.GenRequest {
	return core.GenRequest{Speaker: speaker, Purpose: purpose}
}

func TestScripted(t *testing.T) {
	ctx := context.Background()
	t.Run("QueuePerSpeakerAndPurpose", func(t *testing.T) {
		s := backend.NewScripted()
		s.Push("mara", core.PurposeReply, "First, Jun.")
		s.Push("mara", core.PurposeReply, "Second.")
		s.Push("mara", core.PurposeStateUpdate, `[{"op":"set_mood","who":"mara","mood":"tired"}]`)
		s.Push("jun", "", "Jun here.")
		if s.Pending() != 4 {
			t.Fatalf("pending = %d", s.Pending())
		}
		for _, want := range []struct{ who, purpose, text string }{
			{"jun", core.PurposeReply, "Jun here."},
			{"mara", core.PurposeStateUpdate, `[{"op":"set_mood","who":"mara","mood":"tired"}]`},
			{"mara", core.PurposeReply, "First, Jun."},
			{"mara", "", "Second."},
		} {
			got, s2, err := collect(ctx, s, req(want.who, want.purpose))
			if err != nil || got != want.text {
				t.Fatalf("%s/%s = %q, %v; want %q", want.who, want.purpose, got, err, want.text)
			}
			if s2.(interface{ FinishReason() string }).FinishReason() != "stop" {
				t.Fatal("finish reason")
			}
		}
		if s.Pending() != 0 || len(s.Calls()) != 4 {
			t.Fatalf("pending %d, calls %d", s.Pending(), len(s.Calls()))
		}
	})

	t.Run("StreamsInChunks", func(t *testing.T) {
		s := backend.NewScripted()
		s.Push("mara", "", "Keep  your eyes on the road.")
		st, err := s.Generate(ctx, req("mara", core.PurposeReply))
		if err != nil {
			t.Fatal(err)
		}
		var chunks []string
		for {
			c, err := st.Recv()
			if err != nil {
				break
			}
			chunks = append(chunks, c)
		}
		if len(chunks) < 5 || strings.Join(chunks, "") != "Keep  your eyes on the road." {
			t.Fatalf("chunks = %q", chunks)
		}
	})

	t.Run("NothingQueuedNamesTheBot", func(t *testing.T) {
		s := backend.NewScripted()
		_, err := s.Generate(ctx, req("mara", core.PurposeReply))
		if err == nil || err.Error() != `scripted: no reply queued for "mara"` || !errors.Is(err, backend.ErrNotQueued) {
			t.Fatalf("err = %v", err)
		}
		_, err = s.Generate(ctx, req("jun", core.PurposeStateUpdate))
		if err == nil || err.Error() != `scripted: no state_update queued for "jun"` {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("Default", func(t *testing.T) {
		s := backend.NewScripted()
		s.SetDefault(core.PurposeStateUpdate, "[]")
		if got, _, err := collect(ctx, s, req("mara", core.PurposeStateUpdate)); err != nil || got != "[]" {
			t.Fatalf("%q, %v", got, err)
		}
		if _, err := s.Generate(ctx, req("mara", core.PurposeReply)); !errors.Is(err, backend.ErrNotQueued) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("Faults", func(t *testing.T) {
		s := backend.NewScripted()
		boom := fmt.Errorf("server on fire: %w", core.ErrUnavailable)
		s.PushError("mara", "", boom)
		s.PushPartial("mara", "", "I was saying", fmt.Errorf("cut: %w", core.ErrIncomplete))
		s.Push("mara", "", "Fine now.")
		if list := s.PendingList(); len(list) != 3 || !strings.Contains(list[0], "error: server on fire") {
			t.Fatalf("pending list = %q", list)
		}
		if _, err := s.Generate(ctx, req("mara", "")); !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
		got, _, err := collect(ctx, s, req("mara", ""))
		if !errors.Is(err, core.ErrIncomplete) || got != "I was saying" {
			t.Fatalf("partial = %q, %v", got, err)
		}
		if got, _, err := collect(ctx, s, req("mara", "")); err != nil || got != "Fine now." {
			t.Fatalf("%q, %v", got, err)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		s := backend.NewScripted()
		s.Push("mara", "", "a b c")
		cctx, cancel := context.WithCancel(ctx)
		st, err := s.Generate(cctx, req("mara", ""))
		if err != nil {
			t.Fatal(err)
		}
		st.Recv()
		cancel()
		if _, err := st.Recv(); !errors.Is(err, context.Canceled) || !errors.Is(err, core.ErrIncomplete) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOffline(t *testing.T) {
	ctx := context.Background()
	facts := map[string]any{
		"speaker": map[string]any{"name": "Mara", "mood": "tired", "doing": "driving", "holding": []any{"thermos"},
			"location": "highway", "container": "car", "container_name": "car", "slot": "driver"},
		"player_line": "Are we there yet?",
		"present":     []any{map[string]any{"name": "Jun"}},
	}
	r := core.GenRequest{Speaker: "mara", Purpose: core.PurposeReply, Facts: facts}
	g := backend.NewOffline(nil)
	if g.Name() != "offline" {
		t.Fatalf("name = %q", g.Name())
	}
	a, _, err := collect(ctx, g, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*Mara ", "driver seat of the car", "tired", "still driving", "holding the thermos", "Are we there yet?"} {
		if !strings.Contains(a, want) {
			t.Fatalf("reply %q lacks %q", a, want)
		}
	}
	for i := 0; i < 3; i++ {
		if b, _, _ := collect(ctx, g, r); b != a {
			t.Fatalf("not deterministic: %q vs %q", a, b)
		}
	}
	t.Logf("offline reply: %s", a)

	t.Run("NoPlayerLine", func(t *testing.T) {
		r2 := r
		r2.Facts = map[string]any{"speaker": facts["speaker"], "present": []any{"Jun"}}
		got, _, err := collect(ctx, g, r2)
		if err != nil || !strings.Contains(got, "looks at Jun") {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("StateUpdateIsEmptyList", func(t *testing.T) {
		r2 := r
		r2.Purpose = core.PurposeStateUpdate
		if got, _, err := collect(ctx, g, r2); err != nil || got != "[]" {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("Render", func(t *testing.T) {
		g := backend.NewOffline(func(_ context.Context, req core.GenRequest) (string, error) {
			return "Rendered for " + req.Speaker, nil
		})
		if got, _, err := collect(ctx, g, r); err != nil || got != "Rendered for mara" {
			t.Fatalf("%q, %v", got, err)
		}
		bad := backend.NewOffline(func(context.Context, core.GenRequest) (string, error) { return "", errors.New("template line 3") })
		if _, err := bad.Generate(ctx, r); err == nil || !strings.Contains(err.Error(), "template line 3") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Summary", func(t *testing.T) {
		r2 := core.GenRequest{Speaker: "mara", Purpose: core.PurposeSummary, Facts: map[string]any{
			"lines": []any{map[string]any{"name": "You", "text": "Stop here."}, map[string]any{"name": "Jun", "text": "Fine."}}}}
		if got, _, err := collect(ctx, g, r2); err != nil || !strings.Contains(got, `Jun said "Fine."`) {
			t.Fatalf("%q, %v", got, err)
		}
	})
}
