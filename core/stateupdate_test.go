package core_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"diorama/core"
)

func TestParseStateUpdate(t *testing.T) {
	tests := []struct {
		name         string
		raw          string
		wantCmds     int
		wantRejected int
		wantErr      string
	}{
		{"Array", `[{"op":"set_mood","who":"jun","mood":"calm"}]`, 1, 0, ""},
		{"Fenced", "Sure!\n```json\n[{\"op\":\"set_mood\",\"who\":\"jun\",\"mood\":\"calm\"}]\n```\nThat's it.", 1, 0, ""},
		{"Object", `{"commands":[{"op":"end_scene"},{"op":"advance_time","minutes":5}]}`, 2, 0, ""},
		{"Single", `{"op":"end_scene"}`, 1, 0, ""},
		{"Empty list", `[]`, 0, 0, ""},
		{"Mixed", `[{"op":"end_scene"},{"op":"fly","who":"jun"},{"op":"set_mood","who":"jun"}]`, 1, 2, ""},
		{"StrayBrace", `I think {maybe} this: [{"op":"end_scene"}]`, 1, 0, ""},
		{"NoJSON", `nothing changes`, 0, 0, "no JSON found"},
		{"Blank", "  ", 0, 0, "empty output"},
		{"Broken", `[{"op":"end_scene"`, 0, 0, "malformed JSON"},
		{"CommandsNotList", `{"commands":3}`, 0, 0, "must be a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds, rej, err := core.ParseStateUpdate(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cmds) != tt.wantCmds || len(rej) != tt.wantRejected {
				t.Fatalf("got %d commands, %d rejected (%v); want %d, %d", len(cmds), len(rej), rej, tt.wantCmds, tt.wantRejected)
			}
		})
	}
}

func FuzzParseStateUpdate(f *testing.F) {
	for _, s := range []string{`[{"op":"end_scene"}]`, "```json\n{}\n```", `{"commands":[]}`, `x [ { ] }`, `[{"op":"move","who":"jun","location":"shop"}] trailing`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cmds, rejected, err := core.ParseStateUpdate(raw)
		if err != nil && (len(cmds) > 0 || len(rejected) > 0) {
			t.Fatal("commands or rejections returned with an error")
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
		// An accepted update holds only known ops, each as ParseCommand reads it.
		for _, c := range cmds {
			if !slices.Contains(core.Ops(), c.Op) {
				t.Fatalf("accepted unknown op %q", c.Op)
			}
			c2, err := core.ParseCommand(c.JSON())
			if err != nil {
				t.Fatalf("returned command does not re-parse: %v", err)
			}
			if !reflect.DeepEqual(c, c2) {
				t.Fatalf("returned command re-parses differently: %+v vs %+v", c, c2)
			}
		}
		// Each rejection is one line a log or prompt can quote.
		for _, r := range rejected {
			if strings.Contains(r, "\n") {
				t.Fatalf("multi-line rejection: %q", r)
			}
		}
	})
}
