-- A small but complete pack used by the tests and benchmarks of package lua.
world{
  id = "good",
  title = "Good",
  version = "1.0",
  start = { location = "road", time = "2000-01-01T20:00" },
  minutes_per_turn = 2,
}

location{ id = "road", name = "The road" }
location{ id = "lake", name = "The lake" }

container{
  id = "car",
  name = "the car",
  location = "road",
  slots = {
    driver = { sees = { "road" }, reaches = { "wheel" } },
    passenger = {},
    back = {},
  },
}

player{ id = "you", name = "Sam", at = { container = "car", slot = "back" } }
character{ id = "mara", name = "Mara", mood = "tense", goals = { "get there" }, at = { container = "car", slot = "driver" } }
character{ id = "jun", name = "Jun", holding = { "map" }, at = { container = "car", slot = "passenger" } }

relationship("mara", "jun", { affinity = -20, trust = 10, note = "resents him" })
relationship("jun", "mara", { affinity = 60, trust = 70 })
group{ cohesion = 5, note = "old friends" }

local util = require("lib.util")

story_event{
  id = "picnic",
  title = "Picnic",
  props = { "basket", "blanket" },
  starts_when = function(s) return s.containers.car.location == "lake" end,
  ends_when = function(s) return s.containers.car.location ~= "lake" end,
  on_start = function(s) s.act.hold{ who = "mara", item = "basket" } end,
  on_complete = function(s) s.act.set_mood{ who = "jun", mood = "content" } end,
  promote = { items = { "blanket" }, facts = { { to = "jun", fact = "the lake was lovely" } } },
}

story_event{ id = "dawn", title = "Dawn", at = "2000-01-02T06:00" }

on("turn_start", function(s) end)

on("user_message", function(s, line)
  if util.mentions(line, "mara") and s.entities.mara.attention ~= "you" then
    s.act.attend{ who = "mara", target = "you" }
  end
end)

on("reply", function(s, reply)
  local moods = { "calm", "wary", "amused", "tired" }
  s.act.set_mood{ who = reply.who, mood = moods[s.random(1, #moods)] }
end)

timeskip(function(s, skip)
  if skip.kind == "jump" then
    s.act.set_activity{ who = "mara", doing = "stretching" }
  end
end)

prompt("system", function(ctx, std)
  return "You are " .. ctx.speaker.name .. "."
end)
