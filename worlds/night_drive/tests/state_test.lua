-- Pack tests: run with `diorama test worlds/night_drive` (add --run PATTERN to
-- pick tests by name). Each test gets a fresh in-memory save of this pack and
-- the scripted backend:
--   t:reply(ID, TEXT, COMMANDS)  queue the next reply of bot ID and the state
--                                update after it (a list of commands, or nil)
--   t:say(TEXT)                  the player says TEXT: a full turn (hooks,
--                                triggers, speakers, prompts, replies, updates)
--   t:act(COMMAND)               apply one command directly, as the CLI would
--   t:state()                    the read-only state view (same as a hook's s)
--   t:prompt(ID), t:manifest(ID) the last prompt built for bot ID, and its manifest
--   t:expect(V):equals(X) / :contains(S) / :not_contains(S) / :is_true() / :is_nil()
-- A bot chosen to speak with no reply queued fails the test, naming the bot:
-- the default speaker rule (std.speakers) is deterministic, so queue exactly
-- the replies the turn needs (address a bot by name to pick it).

local h = require("std.helpers")

-- rejection(t, cmd): the error a rejected command raised, or nil if it was applied.
local function rejection(t, cmd)
  local ok, err = pcall(t.act, t, cmd)
  if ok then
    return nil
  end
  return tostring(err)
end

test("the cast starts in the car on the highway", function(t)
  local s = t:state()
  t:expect(s.now):equals("1999-08-14T21:30")
  t:expect(s.entities.mara.container):equals("car")
  t:expect(s.entities.mara.slot):equals("driver")
  t:expect(s.entities.jun.slot):equals("passenger")
  t:expect(s.entities.you.slot):equals("back_left")
  t:expect(s.entities.you.location):equals("highway")
  t:expect(s.entities.mara.bot):is_true()
  t:expect(s.events.picnic.status):equals("planned")
end)

test("a taken seat cannot be moved into; a free one can", function(t)
  t:expect(rejection(t, { op = "move", who = "you", container = "car", slot = "driver" })):contains("taken")
  t:expect(rejection(t, { op = "move", who = "you", container = "car", slot = "sunroof" })):contains("does not exist")
  t:act({ op = "move", who = "you", container = "car", slot = "back_right" })
  local s = t:state()
  t:expect(s.entities.you.slot):equals("back_right")
  t:expect(s.entities.mara.slot):equals("driver")
end)

test("the car drives on with everyone in it", function(t)
  t:act({ op = "move", who = "car", location = "gas_station" })
  local s = t:state()
  t:expect(s.containers.car.location):equals("gas_station")
  t:expect(s.entities.mara.location):equals("gas_station")
  t:expect(s.entities.jun.location):equals("gas_station")
  t:expect(s.entities.you.location):equals("gas_station")
  t:expect(s.entities.jun.container):equals("car")
end)

test("stepping out of the car and back in", function(t)
  t:act({ op = "move", who = "car", location = "gas_station" })
  t:act({ op = "move", who = "jun", location = "gas_station_shop" })
  local s = t:state()
  t:expect(s.entities.jun.location):equals("gas_station_shop")
  t:expect(h.in_container(s, "jun", "car")):equals(false)
  -- the car is on the forecourt, Jun is in the shop: he has to walk back first
  t:expect(rejection(t, { op = "move", who = "jun", container = "car", slot = "passenger" })):contains("not present")
  t:act({ op = "move", who = "jun", location = "gas_station" })
  t:act({ op = "move", who = "jun", container = "car", slot = "passenger" })
  t:expect(t:state().entities.jun.slot):equals("passenger")
end)

test("the relationship is asymmetric", function(t)
  local s = t:state()
  t:expect(s.edge("mara", "jun").affinity < 0):is_true()
  t:expect(s.edge("jun", "mara").affinity > 0):is_true()
  t:expect(s.edge("mara", "jun").note):contains("resents")
  t:expect(s.edge("jun", "mara").note):not_contains("resent")
  -- relationship numbers are deltas, clamped to -100..100
  t:act({ op = "adjust", who = "mara", to = "jun", affinity = -90 })
  t:expect(t:state().edge("mara", "jun").affinity):equals(-100)
  t:expect(t:state().edge("jun", "mara").affinity):equals(70)
end)

test("the driver is driving while the car is on the highway", function(t)
  t:reply("mara", "\"Eyes on the road, Sam. Talk.\"", nil)
  t:say("Mara, how long till the lake?")
  local s = t:state()
  t:expect(s.entities.mara.doing):equals("driving")
  -- she is driving, so she listens with her eyes on the road
  t:expect(s.entities.mara.attention):equals("road")
end)

test("the passenger turns to the player when addressed", function(t)
  t:reply("jun", "\"Dude. Dude! You remember that diner in Tacoma?\"", nil)
  t:say("Jun, what's on the radio?")
  t:expect(t:state().entities.jun.attention):equals("you")
end)

test("a jump settles strong moods", function(t)
  t:act({ op = "set_mood", who = "mara", mood = "furious" })
  t:act({ op = "set_mood", who = "jun", mood = "anxious" })
  t:act({ op = "skip", kind = "jump", minutes = 3 * 24 * 60, label = "three days later" })
  -- the time-skip rule runs when the skip is applied; the turn after it
  -- shows the settled moods
  t:reply("jun", "\"Three days and I still have sand in my shoes.\"", nil)
  t:say("Jun, you still have sand in your shoes?")
  local s = t:state()
  t:expect(h.date_of(s.now)):equals("1999-08-17")
  t:expect(s.entities.mara.mood):equals("irritated")
  t:expect(s.entities.jun.mood):equals("calm")
end)

test("an elision keeps moods", function(t)
  t:act({ op = "set_mood", who = "mara", mood = "furious" })
  t:act({ op = "skip", kind = "elision", minutes = 40, label = "later that night" })
  t:expect(t:state().entities.mara.mood):equals("furious")
  t:expect(t:state().now):equals("1999-08-14T22:10")
end)
