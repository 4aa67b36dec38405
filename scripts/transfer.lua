-- Transfer learning, as the course does it with VGG, with a network trained
-- here: a CNN learns digits 0-4; its convolutional layers are saved, loaded,
-- frozen, and a new dense head is fine-tuned on digits 5-9.
--   mlrun scripts/transfer.lua [--data DIR] [--epochs N]
local ml = require "ml"
local nn = ml.nn

local opts = {epochs = 2, out = "out"}
for i = 1, #arg, 2 do
  local k = arg[i]:match("^%-%-(.+)$")
  if not k or (opts[k] == nil and k ~= "data") then
    error("usage: transfer.lua [--data DIR] [--epochs N] [--out DIR]", 0)
  end
  opts[k] = (k == "data" or k == "out") and arg[i + 1] or tonumber(arg[i + 1])
end
ml.seed(5)

local x_train, y_train, x_test, y_test = ml.datasets.mnist(opts.data)

-- rows whose label is in lo..hi, labels shifted to start at 0
local function digits(x, y, lo, hi)
  local rows = {}
  for i, v in ipairs(y:totable()) do if v >= lo and v <= hi then rows[#rows + 1] = i end end
  local idx = ml.tensor(rows):long()
  return x:index_select(1, idx), y:index_select(1, idx) - lo
end
local xa, ya = digits(x_train, y_train, 0, 4)
local xa_test, ya_test = digits(x_test, y_test, 0, 4)
local xb, yb = digits(x_train, y_train, 5, 9)
local xb_test, yb_test = digits(x_test, y_test, 5, 9)
print(string.format("digits 0-4: %d train / %d test; digits 5-9: %d train / %d test",
  xa.shape[1], xa_test.shape[1], xb.shape[1], xb_test.shape[1]))

-- 1. a CNN for digits 0-4
local base = nn.Sequential{
  nn.Input{28, 28, 1},
  nn.Conv2D(16, 3, {activation = "relu"}),
  nn.MaxPooling2D(2),
  nn.Conv2D(32, 3, {activation = "relu"}),
  nn.MaxPooling2D(2),
  nn.Flatten(),
  nn.Dense(64, {activation = "relu"}),
  nn.Dense(5, {activation = "softmax"}),
}
base:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
base:fit(xa, ya, {epochs = opts.epochs, batch_size = 64, verbose = 2})
local _, acc_a = base:evaluate(xa_test, ya_test)
print(string.format("digits 0-4 model: test accuracy %.2f%%", 100 * acc_a))
local _, chance = base:evaluate(xb_test, yb_test)
print(string.format("the same model on digits 5-9 (labels 0-4 reused): %.2f%%", 100 * chance))

-- 2. save it, load it back, keep the convolutional part frozen, add a new head
os.execute(string.format("mkdir -p '%s'", opts.out))
local path = opts.out .. "/digits_0_4.mlm"
base:save(path)
local loaded = ml.load(path)
local features = {}
for i = 1, 6 do                       -- Conv, Pool, Conv, Pool, Flatten (+ input)
  local l = loaded.layers[i]
  if l.__name == "Dense" then break end
  l.trainable = false
  features[#features + 1] = l
end
local model = nn.Sequential{nn.Input{28, 28, 1}}
for _, l in ipairs(features) do model:add(l) end
model:add(nn.Dense(64, {activation = "relu"}))
model:add(nn.Dense(5, {activation = "softmax"}))
model:summary()
local frozen_before = features[1]:get_weights()[1]

model:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
model:fit(xb, yb, {epochs = opts.epochs, batch_size = 64, verbose = 2})
local _, acc_b = model:evaluate(xb_test, yb_test)
local drift = (features[1]:get_weights()[1] - frozen_before):abs():max()
print(string.format("fine-tuned head on digits 5-9: test accuracy %.2f%%", 100 * acc_b))
print(string.format("largest change of a frozen convolution weight during fine-tuning: %g", drift))
