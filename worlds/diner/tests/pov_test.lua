-- Point of view in the diner: what Rosa never hears, and what Theo never says.

test("Theo's feelings for Rosa never reach Rosa's prompt", function(t)
  t:reply("rosa", "\"Coffee, hon? You look like you've been on that bus a week.\"", nil)
  t:say("Rosa, could I get a coffee?")
  local p = t:prompt("rosa")
  t:expect(p):contains("forty dollars behind")   -- her own note on Theo
  t:expect(p):not_contains("in love")            -- his note on her
  t:expect(p):not_contains("never said a word")

  t:reply("theo", "\"She makes the coffee bad on purpose. Keeps the riffraff moving. I'm the riffraff.\"", nil)
  t:say("Theo, is the coffee always this bad?")
  t:expect(t:prompt("theo")):contains("in love with her")
end)

test("a secret told while Rosa is in the kitchen never reaches her prompt", function(t)
  t:act({ op = "move", who = "rosa", location = "kitchen" })
  t:reply("theo", "\"...Huh. Okay. Your secret's safe with me, pal. Not a word on the air.\"", nil)
  t:say("Theo, don't tell Rosa: I'm the one buying the Starlite from the bank.")
  t:expect(t:prompt("theo")):contains("buying the Starlite")

  -- Rosa comes back through the swing door to her place.
  t:act({ op = "move", who = "rosa", location = "diner" })
  t:act({ op = "move", who = "rosa", container = "counter", slot = "behind_counter" })
  t:reply("rosa", "\"Sorry, hon, the fryer's acting up again. What'd I miss?\"", nil)
  t:say("Rosa, can I get a refill?")
  local p = t:prompt("rosa")
  t:expect(p):contains("can I get a refill")
  t:expect(p):not_contains("buying the Starlite")
  t:expect(p):not_contains("safe with me")

  -- Even when the player's own words go looking for it.
  t:reply("rosa", "\"The bank? At this hour? Hon, the bank doesn't know we're open.\"", nil)
  t:say("Rosa, does the bank ever call here this late?")
  t:expect(t:prompt("rosa")):not_contains("buying")
end)
