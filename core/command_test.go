package core_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"diorama/core"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"OK", `{"op":"move","who":"jun","location":"shop"}`, ""},
		{"OKAllAdjust", `{"op":"adjust","who":"jun","to":"mara","affinity":-5,"trust":3,"note":"hm"}`, ""},
		{"OKEndScene", `{"op":"end_scene"}`, ""},
		{"Malformed", `{"op":"move",`, "malformed command JSON"},
		{"Empty", ``, "malformed command JSON: empty input"},
		{"NotObject", `["move"]`, "malformed command JSON"},
		{"Null", `null`, "malformed command JSON"},
		{"Trailing", `{"op":"end_scene"} {}`, "trailing data"},
		{"MissingOp", `{"who":"jun"}`, "op: missing"},
		{"OpNotString", `{"op":3}`, "op: want a string"},
		{"UnknownOp", `{"op":"teleport","who":"jun"}`, `unknown op "teleport"`},
		{"UnknownField", `{"op":"set_mood","who":"jun","mood":"calm","colour":"red"}`, "set_mood: colour: unknown field"},
		{"FieldOfOtherOp", `{"op":"set_mood","who":"jun","mood":"calm","item":"map"}`, "set_mood: item: unknown field"},
		{"WrongTypeString", `{"op":"set_mood","who":7,"mood":"calm"}`, "set_mood: who: want a string"},
		{"WrongTypeNumber", `{"op":"advance_time","minutes":"ten"}`, "advance_time: minutes: want a whole number"},
		{"Fraction", `{"op":"advance_time","minutes":1.5}`, "advance_time: minutes: want a whole number"},
		{"WrongTypeList", `{"op":"set_goals","who":"jun","goals":"sleep"}`, "set_goals: goals: want a list of strings"},
		{"EmptyString", `{"op":"set_mood","who":"jun","mood":"  "}`, "set_mood: mood: must not be empty"},
		{"MissingRequired", `{"op":"give","who":"jun","item":"map"}`, "give: to: required"},
		{"DeltaOutOfRange", `{"op":"adjust","who":"jun","to":"mara","affinity":500}`, "adjust: affinity: value out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := core.ParseCommand([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				// Round trip: the encoded command parses to the same command.
				c2, err := core.ParseCommand(c.JSON())
				if err != nil {
					t.Fatalf("round trip %s: %v", c.JSON(), err)
				}
				if got, want := string(c2.JSON()), string(c.JSON()); got != want {
					t.Fatalf("round trip: got %s, want %s", got, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestCommandFromMap(t *testing.T) {
	c, err := core.CommandFromMap(map[string]any{"op": "adjust", "who": "jun", "to": "group", "affinity": 5.0})
	if err != nil {
		t.Fatal(err)
	}
	if c.Affinity == nil || *c.Affinity != 5 {
		t.Fatalf("affinity: got %v", c.Affinity)
	}
	if _, err := core.CommandFromMap(map[string]any{"op": "adjust", "who": "jun", "to": "group", "affinity": 5.5}); err == nil {
		t.Fatal("fractional affinity accepted")
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		`{"op":"move","who":"jun","location":"shop"}`,
		`{"op":"adjust","who":"jun","to":"group","affinity":-5}`,
		`{"op":"set_goals","who":"mara","goals":["a","b"]}`,
		`{"op":"skip","kind":"jump","minutes":600,"label":"three days later"}`,
		`{"op":"pin","memory":12}`,
		`{"op":"`, `[]`, `null`, `{"op":"end_scene","x":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := core.ParseCommand(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if !slices.Contains(core.Ops(), c.Op) {
			t.Fatalf("accepted unknown op %q", c.Op)
		}
		// A parsed command re-encodes and re-parses to itself.
		c2, err := core.ParseCommand(c.JSON())
		if err != nil {
			t.Fatalf("re-parse %s: %v", c.JSON(), err)
		}
		if string(c2.JSON()) != string(c.JSON()) {
			t.Fatalf("unstable encoding: %s vs %s", c.JSON(), c2.JSON())
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-parsed to a different value: %+v vs %+v", c, c2)
		}
	})
}
