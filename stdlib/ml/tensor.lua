-- ml.tensor: printing tensors (PyTorch-like layout, with the shape) and
-- tensor methods that are simplest in Lua.
local core = require "ml.core"
local raise = require("ml.errors").raise
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

-- The shortest text that reads back as the same double (as Python's repr):
-- float64 tensors print exactly.
local function shortest(v)
  local s
  for p = 15, 17 do
    s = string.format("%." .. p .. "g", v)
    if tonumber(s) == v then break end
  end
  return s:find("^%-?%d+$") and s .. "." or s
end

local function number_format(vals, is_int, exact)
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
  if exact and not (integral and maxabs < 2^53) then
    fmt = function(v)
      if v ~= v or v == math.huge or v == -math.huge then return tostring(v) end
      return shortest(v)
    end
  elseif integral and maxabs < (exact and 2^53 or 1e8) then
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
  local is_int = x.dtype == "int64" or x.dtype == "uint8"
  local exact = x.dtype == "float64"
  local suffix = ", shape=" .. shape_str(shape) ..
    (x.dtype == "float32" and "" or ", dtype=" .. x.dtype) .. ")"
  if #shape == 0 then
    local v = x:item()
    return "tensor(" .. number_format({v}, is_int, exact)(v) .. suffix
  end
  if x:numel() == 0 then return "tensor([]" .. suffix end
  local summarise = x:numel() > SUMMARY
  local vals = {}
  visible(x, shape, 1, vals, summarise)
  local fmt = number_format(vals, is_int, exact)
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

-- ---------------------------------------------------------------------------
-- NumPy and pandas habits (docs/tensor.md)

local function typename(v)
  if getmetatable(v) == mt then return "tensor" end
  return type(v)
end

-- Checks an options table {name = kind}; kinds "number", "boolean", "integer".
local function opts_check(who, opts, kinds)
  if opts == nil then return {} end
  if type(opts) ~= "table" or getmetatable(opts) == mt then
    raise(string.format("%s: expected an options table, got %s", who, typename(opts)))
  end
  for k, v in pairs(opts) do
    local kind = kinds[k]
    if not kind then
      local names = {}
      for n in pairs(kinds) do names[#names + 1] = n end
      table.sort(names)
      raise(string.format("%s: unknown option '%s' (expected one of: %s)", who, tostring(k),
        table.concat(names, ", ")))
    end
    local ok = kind == "any" or type(v) == kind or (kind == "integer" and math.type(v) == "integer")
    if not ok then
      raise(string.format("%s: option '%s' expected %s, got %s", who, k, kind, typename(v)))
    end
  end
  return opts
end

-- x:argmax([dim [, keepdim]] [, {base = 1, keepdim = false}]): positions are
-- 1-based (Lua); {base = 0} gives 0-based class ids, as NumPy/Keras labels.
local function arg_reduce(name, cfn)
  return function(x, dim, keepdim, opts)
    if type(dim) == "table" then dim, keepdim, opts = nil, nil, dim
    elseif type(keepdim) == "table" then keepdim, opts = nil, keepdim end
    local o = opts_check(name, opts, {base = "integer", keepdim = "boolean"})
    local b = o.base or 1
    if b ~= 0 and b ~= 1 then
      raise(string.format("%s: option 'base' must be 0 or 1, got %s", name, tostring(b)))
    end
    if o.keepdim ~= nil then keepdim = o.keepdim end
    local r = cfn(x, dim, keepdim)
    if b == 0 then r = type(r) == "number" and r - 1 or r:sub_(1) end
    return r
  end
end
T.argmax = arg_reduce("argmax", T.argmax)
T.argmin = arg_reduce("argmin", T.argmin)

-- x:std([dim [, keepdim]] [, {ddof = 1, keepdim = false}]) (or a ddof number
-- in place of the table, the engine's positional form): mlrun's default
-- is the sample estimate (ddof = 1, as torch and pandas); NumPy's is ddof = 0.
local function spread(name, cfn)
  return function(x, dim, keepdim, opts)
    if type(dim) == "table" then dim, keepdim, opts = nil, nil, dim
    elseif type(keepdim) == "table" then keepdim, opts = nil, keepdim end
    if math.type(opts) == "integer" then opts = {ddof = opts} end   -- x:var(dim, keepdim, ddof)
    local o = opts_check(name, opts, {ddof = "integer", keepdim = "boolean"})
    if o.keepdim ~= nil then keepdim = o.keepdim end
    local ddof = o.ddof or 1
    if ddof < 0 then raise(string.format("%s: ddof must be >= 0, got %d", name, ddof)) end
    if dim == nil and keepdim then raise(name .. ": keepdim needs a dimension") end
    return cfn(x, dim, keepdim, ddof)   -- the engine's (x, dim, keepdim, ddof), autograd-aware
  end
end
T.std = spread("std", T.std)
T.var = spread("var", T.var)

--- x:clip(lo, hi) as NumPy's (x:clamp); either bound may be nil.
function T.clip(x, lo, hi) return x:clamp(lo, hi) end

--- x:topk(k [, dim] [, {largest = true, sorted = true}]) -> values, 1-based
--- positions: the k largest (or smallest) along dim (default: the last).
function T.topk(x, k, dim, opts)
  if type(dim) == "table" then dim, opts = nil, dim end
  local o = opts_check("topk", opts, {largest = "boolean", sorted = "boolean"})
  if math.type(k) ~= "integer" then
    raise("topk: k must be an integer, got " .. typename(k))
  end
  if x:dim() == 0 then raise("topk: expected at least a 1-dimensional tensor") end
  dim = dim or x:dim()
  if dim < 0 then dim = x:dim() + 1 + dim end
  if dim < 1 or dim > x:dim() then
    raise(string.format("topk: dimension %s out of range for a %d-dimensional tensor",
      tostring(dim), x:dim()))
  end
  local n = x.shape[dim]
  if k < 0 or k > n then
    raise(string.format("topk: k = %d out of range 0..%d (the size of dimension %d)", k, n, dim))
  end
  local v, i = x:sort(dim, {descending = o.largest ~= false})
  return v:narrow(dim, 1, k), i:narrow(dim, 1, k)
end

--- x:unique([{return_counts = false, return_inverse = false}]) -> sorted
--- distinct values (1-D, x's dtype) [, counts (int64)] [, inverse (int64,
--- 1-based positions into the values, x's shape)], as np.unique.
function T.unique(x, opts)
  local o = opts_check("unique", opts, {return_counts = "boolean", return_inverse = "boolean"})
  local flat = x:reshape(-1)
  local n = flat:numel()
  local s, order = flat:sort(1)
  -- flags: 1 where a sorted value differs from the one before it
  local flags = core.tensor.ones(n)
  if n > 1 then flags:narrow(1, 2, n - 1):copy_(s:narrow(1, 2, n - 1):ne(s:narrow(1, 1, n - 1))) end
  local firsts = core.tensor.arange(1, n + 1):masked_select(flags)
  local values = s:index_select(1, firsts)
  local out = {values}
  if o.return_counts then
    local ends = core.tensor.cat({firsts:narrow(1, 2, firsts:numel() - 1), core.tensor.tensor({n + 1}, "int64")}, 1)
    out[#out + 1] = n == 0 and firsts or ends - firsts
  end
  if o.return_inverse then
    -- group number of each sorted element, moved back to the element's place
    -- (argsort of a permutation is its inverse)
    local gid = flags:cumsum():long()
    out[#out + 1] = (n == 0 and gid or gid:index_select(1, order:argsort())):reshape(x.shape)
  end
  return table.unpack(out)
end

--- x:dot(y) / ml.dot(a, b): the inner product of two 1-D tensors (a
--- number, summed in double precision), else the matrix product.
function T.dot(a, b)
  if getmetatable(a) ~= mt or getmetatable(b) ~= mt then
    raise(string.format("dot: expected two tensors, got %s and %s", typename(a), typename(b)))
  end
  if a:dim() == 1 and b:dim() == 1 then
    if a.shape[1] ~= b.shape[1] then
      raise(string.format("dot: shapes %d and %d do not match", a.shape[1], b.shape[1]))
    end
    return (a:float() * b:float()):sum()
  end
  return core.tensor.matmul(a, b)
end

--- ml.savetxt(path, x [, {delimiter = ",", fmt = nil, header = nil,
--- comments = "# "}]): a 1-D or 2-D tensor as text, one row per line,
--- written atomically. fmt: a string.format pattern per value (default:
--- integers as integers, others with 9 significant digits, which round-trip
--- float32); header: a string or a list of column names, written after
--- `comments` (NumPy's np.savetxt; its default delimiter is a space).
local function savetxt(path, x, opts)
  if type(path) ~= "string" then raise("savetxt: expected a file path, got " .. typename(path)) end
  if getmetatable(x) ~= mt then
    if type(x) == "table" and type(x.to_tensor) == "function" then x = x:to_tensor()
    else raise("savetxt: expected a tensor, got " .. typename(x)) end
  end
  local o = opts_check("savetxt", opts, {delimiter = "string", fmt = "string", header = "any",
    comments = "string"})
  if x:dim() == 1 then x = x:reshape(-1, 1) end
  if x:dim() ~= 2 then
    raise(string.format("savetxt: expected a 1-D or 2-D tensor, got shape %s", shape_str(x.shape)))
  end
  local sep = o.delimiter or ","
  local rows, cols = x.shape[1], x.shape[2]
  local head = ""
  if o.header ~= nil then
    local h = o.header
    if type(h) == "table" then
      if #h ~= cols then
        raise(string.format("savetxt: header names %d columns, the tensor has %d", #h, cols))
      end
      h = table.concat(h, sep)
    elseif type(h) ~= "string" then
      raise("savetxt: option 'header' expected a string or a list of names, got " .. typename(h))
    end
    head = (o.comments or "# ") .. h:gsub("\n", "\n" .. (o.comments or "# ")) .. "\n"
  end
  local text
  if o.fmt then
    local ok = pcall(string.format, o.fmt, 1.5)
    if not ok then raise("savetxt: fmt '" .. o.fmt .. "' is not a format for one number") end
    local lines, t = {}, x:totable()
    for i = 1, rows do
      local r = t[i]
      for j = 1, cols do r[j] = string.format(o.fmt, r[j]) end
      lines[i] = table.concat(r, sep)
    end
    text = table.concat(lines, "\n") .. (rows > 0 and "\n" or "")
  else
    local colv = {}
    for j = 1, cols do colv[j] = {values = x:select(2, j)} end
    if cols == 0 then text = string.rep("\n", rows)
    elseif #sep == 1 then text = core.data.csv_format(colv, rows, sep)
    else text = core.data.csv_format(colv, rows, ","):gsub(",", sep) end
  end
  local ok, err = pcall(core.io.write_atomic, path, head .. text)
  if not ok then raise("savetxt: " .. tostring(err)) end
end

--- ml.tensor(data [, dtype]): also takes a DataFrame (its number columns,
--- N x C) or a Series (its values, 1-D).
local c_tensor = core.tensor.tensor
local function tensor(data, dtype)
  local g = type(data) == "table" and getmetatable(data)
  local name = g and rawget(g, "__name")
  if name == "Series" or name == "DataFrame" then
    if name == "Series" and data.kind == "string" then
      raise(string.format("tensor: column '%s' holds strings; encode it first " ..
        "(ml.LabelEncoder():fit_transform(s) or df:get_dummies())", data.name))
    end
    local t = data:to_tensor()
    if dtype ~= nil then t = t:to(dtype) end
    return t
  end
  return c_tensor(data, dtype)
end

-- x / 255 on pixels that are already in [0, 1] (ml.datasets and
-- ml.image.load scale to [0, 1]; Keras's loaders give 0..255): the values
-- shrink 255-fold without an error, so the first such division in a process
-- prints a one-line warning. Only a division by exactly 255 of a float32
-- tensor is checked (one min/max pass), until the warning has been given.
local SCALED_MSG = "x / 255 on a tensor already in [0, 1]: ml.datasets loaders and " ..
  "ml.image.load scale pixels to [0, 1] (Keras's load_data gives 0..255), so this " ..
  "divides twice; drop the / 255, or load with {scale = false}"
local c_div, c_div_method = mt.__div, T.div
local function check_255(a, b)
  if b == 255 and getmetatable(a) == mt and a.dtype == "float32" then
    local base = require "ml.base"
    if not base.warned.div255 and a:numel() > 0 and a:max() <= 1 and a:min() >= 0 then
      base.warn_once("div255", SCALED_MSG)
    end
  end
end
mt.__div = function(a, b) check_255(a, b); return c_div(a, b) end
T.div = function(a, b) check_255(a, b); return c_div_method(a, b) end

-- Functions ml exports beside the C ones (init.lua copies them).
T._functions = {dot = T.dot, clip = T.clip, unique = T.unique, savetxt = savetxt, tensor = tensor}

-- Boolean masks combine as pandas/NumPy masks do: m1 & m2, m1 | m2, ~m,
-- m1 ~ m2 (exclusive or). Operands are 0/1 tensors (from comparisons) or
-- numbers 0/1; the result is a 0/1 float32 mask.
local function as_mask(who, v)
  if type(v) == "boolean" then return v and 1 or 0 end
  if type(v) == "number" then
    if v ~= 0 and v ~= 1 then
      raise(string.format("%s: expected 0/1 masks, got the number %s", who, tostring(v)))
    end
    return v
  end
  local g = getmetatable(v)
  if g ~= mt and type(v) == "table" and type(v.to_tensor) == "function" then v = v:to_tensor() end
  if getmetatable(v) ~= mt then
    raise(string.format("%s: expected 0/1 mask tensors, got %s", who, typename(v)))
  end
  local b = v:ne(0)
  if v:numel() > 0 and b:ne(v):max() ~= 0 then
    raise(string.format("%s: expected 0/1 masks (from comparisons such as x:gt(0)), got a " ..
      "tensor holding other values; for bitwise integer operations use Lua numbers", who))
  end
  return b
end
local function mask_num(m) return type(m) == "number" and core.tensor.tensor(m) or m end
mt.__band = function(a, b)
  local x, y = as_mask("&", a), as_mask("&", b)
  return mask_num(x) * y
end
mt.__bor = function(a, b)
  local x, y = as_mask("|", a), as_mask("|", b)
  return (mask_num(x) + y):gt(0)
end
mt.__bxor = function(a, b)
  local x, y = as_mask("~", a), as_mask("~", b)
  return (mask_num(x) + y):eq(1)
end
mt.__bnot = function(a) return as_mask("~", a):eq(0) end
T.logical_and = mt.__band
T.logical_or = mt.__bor
T.logical_xor = mt.__bxor
T.logical_not = mt.__bnot

return T
