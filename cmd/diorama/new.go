package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"diorama/lua"
)

func init() {
	register(&command{
		name:    "new",
		usage:   "NAME [--dir DIR]",
		summary: "create a new world pack DIR/NAME that passes check, with comments that teach the API",
		run:     runNew,
	})
}

var rePackName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

func runNew(e *env, args []string) error {
	fs := newFlags(e, "new")
	dir := fs.String("dir", ".", "folder to create the pack in")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "want one pack name (usage: diorama new NAME [--dir DIR])"}
	}
	name := pos[0]
	if !rePackName.MatchString(name) {
		return &exitError{code: 2, msg: fmt.Sprintf("pack name %q: use letters, digits, _ and - (starting with a letter)", name)}
	}
	target := filepath.Join(*dir, name)
	if err := scaffoldPack(target, name); err != nil {
		return err
	}
	// The scaffold must pass check from its first second.
	p, err := lua.Load(target, lua.Options{})
	if err != nil {
		return fmt.Errorf("internal error: the new pack does not load (please report this): %w", err)
	}
	p.Close()
	fmt.Fprintf(e.stdout, "created %s (%s and %s)\n", target, filepath.Join(target, "pack.lua"), filepath.Join(target, "tests", "basic.lua"))
	fmt.Fprintf(e.stdout, "next: edit pack.lua, then run: diorama check %s\n", target)
	return nil
}

// scaffoldPack writes a new pack into target, which must not exist.
func scaffoldPack(target, name string) error {
	if _, err := os.Lstat(target); err == nil {
		return fmt.Errorf("%s already exists: refusing to overwrite it (pick another name or --dir)", target)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(target, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: refusing to overwrite it (pick another name or --dir)", target)
		}
		return err
	}
	id := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	title := strings.ToUpper(id[:1]) + strings.ReplaceAll(id[1:], "_", " ")
	fill := strings.NewReplacer("{{ID}}", id, "{{TITLE}}", title, "{{DIR}}", filepath.ToSlash(target))
	if err := os.WriteFile(filepath.Join(target, "pack.lua"), []byte(fill.Replace(scaffoldPackLua)), 0o644); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(target, "tests"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(target, "tests", "basic.lua"), []byte(fill.Replace(scaffoldTestLua)), 0o644)
}

const scaffoldPackLua = `-- {{TITLE}}: a diorama world pack.
--
-- A pack is a folder. pack.lua (this file) is where it starts; it declares the
-- world with constructors, and hooks that run as the story goes. Other files
-- load with require("NAME") (NAME.lua in this folder, "lib.x" is lib/x.lua) or
-- require("std.NAME") (the engine's stdlib, e.g. std.helpers).
--
--   diorama check {{DIR}}    load and validate: every problem as FILE:LINE
--   diorama test {{DIR}}     run tests/*.lua
--
-- Constructors are strict: a misspelt field, a wrong type or an unknown id is
-- an error with this file's name and line. The Lua is sandboxed: no io, os or
-- debug; the world clock is s.now, randomness is s.random() (seeded from the
-- save, so a replay tells the same story).

-- The world: its id, where and when the story starts, and how many minutes of
-- world time one turn of talk takes.
world{
  id = "{{ID}}",
  title = "{{TITLE}}",
  version = "0.1.0",
  start = { location = "kitchen", time = "2024-10-05T19:00" },
  minutes_per_turn = 2,
}

-- Locations: everyone at the same location hears what is said there.
location{ id = "kitchen", name = "The kitchen", description = "A warm kitchen, rain on the window, a kettle coming to the boil." }
location{ id = "garden", name = "The garden", description = "Wet grass, an apple tree, the light from the kitchen window." }

-- A container is a place within a place (a car, a booth, a table) with named
-- slots. A slot may list what its occupant sees and reaches.
container{
  id = "table",
  name = "the kitchen table",
  location = "kitchen",
  slots = {
    head = { sees = { "door", "window" }, reaches = { "teapot" } },
    side = { sees = { "head", "window" }, reaches = { "teapot", "biscuit_tin" } },
  },
}

-- The player. "at" is optional: without it the player starts at the world's
-- start location. It takes a location, or a container and a slot.
player{
  id = "you",
  name = "Sam",
  description = "Back in town for the first time in three years.",
  at = { container = "table", slot = "side" },
}

-- At most two characters: the bots the model plays, each from its own point
-- of view (its own memories and feelings, the lines it heard).
character{
  id = "ada",
  name = "Ada",
  persona = "Your oldest friend: practical, dry, slow to forgive.",
  speech = "Short sentences. Asks questions instead of answering them.",
  appearance = "Flour on her sleeves, reading glasses pushed up into grey-streaked hair.",
  mood = "guarded",
  goals = { "find out why Sam came back" },
  holding = { "tea_towel" },
  at = { container = "table", slot = "head" },
}

-- Relationships are directed: how FROM feels about TO. affinity and trust run
-- from -100 to 100; the note is private to FROM (Sam's prompt never sees it).
relationship("ada", "you", { affinity = 30, trust = -10, note = "missed Sam; will not say so" })
relationship("you", "ada", { affinity = 50, trust = 40 })
-- The group node: how the cast holds together as a whole.
group{ cohesion = 10, note = "old friends, out of practice" }

-- A story event: planned -> active -> completed (or cancelled). It owns its
-- props: while it is active they can be held and handed round; when it
-- completes they are closed away with it. Only what it promotes survives:
-- items (a prop someone keeps) and facts (a memory only "to" has).
story_event{
  id = "tea",
  title = "Tea at the kitchen table",
  props = { "teapot" },
  -- Conditions only read s; the engine checks them after every turn.
  starts_when = function(s) return s.entities.ada.location == "kitchen" and s.minutes >= 4 end,
  ends_when = function(s) return s.entities.ada.location ~= "kitchen" end,
  -- on_start runs once the event is active: now its props can be held.
  on_start = function(s)
    s.act.hold{ who = "ada", item = "teapot" }
  end,
  promote = {
    facts = { { to = "ada", fact = "Sam drank the tea without being asked twice, like before." } },
  },
}

-- Hooks: on(HOOK, function(s, ...) ... end) for turn_start, user_message,
-- reply, scene_end, time_skip, event_start and event_complete. A hook sees s,
-- a read-only view of the world (s.entities, s.events, s.now, s.edge(a, b)...)
-- and changes it only with commands: s.act{ op = "...", ... } or the sugar
-- s.act.OP{ ... }. A refused command raises an error with the engine's reason
-- and this file:line, so check before you act. Hooks run under a deadline.
on("user_message", function(s, msg)
  -- msg is the player's line: { who = "you", text = "..." }.
  local ada = s.entities.ada
  if ada.location == s.entities.you.location and ada.attention ~= "you" then
    s.act.attend{ who = "ada", target = "you" }
  end
end)
`

const scaffoldTestLua = `-- Pack tests: diorama test {{DIR}} runs every tests/*.lua file headless.
-- Each test gets a fresh save of the pack; t scripts the player's lines
-- (t:say), the model's replies (t:reply) and commands (t:act), and asserts
-- with t:expect(VALUE):equals(X) / :contains(S) / :is_true() / :is_nil().

test("the story starts at the kitchen table", function(t)
  local s = t:state()
  t:expect(s.entities.ada.container):equals("table")
  t:expect(s.entities.you.slot):equals("side")
  t:expect(s.events.tea.status):equals("planned")
end)
`
