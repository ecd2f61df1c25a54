-- The midnight pie delivery.
--
-- Scheduled by the clock: `at` starts the event on the first turn at or after
-- that world time (no starts_when needed). It ends by condition.
--
-- It owns two props: the cherry pie and the delivery slip. When it is over,
-- the pie goes back with the event (it is in the pie case now, scenery, not
-- a prop the bots keep reaching for) -- but Rosa keeps the slip, which has
-- the baker's new phone number on it: an item promoted to her.

local h = require("std.helpers")

story_event({
  id = "pie_delivery",
  title = "The midnight pie delivery",
  props = { "cherry_pie", "delivery_slip" },
  at = "1987-11-03T00:00",

  -- Over half an hour later, or as soon as the player walks out.
  ends_when = function(s)
    return s.now >= "1987-11-03T00:30" or s.entities.you.location ~= "diner"
  end,

  -- The baker's boy knocks at the front door. If Rosa is on the floor she
  -- signs for it; if she is in the kitchen, the pie waits on the counter and
  -- nobody holds it.
  on_start = function(s)
    local rosa = s.entities.rosa
    if rosa.location == "diner" then
      s.act.hold({ who = "rosa", item = "cherry_pie" })
      s.act.hold({ who = "rosa", item = "delivery_slip" })
      s.act.set_activity({ who = "rosa", doing = "signing for the pie delivery" })
    end
    if h.together(s, "theo", "you") then
      s.act.attend({ who = "theo", target = "cherry_pie" })
    end
  end,

  -- The event closes its props away, but not the state that points at them:
  -- an activity or an attention aimed at the pie would keep it alive in every
  -- later prompt. Tidy them here.
  on_complete = function(s)
    if s.entities.rosa.doing == "signing for the pie delivery" then
      s.act.set_activity({ who = "rosa", doing = "wiping down the counter" })
    end
    for _, id in ipairs(h.sorted_keys(s.entities)) do
      if s.entities[id].attention == "cherry_pie" then
        s.act.attend({ who = id, target = (id == "rosa") and "you" or "rosa" })
      end
    end
  end,

  -- What survives the delivery. items: the prop itself, now kept by `to`
  -- (it leaves the event and stays in `to`'s hands). facts: a memory only
  -- `to` has.
  promote = {
    items = {
      { item = "delivery_slip", to = "rosa" },
    },
    facts = {
      { to = "theo", fact = "The night of the midnight delivery, Rosa cut him the first slice and didn't put it on his tab." },
    },
  },
})
