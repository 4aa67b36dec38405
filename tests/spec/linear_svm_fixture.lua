-- Loads tests/fixtures/linear_svm.json (made by make_linear_svm.py) for the
-- linear-model and SVM specs. The file holds only objects, arrays, numbers,
-- plain strings and booleans, so a textual rewrite into a Lua table
-- constructor is enough (no JSON library needed).
local ml = require "ml"
local F = {}

local function load_fixture()
  local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests/spec"
  local fh = assert(io.open(dir .. "/../fixtures/linear_svm.json", "r"))
  local s = fh:read("a")
  fh:close()
  s = s:gsub('"([%w_%.]+)":', '["%1"]='):gsub("%[", "{"):gsub("%]", "}")
  s = s:gsub('{"([%w_%.]+)"}=', '["%1"]=')   -- undo the bracket rewrite in keys
  s = s:gsub("null", "nil")
  return assert(load("return " .. s))()
end

F.data = load_fixture()

function F.tensor(t, dtype) return ml.tensor(t, dtype) end

--- max |a - b| / (atol + rtol |b|) over all elements (<= 1 passes).
function F.rel_err(a, b, rtol, atol)
  a = type(a) == "number" and {a} or a
  b = type(b) == "number" and {b} or b
  if ml.is_tensor(a) then a = a:totable() end
  if ml.is_tensor(b) then b = b:totable() end
  local worst = 0
  local function walk(x, y)
    if type(x) == "table" then
      assert(type(y) == "table" and #x == #y, "shape mismatch: " .. #x .. " vs " ..
        tostring(type(y) == "table" and #y or y))
      for i = 1, #x do walk(x[i], y[i]) end
    else
      local e = math.abs(x - y) / (atol + rtol * math.abs(y))
      if e > worst then worst = e end
    end
  end
  walk(a, b)
  return worst
end

function F.accuracy(p, y)
  local pt, yt = p:totable(), y:totable()
  local c = 0
  for i = 1, #pt do if pt[i] == yt[i] then c = c + 1 end end
  return c / #pt
end

return F
