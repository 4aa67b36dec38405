-- ml.data.DataLoader: batching, shuffling, buffer reuse, options.
local ml = require "ml"

describe("ml.data.DataLoader", function()
  -- free this file\'s tensors now: later specs measure memory in use
  teardown(function() collectgarbage() collectgarbage() end)
  local X = ml.arange(0, 10):reshape(10, 1)
  local y = ml.arange(0, 10):long()

  it("covers every row once per pass, in order without shuffling", function()
    local dl = ml.data.DataLoader(X, y, {batch_size = 4})
    assert.are.equal(3, #dl)
    local seen, sizes = {}, {}
    for xb, yb in dl:batches() do
      sizes[#sizes + 1] = xb.shape[1]
      for _, v in ipairs(xb:reshape(-1):totable()) do seen[#seen + 1] = v end
      assert.are.same(xb:reshape(-1):totable(), yb:float():totable())
    end
    assert.are.same({4, 4, 2}, sizes)
    assert.are.same({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, seen)
  end)

  it("shuffles from the engine seed, reproducibly, keeping x and y paired", function()
    local function order(seed)
      ml.seed(seed)
      local dl = ml.data.DataLoader(X, y, {batch_size = 3, shuffle = true})
      local out = {}
      for xb, yb in dl:batches() do
        assert.are.same(xb:reshape(-1):totable(), yb:float():totable())
        for _, v in ipairs(yb:totable()) do out[#out + 1] = v end
      end
      return out
    end
    local a, b, c = order(5), order(5), order(6)
    assert.are.same(a, b)
    assert.are_not.same(a, c)
    table.sort(a)
    assert.are.same({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, a)
  end)

  it("reuses its batch buffers", function()
    local dl = ml.data.DataLoader(X, y, {batch_size = 5})
    local first
    for i, xb in dl:ipairs() do
      if i == 1 then first = xb else assert.is_true(rawequal(first, xb)) end
    end
    local again = dl:get(1)
    assert.is_true(rawequal(first, again))
  end)

  it("drops the short last batch on request", function()
    local dl = ml.data.DataLoader(X, {batch_size = 4, drop_last = true})
    assert.are.equal(2, #dl)
    local n = 0
    for xb, yb in dl:batches() do n = n + 1; assert.are.equal(4, xb.shape[1]); assert.is_nil(yb) end
    assert.are.equal(2, n)
  end)

  it("adds noise only when augmenting", function()
    local imgs = ml.zeros(6, 4, 4, 1)
    local dl = ml.data.DataLoader(imgs, {batch_size = 6, augment = {noise = 0.1}})
    local xb = dl:get(1)
    local sd = xb:std()
    assert.is_true(sd > 0.05 and sd < 0.15)
    assert.are.equal(0, imgs:abs():sum())   -- the source is untouched
  end)

  it("checks its arguments", function()
    assert.has_error(function() ml.data.DataLoader(X, ml.zeros(3)) end,
      "DataLoader: X has 10 rows but y has shape 3")
    assert.has_error(function() ml.data.DataLoader(X, y, {batch_size = 0}) end)
    assert.has_error(function() ml.data.DataLoader(X, y, {batchsize = 2}) end)
    assert.has_error(function() ml.data.DataLoader(X, y, {augment = {flip = true}}) end,
      "DataLoader: augment needs N x H x W x C images, got X of shape 10x1")
    assert.has_error(function() ml.data.DataLoader(X, y, {augment = {rot = 3}}) end)
  end)
end)

describe("model:fit with a DataLoader", function()
  -- free this file\'s tensors now: later specs measure memory in use
  teardown(function() collectgarbage() collectgarbage() end)
  it("trains from the loader's batches", function()
    ml.seed(3)
    local nn = ml.nn
    local x = ml.rand(32, 6, 6, 1)
    local y = (ml.rand(32) * 2):floor():long()
    local m = nn.Sequential{nn.Input{6, 6, 1}, nn.Flatten(), nn.Dense(2, {activation = "softmax"})}
    m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
    local loader = ml.data.DataLoader(x, y, {batch_size = 8, shuffle = true, augment = {noise = 0.01}})
    local h = m:fit(loader, nil, {epochs = 2, verbose = 0})
    assert.are.equal(2, #h.loss)
    assert.are.equal(4, h.params.steps)
    assert.has_error(function() m:fit(loader, y, {verbose = 0}) end)
  end)
end)
