package core_test

import (
	"context"
	"strings"
	"testing"

	"diorama/core"
)

// TestDecideRejections covers every rejection reason the issue names, each
// naming its field, and checks that a rejection writes nothing.
func TestDecideRejections(t *testing.T) {
	tests := []struct {
		name    string
		setup   []string // commands applied first
		cmd     string
		wantErr string
	}{
		{"UnknownEntity", nil, `{"op":"set_mood","who":"bob","mood":"calm"}`, `who: unknown entity "bob"`},
		{"UnknownEntityTo", nil, `{"op":"adjust","who":"jun","to":"bob","trust":1}`, `to: unknown entity "bob"`},
		{"UnknownLocation", nil, `{"op":"move","who":"jun","location":"moon"}`, `location: unknown location "moon"`},
		{"UnknownContainer", nil, `{"op":"move","who":"jun","container":"bus","slot":"x"}`, `container: unknown container "bus"`},
		{"SlotTaken", nil, `{"op":"move","who":"jun","container":"car","slot":"driver"}`, `slot: slot taken: "driver" of "car" is taken by mara`},
		{"SlotDoesNotExist", nil, `{"op":"move","who":"jun","container":"car","slot":"roof"}`, `slot: slot does not exist: "roof"`},
		{"EntityNotPresentContainer", []string{`{"op":"move","who":"jun","location":"shop"}`}, `{"op":"move","who":"jun","container":"car","slot":"back_right"}`, "who: entity not present: jun is at shop"},
		{"EntityNotPresentGive", []string{`{"op":"hold","who":"jun","item":"map"}`, `{"op":"move","who":"mara","location":"shop"}`}, `{"op":"give","who":"jun","to":"mara","item":"map"}`, "to: entity not present: mara is at shop"},
		{"ValueOutOfRangeMinutes", nil, `{"op":"advance_time","minutes":0}`, "minutes: value out of range"},
		{"ValueOutOfRangeSkip", nil, `{"op":"skip","kind":"jump","minutes":-5}`, "minutes: value out of range"},
		{"ItemNotHeldDrop", nil, `{"op":"drop","who":"jun","item":"map"}`, `item: item not held: jun does not hold "map"`},
		{"ItemNotHeldGive", nil, `{"op":"give","who":"jun","to":"mara","item":"map"}`, `item: item not held`},
		{"ItemHeldByOther", []string{`{"op":"hold","who":"jun","item":"map"}`}, `{"op":"hold","who":"mara","item":"map"}`, `item: "map" is held by jun`},
		{"PropOfPlannedEvent", nil, `{"op":"hold","who":"jun","item":"basket"}`, `belongs to story event "picnic", which is planned`},
		{"SkipKind", nil, `{"op":"skip","kind":"nap","minutes":5}`, `kind: want "elision" or "jump"`},
		{"SkipNeedsMinutesOrLabel", nil, `{"op":"skip","kind":"jump"}`, "minutes: give minutes or a label"},
		{"EventUnknown", nil, `{"op":"start_event","event":"wedding"}`, `event: unknown story event "wedding"`},
		{"EventNotActive", nil, `{"op":"complete_event","event":"picnic"}`, `story event "picnic" is planned, not active`},
		{"EventTwice", []string{`{"op":"start_event","event":"picnic"}`}, `{"op":"start_event","event":"picnic"}`, `is active, not planned`},
		{"PromotePlanned", nil, `{"op":"promote","event":"picnic","to":"jun","fact":"x"}`, "only an active or completed event promotes"},
		{"PromoteNotProp", []string{`{"op":"start_event","event":"picnic"}`}, `{"op":"promote","event":"picnic","to":"jun","item":"car keys"}`, `item: "car keys" is not a prop`},
		{"ThreadUnknown", nil, `{"op":"resolve_thread","thread":"t1"}`, `thread: unknown thread "t1"`},
		{"ThreadDup", []string{`{"op":"open_thread","thread":"t1","text":"x"}`}, `{"op":"open_thread","thread":"t1","text":"y"}`, `already exists`},
		{"PinUnknown", nil, `{"op":"pin","memory":99}`, "memory: unknown memory 99"},
		{"AdjustSelf", nil, `{"op":"adjust","who":"jun","to":"jun","trust":1}`, "to: an edge joins two different characters"},
		{"AdjustNothing", nil, `{"op":"adjust","who":"jun","to":"mara"}`, "give at least one of"},
		{"GroupTrust", nil, `{"op":"adjust","who":"jun","to":"group","trust":3}`, "trust: the group node has cohesion only"},
		{"MoveNowhere", nil, `{"op":"move","who":"jun"}`, "location: required"},
		{"ContainerIntoSlot", nil, `{"op":"move","who":"car","container":"car","slot":"driver"}`, "a container moves to a location only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng, log := mustEngine(t)
			mustDo(t, eng, tt.setup...)
			before := eng.State().Hash()
			evsBefore, _ := log.Events("main")
			c, err := core.ParseCommand([]byte(tt.cmd))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			_, err = eng.Do(context.Background(), c)
			if err == nil {
				t.Fatalf("accepted; want %q", tt.wantErr)
			}
			if !core.IsRejection(err) {
				t.Fatalf("error %v is not a Rejection", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			evsAfter, _ := log.Events("main")
			if len(evsAfter) != len(evsBefore) || eng.State().Hash() != before {
				t.Fatal("a rejected command changed the log or the state")
			}
		})
	}
}

func TestDecideEffects(t *testing.T) {
	eng, _ := mustEngine(t)
	mustDo(t, eng,
		`{"op":"move","who":"car","location":"gas_station"}`,
		`{"op":"move","who":"jun","location":"shop"}`,
		`{"op":"hold","who":"jun","item":"lighter"}`,
		`{"op":"move","who":"jun","location":"gas_station"}`,
		`{"op":"move","who":"jun","container":"car"}`, // first free slot
		`{"op":"give","who":"jun","to":"you","item":"lighter"}`,
		`{"op":"adjust","who":"mara","to":"jun","affinity":-90,"note":"again"}`,
		`{"op":"adjust","who":"you","to":"group","affinity":15,"note":"we need this"}`,
		`{"op":"advance_time","minutes":45}`,
		`{"op":"start_event","event":"picnic"}`,
		`{"op":"hold","who":"mara","item":"basket"}`,
		`{"op":"promote","event":"picnic","to":"you","item":"blanket"}`,
		`{"op":"complete_event","event":"picnic","gist":"cold sandwiches, warm talk"}`,
	)
	s := eng.State()
	if got, want := s.Entities["mara"].Location, "gas_station"; got != want {
		t.Errorf("mara rode along: location %q, want %q", got, want)
	}
	if got, want := s.Entities["jun"].Slot, "back_right"; got != want {
		t.Errorf("jun slot %q, want first free %q", got, want)
	}
	if got, want := strings.Join(s.Entities["you"].Holding, ","), "lighter,blanket"; got != want {
		t.Errorf("you hold %q, want %q", got, want)
	}
	if got := s.Entities["mara"].Holding; len(got) != 0 {
		t.Errorf("the basket outlived the picnic: mara holds %v", got)
	}
	if got, want := s.Edge("mara", "jun").Affinity, -100; got != want {
		t.Errorf("affinity clamps: got %d, want %d", got, want)
	}
	if got, want := s.Group.Cohesion, 35; got != want {
		t.Errorf("cohesion %d, want %d", got, want)
	}
	if got, want := s.NowString(), "1999-08-14T22:15"; got != want {
		t.Errorf("clock %q, want %q", got, want)
	}
	if got, want := s.Events["picnic"].Gist, "cold sandwiches, warm talk"; got != want {
		t.Errorf("gist %q, want %q", got, want)
	}
	if props := s.ActiveProps(); len(props) != 0 {
		t.Errorf("props still in scene after the event: %v", props)
	}
	if got, want := len(s.Edges), 6; got != want {
		t.Errorf("edges: got %d, want all %d directed edges", got, want)
	}
}

func TestWitnessMasks(t *testing.T) {
	eng, _ := mustEngine(t)
	ctx := context.Background()
	do := func(js string) []core.Event {
		t.Helper()
		c, err := core.ParseCommand([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		evs, err := eng.Do(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	do(`{"op":"move","who":"car","location":"gas_station"}`)
	if got, want := do(`{"op":"move","who":"jun","location":"shop"}`)[0].Mask, core.MaskAll; got != want {
		t.Errorf("leaving is seen by those he leaves: mask %v, want %v", got, want)
	}
	if got, want := do(`{"op":"set_mood","who":"mara","mood":"relieved"}`)[0].Mask, eng.State().Cast.MaskOf("you", "mara"); got != want {
		t.Errorf("jun is in the shop: mask %v, want %v", got, want)
	}
	if got, want := do(`{"op":"note_fact","who":"mara","fact":"jun lied about the money"}`)[0].Mask, eng.State().Cast.MaskOf("mara"); got != want {
		t.Errorf("a fact is private: mask %v, want %v", got, want)
	}
	if got, want := do(`{"op":"adjust","who":"mara","to":"jun","affinity":-5}`)[0].Mask, eng.State().Cast.MaskOf("mara"); got != want {
		t.Errorf("a feeling is private: mask %v, want %v", got, want)
	}
}

func TestMultiCommandTurnIsAtomic(t *testing.T) {
	eng, log := mustEngine(t)
	before, _ := log.Events("main")
	ok, _ := core.ParseCommand([]byte(`{"op":"set_mood","who":"jun","mood":"calm"}`))
	bad, _ := core.ParseCommand([]byte(`{"op":"drop","who":"jun","item":"map"}`))
	if _, err := eng.Do(context.Background(), ok, bad); err == nil || !strings.Contains(err.Error(), "command 2") {
		t.Fatalf("want the second command named in the error, got %v", err)
	}
	after, _ := log.Events("main")
	if len(after) != len(before) {
		t.Fatal("half a turn was written")
	}
	// Later commands see earlier ones of the same turn.
	hold, _ := core.ParseCommand([]byte(`{"op":"hold","who":"jun","item":"map"}`))
	if _, err := eng.Do(context.Background(), hold, bad); err != nil {
		t.Fatalf("drop after hold in one turn: %v", err)
	}
}

func TestPlanKeepsValidCommands(t *testing.T) {
	eng, _ := mustEngine(t)
	var cmds []core.Command
	for _, js := range []string{
		`{"op":"hold","who":"jun","item":"map"}`,
		`{"op":"drop","who":"mara","item":"map"}`,
		`{"op":"give","who":"jun","to":"mara","item":"map"}`,
	} {
		c, _ := core.ParseCommand([]byte(js))
		cmds = append(cmds, c)
	}
	drafts, rejected := eng.Plan(cmds)
	if len(drafts) != 2 || len(rejected) != 1 || !strings.Contains(rejected[0].Error(), "command 2") {
		t.Fatalf("got %d drafts, rejections %v", len(drafts), rejected)
	}
	if _, err := eng.Append(context.Background(), drafts); err != nil {
		t.Fatal(err)
	}
	if got := eng.State().Entities["mara"].Holding; len(got) != 1 || got[0] != "map" {
		t.Fatalf("mara holds %v", got)
	}
}

func TestDecideHandMadeCommands(t *testing.T) {
	eng, _ := mustEngine(t)
	for _, c := range []core.Command{
		{Op: "advance_time"},
		{Op: "skip"},
		{Op: "set_mood", Who: "jun"},
		{Op: "pin"},
		{Op: "give", Who: "jun", Item: "map"},
		{Op: ""},
		{Op: "warp"},
	} {
		if _, err := eng.Do(context.Background(), c); err == nil || !core.IsRejection(err) {
			t.Errorf("%+v: got %v, want a rejection", c, err)
		}
	}
}
