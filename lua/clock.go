package lua

import (
	"strconv"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"diorama/core"
)

// clockLib is the `clock` global: pure date arithmetic on world times
// ("YYYY-MM-DDTHH:MM", what s.now holds). There is no wall clock in a pack.
//
//	clock.parse(t)        -> { year, month, day, hour, min, wday (1 = Sunday), yday }
//	clock.format(t, fmt)  -> strftime-like: %Y %m %d %H %M %I %p %A %a %B %b %j %%
//	clock.add(t, minutes) -> t moved by minutes
//	clock.diff(a, b)      -> minutes from a to b
func (p *Pack) clockLib() *glua.LTable {
	L := p.L
	t := L.CreateTable(0, 4)
	t.RawSetString("parse", L.NewFunction(func(L *glua.LState) int {
		tm := checkTime(L, 1)
		r := L.CreateTable(0, 7)
		r.RawSetString("year", glua.LNumber(tm.Year()))
		r.RawSetString("month", glua.LNumber(tm.Month()))
		r.RawSetString("day", glua.LNumber(tm.Day()))
		r.RawSetString("hour", glua.LNumber(tm.Hour()))
		r.RawSetString("min", glua.LNumber(tm.Minute()))
		r.RawSetString("wday", glua.LNumber(tm.Weekday()+1))
		r.RawSetString("yday", glua.LNumber(tm.YearDay()))
		L.Push(r)
		return 1
	}))
	t.RawSetString("format", L.NewFunction(func(L *glua.LState) int {
		tm := checkTime(L, 1)
		L.Push(glua.LString(strftime(L, tm, L.CheckString(2))))
		return 1
	}))
	t.RawSetString("add", L.NewFunction(func(L *glua.LState) int {
		tm := checkTime(L, 1)
		m := L.CheckInt64(2)
		if m > core.MaxMinutes || m < -core.MaxMinutes {
			L.ArgError(2, "minutes out of range")
		}
		L.Push(glua.LString(tm.Add(time.Duration(m) * time.Minute).Format(core.TimeLayout)))
		return 1
	}))
	t.RawSetString("diff", L.NewFunction(func(L *glua.LState) int {
		a, b := checkTime(L, 1), checkTime(L, 2)
		L.Push(glua.LNumber(int64(b.Sub(a) / time.Minute)))
		return 1
	}))
	return t
}

func checkTime(L *glua.LState, n int) time.Time {
	s := L.CheckString(n)
	tm, err := time.Parse(core.TimeLayout, s)
	if err != nil {
		L.ArgError(n, "want a world time \"YYYY-MM-DDTHH:MM\", got "+strconv.Quote(s))
	}
	return tm
}

func strftime(L *glua.LState, t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'm':
			b.WriteString(t.Format("01"))
		case 'd':
			b.WriteString(t.Format("02"))
		case 'H':
			b.WriteString(t.Format("15"))
		case 'M':
			b.WriteString(t.Format("04"))
		case 'I':
			b.WriteString(t.Format("03"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 'j':
			b.WriteString(t.Format("002"))
		case '%':
			b.WriteByte('%')
		default:
			L.RaiseError("clock.format: unknown directive %%%c (known: %%Y %%m %%d %%H %%M %%I %%p %%A %%a %%B %%b %%j %%%%)", f[i])
		}
		if b.Len() > maxString {
			L.RaiseError("clock.format: result too long")
		}
	}
	return b.String()
}
