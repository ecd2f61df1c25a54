-- std.speakers: the default rule for who answers the player's line.
--
--   local speakers = require("std.speakers")
--   speakers.select(s, msg)   --> { "mara" }   (bot ids, in speaking order)
--
-- The rule, in order:
--   1. Only bots that heard the line can answer: those at the player's location.
--   2. A bot addressed by name (or id) answers. If the line names both bots,
--      or speaks to the group ("both of you", "you two", "guys", "everyone"),
--      both answer, in the order they were named (initiative order otherwise).
--   3. Otherwise one bot answers, chosen by initiative: a bot whose attention
--      is on the player scores 3, one sharing the player's container scores 1,
--      one holding a prop of an active story event scores 1; ties are broken
--      by rotating the bots (in cast order) with the turn number, so the two bots take
--      turns instead of one hogging the conversation.
-- The rule is deterministic: the same state and line always pick the same
-- speakers, which pack tests rely on (queue a t:reply for each one).

local h = require("std.helpers")

local M = {}

--- Phrases that address every bot present.
M.group_phrases = { "both of you", "you two", "you both", "guys", "everyone", "everybody", "y'all", "all of you" }

-- text of a message: hooks receive { who = ..., text = ... }; a bare string works too.
local function text_of(msg)
  if type(msg) == "table" then
    return msg.text or ""
  end
  return tostring(msg or "")
end

--- candidates(s): bots in earshot of the player, in cast order.
function M.candidates(s)
  local player = h.player(s)
  local out = {}
  if player == nil then
    return out
  end
  for _, id in ipairs(h.bots(s)) do
    if h.together(s, id, player) then
      out[#out + 1] = id
    end
  end
  return out
end

-- first position in text where the bot is named (by name, first name or id), or nil.
local function mention_pos(s, text, id)
  local lower = " " .. string.gsub(string.lower(text), "[^%w']", " ") .. " "
  local best
  local e = s.entities[id]
  local names = { id }
  if e and e.name then
    names[#names + 1] = e.name
    local first = string.match(e.name, "^(%S+)")
    if first then
      names[#names + 1] = first
    end
  end
  for _, n in ipairs(names) do
    local needle = " " .. string.gsub(string.lower(n), "[^%w']", " ") .. " "
    local at = string.find(lower, needle, 1, true)
    if at and (best == nil or at < best) then
      best = at
    end
  end
  return best
end

--- addressed(s, text, candidates): the candidates named in text, in order of
--- first mention.
function M.addressed(s, text, candidates)
  local named = {}
  for _, id in ipairs(candidates) do
    local at = mention_pos(s, text, id)
    if at then
      named[#named + 1] = { id = id, at = at }
    end
  end
  table.sort(named, function(a, b)
    if a.at ~= b.at then
      return a.at < b.at
    end
    return a.id < b.id
  end)
  local out = {}
  for i, n in ipairs(named) do
    out[i] = n.id
  end
  return out
end

--- to_group(text): true if the line speaks to everyone present.
function M.to_group(text)
  local lower = " " .. string.gsub(string.lower(text), "[^%w']", " ") .. " "
  for _, p in ipairs(M.group_phrases) do
    if string.find(lower, " " .. p .. " ", 1, true) then
      return true
    end
  end
  return false
end

--- initiative(s, candidates): the candidates, best first (see the rule above).
function M.initiative(s, candidates)
  local player = h.player(s)
  local pe = s.entities[player]
  local n = #candidates
  local scored = {}
  for i, id in ipairs(candidates) do
    local e = s.entities[id]
    local score = 0
    if e.attention == player or (pe and e.attention == pe.name) then
      score = score + 3
    end
    if pe and pe.container and pe.container ~= "" and e.container == pe.container then
      score = score + 1
    end
    for _, item in ipairs(e.holding or {}) do
      for _, ev in pairs(s.events) do
        if ev.status == "active" and h.has(ev.props, item) then
          score = score + 1
        end
      end
    end
    -- rotation: on turn t, the bot at position (t mod n) wins ties.
    local rot = ((i - 1) - (s.turn or 0)) % n
    scored[#scored + 1] = { id = id, score = score, rot = rot }
  end
  table.sort(scored, function(a, b)
    if a.score ~= b.score then
      return a.score > b.score
    end
    return a.rot < b.rot
  end)
  local out = {}
  for i, c in ipairs(scored) do
    out[i] = c.id
  end
  return out
end

--- select(s, msg): the bots that answer msg, in order. Empty when no bot heard it.
function M.select(s, msg)
  local text = text_of(msg)
  local cands = M.candidates(s)
  if #cands == 0 then
    return {}
  end
  if M.to_group(text) then
    local named = M.addressed(s, text, cands)
    if #named == #cands then
      return named
    end
    return M.initiative(s, cands)
  end
  local named = M.addressed(s, text, cands)
  if #named > 0 then
    return named
  end
  return { M.initiative(s, cands)[1] }
end

return M
