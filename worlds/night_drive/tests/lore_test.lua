-- Lore fires on its keys, and known_by keeps an entry out of the prompts of
-- those who do not know it.

test("lake lore fires when the lake comes up", function(t)
  t:reply("jun", "\"Two hours, tops.\"", nil)
  t:say("Jun, how far is the lake?")
  t:expect(t:prompt("jun")):contains("swam there every summer")
  t:expect(t:manifest("jun").lore[1].id):equals("lake_mercy")
end)

test("Mara's secret job trouble stays out of Jun's prompt", function(t)
  t:reply("mara", "\"Don't ask about work.\"", nil)
  t:reply("jun", "\"Work schmork.\"", nil)
  t:say("Mara, Jun, how's work?")
  t:expect(t:prompt("mara")):contains("might be fired")
  t:expect(t:prompt("jun")):not_contains("might be fired")
end)

test("the crash is known to Mara and Jun, not to the player's lore", function(t)
  t:reply("jun", "\"We don't talk about the crash.\"", nil)
  t:say("Jun, what really happened in the crash?")
  t:expect(t:prompt("jun")):contains("told the police she had been driving")
end)
