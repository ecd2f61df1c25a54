world{ id = "w", start = { location = "road" } }
location{ id = "road" }
container{ id = "car", location = "road", slots = { driver = {}, passenger = {} } }
player{ id = "you" }
-- line 5
local n = 0
while true do
  n = n + 1
end
