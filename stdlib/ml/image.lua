-- ml.image: PNG and JPEG files and image operations. Images are float32 tensors with
-- values in [0, 1], channels last: H x W, H x W x C, or batches N x H x W x C.
-- Every operation accepts all three and returns the same rank, so the
-- DataLoader can augment whole batches in one call (flip with a per-image
-- mask, rotate and shift with one value per image). Kernels are C
-- (runtime/image/), parallel over images and rows.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local mio = require "ml.io"
local raise = require("ml.errors").raise
local call = mio._call

local M = {}

local is_tensor = ml.is_tensor

local function check_image(who, img)
  if not is_tensor(img) then raise(who .. ": expected an image tensor, got " .. type(img)) end
  local d = img:dim()
  if d < 2 or d > 4 then
    raise(string.format("%s: expected an H x W, H x W x C or N x H x W x C image, got shape %s",
      who, table.concat(img.shape, "x")))
  end
  if img.dtype ~= "float32" then img = ml.tensor(img, "float32") end
  return img
end

local check_opts = base.check_options   -- {name = kind}, checked

local function check_param(who, name, v)
  if type(v) == "number" or is_tensor(v) or type(v) == "table" then return v end
  raise(string.format("%s: %s must be a number or one value per image, got %s", who, name, type(v)))
end

--- ml.image.load(path) -> H x W x C float32 in [0, 1]. PNG (C = 1 gray, 2
--- gray + alpha, 3 RGB, 4 RGBA; palettes expand to RGB/RGBA; 16-bit keeps
--- precision) or JPEG (C = 1 or 3), told apart by the file's first bytes.
function M.load(path)
  if type(path) ~= "string" then raise("image.load: expected a file path, got " .. type(path)) end
  return call(core.image.load, path)
end

-- image formats mlrun does not write: an error rather than PNG bytes under their name
local OTHER_FORMATS = {bmp = true, gif = true, tif = true, tiff = true, webp = true, ppm = true,
  pgm = true, pbm = true, ico = true, heic = true, avif = true}

local function format_of(path, given)
  if given then
    if given == "jpg" then given = "jpeg" end
    if given ~= "png" and given ~= "jpeg" then
      raise("image.save: format must be \"png\" or \"jpeg\", got \"" .. given .. "\"")
    end
    return given
  end
  local ext = (path:match("%.([^./]+)$") or ""):lower()
  if ext == "jpg" or ext == "jpeg" then return "jpeg" end
  if OTHER_FORMATS[ext] then
    raise("image.save: cannot write ." .. ext .. " files ('" .. path .. "'); use a .png, .jpg " ..
      "or .jpeg name or {format = \"png\"|\"jpeg\"}")
  end
  return "png"   -- .png, or a name without an image extension (a device, a pipe)
end

--- ml.image.save(path, img [, {format =, bits = 8, quality = 75}]): JPEG for
--- a .jpg/.jpeg name, an error for other image formats' names (.bmp, .gif,
--- .tiff, .webp, ...), PNG otherwise; or as `format` says. Values
--- clamped to [0, 1]; H x W or H x W x C (PNG: C = 1..4; JPEG: C = 1 or 3).
--- bits (8 or 16) is PNG's, quality (1..100, PIL's default 75) JPEG's.
--- Written atomically.
function M.save(path, img, opts)
  if type(path) ~= "string" then raise("image.save: expected a file path, got " .. type(path)) end
  img = check_image("image.save", img)
  opts = check_opts("image.save", opts, {bits = "integer", quality = "integer", format = "string"})
  local fmt = format_of(path, opts.format)
  if fmt == "png" and opts.quality then
    raise("image.save: quality applies to JPEG; PNG is lossless (bits = 8 or 16)")
  end
  if fmt == "jpeg" and opts.bits then
    raise("image.save: bits applies to PNG; JPEG is 8-bit (set quality = 1..100)")
  end
  call(core.image.save, path, img, fmt, fmt == "png" and (opts.bits or 8) or (opts.quality or 75))
end

--- ml.image.rgb2gray(img [, {keep_channel = false}]): luma (ITU-R BT.601,
--- 0.299 R + 0.587 G + 0.114 B) of RGB or RGBA images without the channel
--- dimension, as skimage.color.rgb2gray: H x W x 3 -> H x W, N x H x W x 3
--- -> N x H x W. keep_channel = true keeps a channel of 1 (H x W x 1,
--- N x H x W x 1: the input a Conv2D wants). A one-channel image (H x W x 1)
--- loses its channel the same way; an H x W image is returned as a copy.
function M.rgb2gray(img, opts)
  img = check_image("image.rgb2gray", img)
  opts = check_opts("image.rgb2gray", opts, {keep_channel = "boolean"})
  if img:dim() == 2 then return img:clone() end
  local g = call(core.image.rgb2gray, img)
  if opts.keep_channel then return g end
  return g:squeeze(g:dim())
end

--- Bilinear resize to h x w.
function M.resize(img, h, w)
  img = check_image("image.resize", img)
  if math.type(h) ~= "integer" and not (type(h) == "number" and h == math.floor(h)) or
     math.type(w) ~= "integer" and not (type(w) == "number" and w == math.floor(w)) then
    raise("image.resize: expected integer height and width")
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
    raise("image.flip: direction must be \"horizontal\", \"vertical\" or \"both\", got " ..
      tostring(direction))
  end
  if mask ~= nil then check_param("image.flip", "mask", mask) end
  return call(core.image.flip, img, d[1], d[2], mask)
end

local fill_modes = {constant = true, nearest = true, reflect = true, wrap = true}

local function fill_mode(who, m)
  m = m or "constant"
  if not fill_modes[m] then
    raise(who .. ": fill_mode must be \"constant\", \"nearest\", \"reflect\" or \"wrap\", got \"" ..
      tostring(m) .. "\"")
  end
  return m
end

local function warp(who, img, p, opts)
  return call(core.image.warp, img, {p.degrees or 0, p.shear or 0, p.sx or 1, p.sy or 1, p.dx or 0,
    p.dy or 0}, opts.fill or 0, fill_mode(who, opts.fill_mode))
end

--- ml.image.rotate(img, degrees [, {fill = 0, fill_mode = "constant"}]):
--- counter-clockwise about the centre, bilinear, same size; uncovered pixels
--- take fill (fill_mode "constant") or follow fill_mode ("nearest",
--- "reflect", "wrap", as Keras). degrees may hold one angle per image.
function M.rotate(img, degrees, opts)
  img = check_image("image.rotate", img)
  check_param("image.rotate", "degrees", degrees)
  opts = check_opts("image.rotate", opts, {fill = "number", fill_mode = "string"})
  return warp("image.rotate", img, {degrees = degrees}, opts)
end

--- ml.image.shift(img, dx, dy [, {fill = 0, fill_mode = "constant"}]): moves
--- the content dx pixels right and dy pixels down (fractions interpolate);
--- per-image values allowed.
function M.shift(img, dx, dy, opts)
  img = check_image("image.shift", img)
  check_param("image.shift", "dx", dx)
  check_param("image.shift", "dy", dy == nil and 0 or dy)
  opts = check_opts("image.shift", opts, {fill = "number", fill_mode = "string"})
  return warp("image.shift", img, {dx = dx, dy = dy or 0}, opts)
end

--- ml.image.zoom(img, factor [, {fill = 0, fill_mode = "constant"}]):
--- scales the content about the centre (factor > 1 enlarges), same size;
--- factor may be {fx, fy} or one value per image.
function M.zoom(img, factor, opts)
  img = check_image("image.zoom", img)
  opts = check_opts("image.zoom", opts, {fill = "number", fill_mode = "string"})
  local fx, fy = factor, factor
  if type(factor) == "table" and not is_tensor(factor) and #factor == 2 and img:dim() < 4 then
    fx, fy = factor[1], factor[2]
  end
  check_param("image.zoom", "factor", fx)
  return warp("image.zoom", img, {sx = fx, sy = fy}, opts)
end

--- ml.image.shear(img, degrees [, {fill = 0, fill_mode = "constant"}]):
--- shears the content by an angle in degrees (Keras's shear_range unit).
function M.shear(img, degrees, opts)
  img = check_image("image.shear", img)
  check_param("image.shear", "degrees", degrees)
  opts = check_opts("image.shear", opts, {fill = "number", fill_mode = "string"})
  return warp("image.shear", img, {shear = degrees}, opts)
end

local AFFINE = {rotate = "number|list", shear = "number|list", scale = "number|list",
  scale_x = "number|list", scale_y = "number|list", dx = "number|list", dy = "number|list",
  fill = "number", fill_mode = "string"}

--- ml.image.affine(img, {rotate = 0, shear = 0, scale = 1, dx = 0, dy = 0,
--- fill = 0, fill_mode = "constant"}): scale (> 1 enlarges; a number,
--- {sx, sy} for a single image, or one value per image; or per axis with
--- scale_x and scale_y), shear (degrees),
--- rotate (degrees, counter-clockwise) and shift (dx right, dy down, pixels)
--- about the centre, in one bilinear resampling. Each geometric value may be
--- a number or one value per image of a batch. The older positional form
--- ml.image.affine(img, degrees, dx, dy [, {fill =}]) still works.
function M.affine(img, a, dx, dy, opts)
  img = check_image("image.affine", img)
  if type(a) == "table" and not is_tensor(a) and a[1] == nil then
    if dx ~= nil then raise("image.affine: expected (img, options), got more arguments") end
    local o = check_opts("image.affine", a, AFFINE)
    for _, k in ipairs{"rotate", "shear", "dx", "dy"} do
      if o[k] ~= nil then check_param("image.affine", k, o[k]) end
    end
    local sx, sy = o.scale, o.scale
    if type(o.scale) == "table" and not is_tensor(o.scale) and #o.scale == 2 and img:dim() < 4 then
      sx, sy = o.scale[1], o.scale[2]
    end
    if o.scale ~= nil and (o.scale_x ~= nil or o.scale_y ~= nil) then
      raise("image.affine: give scale, or scale_x and scale_y, not both")
    end
    if o.scale_x ~= nil then sx = o.scale_x end
    if o.scale_y ~= nil then sy = o.scale_y end
    if sx ~= nil then check_param("image.affine", "scale", sx) end
    if sy ~= nil then check_param("image.affine", "scale", sy) end
    return warp("image.affine", img, {degrees = o.rotate, shear = o.shear, sx = sx, sy = sy,
      dx = o.dx, dy = o.dy}, o)
  end
  opts = check_opts("image.affine", opts, {fill = "number", fill_mode = "string"})
  return warp("image.affine", img, {degrees = check_param("image.affine", "degrees", a),
    dx = check_param("image.affine", "dx", dx or 0), dy = check_param("image.affine", "dy", dy or 0)},
    opts)
end

local modes = {constant = true, nearest = true, reflect = true, wrap = true}
local function filter(who, img, kernel, opts, flip)
  img = check_image(who, img)
  if type(kernel) == "table" and not is_tensor(kernel) then kernel = ml.tensor(kernel) end
  if not is_tensor(kernel) or kernel:dim() ~= 2 then
    raise(who .. ": expected a 2-D kernel (tensor or nested table)")
  end
  opts = check_opts(who, opts, {mode = "string"})
  local mode = opts.mode or "constant"
  if not modes[mode] then
    raise(who .. ": mode must be \"constant\", \"nearest\", \"reflect\" or \"wrap\", got \"" .. mode ..
      "\"")
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
  if type(sd) ~= "number" or sd < 0 then raise("image.add_noise: sd must be a number >= 0") end
  opts = check_opts("image.add_noise", opts, {clip = "boolean"})
  local out = img + ml.randn(img.shape) * sd
  if opts.clip ~= false then out = out:clamp(0, 1) end
  return out
end

--- X, y, names = ml.image.load_folder(dir [, {gray = false}]): every PNG and
--- JPEG (.png, .jpg, .jpeg) of dir in sorted name order, stacked
--- N x H x W x C (all must share a size; gray = true gives C = 1).
--- Labels come from the file-name prefix before the first '_'
--- ("3_0012.png" -> 3): an int64 tensor when every prefix is an integer,
--- else a list of strings. names lists the files.
function M.load_folder(dir, opts)
  if type(dir) ~= "string" then raise("image.load_folder: expected a folder path, got " .. type(dir)) end
  opts = check_opts("image.load_folder", opts, {gray = "boolean"})
  local names = {}
  for _, n in ipairs(mio.listdir(dir)) do
    local l = n:lower()
    if l:match("%.png$") or l:match("%.jpe?g$") then names[#names + 1] = n end
  end
  if #names == 0 then raise("image.load_folder: no .png, .jpg or .jpeg files in '" .. dir .. "'") end
  local imgs, labels, numeric = {}, {}, true
  local shape
  for i, n in ipairs(names) do
    local img = call(core.image.load, dir .. "/" .. n)
    if opts.gray then img = call(core.image.rgb2gray, img) end
    local s = table.concat(img.shape, "x")
    if shape and s ~= shape then
      raise(string.format("image.load_folder: %s is %s, earlier images are %s", n, s, shape))
    end
    shape = s
    imgs[i] = img
    local prefix = n:match("^([^_]+)_") or n:match("^(.-)%.[^.]+$")
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
