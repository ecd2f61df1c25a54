package core_test

import (
	"testing"
	"time"

	"diorama/core"
)

func TestParseSkip(t *testing.T) {
	now := time.Date(1999, 8, 14, 21, 30, 0, 0, time.UTC)
	tests := []struct {
		in      string
		kind    string
		minutes int64
	}{
		{"45m", "elision", 45},
		{"2h", "elision", 120},
		{"1h30m", "elision", 90},
		{"3d", "jump", 3 * 24 * 60},
		{"90", "elision", 90},
		{"6h", "jump", 360},
		{"three days later", "jump", 3 * 24 * 60},
		{"an hour later", "elision", 60},
		{"half an hour later", "elision", 30},
		{"2 hours later", "elision", 120},
		{"moments later", "elision", 5},
		{"later", "elision", 30},
		{"later that night", "elision", 30},
		{"the next morning", "jump", 10*60 + 30},
		{"next week", "jump", 7 * 24 * 60},
		{"The next day.", "jump", 11*60 + 30},
	}
	for _, tt := range tests {
		kind, m, err := core.ParseSkip(tt.in, now)
		if err != nil || kind != tt.kind || m != tt.minutes {
			t.Errorf("%q: got %s %d (%v), want %s %d", tt.in, kind, m, err, tt.kind, tt.minutes)
		}
	}
	for _, bad := range []string{"", "soon", "later that evening", "0m", "-5", "h", "three parsecs later", "99999999999d"} {
		if _, _, err := core.ParseSkip(bad, now); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func FuzzParseSkip(f *testing.F) {
	for _, s := range []string{"3d", "1h30m", "three days later", "later that night", "the next morning", "h2", "999999999999w"} {
		f.Add(s)
	}
	now := time.Date(1999, 8, 14, 21, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		kind, m, err := core.ParseSkip(s, now)
		if err != nil {
			return
		}
		if m <= 0 || m > core.MaxMinutes || (kind != "jump" && kind != "elision") {
			t.Fatalf("%q: %s %d", s, kind, m)
		}
	})
}
