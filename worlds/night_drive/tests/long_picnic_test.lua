-- The picnic-basket test, at length: once the picnic is over, the basket is in
-- no prompt of any bot for 200 turns across other scenes -- unless someone
-- keeps it, and then it shows only as what that character holds.

local function arrive(t)
  t:act({ op = "move", who = "car", location = "lake" })
  t:reply("jun", "\"Water! Everybody out!\"", nil)
  t:say("Jun, we made it.")
  t:expect(t:state().events.picnic.status):equals("active")
  t:expect(t:prompt("jun")):contains("basket")
end

-- drive(t, n): n turns, the car moving between the highway and the gas
-- station every 10 turns (a new scene each time), each turn addressing one
-- bot in turn; check(t, bot, prompt) runs on every prompt built.
local function drive(t, n, check)
  local places = { "gas_station", "highway" }
  for i = 1, n do
    if i % 10 == 1 then
      t:act({ op = "move", who = "car", location = places[math.floor(i / 10) % 2 + 1] })
    end
    local bot = (i % 2 == 0) and "mara" or "jun"
    local name = (bot == "mara") and "Mara" or "Jun"
    t:reply(bot, "\"Mile " .. i .. ". Still going.\"", nil)
    t:say(name .. ", how are we doing at mile " .. i .. "?")
    check(t, bot, t:prompt(bot))
  end
end

test("after the picnic, the basket is in no prompt for 200 turns", function(t)
  arrive(t)
  t:act({ op = "move", who = "car", location = "highway" })
  t:expect(t:state().events.picnic.status):equals("completed")
  local scene = t:state().scene
  drive(t, 200, function(t, bot, p)
    t:expect(p):not_contains("basket")
    t:expect(p):not_contains("blanket")
  end)
  -- the drive crossed scenes: each car move ended one
  t:expect(t:state().scene >= scene + 20):is_true()
end)

test("a kept basket shows only as what its keeper holds", function(t)
  arrive(t)
  t:act({ op = "promote", event = "picnic", to = "jun", item = "picnic_basket" })
  t:act({ op = "move", who = "car", location = "highway" })
  t:expect(t:state().events.picnic.status):equals("completed")
  t:expect(t:state().entities.jun.holding):contains("picnic_basket")
  drive(t, 50, function(t, bot, p)
    for line in string.gmatch(p, "[^\n]+") do
      if string.find(line, "basket", 1, true) then
        t:expect(line):contains("holding")
      end
    end
    t:expect(p):not_contains("blanket")
  end)
end)
