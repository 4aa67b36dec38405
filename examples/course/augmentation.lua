-- augmentation.lua - data augmentation as the course teaches it: random
-- rotations, shifts and noise make new training digits from old ones. A
-- small network trained on 1,000 digits is tested on rotated and shifted
-- test digits, with and without augmented training data.
--   mlrun examples/course/augmentation.lua [--quick]
local ml = require "ml"
local nn = ml.nn
local quick = arg[1] == "--quick"
ml.seed(2)
local x, y, x_test, y_test = ml.datasets.mnist()            -- pixels in [0, 1]
local n = quick and 600 or 1000
x, y = x:narrow(1, 1, n), y:narrow(1, 1, n)
x_test, y_test = x_test:narrow(1, 1, 500), y_test:narrow(1, 1, 500)

-- one random rotation (+-15 degrees), shift (+-2 pixels) and noise per image
local function augment(batch)
  local m = batch.shape[1]
  local angles = (ml.rand(m) - 0.5) * 30
  local dx, dy = (ml.rand(m) - 0.5) * 4, (ml.rand(m) - 0.5) * 4
  local out = ml.image.shift(ml.image.rotate(batch, angles), dx, dy)
  return ml.image.add_noise(out, 0.05)
end

local hard_test = augment(x_test)                            -- a harder test set
local function train(xs, ys)
  ml.seed(4)
  local model = nn.Sequential{nn.Input{28, 28, 1}, nn.Flatten(),
    nn.Dense(128, {activation = "relu"}), nn.Dense(10, {activation = "softmax"})}
  model:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
  model:fit(xs, ys, {epochs = quick and 5 or 15, batch_size = 64, verbose = 0})
  local _, plain = model:evaluate(x_test, y_test)
  local _, hard = model:evaluate(hard_test, y_test)
  return plain, hard
end

local p1, h1 = train(x, y)
local copies, labels = {x}, {y}
for _ = 1, 3 do copies[#copies + 1] = augment(x); labels[#labels + 1] = y end
local p2, h2 = train(ml.cat(copies, 1), ml.cat(labels, 1))
print(string.format("%-28s %8s %18s", "training data", "test", "rotated+shifted"))
print(string.format("%-28s %7.1f%% %17.1f%%", n .. " digits", 100 * p1, 100 * h1))
print(string.format("%-28s %7.1f%% %17.1f%%", n .. " + 3 augmented copies", 100 * p2, 100 * h2))
assert(h2 > h1, "augmented training should help on transformed digits")
