package core_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"diorama/core"
)

// sessionBytes exports a short story of the fixture world.
func sessionBytes(tb testing.TB) []byte {
	tb.Helper()
	eng, log := mustEngine(tb)
	mustDo(tb, eng, `{"op":"set_mood","who":"jun","mood":"giddy"}`, `{"op":"note_fact","who":"mara","fact":"the lake is cold"}`)
	mustDo(tb, eng, `{"op":"pin","memory":3}`)
	evs, err := log.Events("main")
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := core.WriteSession(&buf, core.SessionHeader{Branch: "main"}, evs); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadSessionErrors(t *testing.T) {
	good := string(sessionBytes(t))
	lines := strings.SplitAfter(good, "\n")
	header, first, second := lines[0], lines[1], lines[2]
	for _, tc := range []struct {
		name, in, want string
	}{
		{"Empty", "", "empty file"},
		{"NotJSON", "hello\n", "line 1: not a diorama session"},
		{"NoEvents", header, "line 1: the session has no events"},
		{"NewerFormat", strings.Replace(header, `"version":1`, `"version":9`, 1) + first, "newer than this build"},
		{"UnknownField", header + strings.Replace(first, `"seq":1`, `"seq":1,"colour":2`, 1), `line 2: bad JSON: unknown field "colour"`},
		{"NotWorldFirst", header + second, "line 2: the first event must be world_created"},
		{"SecondWorld", header + first + strings.Replace(first, `"seq":1,"parent":0`, `"seq":2,"parent":1`, 1), "a second world_created"},
		{"BadParent", header + first + strings.Replace(second, `"parent":1`, `"parent":7`, 1), "has parent 7, want 1"},
		{"BadType", header + first + strings.Replace(second, `"type":"mood_set"`, `"type":"mood_sat"`, 1), `unknown event type "mood_sat"`},
		{"NewerVersion", header + first + strings.Replace(second, `"version":1`, `"version":7`, 1), "newer than this build knows"},
		{"BadMask", header + first + strings.Replace(second, `"mask":`, `"mask":9,"x":`, 1), "bad JSON"},
		{"CauseAfter", header + first + strings.Replace(second, `"world_time"`, `"caused_by":5,"world_time"`, 1), "caused by 5"},
		{"PayloadNotObject", header + first + strings.Replace(second, `"payload":{`, `"payload":[{`, 1), "bad JSON"},
		{"Tampered", strings.Replace(good, `"giddy"`, `"grim"`, 1), "changed after export"},
		{"Cut", strings.Join(lines[:3], ""), "cut short"},
		{"TrailingValue", header + strings.TrimSuffix(first, "\n") + " {}\n", "more than one value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.ReadSession(strings.NewReader(tc.in))
			var se *core.SessionError
			if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a SessionError with %q", err, tc.want)
			}
		})
	}
	sf, err := core.ReadSession(strings.NewReader(good))
	if err != nil || len(sf.Events) != 4 || sf.Lines[3] != 5 || sf.Header.World == "" {
		t.Fatalf("good file: %+v, %v", sf, err)
	}
}

// FuzzReadSession: the session parser never panics, and whatever it accepts
// writes back to a file it reads the same.
func FuzzReadSession(f *testing.F) {
	good := sessionBytes(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"format":"diorama-session","version":1,"world":"w","events":1}` + "\n" + `{"seq":1,"parent":0,"turn":0,"type":"world_created","version":1,"mask":7,"world_time":0,"created_at":"2024-01-01T00:00:00Z","payload":{}}` + "\n"))
	f.Add([]byte("{}\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := core.ReadSession(bytes.NewReader(data))
		if err != nil {
			var se *core.SessionError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SessionError", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := core.WriteSession(&buf, sf.Header, sf.Events); err != nil {
			t.Fatalf("write back: %v", err)
		}
		again, err := core.ReadSession(&buf)
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if len(again.Events) != len(sf.Events) {
			t.Fatalf("read back %d events, want %d", len(again.Events), len(sf.Events))
		}
		for i := range sf.Events {
			a, b := sf.Events[i], again.Events[i]
			if a.Seq != b.Seq || a.Type != b.Type || !bytes.Equal(a.Payload, b.Payload) || a.CausedBy != b.CausedBy || !a.CreatedAt.Equal(b.CreatedAt) {
				t.Fatalf("event %d differs after a round trip:\n%+v\n%+v", i, a, b)
			}
		}
		_ = context.Background
	})
}
