-- std.helpers: small, pure helpers for world packs and the other stdlib modules.
--
--   local h = require("std.helpers")
--   if h.has(s.entities.mara.holding, "map") then ... end
--
-- Everything here is plain Lua 5.1: no io, no os, no globals written. Functions
-- that look at the world take the state view `s` as their first argument and
-- never change it (changing the world is done with s.act{...} only).

local M = {}

--- has(list, v): true if the list (an array table) contains v.
function M.has(list, v)
  if type(list) ~= "table" then
    return false
  end
  for i = 1, #list do
    if list[i] == v then
      return true
    end
  end
  return false
end

--- count(t): the number of entries of any table (array or map).
function M.count(t)
  local n = 0
  for _ in pairs(t or {}) do
    n = n + 1
  end
  return n
end

--- sorted_keys(t): the keys of a map, sorted. Iterate with this instead of
--- pairs() whenever the order can matter: pairs() has no defined order, and a
--- rule that depends on it is not deterministic.
function M.sorted_keys(t)
  local out = {}
  for k in pairs(t or {}) do
    out[#out + 1] = k
  end
  table.sort(out, function(a, b)
    return tostring(a) < tostring(b)
  end)
  return out
end

--- clamp(v, lo, hi)
function M.clamp(v, lo, hi)
  if v < lo then
    return lo
  end
  if v > hi then
    return hi
  end
  return v
end

--- humanize("picnic_basket") -> "picnic basket": ids as prose.
function M.humanize(id)
  return (tostring(id or ""):gsub("_", " "))
end

--- list_phrase({"a", "b", "c"}) -> "a, b and c" ("" for an empty list).
function M.list_phrase(list, conj)
  conj = conj or "and"
  local n = #(list or {})
  if n == 0 then
    return ""
  end
  if n == 1 then
    return tostring(list[1])
  end
  local head = {}
  for i = 1, n - 1 do
    head[i] = tostring(list[i])
  end
  return table.concat(head, ", ") .. " " .. conj .. " " .. tostring(list[n])
end

--- name_of(s, id): the display name of an entity, or the id itself.
function M.name_of(s, id)
  local e = s and s.entities and s.entities[id]
  return (e and e.name) or tostring(id)
end

--- bots(s): the ids of the bots, in cast order (botA, botB).
function M.bots(s)
  local out = {}
  if s.cast then
    for i = 1, #s.cast.bots do
      out[i] = s.cast.bots[i]
    end
    return out
  end
  for _, id in ipairs(M.sorted_keys(s.entities)) do
    if s.entities[id].bot then
      out[#out + 1] = id
    end
  end
  return out
end

--- player(s): the player's id.
function M.player(s)
  if s.cast then
    return s.cast.player
  end
  for _, id in ipairs(M.sorted_keys(s.entities)) do
    if not s.entities[id].bot then
      return id
    end
  end
  return nil
end

--- others_here(s, id): who else is at id's location (ids, sorted, id excluded).
function M.others_here(s, id)
  local out = {}
  for _, other in ipairs(s.here(id)) do
    if other ~= id then
      out[#out + 1] = other
    end
  end
  table.sort(out)
  return out
end

--- together(s, a, b): true if a and b are at the same location (in earshot).
function M.together(s, a, b)
  local ea, eb = s.entities[a], s.entities[b]
  return ea ~= nil and eb ~= nil and ea.location == eb.location
end

--- in_container(s, id, container[, slot]): true if id sits in that container
--- (and that slot, when given).
function M.in_container(s, id, container, slot)
  local e = s.entities[id]
  if e == nil or e.container ~= container then
    return false
  end
  return slot == nil or e.slot == slot
end

--- holder(s, item): who holds item, or nil (same as s.holder(item)).
function M.holder(s, item)
  for _, id in ipairs(M.sorted_keys(s.entities)) do
    if M.has(s.entities[id].holding, item) then
      return id
    end
  end
  return nil
end

--- occupant(s, container, slot): who sits in that slot, or nil (same as
--- s.occupant(container, slot)).
function M.occupant(s, container, slot)
  for _, id in ipairs(M.sorted_keys(s.entities)) do
    if M.in_container(s, id, container, slot) then
      return id
    end
  end
  return nil
end

--- is_active(s, event_id): true if that story event is active.
function M.is_active(s, event_id)
  local ev = s.events[event_id]
  return ev ~= nil and ev.status == "active"
end

--- at_or_after(s, "YYYY-MM-DDTHH:MM"): true once the world clock has reached
--- that time. World times compare correctly as strings because the format is
--- fixed-width.
function M.at_or_after(s, when)
  return s.now >= when
end

--- time_of("1999-08-14T21:30") -> "21:30"; date_of(...) -> "1999-08-14".
function M.time_of(now)
  return string.sub(now, 12, 16)
end

function M.date_of(now)
  return string.sub(now, 1, 10)
end

--- part_of_day("...T21:30") -> "night" (morning, afternoon, evening, night).
function M.part_of_day(now)
  local hour = tonumber(string.sub(now, 12, 13)) or 0
  if hour >= 5 and hour < 12 then
    return "morning"
  elseif hour >= 12 and hour < 17 then
    return "afternoon"
  elseif hour >= 17 and hour < 21 then
    return "evening"
  end
  return "night"
end

--- words(text): the lower-cased words of a text (letters, digits, apostrophes).
function M.words(text)
  local out = {}
  for w in string.gmatch(string.lower(text or ""), "[%w']+") do
    out[#out + 1] = w
  end
  return out
end

--- mentions(text, word): true if text contains word as a whole word,
--- ignoring case ("Mara," mentions "mara"; "Marathon" does not).
function M.mentions(text, word)
  if word == nil or word == "" then
    return false
  end
  local padded = " " .. string.gsub(string.lower(text or ""), "[^%w']", " ") .. " "
  local needle = " " .. string.gsub(string.lower(word), "[^%w']", " ") .. " "
  return string.find(padded, needle, 1, true) ~= nil
end

--- describe_slot(container, slot) -> "Mara's car (driver), seeing the road and
--- within reach of the wheel and the radio".
--- container is a container table as found in s.containers[ID] or ctx.container:
--- { id, name, slots = { NAME = { sees = {...}, reaches = {...} } } }.
function M.describe_slot(container, slot)
  if container == nil or slot == nil then
    return ""
  end
  local name = container.name or M.humanize(container.id)
  local text = name .. " (" .. M.humanize(slot) .. ")"
  local spec = container.slots and container.slots[slot]
  if spec == nil then
    return text
  end
  local function things(list)
    local out = {}
    for i = 1, #(list or {}) do
      out[i] = "the " .. M.humanize(list[i])
    end
    return M.list_phrase(out)
  end
  local parts = {}
  if spec.sees and #spec.sees > 0 then
    parts[#parts + 1] = "seeing " .. things(spec.sees)
  end
  if spec.reaches and #spec.reaches > 0 then
    parts[#parts + 1] = "within reach of " .. things(spec.reaches)
  end
  if #parts > 0 then
    text = text .. ", " .. table.concat(parts, " and ")
  end
  return text
end

--- describe_position(entity[, container[, location_name]]) -> "in Mara's car
--- (driver)" or "at Lakeside": where someone is, as prose.
function M.describe_position(e, container, location_name)
  if e.container and e.container ~= "" then
    local cname = (container and container.name) or M.humanize(e.container)
    return "in " .. cname .. " (" .. M.humanize(e.slot) .. ")"
  end
  return "at " .. (location_name or M.humanize(e.location))
end

return M
