-- ml.nn.shapes: the shape helpers the layers, custom layers, the model and
-- the trainer share. A shape is a Lua list of positive integers; "without
-- the batch dimension" unless a name says otherwise.
local raise = require("ml.errors").raise

local M = {}

--- "28x28x1" ("scalar" for {}), as error messages print shapes.
function M.str(s)
  if #s == 0 then return "scalar" end
  return table.concat(s, "x")
end

--- A new list with the same entries.
function M.copy(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  return c
end

--- A tensor's shape without its batch dimension (entries 2..n).
function M.tail(shape)
  local s = {}
  for i = 2, #shape do s[i - 1] = shape[i] end
  return s
end

--- The number of values a shape holds.
function M.prod(s)
  local p = 1
  for _, v in ipairs(s) do p = p * v end
  return p
end

--- check(who, what, s [, scalar_ok]) -> a copy of s with integer entries;
--- every entry must be a positive whole number: "Dense: input_shape entry 2
--- expected a positive integer, got 0". The empty shape {} (a scalar) is
--- refused unless scalar_ok.
function M.check(who, what, s, scalar_ok)
  if type(s) ~= "table" or (#s == 0 and not scalar_ok) then
    raise(string.format("%s: %s expected a shape table such as {28, 28, 1}, got %s", who, what,
      type(s) == "table" and "{}" or type(s)))
  end
  local c = {}
  for i, v in ipairs(s) do
    if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) or v < 1 then
      raise(string.format("%s: %s entry %d expected a positive integer, got %s", who, what, i,
        tostring(v)))
    end
    c[i] = math.tointeger(v)
  end
  return c
end

-- Windows and strides are at most 2^20, as images (ML_WINDOW_MAX in
-- runtime/nn/nn.h): larger ones mean nothing and would overflow offsets.
M.WINDOW_MAX = 1 << 20

--- pair(who, what, v) -> {h, w}: a kernel size, pool size or stride given as
--- one positive integer or a pair {h, w}, each at most WINDOW_MAX.
function M.pair(who, what, v)
  if type(v) == "number" then v = {v, v} end
  local ok = type(v) == "table" and #v == 2
  for i = 1, 2 do
    local k = ok and type(v[i]) == "number" and math.tointeger(v[i])
    ok = ok and k and k >= 1 and k <= M.WINDOW_MAX
  end
  if not ok then
    local shown = tostring(v)
    if type(v) == "table" then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = tostring(x) end
      shown = "{" .. table.concat(parts, ", ") .. "}"
    end
    raise(string.format("%s: %s expected a positive integer (at most %d) or a pair {h, w}, got %s",
      who, what, M.WINDOW_MAX, shown))
  end
  return {math.tointeger(v[1]), math.tointeger(v[2])}
end

return M
