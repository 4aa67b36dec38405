-- Determinism: with a fixed seed, training gives bit-identical weights from
-- run to run, and with 1 or 2 threads (kernels reduce in a fixed order, and
-- the BLAS calls used give the same bits at both thread counts here).
local ml = require "ml"
local nn = ml.nn

local function weights(m)
  local out = {}
  for i, w in ipairs(m:get_weights()) do out[i] = w:contiguous():flatten():totable() end
  return out
end

-- exact comparison, element by element (NaN never equals anything)
local function identical(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if #a[i] ~= #b[i] then return false end
    for j = 1, #a[i] do
      if a[i][j] ~= a[i][j] or a[i][j] ~= b[i][j] then return false end
    end
  end
  return true
end

local function data(n, shape, k)
  ml.seed(123)
  local x = ml.rand(n, table.unpack(shape))
  local y = (ml.rand(n) * k):floor():long()
  return x, y
end

local function train_mlp(threads)
  local before = ml.get_num_threads()
  ml.set_num_threads(threads)
  local x, y = data(96, {20}, 3)
  ml.seed(5)
  local m = nn.Sequential{nn.Input{20}, nn.Dense(64, {activation = "relu"}), nn.Dropout(0.3),
    nn.Dense(32, {activation = "tanh"}), nn.Dense(3, {activation = "softmax"})}
  m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
  local h = m:fit(x, y, {epochs = 3, batch_size = 16, verbose = 0, validation_split = 0.25})
  ml.set_num_threads(before)
  return weights(m), h
end

local function train_cnn(threads)
  local before = ml.get_num_threads()
  ml.set_num_threads(threads)
  local x, y = data(48, {12, 12, 1}, 4)
  ml.seed(7)
  local m = nn.Sequential{nn.Input{12, 12, 1},
    nn.Conv2D(8, 3, {activation = "relu", padding = "same"}), nn.MaxPooling2D(2),
    nn.Conv2D(8, 3, {activation = "relu"}), nn.Dropout(0.25), nn.Flatten(),
    nn.Dense(16, {activation = "relu"}), nn.Dense(4, {activation = "softmax"})}
  m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy"}
  m:fit(x, y, {epochs = 2, batch_size = 12, verbose = 0})
  ml.set_num_threads(before)
  return weights(m)
end

describe("determinism", function()
  it("an MLP trained twice with the same seed has bit-identical weights", function()
    local a = train_mlp(2)
    local b = train_mlp(2)
    assert.is_true(identical(a, b))
    -- and the seed matters: another seed gives other weights
    local x, y = data(96, {20}, 3)
    ml.seed(6)
    local m = nn.Sequential{nn.Input{20}, nn.Dense(64, {activation = "relu"}), nn.Dropout(0.3),
      nn.Dense(32, {activation = "tanh"}), nn.Dense(3, {activation = "softmax"})}
    m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy"}
    m:fit(x, y, {epochs = 3, batch_size = 16, verbose = 0, validation_split = 0.25})
    assert.is_false(identical(a, weights(m)))
  end)

  it("a CNN trained twice with the same seed has bit-identical weights", function()
    assert.is_true(identical(train_cnn(2), train_cnn(2)))
  end)

  it("an MLP gives the same bits with 1 and 2 threads", function()
    assert.is_true(identical(train_mlp(1), train_mlp(2)))
  end)

  it("a CNN gives the same bits with 1 and 2 threads", function()
    assert.is_true(identical(train_cnn(1), train_cnn(2)))
  end)
end)
