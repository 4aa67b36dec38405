-- Helpers for tree_spec.lua and ensemble_spec.lua: a small JSON reader for
-- the scikit-learn fixtures, a numeric CSV reader and the fixtures' split.
local ml = require "ml"
local F = {}

local function decode(s)
  local pos = 1
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function str()
    local e = s:find('"', pos + 1, true)
    local v = s:sub(pos + 1, e - 1)
    pos = e + 1
    return v
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        ws()
        local k = str()
        ws(); pos = pos + 1   -- ':'
        t[k] = value()
        ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "}" then return t end
      end
    elseif c == "[" then
      local t = {}
      pos = pos + 1
      ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value()
        ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "]" then return t end
      end
    elseif c == '"' then return str()
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    else
      local e = s:find("[,%]}%s]", pos) or #s + 1
      local v = tonumber(s:sub(pos, e - 1))
      pos = e
      return v
    end
  end
  return value()
end

function F.json(name)
  local f = assert(io.open("tests/fixtures/trees_" .. name .. ".json"))
  local s = f:read("a")
  f:close()
  return decode(s)
end

--- X (n x d float32) and y (float32) from a numeric CSV with a header, the
--- last column the target.
function F.csv(path)
  local X, y = {}, {}
  local first = true
  for line in io.lines(path) do
    if first then first = false
    elseif line ~= "" then
      local row = {}
      for v in line:gmatch("[^,]+") do row[#row + 1] = tonumber(v) end
      y[#y + 1] = table.remove(row)
      X[#X + 1] = row
    end
  end
  return ml.tensor(X), ml.tensor(y)
end

--- The fixtures' split: every third sample (0-based index % 3 == 0) is test.
function F.split(X, y)
  local tr, te = {}, {}
  for i = 1, X.shape[1] do
    if (i - 1) % 3 == 0 then te[#te + 1] = i else tr[#tr + 1] = i end
  end
  local itr, ite = ml.tensor(tr, "int64"), ml.tensor(te, "int64")
  return X:index_select(1, itr), X:index_select(1, ite), y:index_select(1, itr), y:index_select(1, ite)
end

function F.maxdiff(t, list)
  local a = ml.is_tensor(t) and t:reshape(-1):totable() or t
  assert(#a == #list, string.format("length %d vs %d", #a, #list))
  local m = 0
  for i = 1, #a do m = math.max(m, math.abs(a[i] - list[i])) end
  return m
end

function F.accuracy(pred, y)
  return pred:eq(y):mean()
end

return F
