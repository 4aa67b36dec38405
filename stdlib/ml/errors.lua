-- ml.errors: how the stdlib raises errors (docs/contributing.md, "Errors").
-- Every stdlib module takes `local raise = require("ml.errors").raise`; this
-- module requires nothing, so the modules the facade loads first can use it.
local M = {}

--- raise(msg): the one way the stdlib raises an error. The position
--- added is the first stack level outside stdlib/ml (C frames skipped), so the
--- message points at the user's line however deep the stdlib call that
--- failed: `train.lua:12: fit: compile the model first`, never
--- `stdlib/ml/nn/trainer.lua:420:`. A message re-raised from an inner
--- raise (a layer's error wrapped by the model) names that line only once.
--- With no user code on the stack (an embedder's lua_pcall) no position.
local STDLIB = debug.getinfo(1, "S").source:match("^(.*[/\\])errors%.lua$") or "@stdlib/ml/"
function M.raise(msg)
  local level = 2
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then error(msg, 0) end
    if info.what ~= "C" and info.source:sub(1, #STDLIB) ~= STDLIB then
      if type(msg) == "string" and info.currentline > 0 then
        local where = info.short_src .. ":" .. info.currentline .. ": "
        local i = msg:find(where, 1, true)
        while i do
          msg = msg:sub(1, i - 1) .. msg:sub(i + #where)
          i = msg:find(where, i, true)
        end
      end
      error(msg, level)
    end
    level = level + 1
  end
end

return M
