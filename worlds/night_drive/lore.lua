-- Lore: background entries that enter a prompt when their keys come up in
-- what the speaker just heard (SillyTavern's World Info, NovelAI's lorebook).
-- `known_by` limits an entry to the characters who know it: a witness mask
-- for lore. Entries enter within the lore budget, constant ones first, then
-- by priority; the manifest says which entry fired on which key.

lore({
  id = "lake_mercy",
  keys = { "lake", "Mercy" },
  text = "Lake Mercy: a cold mountain lake two hours north; the three of them swam there every summer in college.",
  priority = 10,
})

lore({
  id = "the_crash",
  keys = { "crash", "accident", "guardrail" },
  text = "Two summers ago Jun was driving when Mara's old car hit the guardrail on Route 9; Mara told the police she had been driving. Only Mara and Jun know.",
  known_by = { "mara", "jun" },
  priority = 20,
})

lore({
  id = "mara_job",
  keys = { "hospital", "shift", "work" },
  text = "Mara is a night nurse at St. Agnes; she took three nights off for this trip and has not told anyone she might be fired.",
  known_by = { "mara" },
})
