-- Image filters, by hand and learned: classic 3x3 kernels (Sobel edges, blur,
-- sharpen) applied to a PNG digit, then the 5x5 filters a small CNN learns on
-- MNIST and what they make of the same digit. Everything is written as PNG.
--   mlrun scripts/filters.lua [--out DIR]
local ml = require "ml"
local nn = ml.nn

local out = (arg[1] == "--out" and arg[2]) or "out"
os.execute(string.format("mkdir -p '%s'", out))
ml.seed(4)

-- min-max scaling of each image of a batch to [0, 1], for display
local function rescale(batch)
  local n = batch.shape[1]
  local flat = batch:reshape(n, -1)
  local lo, hi = flat:min(2), flat:max(2)
  lo, hi = lo:reshape(n, 1), hi:reshape(n, 1)
  return ((flat - lo) / (hi - lo + 1e-8)):reshape(batch.shape)
end

-- 1. hand-made filters on one digit
local digit = ml.image.load("data/mnist-png/7_0001.png")   -- 28 x 28 x 1, values in [0, 1]
local kernels = {
  {"sobel_h", nil}, {"sobel_v", nil},
  {"blur", ml.full({3, 3}, 1 / 9)},
  {"sharpen", ml.tensor{{0, -1, 0}, {-1, 5, -1}, {0, -1, 0}}},
  {"laplacian", ml.tensor{{0, 1, 0}, {1, -4, 1}, {0, 1, 0}}},
}
local shown = {digit}
for _, k in ipairs(kernels) do
  local name, kern = k[1], k[2]
  local img = kern and ml.image.convolve(digit, kern) or ml.image[name](digit)
  shown[#shown + 1] = img
  ml.image.save(string.format("%s/filter_%s.png", out, name), rescale(img:reshape(1, 28, 28, 1))[1])
end
ml.plot.images(ml.stack(shown), out .. "/filters_hand.png", {cols = #shown, scale = 4})
print(string.format("wrote %s/filters_hand.png (digit, %s)", out,
  "sobel_h, sobel_v, blur, sharpen, laplacian"))

-- 2. a small CNN learns its own 5x5 filters
local x_train, y_train, x_test, y_test = ml.datasets.mnist()
local conv = nn.Conv2D(16, 5, {activation = "relu"})
local model = nn.Sequential{nn.Input{28, 28, 1}, conv, nn.MaxPooling2D(2), nn.Flatten(),
  nn.Dense(10, {activation = "softmax"})}
model:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
model:fit(x_train, y_train, {epochs = 2, batch_size = 64, verbose = 2})
local _, acc = model:evaluate(x_test, y_test)
print(string.format("small CNN: test accuracy %.2f%%", 100 * acc))

local w = conv:get_weights()[1]                         -- 5 x 5 x 1 x 16 (Keras layout)
ml.plot.images(w, out .. "/filters_learned.png", {cols = 8, filters = true, scale = 12})
local maps = conv:forward(digit:reshape(1, 28, 28, 1), false)   -- 1 x 24 x 24 x 16
maps = maps[1]:permute(3, 1, 2):contiguous():reshape(16, 24, 24, 1)
ml.plot.images(maps, out .. "/feature_maps.png", {cols = 8, scale = 3})
print(string.format("wrote %s/filters_learned.png (16 learned 5x5 filters) and "
  .. "%s/feature_maps.png (their responses to the digit)", out, out))
