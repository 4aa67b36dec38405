-- ml.metrics: scikit-learn's metrics on tensors (or Lua tables) of labels.
local ml = require "ml"

local M = {}

local function vec(who, y)
  if getmetatable(y) ~= ml.core.tensor_mt then y = ml.tensor(y) end
  if y:dim() == 2 and y.shape[2] == 1 then y = y:reshape(-1) end
  if y:dim() ~= 1 then
    error(string.format("%s: expected a 1-dimensional tensor of labels, got shape %s", who,
      table.concat(y.shape, "x")), 0)
  end
  return y:float()
end

local function pair(who, a, b)
  a, b = vec(who, a), vec(who, b)
  if a.shape[1] ~= b.shape[1] then
    error(string.format("%s: y_true has %d entries but y_pred has %d", who, a.shape[1],
      b.shape[1]), 0)
  end
  if a.shape[1] == 0 then error(who .. ": empty input", 0) end
  return a, b
end

function M.accuracy_score(y_true, y_pred)
  local a, b = pair("accuracy_score", y_true, y_pred)
  return a:eq(b):mean()
end

function M.r2_score(y_true, y_pred)
  local a, b = pair("r2_score", y_true, y_pred)
  local ss_res = ((a - b) ^ 2):sum()
  local ss_tot = ((a - a:mean()) ^ 2):sum()
  if ss_tot == 0 then return ss_res == 0 and 1.0 or 0.0 end
  return 1 - ss_res / ss_tot
end

return M
