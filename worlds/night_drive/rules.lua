-- Rules: hooks, the time-skip rule and prompt overrides.
--
-- A hook is on(NAME, function(s, ...) ... end). It sees `s`, a read-only view
-- of the world, and changes it only by issuing commands: s.act{ op = ..., ... }
-- or the sugar s.act.OP{ ... }. Each command is validated by the engine; a
-- rejected one raises an error (with the engine's reason and this file:line),
-- so check before you act. Hooks run under a deadline (about 50 ms): keep
-- them small. Lua sees no wall clock and no OS randomness: s.now is the world
-- clock, s.random() is seeded from the save, so a replay gives the same story.

local h = require("std.helpers")
local std_timeskip = require("std.timeskip")

local PLAYER = "you"

-- turn_start: before anyone speaks. Keep the driver's activity true to the car:
-- on the highway whoever sits behind the wheel is driving; parked, they are not.
on("turn_start", function(s)
  for _, id in ipairs(h.sorted_keys(s.entities)) do
    local e = s.entities[id]
    if h.in_container(s, id, "car", "driver") then
      local moving = s.containers.car.location == "highway"
      if moving and e.doing ~= "driving" then
        s.act.set_activity({ who = id, doing = "driving" })
      elseif not moving and e.doing == "driving" then
        s.act.set_activity({ who = id, doing = "sitting behind the wheel, engine ticking" })
      end
    end
  end
end)

-- user_message: the player's line (a string), after it was recorded.
-- A bot the player addresses by name turns its attention to the player --
-- except the driver on the highway, who keeps her eyes on the road and
-- listens. Attention feeds the default speaker rule (std.speakers): a bot
-- attending to the player is the first to answer an unaddressed line.
on("user_message", function(s, text)
  for _, id in ipairs(h.bots(s)) do
    local e = s.entities[id]
    if h.together(s, id, PLAYER) and h.mentions(text, e.name) then
      local driving = h.in_container(s, id, "car", "driver") and e.location == "highway"
      local target = driving and "road" or PLAYER
      if e.attention ~= target then
        s.act.attend({ who = id, target = target })
      end
    end
  end
end)

-- reply: a bot's reply, as (s, who, text), after it was recorded.
-- Every "remember when" from Jun, in Mara's hearing, costs him a little more
-- of her goodwill. The adjustment is on Mara's edge only: Jun never knows.
on("reply", function(s, who, text)
  if who == "jun" and h.together(s, "mara", "jun") and h.mentions(text, "remember") then
    s.act.adjust({ who = "mara", to = "jun", affinity = -2 })
  end
end)

-- event_start / event_complete receive the event's view: { id, title, status, props }.
on("event_complete", function(s, ev)
  if ev.id == "picnic" and not s.threads["the_crash"] then
    -- A story thread stays in the prompts until it is resolved.
    s.act.open_thread({ thread = "the_crash", text = "Nobody has talked about the crash yet." })
  end
end)

-- The time-skip rule: what changed meanwhile. A skip is { kind, minutes, label }:
-- "elision" (later that night, same scene) or "jump" (days later, new scene).
-- Here: the stdlib default (strong moods settle on a jump), plus on a jump of
-- a night or more, nobody is still driving.
local settle = std_timeskip.make({ settle_to = "calm" })

timeskip(function(s, skip)
  settle(s, skip)
  if skip.kind == "jump" and (skip.minutes or 0) >= 8 * 60 then
    for _, id in ipairs(h.sorted_keys(s.entities)) do
      if s.entities[id].doing == "driving" then
        s.act.set_activity({ who = id, doing = "stretching after a long sleep" })
      end
    end
  end
end)

-- Prompt overrides. prompt(NAME, fn) replaces one section of the default
-- "reply" template (see stdlib/prompts.lua: system, persona, world,
-- relationships, goals, threads, lore, scene, memories, history, instruction)
-- or, with a template name ("reply", "state_update", "summary"), a whole
-- template. fn(ctx, std) gets the prompt context -- already limited to what
-- the speaker knows -- and std.prompts, so it can build on the default.
-- A section keeps its position and priority when you return just its text.
prompt("system", function(ctx, std)
  return std.sections.system(ctx) .. "\n"
    .. "It is August 1999: no smartphones, no internet, the radio plays what it plays. "
    .. "Keep it grounded and quiet, the way a long night drive feels; let silences happen."
end)
