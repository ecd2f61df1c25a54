world{ id = "w", start = { location = "road" } }
location{ id = "road" }
container{ id = "car", location = "road", slots = { driver = {}, passenger = {} } }
player{ id = "you" }
-- line 5
character{ id = "mara", goals = "win", at = { container = "car", slot = "driver" } }
relationship("mara", "you", { affinity = "lots" })
