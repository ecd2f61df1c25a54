-- The pie delivery: scheduled by the clock, owns its props, promotes the slip.

local h = require("std.helpers")

local function rejection(t, cmd)
  local ok, err = pcall(t.act, t, cmd)
  if ok then
    return nil
  end
  return tostring(err)
end

test("the pie is nobody's before midnight", function(t)
  t:expect(rejection(t, { op = "hold", who = "theo", item = "cherry_pie" })):contains("planned")
end)

test("the pie arrives at midnight and goes back with the delivery", function(t)
  t:act({ op = "advance_time", minutes = 40 }) -- 23:20 -> 00:00
  t:reply("rosa", "\"That'll be Eddie with the pies. Hold the door, Theo.\"", nil)
  t:say("Rosa, someone's knocking.")
  local s = t:state()
  t:expect(s.events.pie_delivery.status):equals("active")
  t:expect(h.has(s.entities.rosa.holding, "cherry_pie")):is_true()
  t:expect(h.has(s.entities.rosa.holding, "delivery_slip")):is_true()
  t:expect(s.entities.rosa.doing):equals("signing for the pie delivery")
  t:expect(rejection(t, { op = "hold", who = "theo", item = "cherry_pie" })):contains("held by rosa")

  -- while the delivery is on, the pie is in the scene
  t:reply("theo", "\"Ladies and gentlemen, the main event.\"", nil)
  t:say("Theo, you want a slice?")
  t:expect(t:prompt("theo")):contains("cherry pie")

  -- half an hour on, the delivery is over
  t:act({ op = "advance_time", minutes = 30 })
  t:reply("rosa", "\"Eddie's a good kid. Slow, but good.\"", nil)
  t:say("Rosa, that was something.")
  s = t:state()
  t:expect(s.events.pie_delivery.status):equals("completed")
  -- the promoted slip stays with Rosa; the pie went back with the event
  t:expect(h.has(s.entities.rosa.holding, "delivery_slip")):is_true()
  t:expect(h.has(s.entities.rosa.holding, "cherry_pie")):equals(false)
  t:expect(h.holder(s, "cherry_pie")):is_nil()
  t:expect(rejection(t, { op = "hold", who = "theo", item = "cherry_pie" })):contains("completed")
  -- the event_complete hook: Theo stayed, so Rosa softened (on her edge only)
  t:expect(s.edge("rosa", "theo").affinity):equals(50)

  t:reply("theo", "\"Best slice of my life and I've had two.\"", nil)
  t:say("Theo, still hungry?")
  local p = t:prompt("theo")
  t:expect(p):not_contains("cherry")
  t:expect(p):not_contains("held the door for the pie")
end)

test("leaving the diner ends the delivery early", function(t)
  t:act({ op = "advance_time", minutes = 40 })
  t:reply("rosa", "\"Pie's here, hon.\"", nil)
  t:say("Rosa, is that the pie?")
  t:expect(t:state().events.pie_delivery.status):equals("active")
  t:act({ op = "move", who = "you", location = "parking_lot" })
  -- alone in the parking lot: no bot hears the next line, so nobody answers
  t:say("Nobody's out here.")
  t:expect(t:state().events.pie_delivery.status):equals("completed")
end)
