package core_test

import (
	"bytes"
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

// FuzzUpcast drives stored payloads of every registered type, at every
// version it may have been written with, through the upcasters (FuzzDecodeEvent
// takes the type as a free string and so rarely names a real one). Whatever
// the bytes: versions outside 1..current are refused; the current version is
// never rewritten; Decode agrees with Upcast; an upcast payload's canonical
// form (decode, re-encode: what replay compares) is stable, so an old payload
// and its upcast compare equal; and entity_moved v1 keeps who and where.
func FuzzUpcast(f *testing.F) {
	types := core.EventTypes()
	index := func(typ string) uint8 {
		for i, t := range types {
			if t == typ {
				return uint8(i)
			}
		}
		f.Fatalf("%s is not registered", typ)
		return 0
	}
	for _, in := range []string{"testdata/upcast/entity_moved.v1.json"} {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(index(core.TypeEntityMoved), uint8(1), b)
		}
	}
	moved := index(core.TypeEntityMoved)
	f.Add(moved, uint8(1), []byte(`{"who":"jun","to":"shop"}`))
	f.Add(moved, uint8(1), []byte(`{"who":"jun","to":"shop","container":"car","extra":[1,2]}`))
	f.Add(moved, uint8(1), []byte(`{"Who":"jun","TO":"shop","who":"mara"}`))
	f.Add(moved, uint8(1), []byte(`null`))
	f.Add(moved, uint8(1), []byte(`[1]`))
	f.Add(moved, uint8(2), []byte(`{"who":"jun","location":"car","container":"car","slot":"driver"}`))
	f.Add(moved, uint8(0), []byte(`{"who":"jun","to":"shop"}`))
	f.Add(moved, uint8(3), []byte(`{"who":"jun","to":"shop"}`))
	f.Add(index(core.TypeRelationshipAdjust), uint8(1), []byte(`{"who":"a","to":"b","affinity":3}`))
	f.Add(index(core.TypeWorldCreated), uint8(1), []byte(`{"world":{"id":"w"}}`))
	f.Fuzz(func(t *testing.T, ti, vi uint8, payload []byte) {
		typ := types[int(ti)%len(types)]
		cur := core.CurrentVersion(typ)
		v := int(vi) % (cur + 2) // 0 (invalid), 1..cur, cur+1 (newer)
		up, err := core.Upcast(typ, v, payload)
		old := core.Event{Seq: 1, Type: typ, Version: v, Payload: payload}
		p, derr := old.Decode()
		if v < 1 || v > cur {
			if err == nil || derr == nil {
				t.Fatalf("%s v%d (current %d) accepted", typ, v, cur)
			}
			return
		}
		if err != nil {
			if v == cur {
				t.Fatalf("%s at its current version: %v", typ, err)
			}
			if derr == nil {
				t.Fatalf("Upcast failed (%v) but Decode did not", err)
			}
			return
		}
		if v == cur && !bytes.Equal(up, payload) {
			t.Fatalf("%s at its current version was rewritten: %s -> %s", typ, payload, up)
		}
		if v < cur && !json.Valid(up) {
			t.Fatalf("%s v%d upcast to invalid JSON %q", typ, v, up)
		}
		now := core.Event{Seq: 1, Type: typ, Version: cur, Payload: up}
		q, qerr := now.Decode()
		if (derr == nil) != (qerr == nil) {
			t.Fatalf("Decode of v%d: %v; of its upcast: %v", v, derr, qerr)
		}
		_ = core.NewState().Apply(&old) // must not panic
		if derr != nil {
			return
		}
		c1, _ := json.Marshal(p)
		if c2, _ := json.Marshal(q); !bytes.Equal(c1, c2) {
			t.Fatalf("v%d and its upcast decode differently:\n%s\n%s", v, c1, c2)
		}
		again := core.Event{Seq: 1, Type: typ, Version: cur, Payload: c1}
		r, err := again.Decode()
		if err != nil {
			t.Fatalf("canonical form %s does not decode: %v", c1, err)
		}
		if c3, _ := json.Marshal(r); !bytes.Equal(c1, c3) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", c1, c3)
		}
		if typ == core.TypeEntityMoved && v == 1 {
			var v1 struct {
				Who string `json:"who"`
				To  string `json:"to"`
			}
			if err := json.Unmarshal(payload, &v1); err != nil {
				t.Fatalf("upcast a v1 payload that does not decode as v1: %v", err)
			}
			m := p.(*core.EntityMoved)
			if m.Who != v1.Who || m.Location != v1.To || m.Container != "" || m.Slot != "" {
				t.Fatalf("entity_moved v1 %s upcast to %+v", payload, *m)
			}
		}
	})
}
