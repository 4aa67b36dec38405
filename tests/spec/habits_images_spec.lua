-- issue 10 item 9: JPEG wherever PNG works, rgb2gray like skimage,
-- fashion_mnist and cifar10 loaders, and MNIST's [0, 1] scale made visible.
local ml = require "ml"
local base = require "ml.base"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)

local function write(path, bytes)
  local f = assert(io.open(path, "wb")); f:write(bytes); f:close()
end
local function u32be(n) return string.pack(">I4", n) end

-- an IDX file: magic 0 0 0x08 ndim, big-endian sizes, ubyte data
local function idx(shape, bytes)
  local head = "\0\0\8" .. string.char(#shape)
  for _, s in ipairs(shape) do head = head .. u32be(s) end
  return head .. bytes
end

describe("JPEG", function()
  it("saves and loads colour and gray images, close to the original", function()
    local img = ml.image.resize(ml.tensor{{{0, 0, 0}, {1, 0.5, 0}}, {{0, 0, 1}, {1, 1, 1}}}, 16, 16)
    ml.image.save(dir .. "/c.jpg", img, {quality = 95})
    local back = ml.image.load(dir .. "/c.jpg")
    assert.same({16, 16, 3}, back.shape)
    assert.is_true((back - img):abs():mean() < 0.03)
    ml.image.save(dir .. "/g.jpeg", ml.full({8, 8}, 0.5))
    local g = ml.image.load(dir .. "/g.jpeg")
    assert.same({8, 8, 1}, g.shape)
    assert.is_true((g - 0.5):abs():max() < 0.01)
  end)
  it("is told apart from PNG by content, not by name", function()
    ml.image.save(dir .. "/p.png", ml.full({4, 4}, 0.25))
    os.rename(dir .. "/p.png", dir .. "/p.jpg")
    assert.same({4, 4, 1}, ml.image.load(dir .. "/p.jpg").shape)
  end)
  it("refuses alpha, bad quality, unknown formats, corrupt and truncated files", function()
    assert.has_error(function() ml.image.save(dir .. "/a.jpg", ml.rand(4, 4, 4)) end)
    local ok, err = pcall(ml.image.save, dir .. "/a.jpg", ml.rand(4, 4, 4))
    assert.is_false(ok)
    assert.truthy(tostring(err):find("JPEG takes C = 1 or 3 channels and has no alpha", 1, true))
    assert.has_error(function() ml.image.save(dir .. "/a.jpg", ml.rand(4, 4), {quality = 0}) end)
    assert.has_error(function() ml.image.save(dir .. "/a.jpg", ml.rand(4, 4), {bits = 16}) end,
      "image.save: bits applies to PNG; JPEG is 8-bit (set quality = 1..100)")
    assert.has_error(function() ml.image.save(dir .. "/a.bmp", ml.rand(4, 4)) end,
      "image.save: cannot write .bmp files ('" .. dir .. "/a.bmp'); use a .png, .jpg or .jpeg " ..
      "name or {format = \"png\"|\"jpeg\"}")
    ml.image.save(dir .. "/noext", ml.rand(4, 4))            -- no image extension: PNG
    assert.same({4, 4, 1}, ml.image.load(dir .. "/noext").shape)
    local f = io.open(dir .. "/c.jpg", "rb"); local bytes = f:read("a"); f:close()
    write(dir .. "/t.jpg", bytes:sub(1, #bytes // 2))
    ok, err = pcall(ml.image.load, dir .. "/t.jpg")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("corrupt JPEG", 1, true))
    write(dir .. "/z.jpg", "\255\216\255" .. string.rep("\0", 40))
    assert.has_error(function() ml.image.load(dir .. "/z.jpg") end)
    write(dir .. "/n.jpg", "hello")
    ok, err = pcall(ml.image.load, dir .. "/n.jpg")
    assert.truthy(tostring(err):find("not a PNG or JPEG file", 1, true))
  end)
  it("loads with load_folder beside PNG files", function()
    local d = dir .. "/folder"
    os.execute("mkdir -p " .. d)
    ml.image.save(d .. "/0_a.png", ml.zeros(6, 6, 3))
    ml.image.save(d .. "/1_b.jpg", ml.ones(6, 6, 3))
    ml.image.save(d .. "/1_c.JPEG", ml.ones(6, 6, 3), {format = "jpeg"})
    local X, y, names = ml.image.load_folder(d)
    assert.same({3, 6, 6, 3}, X.shape)
    assert.same({0, 1, 1}, y:totable())
    assert.same({"0_a.png", "1_b.jpg", "1_c.JPEG"}, names)
    local G = ml.image.load_folder(d, {gray = true})
    assert.same({3, 6, 6, 1}, G.shape)
  end)
end)

describe("rgb2gray", function()
  it("returns H x W (and N x H x W) as skimage, or keeps a channel on request", function()
    assert.same({5, 4}, ml.image.rgb2gray(ml.rand(5, 4, 3)).shape)
    assert.same({2, 5, 4}, ml.image.rgb2gray(ml.rand(2, 5, 4, 3)).shape)
    assert.same({5, 4, 1}, ml.image.rgb2gray(ml.rand(5, 4, 3), {keep_channel = true}).shape)
    assert.same({5, 4}, ml.image.rgb2gray(ml.rand(5, 4)).shape)
    local g = ml.image.rgb2gray(ml.tensor{{{1, 0, 0}, {0, 1, 0}}})
    assert.near(0.299, g[1][1], 1e-6); assert.near(0.587, g[1][2], 1e-6)
    assert.has_error(function() ml.image.rgb2gray(ml.rand(2, 2, 3), {keepdims = true}) end,
      "image.rgb2gray: unknown option 'keepdims' (expected one of: keep_channel)")
  end)
end)

describe("ml.datasets.fashion_mnist", function()
  local d = dir .. "/fashion"
  it("reads the four IDX files (plain or .gz) and names the classes", function()
    os.execute("mkdir -p " .. d)
    local px = string.rep("\0\255", 28 * 28)   -- 2 images of 28 x 28
    write(d .. "/train-images-idx3-ubyte", idx({2, 28, 28}, px))
    write(d .. "/train-labels-idx1-ubyte", idx({2}, "\9\0"))
    write(d .. "/t10k-images-idx3-ubyte", idx({1, 28, 28}, px:sub(1, 784)))
    write(d .. "/t10k-labels-idx1-ubyte", idx({1}, "\3"))
    local x, y, xt, yt, info = ml.datasets.fashion_mnist(d)
    assert.same({2, 28, 28, 1}, x.shape)
    assert.same({9, 0}, y:totable())
    assert.equal(1, x:max())
    assert.same({1}, {yt.shape[1]}); assert.same({1, 28, 28, 1}, xt.shape)
    assert.equal("Ankle boot", info.class_names[y[1] + 1])
    local raw = ml.datasets.fashion_mnist(d, {scale = false})
    assert.equal(255, raw:max())
  end)
  it("says which files it expected and where to get them", function()
    assert.has_error(function() ml.datasets.fashion_mnist(dir .. "/none") end,
      "fashion_mnist: '" .. dir .. "/none' is not a folder; expected the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, " ..
      "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may end in .gz) in '" .. dir ..
      "/none'; download them from https://github.com/zalandoresearch/fashion-mnist (data/fashion)")
    assert.has_error(function() ml.datasets.fashion_mnist() end)
    assert.has_error(function() ml.datasets.fashion_mnist(dir) end,
      "fashion_mnist: expected the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, " ..
      "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may end in .gz) in '" .. dir ..
      "'; download them from https://github.com/zalandoresearch/fashion-mnist (data/fashion)")
    assert.has_error(function() ml.datasets.fashion_mnist(d, {normalize = true}) end,
      "fashion_mnist: unknown option 'normalize' (expected one of: scale)")
  end)
end)

describe("ml.datasets.cifar10", function()
  local d = dir .. "/cifar/cifar-10-batches-bin"
  local function record(label, r, g, b)
    return string.char(label) .. string.rep(string.char(r), 1024) .. string.rep(string.char(g), 1024)
      .. string.rep(string.char(b), 1024)
  end
  it("reads the binary batches, channels last, labels 0..9", function()
    os.execute("mkdir -p " .. d)
    for i = 1, 5 do write(d .. "/data_batch_" .. i .. ".bin", record(i, 255, 0, 51) .. record(0, 0, 0, 0)) end
    write(d .. "/test_batch.bin", record(9, 0, 255, 0))
    local x, y, xt, yt, info = ml.datasets.cifar10(dir .. "/cifar")   -- finds cifar-10-batches-bin
    assert.same({10, 32, 32, 3}, x.shape)
    assert.same({1, 0, 2, 0, 3, 0, 4, 0, 5, 0}, y:totable())
    assert.same({1, 0, 0.2}, {x[1][1][1][1], x[1][32][32][2], math.floor(x[1][5][7][3] * 1000 + 0.5) / 1000})
    assert.same({9}, yt:totable()); assert.equal(1, xt[1][1][1][2])
    assert.equal("truck", info.class_names[yt[1] + 1])
  end)
  it("says which files it expected and where to get them; refuses bad files", function()
    local ok, err = pcall(ml.datasets.cifar10, dir)
    assert.is_false(ok)
    -- the position is this file's line (ml.errors.raise), then the message
    local line = debug.getinfo(1, "l").currentline - 3
    assert.equal("tests/spec/habits_images_spec.lua:" .. line .. ": " ..
      "cifar10: expected data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, " ..
      "data_batch_4.bin, data_batch_5.bin, test_batch.bin in '" .. dir .. "'; download the " ..
      "\"CIFAR-10 binary version\" (cifar-10-binary.tar.gz) from " ..
      "https://www.cs.toronto.edu/~kriz/cifar.html and unpack it (missing data_batch_1.bin)", err)
    write(d .. "/data_batch_3.bin", record(1, 0, 0, 0):sub(1, 100))
    ok, err = pcall(ml.datasets.cifar10, d)
    assert.truthy(tostring(err):find("100 bytes is not a whole number of 3073-byte CIFAR-10 records", 1, true))
    write(d .. "/data_batch_3.bin", record(12, 0, 0, 0))
    ok, err = pcall(ml.datasets.cifar10, d)
    assert.truthy(tostring(err):find("record 1 has label 12; CIFAR-10 labels are 0..9", 1, true))
  end)
end)

describe("MNIST's scale", function()
  it("is [0, 1], reported in the fifth result, 0..255 with {scale = false}", function()
    local x, _, _, _, info = ml.datasets.mnist()
    assert.equal(1 / 255, info.scale)
    assert.same({0, 1}, info.range)
    assert.is_true(x:max() <= 1)
    local raw, _, _, _, rinfo = ml.datasets.mnist(nil, {scale = false})
    assert.equal(255, raw:max())
    assert.same({0, 255}, rinfo.range)
  end)
  it("warns once when already-scaled pixels are divided by 255", function()
    base.warned.div255 = nil
    local x = ml.rand(4, 4)
    local y = x / 255
    assert.truthy(base.warned.div255:find("x / 255 on a tensor already in [0, 1]", 1, true))
    base.warned.div255 = nil
    local _ = ml.full({2}, 200) / 255       -- raw pixels: no warning
    assert.is_nil(base.warned.div255)
    _ = x:div(255)
    assert.is_not_nil(base.warned.div255)
    assert.is_true(y:max() < 1 / 255 + 1e-6)
  end)
end)
