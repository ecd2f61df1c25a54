-- std.retrieval: how a character's long-term memories are ranked.
--
-- Before a bot speaks, the engine looks through everything that bot can
-- remember (only what it witnessed: the filter is part of every search) for
-- the memories that bear on the player's line, and puts the best few (8 by
-- default) in its prompt, each with its score and the parts of the score in
-- the prompt's manifest. A memory's score is the sum of five parts, each a
-- weight below times a signal between 0 and 1:
--
--   vector        how close the memory's embedding is to the line's. The
--                 signal is relative to this search: the closest candidate
--                 gets 1, the farthest 0 (raw cosines mean different things
--                 for different embedders).
--   lexical       the share of the line's informative words the memory
--                 contains, each word weighted by how rare it is among the
--                 character's memories (idf², a tf-idf dot product): a name,
--                 a number, "harmonica" count; "remember", "left" hardly do.
--   recency       0.5 ^ (age / half_life), age in minutes of world time.
--   significance  (score - 1) / 9, from the significance worker: a model's
--                 1..10 rating, or std.significance.score offline.
--   pinned        1 for a memory pinned by a pin command (those are always
--                 recalled, up to the limit) or auto-pinned: significance at
--                 or above auto_pin.
--
-- A pack changes any of them with retrieval{} (the keys it names only):
--
--   retrieval{ recency = 0.3, half_life = 12 * 60 }   -- a story of hours, not weeks
--   retrieval{ auto_pin = 0 }                          -- nothing is pinned but by hand
--
-- The numbers, and why:
--
-- * Relevance first. vector + lexical = 0.65 of the 1.1 a memory can score:
--   a memory comes back because it bears on what was just said, the way a
--   person is reminded. Two signals, because each misses what the other
--   catches: the lexical part never blurs a name or a number but knows no
--   word forms; the embedding matches "harmonicas" to "harmonica" and
--   "hid" to "hide" (and, with a model, meanings) but blurs rare words.
--   vector weighs more because, being relative, it always separates the
--   candidates; lexical is absolute, so a line that shares nothing with any
--   memory does not pretend it does.
-- * Recency is a tie-breaker, not a filter: 0.10, halving every 3 days of
--   world time. Between two equally relevant memories the newer wins (the
--   key moved to the glovebox after it was under the pot), but a week-old
--   memory that fits still beats yesterday's small talk that does not. A
--   fresh unrelated line gets at most 0.10 from it.
-- * Significance likewise: 0.10. A confession outranks small talk of the
--   same relevance; an unrelated confession does not push out a relevant
--   line (it gets at most 0.10 here, plus its pin bonus if auto-pinned).
-- * Pinned: 0.25, enough that a pinned memory comes in whenever it is
--   somewhat relevant, not so much that the same three revelations fill
--   every prompt: an unrelated auto-pinned memory scores about 0.45 at
--   best, a memory that fits the line well 0.5 to 0.8.
-- * auto_pin = 9: std.significance gives 9 and 10 to confessions with
--   stakes ("I never told anyone, but I crashed the car"), rarely to
--   anything else; a model's 9 is similar. 0 turns auto-pinning off.
-- * recent_lines = 24: a bot's prompt carries its newest lines verbatim
--   (the history section, 24 by default); recalling them again would waste
--   the memory slots on what is on screen. Keep it in step with the lines
--   your prompts show.

local M = {}

--- The default weights.
M.defaults = {
  vector = 0.40,
  lexical = 0.25,
  recency = 0.10,
  significance = 0.10,
  pinned = 0.25,
  half_life = 3 * 24 * 60, -- minutes of world time
  auto_pin = 9,            -- significance 1..10, or 0 for never
  recent_lines = 24,
}

--- weights([overrides]) -> the defaults with overrides applied (a new table).
function M.weights(overrides)
  local w = {}
  for k, v in pairs(M.defaults) do
    w[k] = v
  end
  for k, v in pairs(overrides or {}) do
    w[k] = v
  end
  return w
end

return M
