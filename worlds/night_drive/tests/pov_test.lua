-- Point of view: a bot's prompt is built from what that bot witnessed and
-- from its own feelings, never from anyone else's. These tests are the proof
-- for this pack: they read the actual prompts the engine built.

test("a secret told while Jun is out of the car never reaches his prompt", function(t)
  -- Gas stop. Jun goes into the shop: out of earshot of the car.
  t:act({ op = "move", who = "car", location = "gas_station" })
  t:act({ op = "move", who = "jun", location = "gas_station_shop" })

  -- Only Mara hears this one (Jun is in the shop), so only she is chosen to answer.
  t:reply("mara", "*Her hands tighten on the wheel.* \"You did what? ...Fine. Not a word.\"", nil)
  t:say("Mara, quick, before he's back: I'm the one who dented his guitar case. Don't tell him.")
  t:expect(t:prompt("mara")):contains("dented his guitar case")

  -- Jun walks back from the shop and gets in.
  t:act({ op = "move", who = "jun", location = "gas_station" })
  t:act({ op = "move", who = "jun", container = "car", slot = "passenger" })

  t:reply("jun", "\"They were out of the good chips. Did I miss anything?\"", nil)
  t:say("Jun! Find everything?")
  local p = t:prompt("jun")
  t:expect(p):contains("Find everything?")
  t:expect(p):not_contains("guitar case")
  t:expect(p):not_contains("Not a word")

  -- Still true a turn later, with the secret's own words in the player's line:
  -- retrieval looks for "guitar", and must not find what Jun never heard.
  t:reply("jun", "\"My guitar? It's in the trunk, why?\"", nil)
  t:say("Jun, where's your guitar anyway?")
  t:expect(t:prompt("jun")):not_contains("dented")
end)

test("Mara's resentment never reaches Jun's prompt", function(t)
  t:reply("jun", "\"Since kindergarten, dude. She bit me. Best day of my life.\"", nil)
  t:say("Jun, how long have you known her?")
  local p = t:prompt("jun")
  -- his own feeling about her does go in ...
  t:expect(p):contains("as close as ever")
  -- ... hers about him does not
  t:expect(p):not_contains("resent")
  t:expect(p):not_contains("take the blame")

  -- Mara's own prompt carries her side, and her reply's state update makes it worse.
  t:reply("mara", "\"Long enough.\" *She doesn't look at him.*", {
    { op = "adjust", who = "mara", to = "jun", affinity = -5, note = "he still tells the crash story like it was funny" },
  })
  t:say("Mara? Long enough for what?")
  t:expect(t:prompt("mara")):contains("take the blame")
  t:expect(t:state().edge("mara", "jun").affinity):equals(-40)

  -- Jun heard her say "Long enough." -- but not what she felt when she said it.
  t:reply("jun", "\"Ha! See? She loves me.\"", nil)
  t:say("Jun, you're awfully cheerful.")
  p = t:prompt("jun")
  t:expect(p):contains("Long enough.")
  t:expect(p):not_contains("like it was funny")
  t:expect(p):not_contains("resent")
  t:expect(t:state().edge("jun", "mara").affinity):equals(70)
end)

test("Jun's manifest lists only Jun's own edges and fits its budget", function(t)
  t:reply("jun", "\"Okay so the plan at the lake is: no plan.\"", nil)
  t:say("Jun, what's the plan at the lake?")
  local m = t:manifest("jun")
  t:expect(m ~= nil):is_true()
  -- edges are listed as "from>to": every one must start at Jun
  t:expect(#m.edges > 0):is_true()
  for _, e in ipairs(m.edges) do
    t:expect(string.sub(e, 1, 4)):equals("jun>")
  end
  t:expect(m.tokens <= m.budget):is_true()
end)
