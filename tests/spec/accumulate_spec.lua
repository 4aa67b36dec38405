-- fit{accumulate = k}: a batch run as k micro-batches (gradients summed,
-- one update) trains the same weights as the whole batch at once.
local ml = require "ml"
local nn = ml.nn

local function data(n, classes)
  ml.seed(11)
  local x = ml.randn(n, 6)
  local y = classes and (x:select(2, 1) * 2 + x:select(2, 2)):gt(0):float()
    or (x:select(2, 1) - x:select(2, 3) * 0.5):reshape(n, 1)
  return x, y
end

local function train(opts, loss, out, x, y)
  ml.seed(5)
  local m = nn.Sequential{nn.Input{6}, nn.Dense(16, {activation = "tanh"}),
    nn.Dense(8, {activation = "relu"}), nn.Dense(out, {activation = out > 1 and "softmax" or nil})}
  m:compile{optimizer = opts.adam and ml.optim.Adam{lr = 0.01} or ml.optim.SGD{lr = 0.1, momentum = 0.9},
            loss = loss, metrics = {"accuracy"}}
  ml.seed(9)
  local h = m:fit(x, y, {epochs = 3, batch_size = opts.batch_size, accumulate = opts.accumulate,
                         verbose = 0})
  local w = {}
  for _, p in ipairs(m:parameters()) do w[#w + 1] = p:clone() end
  return w, h
end

local function max_diff(a, b)
  local d = 0
  for i = 1, #a do local m = (a[i] - b[i]):abs():max()
    d = math.max(d, type(m) == "number" and m or m:item()) end
  return d
end

describe("fit{accumulate = k}", function()
  it("trains the weights of the whole batch (softmax cross-entropy, SGD with momentum)", function()
    local x, y = data(210, true)
    local big = train({batch_size = 60}, "sparse_categorical_crossentropy", 2, x, y)
    local acc = train({batch_size = 60, accumulate = 4}, "sparse_categorical_crossentropy", 2, x, y)
    local small = train({batch_size = 15}, "sparse_categorical_crossentropy", 2, x, y)
    assert.is_true(max_diff(big, acc) < 2e-5, "accumulated: " .. max_diff(big, acc))
    -- the test could fail: micro-batches alone (an update each) train other weights
    assert.is_true(max_diff(big, small) > 1e-2, "small batches: " .. max_diff(big, small))
  end)
  it("splits uneven batches by their rows (mse, Adam; 210 rows, batches of 50, k = 3)", function()
    local x, y = data(210, false)
    local big, hb = train({batch_size = 50, adam = true}, "mse", 1, x, y)
    local acc, ha = train({batch_size = 50, accumulate = 3, adam = true}, "mse", 1, x, y)
    assert.is_true(max_diff(big, acc) < 2e-5, "accumulated: " .. max_diff(big, acc))
    for e = 1, 3 do assert.near(hb.loss[e], ha.loss[e], 1e-5) end
  end)
  it("refuses accumulate < 1", function()
    local x, y = data(20, false)
    assert.has_error(function() train({batch_size = 10, accumulate = 0}, "mse", 1, x, y) end,
      "fit: accumulate must be an integer >= 1, got 0")
  end)
end)
