-- ml.tensor: printing tensors (PyTorch-like layout, with the shape) and
-- tensor methods that are simplest in Lua.
local core = require "ml.core"
local T = core.tensor.Tensor
local mt = core.tensor.mt

local EDGE = 3          -- items shown at each end of a long dimension
local SUMMARY = 1000    -- tensors with more elements are summarised

local function shape_str(shape)
  if #shape == 0 then return "scalar" end
  return table.concat(shape, "x")
end

-- Collects the numbers that will be printed, to choose one format for all.
local function visible(x, shape, d, out, summarise)
  local n = shape[d]
  local function visit(i)
    if d == #shape then out[#out + 1] = x[i]
    else visible(x[i], shape, d + 1, out, summarise) end
  end
  if summarise and n > 2 * EDGE then
    for i = 1, EDGE do visit(i) end
    for i = n - EDGE + 1, n do visit(i) end
  else
    for i = 1, n do visit(i) end
  end
end

local function number_format(vals, is_int)
  if is_int then
    local w = 1
    for _, v in ipairs(vals) do w = math.max(w, #string.format("%d", v)) end
    return function(v) return string.format("%" .. w .. "d", v) end
  end
  local integral, maxabs, minabs = true, 0, math.huge
  for _, v in ipairs(vals) do
    if v == v and v ~= math.huge and v ~= -math.huge then
      if v ~= math.floor(v) then integral = false end
      local a = math.abs(v)
      if a > maxabs then maxabs = a end
      if a > 0 and a < minabs then minabs = a end
    end
  end
  local fmt
  if integral and maxabs < 1e8 then
    fmt = function(v)
      if v ~= v or v == math.huge or v == -math.huge then return tostring(v) end
      return string.format("%d.", math.floor(v))
    end
  elseif maxabs >= 1e5 or (minabs < 1e-4 and minabs > 0) then
    fmt = function(v) return string.format("%.4e", v) end
  else
    fmt = function(v) return string.format("%.4f", v) end
  end
  local w = 1
  for _, v in ipairs(vals) do w = math.max(w, #fmt(v)) end
  return function(v) return string.format("%" .. w .. "s", fmt(v)) end
end

local function render(x, shape, d, fmt, indent, summarise)
  local n = shape[d]
  local parts = {}
  local function item(i)
    if d == #shape then return fmt(x[i]) end
    return render(x[i], shape, d + 1, fmt, indent .. " ", summarise)
  end
  if summarise and n > 2 * EDGE then
    for i = 1, EDGE do parts[#parts + 1] = item(i) end
    parts[#parts + 1] = "..."
    for i = n - EDGE + 1, n do parts[#parts + 1] = item(i) end
  else
    for i = 1, n do parts[#parts + 1] = item(i) end
  end
  local sep = d == #shape and ", " or (",\n" .. string.rep("\n", #shape - d - 1) .. indent .. " ")
  return "[" .. table.concat(parts, sep) .. "]"
end

function mt.__tostring(x)
  local shape = x.shape
  local suffix = ", shape=" .. shape_str(shape) ..
    (x.dtype == "float32" and "" or ", dtype=" .. x.dtype) .. ")"
  if #shape == 0 then
    local v = x:item()
    return "tensor(" .. number_format({v}, x.dtype == "int64")(v) .. suffix
  end
  if x:numel() == 0 then return "tensor([]" .. suffix end
  local summarise = x:numel() > SUMMARY
  local vals = {}
  visible(x, shape, 1, vals, summarise)
  local fmt = number_format(vals, x.dtype == "int64")
  return "tensor(" .. render(x, shape, 1, fmt, "       ", summarise) .. suffix
end

mt.__name = "ml.Tensor"

--- x:type() -> "ml.Tensor" (the dtype is x.dtype)
function T.type() return "ml.Tensor" end

--- x:all(), x:any() on 0/1 masks
function T.all(x) return x:ne(0):sum() == x:numel() end
function T.any(x) return x:ne(0):sum() > 0 end

--- x:allclose(y [, rtol, atol]) as NumPy's
function T.allclose(x, y, rtol, atol)
  rtol, atol = rtol or 1e-5, atol or 1e-8
  local diff = (x - y):abs()
  local tol = y:abs() * rtol + atol
  return diff:le(tol):all()
end

return T
