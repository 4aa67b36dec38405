-- ml.image: PNG files and image operations. Images are float32 tensors with
-- values in [0, 1], channels last: H x W, H x W x C, or batches N x H x W x C.
-- Every operation accepts all three and returns the same rank, so the
-- DataLoader can augment whole batches in one call (flip with a per-image
-- mask, rotate and shift with one value per image). Kernels are C
-- (runtime/image/), parallel over images and rows.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local mio = require "ml.io"
local call = mio._call

local M = {}

local is_tensor = ml.is_tensor

local function check_image(who, img)
  if not is_tensor(img) then error(who .. ": expected an image tensor, got " .. type(img), 3) end
  local d = img:dim()
  if d < 2 or d > 4 then
    error(string.format("%s: expected an H x W, H x W x C or N x H x W x C image, got shape %s",
      who, table.concat(img.shape, "x")), 3)
  end
  if img.dtype ~= "float32" then img = ml.tensor(img, "float32") end
  return img
end

local check_opts = base.check_options   -- {name = kind}, checked

local function check_param(who, name, v)
  if type(v) == "number" or is_tensor(v) or type(v) == "table" then return v end
  error(string.format("%s: %s must be a number or one value per image, got %s", who, name, type(v)), 3)
end

--- ml.image.load(path) -> H x W x C float32 in [0, 1] (C = 1 gray, 2 gray +
--- alpha, 3 RGB, 4 RGBA; palettes expand to RGB/RGBA; 16-bit keeps precision).
function M.load(path)
  if type(path) ~= "string" then error("image.load: expected a file path, got " .. type(path), 2) end
  return call(core.image.load, path)
end

--- ml.image.save(path, img [, {bits = 8}]): PNG, values clamped to [0, 1];
--- H x W or H x W x C (C = 1..4); written atomically.
function M.save(path, img, opts)
  if type(path) ~= "string" then error("image.save: expected a file path, got " .. type(path), 2) end
  img = check_image("image.save", img)
  opts = check_opts("image.save", opts, {bits = "number"})
  call(core.image.save, path, img, opts.bits or 8)
end

--- Luma (BT.601 weights) of RGB or RGBA images, keeping a channel dim of 1.
function M.rgb2gray(img)
  return call(core.image.rgb2gray, check_image("image.rgb2gray", img))
end

--- Bilinear resize to h x w.
function M.resize(img, h, w)
  img = check_image("image.resize", img)
  if math.type(h) ~= "integer" and not (type(h) == "number" and h == math.floor(h)) or
     math.type(w) ~= "integer" and not (type(w) == "number" and w == math.floor(w)) then
    error("image.resize: expected integer height and width", 2)
  end
  return call(core.image.resize, img, math.tointeger(h), math.tointeger(w))
end

local directions = {horizontal = {true, false}, vertical = {false, true}, both = {true, true}}

--- ml.image.flip(img [, "horizontal"|"vertical"|"both" [, mask]]):
--- horizontal (left-right) by default. For a batch, mask (one 0/1 value
--- per image) selects which images flip.
function M.flip(img, direction, mask)
  img = check_image("image.flip", img)
  local d = directions[direction or "horizontal"]
  if not d then
    error("image.flip: direction must be \"horizontal\", \"vertical\" or \"both\", got " ..
      tostring(direction), 2)
  end
  if mask ~= nil then check_param("image.flip", "mask", mask) end
  return call(core.image.flip, img, d[1], d[2], mask)
end

--- ml.image.rotate(img, degrees [, {fill = 0}]): counter-clockwise about the
--- centre, bilinear, same size; uncovered pixels take fill. degrees may hold
--- one angle per image of a batch.
function M.rotate(img, degrees, opts)
  img = check_image("image.rotate", img)
  check_param("image.rotate", "degrees", degrees)
  opts = check_opts("image.rotate", opts, {fill = "number"})
  return call(core.image.warp, img, degrees, 0, 0, opts.fill or 0)
end

--- ml.image.shift(img, dx, dy [, {fill = 0}]): moves the content dx pixels
--- right and dy pixels down (fractions interpolate); per-image values allowed.
function M.shift(img, dx, dy, opts)
  img = check_image("image.shift", img)
  check_param("image.shift", "dx", dx)
  check_param("image.shift", "dy", dy == nil and 0 or dy)
  opts = check_opts("image.shift", opts, {fill = "number"})
  return call(core.image.warp, img, 0, dx, dy or 0, opts.fill or 0)
end

--- Rotation and shift in one resampling (less blur than two calls).
function M.affine(img, degrees, dx, dy, opts)
  img = check_image("image.affine", img)
  opts = check_opts("image.affine", opts, {fill = "number"})
  return call(core.image.warp, img, check_param("image.affine", "degrees", degrees),
    check_param("image.affine", "dx", dx or 0), check_param("image.affine", "dy", dy or 0),
    opts.fill or 0)
end

local modes = {constant = true, nearest = true, reflect = true}
local function filter(who, img, kernel, opts, flip)
  img = check_image(who, img)
  if type(kernel) == "table" and not is_tensor(kernel) then kernel = ml.tensor(kernel) end
  if not is_tensor(kernel) or kernel:dim() ~= 2 then
    error(who .. ": expected a 2-D kernel (tensor or nested table)", 3)
  end
  opts = check_opts(who, opts, {mode = "string"})
  local mode = opts.mode or "constant"
  if not modes[mode] then
    error(who .. ": mode must be \"constant\", \"nearest\" or \"reflect\", got \"" .. mode .. "\"", 3)
  end
  return call(core.image.filter, img, kernel, flip, mode)
end

--- ml.image.convolve(img, kernel [, {mode = "constant"}]): 2-D convolution of
--- each channel (the kernel flipped, as scipy.ndimage.convolve), same size.
--- mode: border handling, "constant" (zeros), "nearest" or "reflect".
function M.convolve(img, kernel, opts) return filter("image.convolve", img, kernel, opts, true) end
--- Same without flipping the kernel (cross-correlation, as CNN layers do).
function M.correlate(img, kernel, opts) return filter("image.correlate", img, kernel, opts, false) end

local SOBEL_H = ml.tensor{{1, 2, 1}, {0, 0, 0}, {-1, -2, -1}} / 4
local SOBEL_V = ml.tensor{{1, 0, -1}, {2, 0, -2}, {1, 0, -1}} / 4

--- Horizontal edges (the vertical derivative), as skimage.filters.sobel_h:
--- positive where the image gets brighter downwards.
function M.sobel_h(img) return filter("image.sobel_h", img, SOBEL_H, {mode = "reflect"}, true) end
--- Vertical edges (the horizontal derivative), as skimage.filters.sobel_v.
function M.sobel_v(img) return filter("image.sobel_v", img, SOBEL_V, {mode = "reflect"}, true) end
--- Edge magnitude sqrt((sobel_h^2 + sobel_v^2) / 2), as skimage.filters.sobel.
function M.sobel(img)
  local h, v = M.sobel_h(img), M.sobel_v(img)
  return ((h * h + v * v) / 2):sqrt()
end

--- ml.image.add_noise(img, sd [, {clip = true}]): Gaussian noise from the
--- engine's generator (ml.seed), clipped to [0, 1] unless clip = false.
function M.add_noise(img, sd, opts)
  img = check_image("image.add_noise", img)
  if type(sd) ~= "number" or sd < 0 then error("image.add_noise: sd must be a number >= 0", 2) end
  opts = check_opts("image.add_noise", opts, {clip = "boolean"})
  local out = img + ml.randn(img.shape) * sd
  if opts.clip ~= false then out = out:clamp(0, 1) end
  return out
end

--- X, y, names = ml.image.load_folder(dir [, {gray = false}]): every PNG of
--- dir in sorted name order, stacked N x H x W x C (all must share a size).
--- Labels come from the file-name prefix before the first '_'
--- ("3_0012.png" -> 3): an int64 tensor when every prefix is an integer,
--- else a list of strings. names lists the files.
function M.load_folder(dir, opts)
  if type(dir) ~= "string" then error("image.load_folder: expected a folder path, got " .. type(dir), 2) end
  opts = check_opts("image.load_folder", opts, {gray = "boolean"})
  local names = {}
  for _, n in ipairs(mio.listdir(dir)) do
    if n:lower():match("%.png$") then names[#names + 1] = n end
  end
  if #names == 0 then error("image.load_folder: no .png files in '" .. dir .. "'", 2) end
  local imgs, labels, numeric = {}, {}, true
  local shape
  for i, n in ipairs(names) do
    local img = call(core.image.load, dir .. "/" .. n)
    if opts.gray then img = call(core.image.rgb2gray, img) end
    local s = table.concat(img.shape, "x")
    if shape and s ~= shape then
      error(string.format("image.load_folder: %s is %s, earlier images are %s", n, s, shape), 2)
    end
    shape = s
    imgs[i] = img
    local prefix = n:match("^([^_]+)_") or n:match("^(.-)%.[pP][nN][gG]$")
    labels[i] = prefix
    if not math.tointeger(tonumber(prefix)) then numeric = false end
  end
  local X = ml.stack(imgs)
  if numeric then
    for i, l in ipairs(labels) do labels[i] = math.tointeger(tonumber(l)) end
    return X, ml.tensor(labels, "int64"), names
  end
  return X, labels, names
end

return M
