-- The Starlite: a roadside diner after midnight, a waitress, a regular, and a
-- pie that arrives on schedule.
--
-- A bundled example pack, smaller than night_drive and built to contrast
-- with it:
--   * two containers at one location (a booth and the counter): moving
--     between them is a move into a slot, no walking needed
--   * a story event scheduled by the clock (`at`) instead of a condition, that
--     promotes an *item* (an acquired object) as well as a fact
--   * a different asymmetry: Theo has been in love with Rosa for two years;
--     Rosa likes him and does not trust him with money
--   * the stdlib time-skip rule with options, a hook using the deterministic
--     s.random(), and an override of the "instruction" prompt section
--
-- Modules: places.lua, characters.lua, story.lua, rules.lua; tests in tests/.

world({
  id = "diner",
  title = "Last Orders at the Starlite",
  version = "1.0.0",
  start = { location = "diner", time = "1987-11-02T23:20" },
  minutes_per_turn = 3,
})

require("places")
require("characters")
require("story")
require("rules")
