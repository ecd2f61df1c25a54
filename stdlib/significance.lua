-- std.significance: a cheap, deterministic significance heuristic.
--
--   local sig = require("std.significance")
--   sig.score("I never told you this, but I crashed the car.")   --> 8
--   sig.score("ok")                                              --> 1
--
-- Scores run 1 (small talk) to 10 (a revelation). The engine uses it to rank
-- memories for retrieval and to decide what to auto-pin before (or instead of)
-- asking a model; a pack may wrap or replace it. It looks only at the text:
-- length, stakes words, confession phrases, promises and plans, emphasis,
-- and (optionally) names of the cast.

local h = require("std.helpers")

local M = {}

--- Words that raise the stakes of a line (+2 each, at most +4 in all).
M.strong = {
  "secret", "secrets", "promise", "promised", "love", "hate", "die", "died", "dead", "death",
  "kill", "killed", "betray", "betrayed", "truth", "confess", "forgive", "pregnant",
  "divorce", "married", "marry", "accident", "crash", "crashed", "fired", "blame",
  "goodbye", "funeral", "hospital", "gun", "police", "money", "debt",
}

--- Words that colour a line emotionally (+1 each, at most +2 in all).
M.emotional = {
  "sorry", "afraid", "scared", "angry", "miss", "lonely", "cry", "crying", "hurt", "lie",
  "lied", "lying", "trust", "never", "always", "kiss", "kissed", "jealous", "ashamed",
  "proud", "remember", "forget", "leave", "leaving", "quit", "tired", "wish", "fault",
}

--- Phrases that mark a confession or a commitment (+3 once).
M.revelations = {
  "i never told", "never told anyone", "don't tell", "do not tell", "between us",
  "i have to tell you", "i need to tell you", "the truth is", "i swear", "i promise",
  "you can't tell", "keep this quiet", "nobody knows", "no one knows",
}

--- Words that mark plans and appointments (+1 once): the story will need them.
M.plans = { "tomorrow", "tonight", "later", "next", "meet", "o'clock", "week", "monday",
  "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }

--- Lines that are only small talk (score 1).
M.filler = { "ok", "okay", "yeah", "yes", "no", "sure", "hm", "hmm", "lol", "right", "cool",
  "thanks", "mhm", "uh", "um", "oh", "ah", "nice", "fine" }

local function set_of(list)
  local t = {}
  for _, w in ipairs(list) do
    t[w] = true
  end
  return t
end

local strong_set, emotional_set, plan_set, filler_set

--- score(text[, opts]) -> integer 1..10.
--- opts.names: a list of names (the cast) whose mention adds 1.
function M.score(text, opts)
  strong_set = strong_set or set_of(M.strong)
  emotional_set = emotional_set or set_of(M.emotional)
  plan_set = plan_set or set_of(M.plans)
  filler_set = filler_set or set_of(M.filler)
  opts = opts or {}
  text = tostring(text or "")
  local words = h.words(text)
  if #words == 0 then
    return 1
  end
  -- only filler words: small talk
  local all_filler = true
  for _, w in ipairs(words) do
    if not filler_set[w] then
      all_filler = false
      break
    end
  end
  if all_filler then
    return 1
  end

  local score = 2
  local len = string.len(text)
  if len > 80 then
    score = score + 1
  end
  if len > 240 then
    score = score + 1
  end
  if len < 15 then
    score = score - 1
  end

  local strong, emo, plan = 0, 0, false
  for _, w in ipairs(words) do
    if strong_set[w] then
      strong = strong + 2
    elseif emotional_set[w] then
      emo = emo + 1
    elseif plan_set[w] then
      plan = true
    end
  end
  score = score + math.min(strong, 4) + math.min(emo, 2)
  if plan or string.find(text, "%d%d?:%d%d") then
    score = score + 1
  end

  local lower = string.lower(text)
  for _, p in ipairs(M.revelations) do
    if string.find(lower, p, 1, true) then
      score = score + 3
      break
    end
  end
  if string.find(text, "!") then
    score = score + 1
  end
  for _, name in ipairs(opts.names or {}) do
    if h.mentions(text, name) then
      score = score + 1
      break
    end
  end
  return h.clamp(score, 1, 10)
end

--- normalized(score) -> 0..1, for engines that keep significance as a fraction.
function M.normalized(score)
  return (h.clamp(score, 1, 10) - 1) / 9
end

return M
