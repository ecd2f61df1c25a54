-- Time: turns advance the clock; an elision keeps the scene, a jump closes
-- it and runs the time-skip rules; a scheduled event fires on a skip that
-- passes its time.

test("a turn advances the clock by the pack's rule", function(t)
  local before = t:state().minutes
  t:reply("rosa", "\"Coffee?\"", nil)
  t:say("Rosa, coffee please.")
  t:expect(t:state().minutes > before):is_true()
end)

test("an elision keeps the scene", function(t)
  local scene = t:state().scene
  t:act({ op = "skip", kind = "elision", minutes = 20, label = "a little later" })
  t:expect(t:state().scene):equals(scene)
end)

test("a jump closes the scene", function(t)
  local scene = t:state().scene
  t:act({ op = "skip", kind = "jump", minutes = 2 * 24 * 60, label = "two days later" })
  t:expect(t:state().scene):equals(scene + 1)
  t:expect(t:state().last_skip.kind):equals("jump")
end)

test("a skip past midnight fires the scheduled pie delivery", function(t)
  t:expect(t:state().events.pie_delivery.status):equals("planned")
  t:act({ op = "skip", kind = "elision", minutes = 60 * 3, label = "later that night" })
  local status = t:state().events.pie_delivery.status
  -- the skip passed midnight: the delivery started (and, if the skip ran
  -- past its half hour, ended at the next check)
  t:expect(status ~= "planned"):is_true()
end)
