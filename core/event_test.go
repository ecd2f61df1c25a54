package core_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestUpcastGolden feeds each old payload under testdata/upcast/ through the
// upcasters and compares the result with its golden file. File names are
// TYPE.vN.json; the golden is TYPE.vN.golden.
func TestUpcastGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/upcast/*.json")
	if len(inputs) == 0 {
		t.Fatal("no upcast fixtures")
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(base, func(t *testing.T) {
			typ, ver, ok := strings.Cut(base, ".v")
			if !ok {
				t.Fatalf("fixture name %s: want TYPE.vN.json", base)
			}
			v := 0
			for _, c := range ver {
				v = v*10 + int(c-'0')
			}
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			ev := core.Event{Seq: 7, Type: typ, Version: v, Payload: raw}
			p, err := ev.Decode()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(p, "", "  ")
			got = append(got, '\n')
			golden := strings.TrimSuffix(in, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Fatalf("upcast %s:\ngot  %s\nwant %s", base, got, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		ev      core.Event
		wantErr string
	}{
		{"UnknownType", core.Event{Seq: 3, Type: "dragon_summoned", Version: 1, Payload: []byte(`{}`)}, `unknown event type "dragon_summoned"`},
		{"NewerVersion", core.Event{Seq: 3, Type: core.TypeMoodSet, Version: 9, Payload: []byte(`{}`)}, "newer than this build knows"},
		{"BadPayload", core.Event{Seq: 3, Type: core.TypeMoodSet, Version: 1, Payload: []byte(`{"who":`)}, "decode payload"},
		{"BadOldPayload", core.Event{Seq: 3, Type: core.TypeEntityMoved, Version: 1, Payload: []byte(`[1]`)}, "upcast entity_moved v1"},
		{"ZeroVersion", core.Event{Seq: 3, Type: core.TypeMoodSet, Version: 0, Payload: []byte(`{}`)}, "invalid version 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ev.Decode()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRegistryRefusesDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering mood_set twice did not panic")
		}
	}()
	core.Register(core.TypeMoodSet, 1, func() any { return new(core.MoodSet) })
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(core.TypeEntityMoved, 1, []byte(`{"who":"jun","to":"shop"}`))
	f.Add(core.TypeEntityMoved, 2, []byte(`{"who":"jun","location":"car","container":"car","slot":"driver"}`))
	f.Add(core.TypeWorldCreated, 1, []byte(`{"world":{"id":"w"}}`))
	f.Add(core.TypeRelationshipAdjust, 1, []byte(`{"who":"a","to":"b","affinity":3}`))
	f.Fuzz(func(t *testing.T, typ string, version int, payload []byte) {
		ev := core.Event{Seq: 1, Type: typ, Version: version, Payload: payload}
		_, _ = ev.Decode() // must not panic
		st := core.NewState()
		_ = st.Apply(&ev) // must not panic, whatever the payload
	})
}
