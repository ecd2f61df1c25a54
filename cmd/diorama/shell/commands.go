package shell

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// command is a slash command. Local commands run in the shell; the others
// go to App.Exec.
type command struct {
	name     string
	args     string // usage of the arguments
	help     string
	local    func(u *ui, args []string)
	reload   bool                 // reload the transcript after Exec
	complete func(u *ui) []string // candidates for the first argument
	view     bool                 // a view command (mostly used from keys)
}

// commandTable lists every command, in the order /help shows them.
func commandTable() []*command {
	return []*command{
		{name: "help", help: "this list, and the keys", local: (*ui).help},
		{name: "state", help: "the world's state as the engine holds it"},
		{name: "prompt", args: "ID", help: "the last prompt built for a bot, with its manifest", complete: botIDs},
		{name: "who", help: "who is here, where they sit and what they do"},
		{name: "skip", args: "DURATION|LABEL", help: "let time pass: 30m, 2h, 1d, or a label of the pack (night, morning)", reload: true},
		{name: "rewind", args: "[N]", help: "undo the last N turns (default 1)", reload: true},
		{name: "branch", args: "NAME", help: "start a branch from here and switch to it", reload: true},
		{name: "branches", help: "list the branches"},
		{name: "checkout", args: "NAME", help: "switch to another branch", reload: true},
		{name: "regen", help: "a new reply for the last bot line, as a sibling branch", reload: true},
		{name: "delete", args: "[ID [--confirm]]", help: "delete a line: /delete ID shows what it would undo, /delete ID --confirm does it (F4 shows ids)", reload: true, complete: lineIDs},
		{name: "reload", help: "reload the world pack now", reload: true},
		{name: "quit", help: "leave (the story is saved as you play)", local: func(u *ui, _ []string) { u.quitting = true }},

		{name: "panel", help: "show or hide the side panel", local: (*ui).togglePanel, view: true},
		{name: "bot", args: "[next|prev|ID]", help: "whose memories the side panel shows", local: (*ui).selectBot, complete: botChoices, view: true},
		{name: "ids", help: "show or hide line ids (for /delete)", local: (*ui).toggleIDs, view: true},
		{name: "scroll", args: "up|down|page-up|page-down|top|bottom [N]", help: "scroll the transcript", local: (*ui).scroll, complete: scrollChoices, view: true},
		{name: "cancel", help: "stop the reply being generated (nothing is saved)", local: (*ui).cancel, view: true},
		{name: "interrupt", help: "quit, asking first while a reply is coming; clears the input first", local: (*ui).interrupt, view: true},
		{name: "tab", help: "complete a /command, otherwise show or hide the side panel", local: (*ui).tab, view: true},
		{name: "redraw", help: "repaint the screen", local: func(u *ui, _ []string) { u.screen.Sync() }, view: true},
	}
}

// lookup finds the command of a command line.
func (u *ui) lookup(line string) *command {
	f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "/"))
	if len(f) == 0 {
		return nil
	}
	return u.command(f[0])
}

func (u *ui) command(name string) *command {
	name = strings.ToLower(name)
	for _, c := range u.cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is the one dispatcher: typed slash commands and bound keys both come
// here. A line without a slash is said in the story.
func (u *ui) run(line string) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "/") {
		if line != "" {
			u.say(line)
		}
		return
	}
	f := strings.Fields(line[1:])
	if len(f) == 0 {
		u.system(kindError, "a command goes after the slash: /help lists them")
		return
	}
	c := u.command(f[0])
	if c == nil {
		u.system(kindError, fmt.Sprintf("unknown command /%s: /help lists the commands", oneLine(f[0])))
		return
	}
	if c.local != nil {
		c.local(u, f[1:])
		return
	}
	u.exec(c, f[1:])
}

func (u *ui) help(_ []string) {
	var b strings.Builder
	b.WriteString("commands:\n")
	for _, c := range u.cmds {
		if !c.view {
			fmt.Fprintf(&b, "  %-22s %s\n", strings.TrimSpace("/"+c.name+" "+c.args), c.help)
		}
	}
	b.WriteString("view:\n")
	for _, c := range u.cmds {
		if c.view {
			fmt.Fprintf(&b, "  %-22s %s\n", strings.TrimSpace("/"+c.name+" "+c.args), c.help)
		}
	}
	b.WriteString("  //text                 say a line that starts with a slash\n")
	b.WriteString(keyHelp(u.keys))
	u.system(kindSystem, "/help\n"+b.String())
	u.tr.end()
}

func (u *ui) togglePanel(_ []string) {
	u.panelOn = !u.panelOn
	if w, _ := u.screen.Size(); u.panelOn && w < minPanelWidth {
		u.hint = fmt.Sprintf("the side panel needs %d columns", minPanelWidth)
	}
}

func (u *ui) toggleIDs(_ []string) {
	u.tr.showIDs = !u.tr.showIDs
	u.tr.invalidate()
}

func (u *ui) selectBot(args []string) {
	if u.st == nil || len(u.st.Cast.Bots) == 0 {
		u.hint = "there is no bot in this story"
		return
	}
	bots := u.st.Cast.Bots
	arg := "next"
	if len(args) > 0 {
		arg = args[0]
	}
	switch arg {
	case "next":
		u.bot = (u.bot + 1) % len(bots)
	case "prev":
		u.bot = (u.bot + len(bots) - 1) % len(bots)
	default:
		found := false
		for i, b := range bots {
			if strings.EqualFold(b, arg) || strings.EqualFold(u.name(b), arg) {
				u.bot, found = i, true
			}
		}
		if !found {
			u.system(kindError, fmt.Sprintf("/bot: no bot %q (bots: %s)", oneLine(arg), strings.Join(bots, ", ")))
			return
		}
	}
	u.pn.dirty = true
	u.hint = "side panel: memories of " + u.name(bots[u.bot])
	if w, _ := u.screen.Size(); !u.panelOn && w >= minPanelWidth {
		u.panelOn = true
	}
}

func (u *ui) scroll(args []string) {
	n := 0
	if len(args) > 1 {
		if v, err := strconv.Atoi(args[1]); err == nil && v > 0 {
			n = v
		}
	}
	if len(args) == 0 {
		u.system(kindError, "/scroll: say up, down, page-up, page-down, top or bottom")
		return
	}
	switch args[0] {
	case "up":
		u.tr.scroll(-max(n, 1))
	case "down":
		u.tr.scroll(max(n, 1))
	case "page-up":
		u.tr.scroll(-u.tr.page() * max(n, 1))
	case "page-down":
		u.tr.scroll(u.tr.page() * max(n, 1))
	case "top":
		u.tr.home()
	case "bottom":
		u.tr.end()
	default:
		u.system(kindError, fmt.Sprintf("/scroll: %q? say up, down, page-up, page-down, top or bottom", oneLine(args[0])))
	}
}

func (u *ui) cancel(_ []string) {
	if !u.cancelJob() {
		u.hint = "nothing to cancel"
	}
}

func (u *ui) interrupt(_ []string) {
	if u.job != nil {
		u.confirm = &confirm{
			question: "A reply is being generated. Quit anyway? y/N (Ctrl+C again quits)",
			yes:      func() { u.quitting = true },
		}
		return
	}
	if u.ed.text != "" {
		u.ed.take()
		u.hint = "input cleared · Ctrl+C again quits"
		return
	}
	u.quitting = true
}

// tab completes a /command or its first argument; on anything else it
// shows or hides the side panel.
func (u *ui) tab(_ []string) {
	text := u.ed.text
	if !strings.HasPrefix(text, "/") || u.ed.cur != len(text) || strings.Contains(text, "\n") {
		u.togglePanel(nil)
		return
	}
	sp := strings.IndexByte(text, ' ')
	if sp < 0 {
		var names []string
		for _, c := range u.cmds {
			if strings.HasPrefix(c.name, strings.ToLower(text[1:])) {
				names = append(names, c.name)
			}
		}
		u.completeWith("/", text[1:], names, func(name string) string {
			if c := u.command(name); c != nil && c.args != "" {
				return " "
			}
			return ""
		})
		return
	}
	c := u.command(text[1:sp])
	if c == nil || c.complete == nil {
		if c != nil && c.args != "" {
			u.hint = "/" + c.name + " " + c.args
		}
		return
	}
	head := text[:sp+1] + strings.TrimLeft(text[sp+1:], " ")
	argStart := strings.LastIndexByte(head, ' ') + 1
	prefix := head[argStart:]
	if strings.Count(strings.TrimSpace(head), " ") > 1 {
		return // only the first argument completes
	}
	var cands []string
	for _, v := range c.complete(u) {
		if strings.HasPrefix(strings.ToLower(v), strings.ToLower(prefix)) {
			cands = append(cands, v)
		}
	}
	u.completeWith(head[:argStart], prefix, cands, func(string) string { return "" })
}

// completeWith completes prefix among cands: one candidate is taken, more
// extend to their common prefix and are listed in the status line.
func (u *ui) completeWith(head, prefix string, cands []string, suffix func(string) string) {
	switch len(cands) {
	case 0:
		u.hint = "no completion for " + oneLine(head+prefix)
	case 1:
		u.ed.set(head + cands[0] + suffix(cands[0]))
	default:
		sort.Strings(cands)
		common := cands[0]
		for _, c := range cands[1:] {
			for !strings.HasPrefix(c, common) {
				common = common[:len(common)-1]
			}
		}
		if len(common) > len(prefix) {
			u.ed.set(head + common)
		}
		u.hint = strings.Join(cands, "  ")
		if head == "/" {
			u.hint = "/" + strings.Join(cands, "  /")
		}
	}
}

func botIDs(u *ui) []string {
	if u.st == nil {
		return nil
	}
	return append([]string(nil), u.st.Cast.Bots...)
}

func botChoices(u *ui) []string { return append([]string{"next", "prev"}, botIDs(u)...) }

func scrollChoices(*ui) []string {
	return []string{"up", "down", "page-up", "page-down", "top", "bottom"}
}

// lineIDs offers the ids of the latest lines, newest first.
func lineIDs(u *ui) []string {
	var out []string
	for i := len(u.tr.entries) - 1; i >= 0 && len(out) < 10; i-- {
		if e := u.tr.entries[i]; e.Event > 0 && e.kind == kindSpeech {
			out = append(out, strconv.FormatInt(e.Event, 10))
		}
	}
	return out
}
