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

local data = {}

local DataLoader = base.class("DataLoader")
data.DataLoader = DataLoader

local function shape_str(s) return table.concat(s, "x") end

local AUG_SPEC = {{"flip", false, "boolean"}, {"rotate", 0, "number"}, {"shift", 0, "number"},
  {"noise", 0, "number"}}

--- DataLoader(X [, y], opts): X (and y) have one sample per row (dim 1).
--- opts: batch_size (32), shuffle (false, as PyTorch; fit shuffles itself),
--- drop_last (false), augment = {flip, rotate (degrees), shift (fraction of the
--- size), noise (standard deviation)} for N x H x W x C images.
function DataLoader:init(X, y, opts)
  if opts == nil and type(y) == "table" and not ml.is_tensor(y) then
    y, opts = nil, y
  end
  local o = base.options("DataLoader", opts, {{"batch_size", 32, "integer"},
    {"shuffle", false, "boolean"}, {"drop_last", false, "boolean"}, {"augment", nil, "table|nil"}})
  base.check_arg("DataLoader", 1, X, "tensor")
  if y ~= nil then base.check_arg("DataLoader", 2, y, "tensor") end
  if X:dim() < 1 or X.shape[1] < 1 then error("DataLoader: X is empty", 0) end
  if y and (y:dim() < 1 or y.shape[1] ~= X.shape[1]) then
    error(string.format("DataLoader: X has %d rows but y has shape %s", X.shape[1],
      shape_str(y.shape)), 0)
  end
  if o.batch_size < 1 then error("DataLoader: batch_size must be >= 1, got " .. o.batch_size, 0) end
  if o.augment then
    o.augment = base.options("DataLoader augment", o.augment, AUG_SPEC)
    if X:dim() ~= 4 then
      error("DataLoader: augment needs N x H x W x C images, got X of shape " ..
        shape_str(X.shape), 0)
    end
    local a = o.augment
    if a.rotate < 0 or a.shift < 0 or a.shift >= 1 or a.noise < 0 then
      error("DataLoader: augment wants rotate >= 0, 0 <= shift < 1, noise >= 0", 0)
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
    error(string.format("DataLoader: drop_last leaves no batch (%d rows, batch_size %d)",
      self.n, self.batch_size), 0)
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

-- Random flips, rotations, shifts and noise, drawn per image from the engine
-- RNG; rotation and shift are one resampling (ml.image.affine) of the batch.
function DataLoader:_augment(xb)
  local a = self.augment
  local n, h, w = xb.shape[1], xb.shape[2], xb.shape[3]
  local out = xb
  if a.flip then out = ml.image.flip(out, "horizontal", ml.rand(n):lt(0.5)) end
  if a.rotate > 0 or a.shift > 0 then
    local deg = (ml.rand(n) * 2 - 1) * a.rotate
    local dx = (ml.rand(n) * 2 - 1) * (a.shift * w)
    local dy = (ml.rand(n) * 2 - 1) * (a.shift * h)
    out = ml.image.affine(out, deg, dx, dy)
  end
  if out ~= xb then xb:copy_(out) end
  if a.noise > 0 then xb:add_(ml.randn(xb.shape):mul_(a.noise)) end
end

function DataLoader:__repr()
  return string.format("DataLoader(%d samples, batch_size=%d, %d batches%s)", self.n,
    self.batch_size, self.count, self.shuffle and ", shuffled" or "")
end

return data
