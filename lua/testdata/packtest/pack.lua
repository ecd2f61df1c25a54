-- A tiny pack for the pack-test runner's own tests.
world{ id = "pt", title = "Pack tests", start = { location = "car_park", time = "2000-01-01T20:00" }, minutes_per_turn = 1 }
location{ id = "car_park", name = "The car park" }
location{ id = "shop", name = "The shop" }
container{ id = "car", name = "the car", location = "car_park", slots = { driver = {}, passenger = {}, back = {} } }
player{ id = "you", name = "Sam", at = { container = "car", slot = "back" } }
character{ id = "mara", name = "Mara", mood = "tired", at = { container = "car", slot = "driver" } }
character{ id = "jun", name = "Jun", at = { container = "car", slot = "passenger" } }
relationship("mara", "jun", { affinity = -40, note = "MARA-SECRET-NOTE" })
