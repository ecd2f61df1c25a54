-- Story events: things that happen, with a lifecycle
--   planned -> active -> completed (or cancelled)
-- and props they own. While an event is active its props are in play (they
-- can be held, handed round, mentioned in prompts); when it completes they are
-- closed away with it: nobody holds them any more and they cannot be picked
-- up again. Only what the event *promotes* survives it.
--
-- This is the cure for the "picnic basket" problem: a prop from one scene
-- does not haunt every later one, because it belongs to the scene's event.

local h = require("std.helpers")

-- The car is where the cast is when they are in it; s.containers[ID].location
-- says where a container is.
local function car_at(s, location)
  return s.containers.car.location == location
end

story_event({
  id = "picnic",
  title = "Midnight picnic at Lake Mercy",
  props = { "picnic_basket", "blanket" },

  -- Conditions are checked by the engine after each turn's commands (and
  -- after a command applied from the CLI or a test). They only read `s`.
  starts_when = function(s)
    return car_at(s, "lake")
  end,

  -- The picnic is over when the car leaves the lake, or when the night runs
  -- out (world times compare as strings: the format is fixed-width).
  ends_when = function(s)
    return not car_at(s, "lake") or s.now >= "1999-08-15T01:00"
  end,

  -- on_start runs once the event is active, so its props can be held now.
  on_start = function(s)
    if h.together(s, "mara", "jun") then
      s.act.hold({ who = "mara", item = "picnic_basket" })
      s.act.hold({ who = "jun", item = "blanket" })
      s.act.set_activity({ who = "jun", doing = "looking for the perfect spot by the water" })
    end
  end,

  -- on_complete runs after the event completed and its props were closed away.
  -- Props go, but state that *points at* them stays unless you tidy it: an
  -- activity or attention about the picnic would keep it alive in prompts.
  on_complete = function(s)
    local jun = s.entities.jun
    if jun.mood ~= "content" then
      s.act.set_mood({ who = "jun", mood = "content" })
    end
    if jun.doing == "looking for the perfect spot by the water" then
      s.act.set_activity({ who = "jun", doing = "humming along to the radio" })
    end
  end,

  -- What survives the picnic: facts, each known only to the one it is given
  -- to. No items: the basket and the blanket stay with the picnic.
  -- (items = { { item = "blanket", to = "jun" } } would let Jun keep the
  -- blanket: an acquired object. See worlds/diner for one.)
  promote = {
    facts = {
      { to = "jun", fact = "At the lake Mara skipped a stone seven times and laughed like she used to." },
      { to = "mara", fact = "For an hour at the lake, Jun was easy to be around again." },
      { to = "you", fact = "The lake was where the three of you were friends again, for a while." },
    },
  },
})
