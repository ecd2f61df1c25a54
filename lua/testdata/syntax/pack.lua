world{ id = "w", start = { location = "road" } }
location{ id = "road" }
container{ id = "car", location = "road", slots = { driver = {}, passenger = {} } }
player{ id = "you" }
-- line 5
character{ id = "mara" }
on("turn_start", function(s)
  if s.now then
    log("x"
  end
end)
