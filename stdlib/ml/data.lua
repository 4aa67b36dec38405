-- ml.data: mini-batch iteration over tensors, with shuffling and image
-- augmentation. Batches are copied into buffers made once per loader, so a
-- training loop allocates nothing per batch (the views it hands out stay
-- valid until the next batch overwrites them: clone to keep one).
--   local loader = ml.data.DataLoader(X, y, {batch_size = 64, shuffle = true,
--     augment = {flip = true, rotate = 10, shift = 0.1, noise = 0.05}})
--   for xb, yb in loader:batches() do ... end      -- also: for i, xb, yb in loader:ipairs()
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local data = {}

local DataLoader = base.class("DataLoader")
data.DataLoader = DataLoader

local function shape_str(s) return table.concat(s, "x") end

-- Augmentation options: mlrun's short names and Keras ImageDataGenerator's;
-- a pair that means the same thing may not both be given.
local AUG_SPEC = {{"flip", nil, "boolean|nil"}, {"rotate", nil, "number|nil"},
  {"shift", nil, "number|nil"}, {"noise", 0, "number"}, {"zoom", nil, "number|table|nil"},
  {"shear", nil, "number|nil"},
  {"horizontal_flip", nil, "boolean|nil"}, {"vertical_flip", false, "boolean"},
  {"rotation_range", nil, "number|nil"}, {"width_shift_range", nil, "number|nil"},
  {"height_shift_range", nil, "number|nil"}, {"shear_range", nil, "number|nil"},
  {"zoom_range", nil, "number|table|nil"},
  {"fill_mode", "nearest", {"constant", "nearest", "reflect", "wrap"}}, {"cval", 0, "number"}}
local SYNONYMS = {{"flip", "horizontal_flip"}, {"rotate", "rotation_range"},
  {"shift", "width_shift_range"}, {"shift", "height_shift_range"}, {"shear", "shear_range"},
  {"zoom", "zoom_range"}}

-- The checked augmentation settings: hflip, vflip, rotate (degrees), wshift
-- and hshift (fractions of the size, or pixels when >= 1, as Keras), shear
-- (degrees), zoom {lo, hi} (Keras's factors: < 1 enlarges), fill_mode, cval,
-- noise (standard deviation).
local function augment_settings(a)
  a = base.options("DataLoader augment", a, AUG_SPEC)
  for _, p in ipairs(SYNONYMS) do
    if a[p[1]] ~= nil and a[p[2]] ~= nil then
      raise(string.format("DataLoader: augment options '%s' and '%s' mean the same; give one",
        p[1], p[2]))
    end
  end
  local function pick(x, y, default) if x ~= nil then return x end; if y ~= nil then return y end; return default end
  local z = pick(a.zoom, a.zoom_range, 0)
  local zoom
  if type(z) == "number" then
    if z < 0 or z >= 1 then raise("DataLoader: augment zoom must be in [0, 1), got " .. z) end
    zoom = {1 - z, 1 + z}
  else
    if #z ~= 2 or type(z[1]) ~= "number" or type(z[2]) ~= "number" or z[1] <= 0 or z[2] < z[1] then
      raise("DataLoader: augment zoom must be a number in [0, 1) or {lo, hi} with 0 < lo <= hi")
    end
    zoom = {z[1], z[2]}
  end
  local s = {hflip = pick(a.flip, a.horizontal_flip, false), vflip = a.vertical_flip,
    rotate = pick(a.rotate, a.rotation_range, 0), wshift = pick(a.shift, a.width_shift_range, 0),
    hshift = pick(a.shift, a.height_shift_range, 0), shear = pick(a.shear, a.shear_range, 0),
    zoom = zoom, fill_mode = a.fill_mode, cval = a.cval, noise = a.noise}
  if s.rotate < 0 or s.wshift < 0 or s.hshift < 0 or s.shear < 0 or s.noise < 0 then
    raise("DataLoader: augment wants rotate, shift, shear and noise >= 0")
  end
  return s
end

--- DataLoader(X [, y], opts): X (and y) have one sample per row (dim 1).
--- opts: batch_size (32), shuffle (false, as PyTorch; fit shuffles itself),
--- drop_last (false), augment = {...} for N x H x W x C images, with
--- mlrun's or Keras ImageDataGenerator's names:
---   flip / horizontal_flip (false), vertical_flip (false),
---   rotate / rotation_range (degrees, uniform in [-r, r]),
---   shift (both) / width_shift_range / height_shift_range (a fraction of
---   the size, or pixels when >= 1), shear / shear_range (degrees),
---   zoom / zoom_range (z: factors in [1 - z, 1 + z] per axis, or {lo, hi};
---   as Keras, a factor < 1 enlarges), fill_mode ("nearest", as Keras;
---   "constant" with cval, "reflect", "wrap"), cval (0), noise (standard
---   deviation of added Gaussian noise).
function DataLoader:init(X, y, opts)
  if opts == nil and type(y) == "table" and not ml.is_tensor(y) then
    y, opts = nil, y
  end
  local o = base.options("DataLoader", opts, {{"batch_size", 32, "integer"},
    {"shuffle", false, "boolean"}, {"drop_last", false, "boolean"}, {"augment", nil, "table|nil"}})
  base.check_arg("DataLoader", 1, X, "tensor")
  if y ~= nil then base.check_arg("DataLoader", 2, y, "tensor") end
  if X:dim() < 1 or X.shape[1] < 1 then raise("DataLoader: X is empty") end
  if y and (y:dim() < 1 or y.shape[1] ~= X.shape[1]) then
    raise(string.format("DataLoader: X has %d rows but y has shape %s", X.shape[1],
      shape_str(y.shape)))
  end
  if o.batch_size < 1 then raise("DataLoader: batch_size must be >= 1, got " .. o.batch_size) end
  if o.augment then
    o.augment = augment_settings(o.augment)
    if X:dim() ~= 4 then
      raise("DataLoader: augment needs N x H x W x C images, got X of shape " ..
        shape_str(X.shape))
    end
  end
  self.X = X:contiguous()
  self.y = y and y:contiguous()
  self.n = X.shape[1]
  self.batch_size = math.min(o.batch_size, self.n)
  self.shuffle, self.drop_last, self.augment = o.shuffle, o.drop_last, o.augment
  local xs = {table.unpack(X.shape)}
  xs[1] = self.batch_size
  self.xb = ml.empty(xs)
  if self.X.dtype ~= "float32" then self.X = self.X:float() end
  if y then
    local ys = {table.unpack(y.shape)}
    ys[1] = self.batch_size
    self.yb = ml.empty(ys):to(self.y.dtype)
  end
  self.order = ml.arange(1, self.n + 1):long()
  local full = self.n // self.batch_size
  self.rest = self.n - full * self.batch_size
  self.count = (self.drop_last or self.rest == 0) and full or full + 1
  if self.count == 0 then
    raise(string.format("DataLoader: drop_last leaves no batch (%d rows, batch_size %d)",
      self.n, self.batch_size))
  end
  if self.rest > 0 then   -- views for the short last batch, made once
    self.xr = self.xb:narrow(1, 1, self.rest)
    self.yr = self.yb and self.yb:narrow(1, 1, self.rest)
  end
end

--- Number of batches per pass.
function DataLoader:__len() return self.count end

--- Copies batch i (1-based) of the current order into the buffers and returns
--- views xb, yb of them.
function DataLoader:get(i)
  local bs = self.batch_size
  local start = (i - 1) * bs + 1
  local n = math.min(bs, self.n - start + 1)
  local xb, yb = self.xb, self.yb
  if n < bs then xb, yb = self.xr, self.yr end
  core.train.gather(xb, self.X, self.order, start, n)
  if yb then core.train.gather(yb, self.y, self.order, start, n) end
  if self.augment then self:_augment(xb) end
  return xb, yb
end

--- Starts a pass: a new random order when shuffling (from the engine RNG).
function DataLoader:reset()
  if self.shuffle then self.order = ml.randperm(self.n) end
end

--- Iterator over one pass: `for xb, yb in loader:batches() do`.
function DataLoader:batches()
  self:reset()
  local i = 0
  return function()
    i = i + 1
    if i > self.count then return nil end
    return self:get(i)
  end
end

--- Like ipairs: `for i, xb, yb in loader:ipairs() do`.
function DataLoader:ipairs()
  self:reset()
  local i = 0
  return function()
    i = i + 1
    if i > self.count then return nil end
    local xb, yb = self:get(i)
    return i, xb, yb
  end
end

-- Random flips, rotations, shifts, shears, zooms and noise, drawn per image
-- from the engine RNG; the geometric ones are one resampling of the batch
-- (ml.image.affine). Keras draws the zoom of each axis separately.
function DataLoader:_augment(xb)
  local a = self.augment
  local n, h, w = xb.shape[1], xb.shape[2], xb.shape[3]
  local out = xb
  if a.hflip then out = ml.image.flip(out, "horizontal", ml.rand(n):lt(0.5)) end
  if a.vflip then out = ml.image.flip(out, "vertical", ml.rand(n):lt(0.5)) end
  local zlo, zhi = a.zoom[1], a.zoom[2]
  if a.rotate > 0 or a.wshift > 0 or a.hshift > 0 or a.shear > 0 or zlo ~= 1 or zhi ~= 1 then
    local function sym(r) return (ml.rand(n) * 2 - 1) * r end
    local zx = ml.rand(n) * (zhi - zlo) + zlo
    local zy = ml.rand(n) * (zhi - zlo) + zlo
    out = ml.image.affine(out, {rotate = sym(a.rotate), shear = sym(a.shear),
      dx = sym(a.wshift < 1 and a.wshift * w or a.wshift),
      dy = sym(a.hshift < 1 and a.hshift * h or a.hshift),
      scale_x = zx:reciprocal(), scale_y = zy:reciprocal(),
      fill = a.cval, fill_mode = a.fill_mode})
  end
  if out ~= xb then xb:copy_(out) end
  if a.noise > 0 then xb:add_(ml.randn(xb.shape):mul_(a.noise)) end
end

function DataLoader:__repr()
  return string.format("DataLoader(%d samples, batch_size=%d, %d batches%s)", self.n,
    self.batch_size, self.count, self.shuffle and ", shuffled" or "")
end

return data
