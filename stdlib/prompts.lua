-- std.prompts: the default prompt templates.
--
-- A template turns a prompt context `ctx` into a list of *sections*:
--
--   { { name = "system", text = "...", priority = 100 }, ... }
--
-- in the order they appear in the prompt. The engine fits them to the token
-- budget by dropping the lowest priority first (never reordering; a section
-- with priority >= 100 is never dropped), trims list sections (`items`) oldest
-- item first, merges consecutive sections of the same role into one chat
-- message, and records in the prompt's manifest which sections, memories,
-- lines and edges went in.
--
-- Section fields: name, text, priority, role ("system" default, "user",
-- "assistant"), items (a list of strings or { text, memory = ID, event = ID }
-- replacing text), memories / events (ids the section carries), edges
-- ("from>to" keys), memory = ID / line = ID (the one memory or line it renders).
--
-- ORDER: from the most stable to the least stable. Consecutive prompts of the
-- same bot then share a long prefix (system, persona, world, feelings ...)
-- that the model server can reuse from its cache; only the tail (scene,
-- memories, recent lines) changes turn to turn. Keep dynamic text (the clock,
-- moods, retrieved memories) out of the early sections when you override them.
--
-- ctx is already limited to the speaker's point of view: its own feelings
-- (never another character's edges or notes), the lines and memories it
-- witnessed, what it can see of the others present. Every field is listed in
-- docs/authoring.md ("The prompt context").
--
-- Packs override one section by name, or a whole template:
--
--   prompt("system", function(ctx, std) return std.sections.system(ctx) .. "\nNo swearing." end)
--   prompt("reply", function(ctx, std) return { { name = "all", text = "...", priority = 100 } } end)
--
-- A section override returns a string (its text: the default name, role,
-- priority and position are kept), a section table, a list of section
-- tables, or nil to leave the section out.

local h = require("std.helpers")

local M = {}

--- The sections of the "reply" template, most stable first.
M.order = {
  "system",        -- how to play: fixed for the whole story
  "persona",       -- who the speaker is: fixed per character
  "world",         -- the world and the current place: changes per scene
  "relationships", -- the speaker's own feelings about those present
  "goals",         -- the speaker's private goals
  "threads",       -- open story threads
  "lore",          -- background entries whose keys came up (and that the speaker knows)
  "scene",         -- where everyone is, how they look, props in play: changes now and then
  "history",       -- the lines the speaker heard this scene, oldest first: only grows within a scene
  "memories",      -- retrieved memories, worst first (trimmed first): change with every line
  "now",           -- the clock: changes every turn
  "instruction",   -- what to write now
}

-- Why this order: a model server caches the longest prompt prefix it has
-- seen, and everything after the first changed byte is computed again. The
-- clock moves every turn and retrieval follows the latest line, so they come
-- last (the clock has a section of its own, so the scene above stays put); the history window only grows within a scene (it is cut in steps,
-- not slid line by line), so consecutive prompts of a bot share everything
-- up to its newest lines.

--- Default priorities (higher survives longer; >= 100 is never dropped).
M.priority = {
  system = 100,
  persona = 96,
  world = 60,
  relationships = 80,
  goals = 70,
  threads = 55,
  scene = 92,
  now = 100,
  lore = 50,
  memories = 40,
  history = 88,
  instruction = 100,
}

--- Default roles: everything is system text except the conversation and the
--- closing instruction, which go in the final user message (chat templates
--- and some servers require one).
M.role = {
  history = "user",
  memories = "user",
  now = "user",
  instruction = "user",
}

-- ---------------------------------------------------------------------------
-- small renderers

--- feeling(affinity) -> "close", "warm", "neutral", "cool", "hostile".
function M.feeling(v)
  v = v or 0
  if v >= 60 then
    return "close"
  elseif v >= 20 then
    return "warm"
  elseif v > -20 then
    return "neutral"
  elseif v > -60 then
    return "cool"
  end
  return "hostile"
end

--- trust_word(trust) -> "trusts them completely" ... "does not trust them at all".
function M.trust_word(v)
  v = v or 0
  if v >= 60 then
    return "trusts them completely"
  elseif v >= 20 then
    return "trusts them"
  elseif v > -20 then
    return "is unsure whether to trust them"
  elseif v > -60 then
    return "distrusts them"
  end
  return "does not trust them at all"
end

local function set(v)
  return v ~= nil and v ~= ""
end

local function items(list)
  local out = {}
  for i = 1, #(list or {}) do
    out[i] = h.humanize(list[i])
  end
  return h.list_phrase(out)
end

local function things(list)
  local out = {}
  for i = 1, #(list or {}) do
    out[i] = "the " .. h.humanize(list[i])
  end
  return h.list_phrase(out)
end

-- where(ctx, e): "in Mara's Corolla (driver)" or "at Highway 9".
local function where(ctx, e)
  local me = ctx.speaker
  if set(e.container) then
    local cname = (e.container == me.container and set(me.container_name)) and me.container_name
      or h.humanize(e.container)
    return "in " .. cname .. " (" .. h.humanize(e.slot) .. ")"
  end
  if e.location == me.location and set(me.location_name) then
    return "at " .. me.location_name
  end
  return "at " .. h.humanize(e.location)
end

local function quote(text, n)
  local words = {}
  for w in string.gmatch(text or "", "%S+") do
    words[#words + 1] = w
    if #words >= n then
      words[#words + 1] = "..."
      break
    end
  end
  return table.concat(words, " ")
end

local function now(ctx)
  return (ctx.world and ctx.world.now) or ctx.now or "2000-01-01T00:00"
end

-- ---------------------------------------------------------------------------
-- the sections of the reply template; each returns a string, a section,
-- a list of sections, or nil

M.sections = {}

function M.sections.system(ctx)
  local name = ctx.speaker.name
  local title = (ctx.world and set(ctx.world.title)) and ctx.world.title or "an interactive story"
  return table.concat({
    "You are " .. name .. ", a character in " .. title .. ", an interactive story told in turns.",
    "Write only " .. name .. "'s next turn: speech in quotes, actions in *asterisks*, in "
      .. name .. "'s own voice. Never speak or act for anyone else.",
    name .. " knows only what this prompt shows: what " .. name
      .. " saw, heard, remembers or was told. If something is not here, " .. name .. " does not know it.",
    "Stay concrete: react to what was just said, use the place and the people around you, "
      .. "vary the length of your sentences, and do not summarise the scene.",
  }, "\n")
end

function M.sections.persona(ctx)
  local e = ctx.speaker
  local out = { "# " .. e.name }
  if set(e.persona) then
    out[#out + 1] = e.persona
  end
  if set(e.description) then
    out[#out + 1] = e.description
  end
  if set(e.appearance) then
    out[#out + 1] = "Appearance: " .. e.appearance
  end
  if set(e.speech) then
    out[#out + 1] = "Speech: " .. e.speech
  end
  return table.concat(out, "\n")
end

function M.sections.world(ctx)
  local out = {}
  if ctx.world and set(ctx.world.title) then
    out[#out + 1] = "# " .. ctx.world.title
  end
  local me = ctx.speaker
  local place = set(me.location_name) and me.location_name or h.humanize(me.location)
  if set(me.location_description) then
    place = place .. ": " .. me.location_description
  end
  out[#out + 1] = place
  return table.concat(out, "\n")
end

function M.sections.relationships(ctx)
  local me = ctx.speaker.name
  local out = {}
  for _, f in ipairs(ctx.feelings or {}) do
    local who = set(f.name) and f.name or f.to
    local line = "- " .. who .. ": " .. me .. " feels " .. M.feeling(f.affinity) .. " towards " .. who
      .. " and " .. M.trust_word(f.trust) .. "."
    if set(f.note) then
      line = line .. " (" .. f.note .. ")"
    end
    out[#out + 1] = line
  end
  local g = ctx.group
  if g and g.cohesion and g.cohesion ~= 0 then
    out[#out + 1] = "- The group as a whole: " .. M.feeling(g.cohesion) .. "."
  end
  if #out == 0 then
    return nil
  end
  return {
    text = "# How " .. me .. " feels (private: only " .. me .. " knows this)\n" .. table.concat(out, "\n"),
    edges = ctx.edges,
  }
end

function M.sections.goals(ctx)
  local goals = ctx.speaker.goals or {}
  if #goals == 0 then
    return nil
  end
  local out = { "# What " .. ctx.speaker.name .. " wants (private)" }
  for _, g in ipairs(goals) do
    out[#out + 1] = "- " .. g
  end
  return table.concat(out, "\n")
end

function M.sections.threads(ctx)
  local ts = ctx.threads or {}
  if #ts == 0 then
    return nil
  end
  local out = { "# Unresolved" }
  for _, t in ipairs(ts) do
    out[#out + 1] = "- " .. t.text
  end
  return table.concat(out, "\n")
end

--- lore: the background entries that fired, in their declared order. The
--- engine already applied keys, known_by and the lore budget; each entry is
--- an item, so the manifest can say which went in.
function M.sections.lore(ctx)
  local entries = ctx.lore or {}
  if #entries == 0 then
    return nil
  end
  local list = {}
  for _, e in ipairs(entries) do
    list[#list + 1] = { text = "- " .. e.text }
  end
  return {
    { text = "# Background " .. ctx.speaker.name .. " knows", priority = M.priority.lore },
    { items = list },
  }
end

function M.sections.now(ctx)
  local t = now(ctx)
  return "It is " .. h.date_of(t) .. ", " .. h.time_of(t) .. " (" .. h.part_of_day(t) .. ")."
end

function M.sections.scene(ctx)
  local e = ctx.speaker
  local out = { "# The scene" }
  local me = e.name .. " is " .. where(ctx, e)
  local view = {}
  if e.sees and #e.sees > 0 then
    view[#view + 1] = "can see " .. things(e.sees)
  end
  if e.reaches and #e.reaches > 0 then
    view[#view + 1] = "can reach " .. things(e.reaches)
  end
  if #view > 0 then
    me = me .. " and " .. table.concat(view, " and ")
  end
  out[#out + 1] = me .. "."
  local state = {}
  if set(e.mood) then
    state[#state + 1] = "mood: " .. e.mood
  end
  if set(e.doing) then
    state[#state + 1] = "doing: " .. e.doing
  end
  if e.holding and #e.holding > 0 then
    state[#state + 1] = "holding: " .. items(e.holding)
  end
  if set(e.attention) then
    local target = e.attention
    for _, o in ipairs(ctx.present or {}) do
      if o.id == target then
        target = o.name
      end
    end
    state[#state + 1] = "attention on: " .. h.humanize(target)
  end
  if #state > 0 then
    out[#out + 1] = e.name .. " (" .. table.concat(state, "; ") .. ")"
  end
  local present = ctx.present or {}
  if #present == 0 then
    out[#out + 1] = "Nobody else is here."
  end
  for _, o in ipairs(present) do
    local parts = { o.name .. " is " .. where(ctx, o) }
    if set(o.mood) then
      parts[#parts + 1] = "seems " .. o.mood
    end
    if set(o.doing) then
      parts[#parts + 1] = o.doing
    end
    if o.holding and #o.holding > 0 then
      parts[#parts + 1] = "holding " .. items(o.holding)
    end
    if set(o.appearance) then
      parts[#parts + 1] = "looks: " .. (string.gsub(o.appearance, "[%.%s]+$", ""))
    end
    out[#out + 1] = table.concat(parts, "; ") .. "."
  end
  for _, ev in ipairs(ctx.events or {}) do
    local line = "Happening now: " .. (set(ev.title) and ev.title or h.humanize(ev.id))
    if ev.props and #ev.props > 0 then
      line = line .. " (with " .. items(ev.props) .. ")"
    end
    out[#out + 1] = line .. "."
  end
  return table.concat(out, "\n")
end

function M.sections.memories(ctx)
  local ms = {}
  for i, m in ipairs(ctx.memories or {}) do
    ms[i] = m
  end
  if #ms == 0 then
    return nil
  end
  local name = ctx.speaker.name
  -- items are trimmed from the front when the budget is tight: worst first,
  -- so the best (and pinned) memories sit last, nearest the conversation
  table.sort(ms, function(a, b)
    local sa = (a.pinned and 2 or 0) + (a.score or 0)
    local sb = (b.pinned and 2 or 0) + (b.score or 0)
    if sa ~= sb then
      return sa < sb
    end
    return (a.id or 0) < (b.id or 0)
  end)
  local list = {}
  for _, m in ipairs(ms) do
    local prefix = "- "
    if m.kind == "summary" then
      prefix = "- Earlier: "
    elseif m.kind == "semantic" or m.kind == "fact" then
      prefix = "- " .. name .. " knows: "
    end
    list[#list + 1] = { text = prefix .. m.text, memory = m.id }
  end
  -- a heading, then the list. The heading has a lower priority than the list,
  -- so when the budget is tight it goes first and never dangles alone.
  return {
    { text = "# What " .. name .. " remembers", priority = M.priority.memories - 1 },
    { items = list },
  }
end

function M.sections.history(ctx)
  local ls = ctx.lines or {}
  if #ls == 0 then
    return nil
  end
  local list = {}
  for _, l in ipairs(ls) do
    list[#list + 1] = { text = (set(l.name) and l.name or l.who) .. ": " .. l.text, event = l.id }
  end
  -- oldest lines are trimmed first when the budget is tight; the heading
  -- (lower priority) goes before any line does
  return {
    { text = "# What " .. ctx.speaker.name .. " heard just now", priority = M.priority.history - 1 },
    { items = list },
  }
end

function M.sections.instruction(ctx)
  local name = ctx.speaker.name
  return "Now write " .. name .. "'s reply, as " .. name .. ", from " .. name .. "'s point of view."
end

-- ---------------------------------------------------------------------------
-- composing

local function fill(name, sec)
  sec.name = sec.name or name
  sec.priority = sec.priority or M.priority[name] or 50
  if sec.role == nil and M.role[name] then
    sec.role = M.role[name]
  end
  return sec
end

-- normalize turns a builder's result into a list of sections.
local function normalize(name, r, out)
  if r == nil or r == false then
    return
  end
  if type(r) == "string" then
    if r ~= "" then
      out[#out + 1] = fill(name, { text = r })
    end
    return
  end
  if type(r) == "table" and (r.text ~= nil or r.items ~= nil) then
    local sec = {}
    for k, v in pairs(r) do
      sec[k] = v
    end
    if (sec.text == nil or sec.text == "") and (sec.items == nil or #sec.items == 0) then
      return
    end
    out[#out + 1] = fill(name, sec)
    return
  end
  if type(r) == "table" then
    for _, sec in ipairs(r) do
      normalize(name, sec, out)
    end
    return
  end
  error("prompt section " .. name .. ": want a string, a section table, a list of sections or nil, got " .. type(r), 0)
end

--- normalize(name, result) -> a list of sections.
function M.normalize(name, r)
  local out = {}
  normalize(name, r, out)
  return out
end

--- compose(order, builders, ctx, overrides): run each section builder in
--- order (an override replaces the default of the same name) and return the
--- sections.
function M.compose(order, builders, ctx, overrides)
  overrides = overrides or {}
  local out = {}
  for _, name in ipairs(order) do
    local fn = overrides[name] or builders[name]
    if fn then
      normalize(name, fn(ctx, M), out)
    end
  end
  return out
end

-- ---------------------------------------------------------------------------
-- the templates

M.templates = {}

--- reply: a bot's turn.
function M.templates.reply(ctx, overrides)
  return M.compose(M.order, M.sections, ctx, overrides)
end

-- the reply to extract state from: ctx.reply when given, else the latest line
local function reply_of(ctx)
  if type(ctx.reply) == "string" then
    return { name = ctx.speaker.name, text = ctx.reply }
  elseif type(ctx.reply) == "table" then
    return ctx.reply
  end
  local ls = ctx.lines or {}
  for i = #ls, 1, -1 do
    if ls[i].who == ctx.speaker.id then
      return ls[i]
    end
  end
  return { name = ctx.speaker.name, text = "" }
end

M.state_update_sections = {}

function M.state_update_sections.system(ctx)
  return table.concat({
    "You keep the state of an interactive story. Read the reply below and list the changes it makes",
    "to the world as a JSON array of commands, and nothing else. Each command is an object with \"op\"",
    "and the fields of that op (? marks an optional field):",
    ctx.commands or "",
    "Relationship numbers (affinity, trust) are small deltas, e.g. -5 or 3. Use only the ids listed below.",
    "Propose only what the reply states or clearly implies. If nothing changed, answer [].",
    'Example: [{"op":"set_mood","who":"' .. ctx.speaker.id .. '","mood":"amused"}]',
  }, "\n")
end

function M.state_update_sections.scene(ctx)
  local me = ctx.speaker
  local out = { "# Ids" }
  out[#out + 1] = "- here: location " .. me.location .. " (" .. (set(me.location_name) and me.location_name or me.location) .. ")"
  local people = { ctx.speaker }
  for _, o in ipairs(ctx.present or {}) do
    people[#people + 1] = o
  end
  for _, e in ipairs(people) do
    local line = "- " .. e.id .. " (" .. e.name .. "), " .. where(ctx, e)
    if set(e.container) then
      line = line .. " [container " .. e.container .. ", slot " .. e.slot .. "]"
    else
      line = line .. " [location " .. e.location .. "]"
    end
    if set(e.mood) then
      line = line .. ", mood " .. e.mood
    end
    if e.holding and #e.holding > 0 then
      line = line .. ", holding " .. table.concat(e.holding, ", ")
    end
    out[#out + 1] = line
  end
  for _, ev in ipairs(ctx.events or {}) do
    out[#out + 1] = "- active event " .. ev.id .. ", props: " .. table.concat(ev.props or {}, ", ")
  end
  return table.concat(out, "\n")
end

function M.state_update_sections.reply(ctx)
  local r = reply_of(ctx)
  return { text = "# The reply\n" .. (r.name or r.who or ctx.speaker.name) .. ": " .. (r.text or ""), role = "user" }
end

function M.state_update_sections.instruction()
  return { text = "Answer with the JSON array only.", role = "user" }
end

M.state_update_order = { "system", "scene", "reply", "instruction" }

M.priority.reply = 100

--- state_update: the structured extraction after a reply.
function M.templates.state_update(ctx, overrides)
  -- section overrides are for the reply template; state_update takes only
  -- its own whole-template override (see build)
  return M.compose(M.state_update_order, M.state_update_sections, ctx, nil)
end

M.summary_sections = {
  system = function(ctx)
    local n = ctx.speaker.name
    return "You write " .. n .. "'s private memory of a scene that just ended, in the third person, from "
      .. n .. "'s angle: what happened, what " .. n .. " noticed, how " .. n .. " took it. Only what "
      .. n .. " witnessed."
  end,
  persona = M.sections.persona,
  relationships = M.sections.relationships,
  history = M.sections.history,
  instruction = function(ctx)
    local text = "Write the summary in three to five sentences."
    local closed = ctx.closed_props or {}
    if #closed > 0 then
      -- props of ended story events are gone from the world: a summary that
      -- names them would carry them into every later scene
      local names = {}
      for i, p in ipairs(closed) do
        names[i] = h.humanize(p)
      end
      text = text .. " Do not mention " .. table.concat(names, ", ") .. ": that is over."
    end
    return { text = text, role = "user" }
  end,
}

M.summary_order = { "system", "persona", "relationships", "history", "instruction" }

--- summary: a per-POV scene summary, one per witness when a scene closes.
function M.templates.summary(ctx, overrides)
  return M.compose(M.summary_order, M.summary_sections, ctx, nil)
end

-- ---------------------------------------------------------------------------
-- the offline renderer

--- offline(ctx) -> the text of a reply rendered from state, with no model:
--- plain but sensible prose about the speaker's mood, position and hands that
--- acknowledges the player's line. The engine labels it as offline.
function M.offline(ctx)
  local e = ctx.speaker
  local name = e.name
  local turn = (ctx.world and ctx.world.minutes) or 0
  local out = {}
  local place = where(ctx, e)
  local mood = set(e.mood) and e.mood or "quiet"
  local openers = {
    "*" .. name .. " looks up, " .. mood .. ", " .. place .. ".*",
    "*" .. name .. ", " .. place .. ", takes a moment before answering. " .. name .. " seems " .. mood .. ".*",
    "*" .. name .. " shifts " .. place .. ", " .. mood .. ".*",
  }
  out[#out + 1] = openers[(turn % #openers) + 1]
  if e.holding and #e.holding > 0 then
    out[#out + 1] = "*" .. name .. " turns the " .. h.humanize(e.holding[1]) .. " over in their hands.*"
  elseif set(e.doing) then
    out[#out + 1] = "*" .. name .. " keeps " .. e.doing .. ".*"
  end
  local line = ctx.player_line
  if type(line) == "table" then
    line = line.text
  end
  if set(line) then
    if string.find(line, "?", 1, true) then
      out[#out + 1] = "\"'" .. quote(line, 8) .. "' Give me a second, I'm thinking.\""
    else
      out[#out + 1] = "\"'" .. quote(line, 8) .. "' Yeah. I heard you.\""
    end
  else
    out[#out + 1] = "\"Mm.\""
  end
  return table.concat(out, " ")
end

function M.templates.offline(ctx)
  return M.offline(ctx)
end

--- build(template, ctx, overrides): the entry point the engine calls.
--- overrides maps the names given to prompt(NAME, fn) to their functions: a
--- template name ("reply", "state_update", "summary", "offline") replaces
--- the whole template, any other name replaces that section of "reply".
--- Returns a list of sections ("offline": the reply text, a string).
function M.build(template, ctx, overrides)
  overrides = overrides or {}
  local whole = overrides[template]
  if template == "offline" then
    return (whole or M.offline)(ctx, M)
  end
  if whole then
    return M.normalize(template, whole(ctx, M))
  end
  local t = M.templates[template]
  if t == nil then
    error("unknown prompt template " .. tostring(template) .. " (reply, state_update, summary, offline)", 0)
  end
  return t(ctx, overrides)
end

return M
