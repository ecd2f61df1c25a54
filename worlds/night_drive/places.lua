-- Places: where things can happen, and the car.
--
-- A location is a place in the world. Everyone at the same location hears
-- what is said there (that is who witnesses a line), so locations are also
-- the lines of earshot: the gas station forecourt and the shop are two
-- locations because someone inside the shop does not hear the car.

location({
  id = "highway",
  name = "Highway 9",
  description = "Two lanes of empty blacktop through pine forest; cat's eyes, the odd truck, no lights for miles.",
})

location({
  id = "gas_station",
  name = "Gas station forecourt",
  description = "A lone Sunoco under buzzing strip lights: two pumps, a payphone, moths.",
})

location({
  id = "gas_station_shop",
  name = "Gas station shop",
  description = "Bright aisles of chips and motor oil, a radio behind the till, a bored clerk.",
})

location({
  id = "lake",
  name = "Lakeside picnic spot",
  description = "A gravel pull-off above Lake Mercy: a wooden table, a fire ring, black water, too many stars.",
})

-- A container is a place inside a place, with named slots. Each slot says
-- what its occupant can see and reach (ids or free phrases): the prompt tells
-- a bot what it can see from its seat, and rules can use it.
--
-- Moving into a slot is checked by the engine: the slot must exist, be free,
-- and the container must be where the mover is. Moving the container itself
-- (s.act.move{ who = "car", location = "lake" }) takes everyone in it along.
container({
  id = "car",
  name = "Mara's Corolla",
  location = "highway",
  slots = {
    driver = {
      sees = { "road", "rear_view_mirror", "passenger" },
      reaches = { "wheel", "radio", "gear_stick" },
    },
    passenger = {
      sees = { "road", "driver", "road_map" },
      reaches = { "radio", "glovebox", "driver" },
    },
    back_left = {
      sees = { "driver", "back_right", "side_window" },
      reaches = { "back_right" },
    },
    back_right = {
      sees = { "passenger", "back_left", "side_window" },
      reaches = { "back_left", "cooler" },
    },
  },
})
