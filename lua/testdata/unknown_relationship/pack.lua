world{ id = "w", start = { location = "road" } }
location{ id = "road" }
container{ id = "car", location = "road", slots = { driver = {}, passenger = {} } }
player{ id = "you" }
-- line 5
character{ id = "mara" }
relationship("mara", "you", { affinity = 10 })
relationship("mara", "ghost", { affinity = 10 })
