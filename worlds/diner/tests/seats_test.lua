-- Seats, the kitchen door and the clock. See worlds/night_drive/tests for
-- the full list of t: methods.

local h = require("std.helpers")

-- rejection(t, cmd): the error a rejected command raised, or nil if it was applied.
local function rejection(t, cmd)
  local ok, err = pcall(t.act, t, cmd)
  if ok then
    return nil
  end
  return tostring(err)
end

test("everyone starts in their place", function(t)
  local s = t:state()
  t:expect(s.now):equals("1987-11-02T23:20")
  t:expect(s.entities.you.slot):equals("booth_left")
  t:expect(s.entities.theo.slot):equals("booth_right")
  t:expect(s.entities.rosa.container):equals("counter")
  t:expect(s.entities.rosa.slot):equals("behind_counter")
  t:expect(s.events.pie_delivery.status):equals("planned")
end)

test("from the booth to the counter is one move; taken places are refused", function(t)
  t:expect(rejection(t, { op = "move", who = "you", container = "booth", slot = "booth_right" })):contains("taken")
  t:expect(rejection(t, { op = "move", who = "you", container = "counter", slot = "behind_counter" })):contains("taken")
  t:act({ op = "move", who = "you", container = "counter", slot = "counter_stool_1" })
  local s = t:state()
  t:expect(s.entities.you.container):equals("counter")
  t:expect(s.entities.you.location):equals("diner")
  -- the booth seat is free again
  t:act({ op = "move", who = "theo", container = "booth", slot = "booth_left" })
  t:expect(t:state().entities.theo.slot):equals("booth_left")
end)

test("the kitchen is through a door, not next to the booth", function(t)
  t:act({ op = "move", who = "rosa", location = "kitchen" })
  t:expect(rejection(t, { op = "move", who = "rosa", container = "booth", slot = "aisle_chair" })):contains("not present")
  t:act({ op = "move", who = "rosa", location = "diner" })
  t:act({ op = "move", who = "rosa", container = "booth", slot = "aisle_chair" })
  t:expect(t:state().entities.rosa.slot):equals("aisle_chair")
end)

test("ordering turns Rosa's attention to you", function(t)
  t:reply("rosa", "\"Coffee's fresh as it gets at this hour, hon.\" *She's already pouring.*", nil)
  t:say("Rosa, could I get a coffee?")
  t:expect(t:state().entities.rosa.attention):equals("you")
end)

test("a jump of hours settles moods and puts Rosa back behind the counter", function(t)
  t:act({ op = "move", who = "rosa", location = "kitchen" })
  t:act({ op = "set_mood", who = "theo", mood = "anxious" })
  -- a short jump is below the pack's min_minutes (60): nothing settles
  t:act({ op = "skip", kind = "jump", minutes = 30, label = "half an hour later" })
  t:expect(t:state().entities.theo.mood):equals("anxious")

  t:act({ op = "skip", kind = "jump", minutes = 3 * 60, label = "towards dawn" })
  t:reply("theo", "\"Dawn already? My producer's going to kill me.\"", nil)
  t:say("Theo, isn't your break over?")
  local s = t:state()
  t:expect(s.entities.theo.mood):equals("calm")   -- std map: anxious -> calm
  t:expect(s.entities.rosa.mood):equals("tired")  -- not in the map: the pack's settle_to
  t:expect(h.in_container(s, "rosa", "counter", "behind_counter")):is_true()
end)
