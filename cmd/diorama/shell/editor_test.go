package shell

import (
	"testing"

	"github.com/gdamore/tcell/v2"
)

func typeInto(e *editor, s string) {
	for _, r := range s {
		e.key(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone))
	}
}

func press(e *editor, k tcell.Key, mod tcell.ModMask) {
	e.key(tcell.NewEventKey(k, 0, mod))
}

func TestEditorWords(t *testing.T) {
	e := newEditor()
	typeInto(e, "hello big world")
	press(e, tcell.KeyCtrlW, tcell.ModCtrl)
	if e.text != "hello big " {
		t.Fatalf("Ctrl+W: %q", e.text)
	}
	press(e, tcell.KeyBackspace, tcell.ModAlt)
	if e.text != "hello " {
		t.Fatalf("Alt+Backspace: %q", e.text)
	}
	typeInto(e, "brave new world")
	press(e, tcell.KeyLeft, tcell.ModCtrl)
	press(e, tcell.KeyLeft, tcell.ModCtrl)
	typeInto(e, "very ")
	if e.text != "hello brave very new world" {
		t.Fatalf("Ctrl+Left: %q", e.text)
	}
	press(e, tcell.KeyRight, tcell.ModCtrl)
	if got := e.text[e.cur:]; got != " world" {
		t.Fatalf("Ctrl+Right left the cursor before %q", got)
	}
	press(e, tcell.KeyCtrlA, tcell.ModCtrl)
	if e.cur != 0 {
		t.Fatalf("Ctrl+A: cursor %d", e.cur)
	}
	press(e, tcell.KeyCtrlE, tcell.ModCtrl)
	if e.cur != len(e.text) {
		t.Fatalf("Ctrl+E: cursor %d", e.cur)
	}
	e.key(tcell.NewEventKey(tcell.KeyRune, 'b', tcell.ModAlt))
	press(e, tcell.KeyCtrlK, tcell.ModCtrl)
	if e.text != "hello brave very new " {
		t.Fatalf("Alt+B, Ctrl+K: %q", e.text)
	}
}

func TestEditorGraphemes(t *testing.T) {
	e := newEditor()
	typeInto(e, "ae\u0301👩‍👩‍👧z")
	press(e, tcell.KeyBackspace, tcell.ModNone)
	press(e, tcell.KeyBackspace, tcell.ModNone)
	if e.text != "ae\u0301" {
		t.Fatalf("Backspace over an emoji sequence: %q", e.text)
	}
	press(e, tcell.KeyLeft, tcell.ModNone)
	if e.cur != 1 {
		t.Fatalf("Left over e+combining: cursor %d", e.cur)
	}
	press(e, tcell.KeyDelete, tcell.ModNone)
	if e.text != "a" {
		t.Fatalf("Delete of e+combining: %q", e.text)
	}
}

func TestEditorMultiLineAndHistory(t *testing.T) {
	e := newEditor()
	typeInto(e, "first")
	press(e, tcell.KeyEnter, tcell.ModAlt)
	typeInto(e, "second")
	press(e, tcell.KeyCtrlJ, tcell.ModCtrl)
	typeInto(e, "third")
	if e.text != "first\nsecond\nthird" {
		t.Fatalf("multi-line: %q", e.text)
	}
	press(e, tcell.KeyUp, tcell.ModNone)
	if e.lineStart(e.cur) != len("first\n") {
		t.Fatal("Up in a multi-line input moves to the line above")
	}
	e.remember(e.take())
	typeInto(e, "two")
	e.remember(e.take())
	typeInto(e, "draft")
	press(e, tcell.KeyUp, tcell.ModNone)
	if e.text != "two" {
		t.Fatalf("Up: %q", e.text)
	}
	press(e, tcell.KeyUp, tcell.ModNone)
	if e.text != "first\nsecond\nthird" {
		t.Fatalf("Up again: %q", e.text)
	}
	press(e, tcell.KeyDown, tcell.ModNone) // moves down a line first
	press(e, tcell.KeyDown, tcell.ModNone)
	press(e, tcell.KeyDown, tcell.ModNone)
	press(e, tcell.KeyDown, tcell.ModNone)
	if e.text != "draft" {
		t.Fatalf("Down back to the draft: %q", e.text)
	}
}

func TestEditorCursorWraps(t *testing.T) {
	e := newEditor()
	typeInto(e, "漢字漢字漢")
	l := e.layout(8) // "> " + 3 wide per row
	if r, c := e.cursorAt(l, 8); r != 1 || c != 6 {
		t.Fatalf("cursor at %d,%d, want 1,6", r, c)
	}
	if h := e.height(8, 10); h != 2 {
		t.Fatalf("height %d", h)
	}
}

func TestKeyName(t *testing.T) {
	for _, tc := range []struct {
		ev   *tcell.EventKey
		want string
	}{
		{tcell.NewEventKey(tcell.KeyCtrlC, 0, tcell.ModCtrl), "Ctrl+C"},
		{tcell.NewEventKey(tcell.KeyRune, '\x03', tcell.ModNone), "Ctrl+C"},
		{tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModAlt), "Alt+Enter"},
		{tcell.NewEventKey(tcell.KeyF2, 0, tcell.ModNone), "F2"},
		{tcell.NewEventKey(tcell.KeyPgUp, 0, tcell.ModNone), "PgUp"},
		{tcell.NewEventKey(tcell.KeyRune, 'b', tcell.ModAlt), "Alt+b"},
		{tcell.NewEventKey(tcell.KeyTab, 0, tcell.ModShift), "Backtab"},
		{tcell.NewEventKey(tcell.KeyUp, 0, tcell.ModShift), "Shift+Up"},
	} {
		if got := KeyName(tc.ev); got != tc.want {
			t.Errorf("KeyName = %q, want %q", got, tc.want)
		}
	}
}
