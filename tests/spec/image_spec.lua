-- ml.image: PNG load/save and the image kernels (checked against
-- scipy.ndimage references in tests/fixtures/image_ref.json).
local ml = require "ml"
local core = require "ml.core"
local I = ml.image

local dir = os.tmpname(); os.remove(dir); os.execute("mkdir -p " .. dir)
local function readf(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
local function writef(p, s) local f = assert(io.open(p, "wb")); f:write(s); f:close() end

-- the fixture is JSON of numbers, lists and one level of keys
local function read_json(p)
  local s = readf(p):gsub("%[", "{"):gsub("%]", "}"):gsub('"([%w_]+)":', "%1=")
  return assert(load("return " .. s, "json", "t", {}))()
end
local REF = read_json("tests/fixtures/image_ref.json")

local function max_diff(a, b)
  local d = 0
  local ta = a.totable and a:totable() or a
  local function walk(x, y)
    if type(x) == "table" then for i = 1, #x do walk(x[i], y[i]) end
    else d = math.max(d, math.abs(x - y)) end
  end
  walk(ta, b)
  return d
end

describe("PNG", function()
  it("loads the shipped digits as 28 x 28 x 1 in [0, 1]", function()
    local img = I.load("data/mnist-png/7_0001.png")
    assert.same({28, 28, 1}, img.shape)
    assert.equal(0, img:min()); assert.is_true(img:max() > 0.9 and img:max() <= 1)
    -- the same digit as row 1 (0-based) of the MNIST test subset
    local _, _, xte = ml.datasets.mnist()
    assert.is_true((xte[2] - img):abs():max() < 1e-6)
  end)
  it("decodes every colour type and depth like Pillow (tests/fixtures/make_png.py)", function()
    local E = dofile("tests/fixtures/png/expected.lua")
    local n = 0
    for name, want in pairs(E) do
      local img = I.load("tests/fixtures/png/" .. name .. ".png")
      local w = ml.tensor(want)
      assert.same(w.shape, img.shape, name)
      assert.is_true((img - w):abs():max() < 1e-6, name)
      n = n + 1
    end
    assert.equal(10, n)
  end)
  it("round-trips gray, gray+alpha, RGB and RGBA at 8 and 16 bits", function()
    ml.seed(3)
    for c = 1, 4 do
      for _, bits in ipairs{8, 16} do
        local img = ml.rand(7, 5, c)
        local p = dir .. "/c" .. c .. "_" .. bits .. ".png"
        I.save(p, img, {bits = bits})
        local back = I.load(p)
        assert.same({7, 5, c}, back.shape)
        assert.is_true((back - img):abs():max() <= (bits == 8 and 0.5 / 255 + 1e-6 or 0.5 / 65535 + 1e-6))
      end
    end
  end)
  it("saves H x W images and clamps values", function()
    I.save(dir .. "/hw.png", ml.tensor{{-1, 0.5}, {2, 0 / 0}})
    local back = I.load(dir .. "/hw.png")
    assert.same({2, 2, 1}, back.shape)
    assert.is_true(max_diff(back, {{{0}, {128 / 255}}, {{1}, {0}}}) < 1e-6)
  end)
  it("refuses non-PNG, truncated and corrupted files", function()
    local good = readf("data/mnist-png/7_0001.png")
    local function try(s)
      writef(dir .. "/bad.png", s)
      local ok, e = pcall(I.load, dir .. "/bad.png")
      assert.is_false(ok)
      return e
    end
    assert.matches("not a PNG", try("GIF89a"))
    assert.matches("not a PNG", try(""))
    for _, n in ipairs{8, 16, 33, 50, #good - 13, #good - 1} do
      assert.matches("corrupt PNG", try(good:sub(1, n)))
    end
    -- a flipped byte inside IDAT fails its CRC
    local i = #good - 20
    assert.matches("corrupt PNG", try(good:sub(1, i - 1) .. string.char((good:byte(i) + 7) % 256) .. good:sub(i + 1)))
    -- a huge width in IHDR (CRC fixed up) is refused before allocating
    local ihdr = "IHDR" .. string.pack(">I4>I4", 1000000, 1000000) .. good:sub(25, 29)
    local bad = good:sub(1, 12) .. ihdr .. string.pack(">I4", core.io.crc32(ihdr)) .. good:sub(34)
    assert.matches("corrupt PNG", try(bad))
    assert.equal(28, I.load("data/mnist-png/7_0001.png").shape[1])   -- still usable
  end)
  it("refuses bad images to save", function()
    assert.has_error(function() I.save(dir .. "/x.png", ml.zeros(2, 2, 5)) end)
    assert.has_error(function() I.save(dir .. "/x.png", ml.zeros(2)) end)
    assert.has_error(function() I.save(dir .. "/x.png", ml.zeros(0, 3)) end)
    assert.has_error(function() I.save(dir .. "/x.png", ml.zeros(2, 2), {bits = 4}) end)
    assert.has_error(function() I.save(dir .. "/x.png", ml.zeros(2, 2), {depth = 8}) end)
    assert.has_error(function() I.save(dir .. "/no/such/dir/x.png", ml.zeros(2, 2)) end)
  end)
end)

describe("image kernels", function()
  local img = ml.tensor(REF.img)
  it("convolve and correlate match scipy.ndimage in each border mode", function()
    for _, mode in ipairs{"constant", "nearest", "reflect"} do
      assert.is_true(max_diff(I.convolve(img, REF.kernel, {mode = mode}), REF["convolve_" .. mode]) < 1e-5, mode)
      assert.is_true(max_diff(I.correlate(img, REF.kernel, {mode = mode}), REF["correlate_" .. mode]) < 1e-5, mode)
    end
  end)
  it("sobel_h and sobel_v match skimage's definition", function()
    assert.is_true(max_diff(I.sobel_h(img), REF.sobel_h) < 1e-5)
    assert.is_true(max_diff(I.sobel_v(img), REF.sobel_v) < 1e-5)
    assert.same({5, 6}, I.sobel(img).shape)
  end)
  it("filters each channel and each image of a batch alike", function()
    local b = ml.stack({img, img * 0.5}):reshape(2, 5, 6, 1)
    local rgb = ml.stack({img, img, img}, 3)
    local one = I.convolve(img, REF.kernel)
    local fb = I.convolve(b, REF.kernel)
    assert.same({2, 5, 6, 1}, fb.shape)
    assert.is_true((fb[1]:reshape(5, 6) - one):abs():max() < 1e-6)
    assert.is_true((fb[2]:reshape(5, 6) - one * 0.5):abs():max() < 1e-6)
    local fr = I.convolve(rgb, REF.kernel)
    assert.is_true((fr[{{}, {}, 3}] - one):abs():max() < 1e-6)
  end)
  it("resize keeps constants, is exact at the same size, and averages when halving", function()
    assert.is_true((I.resize(ml.full({4, 6, 3}, 0.25), 9, 2) - 0.25):abs():max() < 1e-6)
    assert.is_true((I.resize(img, 5, 6) - img):abs():max() < 1e-6)
    local x = ml.tensor{{0, 1, 0, 1}, {0, 1, 0, 1}}
    assert.same({{0.5, 0.5}}, I.resize(x, 1, 2):totable())
    assert.same({3, 14, 14, 1}, I.resize(ml.zeros(3, 28, 28, 1), 14, 14).shape)
    assert.has_error(function() I.resize(img, 0, 3) end)
  end)
  it("flip mirrors, twice is identity, mask picks images of a batch", function()
    local x = ml.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.same({{3, 2, 1}, {6, 5, 4}}, I.flip(x):totable())
    assert.same({{4, 5, 6}, {1, 2, 3}}, I.flip(x, "vertical"):totable())
    assert.same({{6, 5, 4}, {3, 2, 1}}, I.flip(x, "both"):totable())
    local b = ml.rand(3, 4, 5, 2)
    local f = I.flip(b, "horizontal", {1, 0, 1})
    assert.equal(0, (f[2] - b[2]):abs():max())
    assert.equal(0, (I.flip(f[1]) - b[1]):abs():max())
    assert.has_error(function() I.flip(b, "horizontal", {1, 0}) end)
    assert.has_error(function() I.flip(x, "diagonal") end)
  end)
  it("rotate by 90 degrees moves pixels exactly, counter-clockwise", function()
    local x = ml.zeros(5, 5); x[1][5] = 1            -- top-right corner
    local r = I.rotate(x, 90)
    assert.equal(1, r[1][1]); assert.equal(1, r:sum())   -- -> top-left
    assert.equal(1, I.rotate(x, 180)[5][1])
    assert.is_true((I.rotate(img, 0) - img):abs():max() < 1e-6)
    assert.is_true((I.rotate(I.rotate(x, 90), -90) - x):abs():max() < 1e-5)
    -- per-image angles on a batch
    local b = ml.stack({x, x}):reshape(2, 5, 5, 1)
    local rb = I.rotate(b, ml.tensor{90, 180})
    assert.equal(1, rb[1][1][1][1]); assert.equal(1, rb[2][5][1][1])
  end)
  it("shift moves content right/down and fills with zeros", function()
    local x = ml.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.same({{0, 1, 2}, {0, 4, 5}}, I.shift(x, 1, 0):totable())
    assert.same({{4, 5, 6}, {0, 0, 0}}, I.shift(x, 0, -1):totable())
    assert.same({{9, 9, 9}, {1, 2, 3}}, I.shift(x, 0, 1, {fill = 9}):totable())
    local half = I.shift(x, 0.5, 0)
    assert.is_true(math.abs(half[1][2] - 1.5) < 1e-6)
    local b = ml.stack({x, x}):reshape(2, 2, 3, 1)
    local sb = I.shift(b, {1, -1}, {0, 0})
    assert.same({{{0}, {1}, {2}}, {{0}, {4}, {5}}}, sb[1]:totable())
    assert.same({{{2}, {3}, {0}}, {{5}, {6}, {0}}}, sb[2]:totable())
    assert.has_error(function() I.shift(b, {1, 2, 3}, 0) end)
  end)
  it("rgb2gray uses BT.601 weights and keeps a channel on request", function()
    local rgb = ml.tensor{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}}}
    local g = I.rgb2gray(rgb, {keep_channel = true})
    assert.same({1, 4, 1}, g.shape)
    assert.same({1, 4}, I.rgb2gray(rgb).shape)
    assert.is_true(max_diff(g:reshape(4), {0.299, 0.587, 0.114, 1}) < 1e-6)
    assert.has_error(function() I.rgb2gray(ml.zeros(2, 2, 2)) end)
  end)
  it("add_noise is seeded and clipped", function()
    ml.seed(5); local a = I.add_noise(ml.full({4, 4}, 0.5), 0.1)
    ml.seed(5); local b = I.add_noise(ml.full({4, 4}, 0.5), 0.1)
    assert.same(a:totable(), b:totable())
    assert.is_true(I.add_noise(ml.ones(10, 10), 1):max() <= 1)
  end)
  it("refuses what is not an image", function()
    assert.has_error(function() I.flip(ml.zeros(3)) end)
    assert.has_error(function() I.rotate("x", 3) end)
    assert.has_error(function() I.convolve(img, ml.zeros(3)) end)
    assert.has_error(function() I.convolve(img, REF.kernel, {mode = "mirror"}) end)
    assert.has_error(function() I.rotate(img, 3, {fil = 0}) end)
  end)
end)

describe("load_folder", function()
  it("stacks the PNG digits with labels from the file names, sorted", function()
    local X, y, names = I.load_folder("data/mnist-png")
    assert.same({200, 28, 28, 1}, X.shape)
    assert.equal("int64", y.dtype)
    assert.equal("0_0003.png", names[1])
    assert.equal(0, y[1]); assert.equal(9, y[200])
    for i = 2, #names do assert.is_true(names[i - 1] < names[i]) end
  end)
  it("keeps string labels and refuses mixed sizes", function()
    os.execute("mkdir -p " .. dir .. "/f")
    I.save(dir .. "/f/cat_1.png", ml.zeros(4, 4)); I.save(dir .. "/f/dog_1.png", ml.ones(4, 4))
    local X, y = I.load_folder(dir .. "/f")
    assert.same({"cat", "dog"}, y); assert.same({2, 4, 4, 1}, X.shape)
    I.save(dir .. "/f/eel_1.png", ml.ones(5, 4))
    assert.has_error(function() I.load_folder(dir .. "/f") end)
    assert.has_error(function() I.load_folder(dir .. "/empty_none") end)
  end)
end)

teardown(function() os.execute("rm -rf " .. dir) end)
