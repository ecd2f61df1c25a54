-- A pack module: required as "lib.util".
local M = {}

function M.mentions(text, word)
  return string.find(string.lower(text or ""), word, 1, true) ~= nil
end

return M
