-- Per-POV scene summaries: when a scene closes, each bot writes its own
-- summary, from what it witnessed, and only its own reaches its prompts.

-- a scene at the gas station where Jun is in the shop when Mara tells Sam a
-- secret, then comes back for the end of it
local function gas_station_scene(t)
  t:act({ op = "move", who = "car", location = "gas_station" })
  t:act({ op = "move", who = "jun", location = "gas_station_shop" })
  t:reply("mara", "\"I saw the money in his jacket. Don't tell him I know.\"", nil)
  t:say("Mara, what did you see back there?")
  t:act({ op = "move", who = "jun", location = "gas_station" })
  t:act({ op = "move", who = "jun", container = "car", slot = "passenger" })
  t:reply("jun", "\"They had the good gum!\"", nil)
  t:say("Jun, you're back.")
end

test("each bot's summary reaches only its own prompt", function(t)
  gas_station_scene(t)
  t:summary("mara", "MARA-SUMMARY: Mara told Sam about the money in Jun's jacket.")
  t:summary("jun", "JUN-SUMMARY: Jun found the good gum.")
  t:act({ op = "move", who = "car", location = "highway" }) -- the scene closes
  t:reply("jun", "\"Where to next?\"", nil)
  t:say("Jun, where to next?")
  t:expect(t:prompt("jun")):contains("JUN-SUMMARY")
  t:expect(t:prompt("jun")):not_contains("MARA-SUMMARY")
  t:reply("mara", "\"North.\"", nil)
  t:say("Mara, which way?")
  t:expect(t:prompt("mara")):contains("MARA-SUMMARY")
  t:expect(t:prompt("mara")):not_contains("JUN-SUMMARY")
end)

test("without a model, the offline summaries still differ by point of view", function(t)
  gas_station_scene(t)
  t:act({ op = "move", who = "car", location = "highway" })
  t:reply("jun", "\"Where to next?\"", nil)
  t:say("Jun, where to next?")
  -- the closed scene's raw lines are gone from the prompt; Jun's summary has
  -- what he heard, never the secret
  t:expect(t:prompt("jun")):contains("good gum")
  t:expect(t:prompt("jun")):not_contains("money")
  t:reply("mara", "\"North.\"", nil)
  t:say("Mara, which way?")
  t:expect(t:prompt("mara")):contains("money in his jacket")
end)
