location{ id = "road" }
character{ id = "mara" }
