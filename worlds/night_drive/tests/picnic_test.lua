-- The picnic: a story event that owns its props. The basket is in play while
-- the picnic is on, and gone -- from hands, from state, from prompts -- once
-- it is over. Only the promoted facts survive.

local h = require("std.helpers")

local function rejection(t, cmd)
  local ok, err = pcall(t.act, t, cmd)
  if ok then
    return nil
  end
  return tostring(err)
end

-- arrive(t): drive to the lake and play one turn, so the picnic's trigger runs.
local function arrive(t)
  t:act({ op = "move", who = "car", location = "lake" })
  t:reply("jun", "\"Water! Actual water! Everybody out!\"", nil)
  t:say("Jun, we made it.")
end

test("the picnic's props are closed until it starts", function(t)
  t:expect(t:state().events.picnic.status):equals("planned")
  t:expect(rejection(t, { op = "hold", who = "you", item = "picnic_basket" })):contains("planned")
end)

test("the picnic starts when the car reaches the lake", function(t)
  arrive(t)
  local s = t:state()
  t:expect(s.events.picnic.status):equals("active")
  t:expect(h.has(s.events.picnic.props, "picnic_basket")):is_true()
  -- on_start handed out the props
  t:expect(h.has(s.entities.mara.holding, "picnic_basket")):is_true()
  t:expect(h.has(s.entities.jun.holding, "blanket")):is_true()
end)

test("the basket does not outlive the picnic", function(t)
  arrive(t)
  -- Everyone gets out; the basket goes round.
  t:act({ op = "move", who = "mara", location = "lake" })
  t:act({ op = "move", who = "jun", location = "lake" })
  t:act({ op = "move", who = "you", location = "lake" })
  t:act({ op = "give", who = "mara", to = "you", item = "picnic_basket" })
  t:expect(h.has(t:state().entities.you.holding, "picnic_basket")):is_true()

  -- While the picnic is on, the props are part of the scene.
  t:reply("jun", "\"Sandwiches are structurally unsound, dude. Eat fast.\"", nil)
  t:say("Jun, pass me a sandwich?")
  t:expect(t:prompt("jun")):contains("basket")

  -- Back in the car, back on the road: the picnic is over.
  t:act({ op = "move", who = "mara", container = "car", slot = "driver" })
  t:act({ op = "move", who = "jun", container = "car", slot = "passenger" })
  t:act({ op = "move", who = "you", container = "car", slot = "back_left" })
  t:act({ op = "move", who = "car", location = "highway" })
  t:reply("mara", "\"Thanks for making me stop.\" *She almost smiles.*", nil)
  t:say("Mara, thanks for stopping.")

  local s = t:state()
  t:expect(s.events.picnic.status):equals("completed")
  -- the props closed away with the event: nobody holds them ...
  t:expect(h.has(s.entities.you.holding, "picnic_basket")):equals(false)
  t:expect(h.has(s.entities.jun.holding, "blanket")):equals(false)
  t:expect(h.holder(s, "picnic_basket")):is_nil()
  -- ... nobody can pick them up again ...
  t:expect(rejection(t, { op = "hold", who = "jun", item = "picnic_basket" })):contains("completed")
  -- ... and no prompt mentions them any more.
  t:expect(t:prompt("mara")):not_contains("basket")
  t:reply("jun", "\"Best. Night. Ever. Remember the stars?\"", nil)
  t:say("Jun, good night?")
  t:expect(t:prompt("jun")):not_contains("basket")
  t:expect(t:prompt("jun")):not_contains("blanket")

  -- What was promoted survives: Jun keeps his fact, and the thread the
  -- event_complete hook opened.
  t:expect(t:state().threads.the_crash.status):equals("open")
  t:reply("jun", "\"Seven skips! Seven! I counted.\"", nil)
  t:say("Jun, how many times did that stone skip?")
  t:expect(t:prompt("jun")):contains("skipped a stone seven times")
end)

test("the picnic also ends when the night runs out", function(t)
  arrive(t)
  t:expect(t:state().events.picnic.status):equals("active")
  t:act({ op = "advance_time", minutes = 4 * 60 })
  t:reply("jun", "\"Is that... the sky getting light? No way.\"", nil)
  t:say("Jun, what time is it?")
  local s = t:state()
  t:expect(s.containers.car.location):equals("lake")
  t:expect(s.events.picnic.status):equals("completed")
  t:expect(h.holder(s, "picnic_basket")):is_nil()
end)
