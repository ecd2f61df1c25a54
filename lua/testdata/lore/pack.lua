world{ id = "lp", start = { location = "room" } }
location{ id = "room", name = "The room" }
player{ id = "you", name = "Sam" }
character{ id = "ada", name = "Ada" }
character{ id = "bo", name = "Bo" }
lore{ id = "lake", keys = { "lake" }, text = "LORE-LAKE: Lake Mercy froze over in 1979." }
lore{ id = "secret", keys = { "money" }, text = "LORE-SECRET: Bo took the money.", known_by = { "ada" } }
lore{ id = "always", constant = true, text = "LORE-ALWAYS: It is the last summer before the dam." }
lore{ id = "off", keys = { "lake" }, text = "LORE-OFF", enabled = false }
lore{ id = "both", keys = { "storm" }, secondary_keys = { "night" }, selective = "and_all", text = "LORE-STORM" }
