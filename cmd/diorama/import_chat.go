package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"diorama/core"
	"diorama/core/cards"
	"diorama/lua"
	"diorama/store"
)

func init() {
	register(&command{
		name:    "import-chat",
		usage:   "CHAT.jsonl --pack PACK --db SAVE [--as NAME=ID]...",
		summary: "import a SillyTavern chat into a new save as the pack's history (swipes become branches)",
		run:     runImportChat,
	})
}

// chatTurn is one chat message ready to write: who says it, the text, and
// the swipes to write as sibling branches.
type chatTurn struct {
	line    int
	who     string
	text    string
	swipes  []string
	advance bool // the clock moves on after it (the last message of an exchange)
}

func runImportChat(e *env, args []string) error {
	fs := newFlags(e, "import-chat")
	pack := fs.String("pack", "", "world pack folder (the cast the chat is played by)")
	db := fs.String("db", "", "path of the save to create")
	as := map[string]string{}
	fs.Func("as", "map a speaker name of the chat to a character id: NAME=ID (repeatable)", func(v string) error {
		name, id, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(id) == "" {
			return errors.New("want NAME=ID")
		}
		as[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(id)
		return nil
	})
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "give one chat file, e.g. diorama import-chat chat.jsonl --pack PACK --db my.save"}
	}
	if *pack == "" || *db == "" {
		return &exitError{code: 2, msg: "--pack PACK and --db SAVE are required"}
	}
	if _, err := os.Lstat(*db); err == nil {
		return fmt.Errorf("%s already exists: import-chat makes a new save (pick another --db path)", *db)
	}

	// Read and map everything before creating anything.
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	chat, err := cards.ParseChat(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	p, err := lua.Load(*pack, lua.Options{})
	if err != nil {
		return fmt.Errorf("load pack %s: %w", *pack, err)
	}
	w := p.World()
	loaded := &core.PackLoaded{Pack: w.ID, Version: w.Version, Hash: p.Hash(), Dir: absPath(*pack)}
	p.Close()
	// An imported character also answers to its card's full name.
	cardNames := map[string]string{}
	for _, ch := range w.Characters {
		if src, err := os.ReadFile(filepath.Join(*pack, "characters", ch.ID+".lua")); err == nil {
			if t, err := cards.ParseReturnTable(src); err == nil {
				for _, k := range []string{"name", "nickname"} {
					if n, ok := t[k].(string); ok && strings.TrimSpace(n) != "" {
						cardNames[strings.ToLower(strings.TrimSpace(n))] = ch.ID
					}
				}
			}
		}
	}
	turns, skipped, notes, err := planChat(chat, w, as, cardNames)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if len(turns) == 0 {
		return fmt.Errorf("%s: no messages to import", pos[0])
	}

	branches, err := writeChat(*db, w, loaded, turns)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s: %s from %s as the history of world %q, cast %v\n", *db,
		plural(len(turns), "message"), filepath.Base(pos[0]), w.ID, w.Cast().Members())
	if skipped > 0 {
		fmt.Fprintf(e.stdout, "  skipped %s (system or narrator lines, or empty)\n", plural(skipped, "message"))
	}
	if len(branches) > 0 {
		shown := branches
		if len(shown) > 4 {
			shown = append(append([]string(nil), shown[:4]...), "...")
		}
		fmt.Fprintf(e.stdout, "  %s as sibling branches: %s\n", plural(len(branches), "swipe"), strings.Join(shown, ", "))
	}
	for _, n := range notes {
		fmt.Fprintf(e.stdout, "  note: %s\n", n)
	}
	if u := chat.UserName; u != "" && !strings.EqualFold(u, w.Player.Name) && !strings.EqualFold(u, w.Player.ID) {
		fmt.Fprintf(e.stdout, "  note: the chat calls you %q, the pack %q (rename the player in the pack, or import its cards again with --user %q)\n", u, firstNonEmptyStr(w.Player.Name, w.Player.ID), u)
	}
	fmt.Fprintf(e.stdout, "next: diorama play %s --db %s\n", *pack, *db)
	return nil
}

// planChat maps each message to a cast member and drops system lines.
// A bot message's name is looked up in as (--as), then among the
// characters' names and ids, then in cardNames (their cards' full names).
func planChat(chat *cards.Chat, w *core.WorldSpec, as, cardNames map[string]string) ([]chatTurn, int, []string, error) {
	names := map[string]string{} // lower-case name or id -> bot id
	for name, id := range cardNames {
		names[name] = id
	}
	var bots []string
	for _, ch := range w.Characters {
		bots = append(bots, fmt.Sprintf("%s (%q)", ch.ID, firstNonEmptyStr(ch.Name, ch.ID)))
		names[strings.ToLower(ch.ID)] = ch.ID
		if ch.Name != "" {
			names[strings.ToLower(ch.Name)] = ch.ID
		}
	}
	for name, id := range as {
		ok := false
		for _, ch := range w.Characters {
			ok = ok || ch.ID == id
		}
		if !ok && id != w.Player.ID {
			return nil, 0, nil, fmt.Errorf("--as %s=%s: no character %q in the pack (%s)", name, id, id, strings.Join(bots, ", "))
		}
		names[name] = id
	}
	if len(w.Characters) == 0 {
		return nil, 0, nil, errors.New("the pack has no characters to speak the chat's lines")
	}
	userName := firstNonEmptyStr(w.Player.Name, w.Player.ID)
	var turns []chatTurn
	var notes []string
	guessed := map[string]bool{}
	skipped := 0
	for _, m := range chat.Messages {
		if m.IsSystem || strings.TrimSpace(m.Text) == "" {
			skipped++
			continue
		}
		who := w.Player.ID
		if !m.IsUser {
			id, ok := names[strings.ToLower(m.Name)]
			if !ok && len(w.Characters) == 1 {
				id, ok = w.Characters[0].ID, true
				if m.Name != "" && !guessed[m.Name] {
					guessed[m.Name] = true
					notes = append(notes, fmt.Sprintf("the lines of %q are %s's, the pack's only character", m.Name, id))
				}
			}
			if !ok {
				return nil, 0, nil, fmt.Errorf("line %d: speaker %q is not in the pack's cast (%s); map it with --as %q", m.Line, m.Name, strings.Join(bots, ", "), m.Name+"=ID")
			}
			who = id
		} else if id, ok := as[strings.ToLower(m.Name)]; ok {
			who = id
		}
		char := userName
		for _, ch := range w.Characters {
			if ch.ID == who {
				char = firstNonEmptyStr(ch.Name, ch.ID)
			}
		}
		t := chatTurn{line: m.Line, who: who, text: strings.TrimSpace(cards.Substitute(m.Text, char, userName))}
		for _, s := range m.Swipes {
			if s = strings.TrimSpace(cards.Substitute(s, char, userName)); s != "" && s != t.text {
				t.swipes = append(t.swipes, s)
			}
		}
		turns = append(turns, t)
	}
	// The clock moves on once per exchange: after the last line before the
	// player speaks again, as a live turn does.
	for i := range turns {
		turns[i].advance = i == len(turns)-1 || turns[i+1].who == w.Player.ID
	}
	return turns, skipped, notes, nil
}

// writeChat creates the save at a temporary path beside db, writes every
// turn (swipes on their branches), and moves it into place: a failure
// leaves nothing behind.
func writeChat(db string, w *core.WorldSpec, loaded *core.PackLoaded, turns []chatTurn) ([]string, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp(filepath.Dir(db), ".diorama-import-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "save.db")
	st, err := store.Create(tmp, w)
	if err != nil {
		return nil, err
	}
	branches, err := appendChat(ctx, st, loaded, w, turns)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write the save: %w", err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(tmp + side); err == nil {
			return nil, fmt.Errorf("write the save: %s%s left behind after closing", tmp, side)
		}
	}
	// Link refuses to replace a file that appeared meanwhile; rename does not.
	if err := os.Link(tmp, db); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s already exists: import-chat makes a new save (pick another --db path)", db)
		}
		if _, serr := os.Lstat(db); serr == nil {
			return nil, fmt.Errorf("%s already exists: import-chat makes a new save (pick another --db path)", db)
		}
		if err := os.Rename(tmp, db); err != nil {
			return nil, err
		}
	}
	return branches, nil
}

func appendChat(ctx context.Context, st *store.Store, loaded *core.PackLoaded, w *core.WorldSpec, turns []chatTurn) ([]string, error) {
	if err := recordPack(ctx, st, loaded, nil); err != nil {
		return nil, err
	}
	eng, err := core.NewEngine(ctx, st, st, store.DefaultBranch)
	if err != nil {
		return nil, err
	}
	drafts := func(s *core.State, who, text string, advance bool) []core.Draft {
		backend := ""
		if who != w.Player.ID {
			backend = "import:sillytavern"
		}
		ds := []core.Draft{{Type: core.TypeLineSaid, Payload: &core.LineSaid{Who: who, Text: text, Backend: backend},
			Mask: s.Earshot(who), WorldTime: s.Clock}}
		if m := s.World.MinutesPerTurn; advance && m > 0 {
			ds = append(ds, core.Draft{Type: core.TypeTimeAdvanced, Payload: &core.TimeAdvanced{Minutes: int64(m)},
				Mask: core.MaskAll, WorldTime: s.Clock + int64(m)})
		}
		return ds
	}
	var branches []string
	for i, t := range turns {
		parent := eng.State()
		if _, err := eng.Append(ctx, drafts(parent, t.who, t.text, t.advance)); err != nil {
			return nil, fmt.Errorf("line %d: %w", t.line, err)
		}
		for k, s := range t.swipes {
			name := fmt.Sprintf("swipe-%d-%d", i+1, k+1)
			if err := st.SetHead(ctx, name, parent.LastSeq); err != nil {
				return nil, fmt.Errorf("line %d: %w", t.line, err)
			}
			side, err := core.NewEngine(ctx, st, st, name)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", t.line, err)
			}
			if _, err := side.Append(ctx, drafts(side.State(), t.who, s, t.advance)); err != nil {
				return nil, fmt.Errorf("line %d: swipe %d: %w", t.line, k+1, err)
			}
			branches = append(branches, name)
		}
	}
	if len(branches) > 0 {
		// The projection tables follow the last head written: point them
		// back at the main line.
		if err := st.SetHead(ctx, store.DefaultBranch, eng.State().LastSeq); err != nil {
			return nil, err
		}
	}
	return branches, nil
}

func firstNonEmptyStr(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
