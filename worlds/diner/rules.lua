-- Rules for the Starlite.

local h = require("std.helpers")
local std_timeskip = require("std.timeskip")

-- turn_start: the jukebox skips now and then, and Theo gets up to thump it.
-- s.random(m, n) is deterministic: seeded from the save, so a replay of the
-- same log makes the same jukebox skip on the same turn.
on("turn_start", function(s)
  local theo = s.entities.theo
  if theo.location == "diner" and theo.doing ~= "thumping the jukebox" and s.random(1, 8) == 1 then
    s.act.set_activity({ who = "theo", doing = "thumping the jukebox" })
  elseif theo.doing == "thumping the jukebox" then
    s.act.set_activity({ who = "theo", doing = "nursing a cold coffee" })
  end
end)

-- user_message: order something and Rosa's attention is on you, if she is on
-- the floor to hear it.
local ORDERS = { "coffee", "refill", "pie", "menu", "check", "bill", "eggs", "toast" }

on("user_message", function(s, text)
  local rosa = s.entities.rosa
  if not h.together(s, "rosa", "you") or rosa.attention == "you" then
    return
  end
  for _, word in ipairs(ORDERS) do
    if h.mentions(text, word) then
      s.act.attend({ who = "rosa", target = "you" })
      return
    end
  end
end)

-- event_complete: if Theo stayed to help with the delivery, Rosa softens a
-- little. On her edge, so only she knows.
on("event_complete", function(s, ev)
  if ev.id == "pie_delivery" and h.together(s, "rosa", "theo") then
    s.act.adjust({ who = "rosa", to = "theo", affinity = 5, note = "he stayed and held the door for the pie" })
  end
end)

-- time_skip hook (runs after the timeskip rules): after a jump, Rosa is back
-- behind the counter -- if her place is free.
on("time_skip", function(s, skip)
  if skip.kind ~= "jump" then
    return
  end
  local rosa = s.entities.rosa
  if h.in_container(s, "rosa", "counter", "behind_counter") then
    return
  end
  if rosa.location ~= "diner" then
    s.act.move({ who = "rosa", location = "diner" })
  end
  -- s.occupant(CONTAINER, SLOT) says who sits there (nil: free)
  if s.occupant("counter", "behind_counter") == nil then
    s.act.move({ who = "rosa", container = "counter", slot = "behind_counter" })
  end
end)

-- The stdlib rule with options: jumps shorter than an hour change nothing;
-- moods it has no entry for settle to "tired" (it is a diner at 3 a.m.).
timeskip(std_timeskip.make({ settle_to = "tired", min_minutes = 60 }))

-- Override one section of the default reply template: the closing
-- instruction. Returning a string keeps the section's place and priority.
prompt("instruction", function(ctx)
  local name = ctx.speaker.name
  return "Now write " .. name .. "'s reply, from " .. name .. "'s point of view: under eighty words, "
    .. "quiet, the way people talk in a diner after midnight. Use the room: the rain, the jukebox, the coffee."
end)
