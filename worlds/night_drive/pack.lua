-- Night Drive: three old friends, one car, one long August night.
--
-- A bundled example pack. Copy it, rename the folder, change the ids.
--
-- What it shows off:
--   * a container with slots (the car), and a container that moves with
--     everyone in it (s.act.move{ who = "car", location = "lake" })
--   * an asymmetric relationship: Mara secretly resents Jun, Jun thinks they
--     are as close as ever. Feelings are edges, and an edge is private to the
--     one who feels it: Jun's prompt never sees Mara's side.
--   * a story event with props (the picnic) that starts and ends by itself,
--     and whose basket does not outlive it: only facts are promoted.
--   * hooks, a time-skip rule and a prompt override (rules.lua)
--   * pack tests (tests/*.lua): `diorama test worlds/night_drive`
--
-- Layout of a pack:
--   pack.lua        this file: the entry point. It declares the world and
--                   requires the other modules of the pack.
--   places.lua      locations and the car
--   characters.lua  the player, the two bots, their relationships
--   story.lua       story events
--   rules.lua       hooks, the time-skip rule, prompt overrides
--   lore.lua        background entries, some known only to some characters
--   tests/          pack tests
--
-- `require("places")` loads places.lua from this folder; `require("std.NAME")`
-- loads a module shipped with the engine (stdlib/NAME.lua). Nothing else can
-- be required, and there is no io, os or debug: a pack is pure rules.
-- Constructors are strict: a misspelt field is an error with file:line when
-- you save (hot reload) or run `diorama check worlds/night_drive`.

world({
  id = "night_drive",
  title = "Night Drive",
  version = "1.0.0",
  -- The story starts on the highway at half past nine; each turn of talk moves
  -- the world clock on by two minutes.
  start = { location = "highway", time = "1999-08-14T21:30" },
  minutes_per_turn = 2,
})

require("places")
require("characters")
require("story")
require("rules")
require("lore")
