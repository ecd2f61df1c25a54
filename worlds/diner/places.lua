-- Places. The kitchen is its own location: behind the swing door, out of
-- earshot of the floor. The parking lot is where you go to talk in private.

location({
  id = "diner",
  name = "The Starlite diner",
  description = "Chrome, red vinyl and a humming pie case; rain on the big windows; a jukebox that skips.",
})

location({
  id = "kitchen",
  name = "The Starlite's kitchen",
  description = "A flat-top grill gone cold, a radio on the shelf, the back door propped open with a milk crate.",
})

location({
  id = "parking_lot",
  name = "The Starlite's parking lot",
  description = "Wet asphalt under the pink neon sign, a payphone, Theo's dented hatchback.",
})

-- The booth: three places round one table.
container({
  id = "booth",
  name = "the window booth",
  location = "diner",
  slots = {
    booth_left = { sees = { "door", "counter", "booth_right" }, reaches = { "table", "window", "ketchup" } },
    booth_right = { sees = { "booth_left", "kitchen_door", "jukebox" }, reaches = { "table", "jukebox_selector" } },
    aisle_chair = { sees = { "booth_left", "booth_right", "counter" }, reaches = { "table" } },
  },
})

-- The counter: two stools in front, and Rosa's place behind it. A slot is
-- just a named place: "behind_counter" sees and reaches more than a stool.
container({
  id = "counter",
  name = "the counter",
  location = "diner",
  slots = {
    counter_stool_1 = { sees = { "behind_counter", "pie_case" }, reaches = { "sugar", "napkins" } },
    counter_stool_2 = { sees = { "behind_counter", "door" }, reaches = { "sugar", "napkins" } },
    behind_counter = {
      sees = { "whole_room", "door", "kitchen_door" },
      reaches = { "coffee_pot", "register", "pie_case" },
    },
  },
})
