package shell

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gdamore/tcell/v2"
)

// DefaultKeys are the key bindings: key name -> command line. A bound key
// runs its command through the same dispatcher as a typed slash command.
// Keys not bound here edit the input (see the editor) or type.
var DefaultKeys = map[string]string{
	"F1":         "/help",
	"F2":         "/panel",
	"Tab":        "/tab",
	"F3":         "/bot next",
	"Backtab":    "/bot next",
	"F4":         "/ids",
	"PgUp":       "/scroll page-up",
	"PgDn":       "/scroll page-down",
	"Home":       "/scroll top",
	"End":        "/scroll bottom",
	"Shift+Up":   "/scroll up 1",
	"Shift+Down": "/scroll down 1",
	"WheelUp":    "/scroll up 3",
	"WheelDown":  "/scroll down 3",
	"Esc":        "/cancel",
	"Ctrl+C":     "/interrupt",
	"Ctrl+L":     "/redraw",
}

// KeyName names a key event as bindings spell it: modifiers in the order
// Ctrl, Alt, Shift joined by "+", then the key: "Ctrl+C", "Alt+Enter",
// "F2", "PgUp", "Alt+b". A plain printable key is its character.
func KeyName(ev *tcell.EventKey) string {
	mod := ev.Modifiers()
	k := ev.Key()
	var base string
	switch {
	case k == tcell.KeyRune:
		base = string(ev.Rune())
	case k >= tcell.KeyCtrlA && k <= tcell.KeyCtrlZ:
		base = string(rune('A' + k - tcell.KeyCtrlA))
		mod |= tcell.ModCtrl
	case k == tcell.KeyLF:
		base = "J"
		mod |= tcell.ModCtrl
	case k >= 1 && k <= 26 && tcell.KeyNames[k] == "":
		// A raw control code (Ctrl+letter from an older path).
		base = string(rune('A' + k - 1))
		mod |= tcell.ModCtrl
	case k == tcell.KeyBackspace2:
		base = "Backspace"
	default:
		n, ok := tcell.KeyNames[k]
		if !ok {
			n = fmt.Sprintf("Key%d", int(k))
		}
		if rest, ok := strings.CutPrefix(n, "Ctrl-"); ok {
			n = rest
			mod |= tcell.ModCtrl
		}
		base = n
	}
	return modPrefix(mod) + base
}

func modPrefix(mod tcell.ModMask) string {
	var b strings.Builder
	if mod&tcell.ModCtrl != 0 {
		b.WriteString("Ctrl+")
	}
	if mod&(tcell.ModAlt|tcell.ModMeta) != 0 {
		b.WriteString("Alt+")
	}
	if mod&tcell.ModShift != 0 {
		b.WriteString("Shift+")
	}
	return b.String()
}

// bindings merges the defaults with the options' keys.
func bindings(extra map[string]string) map[string]string {
	out := make(map[string]string, len(DefaultKeys)+len(extra))
	for k, v := range DefaultKeys {
		out[k] = v
	}
	for k, v := range extra {
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// editorKeys documents the keys the input editor handles itself.
var editorKeys = [][2]string{
	{"Enter", "send the line (or run the /command)"},
	{"Alt+Enter, Ctrl+J", "new line in the input"},
	{"Left, Right", "move by character"},
	{"Ctrl+Left/Right, Alt+B/F", "move by word"},
	{"Ctrl+A, Ctrl+E", "start, end of the line"},
	{"Backspace, Delete", "delete a character"},
	{"Ctrl+W, Alt+Backspace", "delete the word before the cursor"},
	{"Alt+D", "delete the word after the cursor"},
	{"Ctrl+U, Ctrl+K", "delete to the start, to the end of the line"},
	{"Up, Down", "previous, next line sent (history)"},
}

// keyHelp lists the bindings, sorted by key.
func keyHelp(keys map[string]string) string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("keys:\n")
	for _, k := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", k, keys[k])
	}
	b.WriteString("input:\n")
	for _, kv := range editorKeys {
		fmt.Fprintf(&b, "  %-26s %s\n", kv[0], kv[1])
	}
	return strings.TrimRight(b.String(), "\n")
}
