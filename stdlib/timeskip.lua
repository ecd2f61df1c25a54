-- std.timeskip: the default time-skip rule.
--
-- A time skip is an *elision* ("later that evening": same scene, compressed)
-- or a *jump* ("three days later": a new scene). The skip itself only moves
-- the clock; a timeskip rule says what changed meanwhile, by issuing commands.
--
-- The default: on a jump, strong moods settle. Anger cools, excitement fades,
-- fear eases; a mood already calm is left alone. Elisions change nothing.
--
--   local std_timeskip = require("std.timeskip")
--   timeskip(std_timeskip.rule)                       -- the default, as is
--   timeskip(std_timeskip.make{ settle_to = "rested", min_minutes = 6 * 60 })
--
-- A pack that declares no timeskip rule gets std_timeskip.rule.

local h = require("std.helpers")

local M = {}

--- Moods that need no settling.
M.calm_moods = { "calm", "content", "relaxed", "rested", "neutral", "fine", "steady", "peaceful", "settled" }

--- What a strong mood settles to after a jump. Moods not listed settle to
--- the rule's settle_to (default "calm").
M.settles = {
  furious = "irritated",
  angry = "cooler, still sore",
  enraged = "irritated",
  irritated = "calm",
  annoyed = "calm",
  ecstatic = "content",
  elated = "content",
  excited = "content",
  giddy = "content",
  terrified = "uneasy",
  scared = "uneasy",
  afraid = "uneasy",
  anxious = "calm",
  nervous = "calm",
  restless = "calm",
  heartbroken = "sad",
  devastated = "sad",
  sad = "wistful",
  embarrassed = "calm",
  jealous = "wary",
  tired = "rested",
  exhausted = "rested",
}

local function settled(mood, opts)
  local m = string.lower(mood or "")
  if m == "" or h.has(opts.calm_moods, m) then
    return nil
  end
  local to = opts.map[m]
  if to == nil then
    -- "a bit anxious", "angry at Jun": settle on the first known word.
    for _, w in ipairs(h.words(m)) do
      if opts.map[w] then
        to = opts.map[w]
        break
      end
    end
  end
  to = to or opts.settle_to
  if to == m then
    return nil
  end
  return to
end

--- make(opts) returns a timeskip rule function(s, skip).
--- opts (all optional):
---   settle_to   mood for anything not in map (default "calm")
---   map         table mood -> settled mood (default M.settles)
---   calm_moods  moods left alone (default M.calm_moods)
---   min_minutes only jumps at least this long settle moods (default 0)
---   who         list of ids to settle (default: the bots; the player's mood
---               is the player's own)
function M.make(opts)
  opts = opts or {}
  local o = {
    settle_to = opts.settle_to or "calm",
    map = opts.map or M.settles,
    calm_moods = opts.calm_moods or M.calm_moods,
    min_minutes = opts.min_minutes or 0,
    who = opts.who,
  }
  return function(s, skip)
    if skip == nil or skip.kind ~= "jump" then
      return
    end
    if (skip.minutes or 0) < o.min_minutes then
      return
    end
    local ids = o.who or h.bots(s)
    for _, id in ipairs(ids) do
      local e = s.entities[id]
      if e ~= nil then
        local to = settled(e.mood, o)
        if to then
          s.act.set_mood({ who = id, mood = to })
        end
      end
    end
  end
end

--- rule: the default rule, M.make{}.
M.rule = M.make({})

--- settle(mood[, opts]) -> the settled mood, or nil when it stays: handy in
--- a pack's own rule.
function M.settle(mood, opts)
  opts = opts or {}
  return settled(mood, {
    settle_to = opts.settle_to or "calm",
    map = opts.map or M.settles,
    calm_moods = opts.calm_moods or M.calm_moods,
  })
end

return M
