test("a wrong value", function(t)
  t:expect(t:state().entities.mara.mood):equals("cheerful")
end)

test("no reply queued", function(t)
  t:say("Mara?")
end)

test("an uncaught rejection", function(t)
  t:act({ op = "drop", who = "jun", item = "map" })
end)
