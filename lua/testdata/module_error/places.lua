location{ id = "lake" }
local t = nil
local x = t.field
