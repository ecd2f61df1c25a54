package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// JumpThreshold: a skip this long or longer is a jump (a new scene) unless
// the caller says otherwise; shorter ones are elisions.
const JumpThreshold = 6 * 60

var numberWords = map[string]int64{
	"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
	"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
	"thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90, "a few": 3, "few": 3,
	"several": 4, "half an": 0, // "half an hour" is handled below
}

var unitMinutes = map[string]int64{
	"minute": 1, "minutes": 1, "min": 1, "mins": 1,
	"hour": 60, "hours": 60, "hr": 60, "hrs": 60,
	"day": 24 * 60, "days": 24 * 60,
	"week": 7 * 24 * 60, "weeks": 7 * 24 * 60,
	"month": 30 * 24 * 60, "months": 30 * 24 * 60,
}

// partsOfDay are the times "later that evening", "the next morning" … mean.
var partsOfDay = map[string]int{"morning": 8, "noon": 12, "afternoon": 15, "evening": 19, "night": 22, "midnight": 24}

// ParseSkip reads a skip as players write it and returns its kind and
// length in minutes, measured from now: a duration ("45m", "2h", "1h30m",
// "3d"), a phrase ("three days later", "an hour later", "half an hour
// later", "moments later", "later", "later that evening", "the next
// morning", "next week"). Skips of JumpThreshold or more are jumps.
func ParseSkip(text string, now time.Time) (kind string, minutes int64, err error) {
	t := strings.ToLower(strings.TrimSpace(text))
	t = strings.TrimSuffix(t, ".")
	if t == "" {
		return "", 0, fmt.Errorf("say how long: a duration like 45m, 2h or 3d, or a phrase like \"three days later\"")
	}
	if m, err := parseCompact(t); err == nil {
		return kindOf(m), m, nil
	}
	switch t {
	case "later", "a while later", "some time later", "sometime later":
		return "elision", 30, nil
	case "moments later", "a moment later", "a few moments later", "minutes later":
		return "elision", 5, nil
	case "next week", "a week later":
		return "jump", 7 * 24 * 60, nil
	case "the next day", "next day", "the following day":
		return "jump", untilNext(now, 9, 1), nil
	}
	if rest, ok := strings.CutPrefix(t, "later that "); ok {
		if h, ok := partsOfDay[rest]; ok {
			m := untilNext(now, h, 0)
			if m <= 0 || m > 24*60 {
				return "", 0, fmt.Errorf("%q: it is already past %s", text, rest)
			}
			return "elision", m, nil
		}
	}
	for _, prefix := range []string{"the next ", "next ", "the following "} {
		if rest, ok := strings.CutPrefix(t, prefix); ok {
			if h, ok := partsOfDay[rest]; ok {
				return "jump", untilNext(now, h, 1), nil
			}
		}
	}
	if rest, ok := strings.CutSuffix(t, " later"); ok {
		if m, ok := phraseMinutes(rest); ok {
			return kindOf(m), m, nil
		}
	}
	if m, ok := phraseMinutes(t); ok {
		return kindOf(m), m, nil
	}
	return "", 0, fmt.Errorf("%q: want a duration like 45m, 2h or 3d, or a phrase like \"three days later\", \"later that evening\", \"the next morning\"", text)
}

func kindOf(m int64) string {
	if m >= JumpThreshold {
		return "jump"
	}
	return "elision"
}

// untilNext is the minutes from now to hour h (24 = midnight) on the day
// days after today (days 0: today, possibly in the past).
func untilNext(now time.Time, h, days int) int64 {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location()).AddDate(0, 0, days)
	target := day.Add(time.Duration(h) * time.Hour)
	return int64(target.Sub(now) / time.Minute)
}

// phraseMinutes reads "three days", "an hour", "half an hour", "2 hours".
func phraseMinutes(t string) (int64, bool) {
	if t == "half an hour" || t == "half hour" {
		return 30, true
	}
	i := strings.LastIndex(t, " ")
	if i < 0 {
		return 0, false
	}
	num, unit := t[:i], t[i+1:]
	per, ok := unitMinutes[unit]
	if !ok {
		return 0, false
	}
	n, ok := numberWords[num]
	if !ok || n == 0 {
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return 0, false
		}
		n = v
	}
	m := n * per
	if m <= 0 || m > MaxMinutes {
		return 0, false
	}
	return m, true
}

// parseCompact reads 45, 45m, 2h, 1h30m, 3d, 1w2d (a bare number is minutes).
func parseCompact(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 || n > MaxMinutes {
			return 0, fmt.Errorf("out of range")
		}
		return n, nil
	}
	var total, num int64
	seen := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			num = num*10 + int64(r-'0')
			seen = true
			if num > MaxMinutes {
				return 0, fmt.Errorf("out of range")
			}
		case r == 'm' || r == 'h' || r == 'd' || r == 'w':
			if !seen {
				return 0, fmt.Errorf("no number")
			}
			total += num * map[rune]int64{'m': 1, 'h': 60, 'd': 24 * 60, 'w': 7 * 24 * 60}[r]
			num, seen = 0, false
		default:
			return 0, fmt.Errorf("not compact")
		}
	}
	if seen || total <= 0 || total > MaxMinutes {
		return 0, fmt.Errorf("not compact")
	}
	return total, nil
}
