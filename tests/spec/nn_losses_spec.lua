-- nn_losses_spec: Keras losses (values against hand computations, gradients
-- by finite differences), the fused softmax/sigmoid + cross-entropy paths,
-- class ids vs one-hot targets, and errors.
local ml = require "ml"
local losses = ml.nn.losses
local G = dofile("tests/spec/gradcheck.lua")

local function probs(n, k, seed)
  ml.seed(seed or 1)
  return (ml.randn(n, k)):softmax(2)
end

local function onehot(ids, k)
  local t = ml.zeros(#ids, k)
  for i, c in ipairs(ids) do t[i][c + 1] = 1 end
  return t
end

describe("losses", function()
  it("mse and mae average over every element", function()
    local p, y = ml.tensor{{1, 2}, {3, 4}}, ml.tensor{{1, 0}, {0, 4}}
    assert.is_near((0 + 4 + 9 + 0) / 4, losses.mse.forward(p, y), 1e-6)
    assert.is_near((0 + 2 + 3 + 0) / 4, losses.mae.forward(p, y), 1e-6)
    assert.is_near(13 / 4, losses.mean_squared_error(p, y), 1e-6)
    -- N vs N x 1 targets are accepted
    assert.is_near(1, losses.mse.forward(ml.tensor{{1}, {2}}, ml.tensor{0, 3}), 1e-6)
  end)

  it("binary cross-entropy with clipping", function()
    local p, y = ml.tensor{{0.9}, {0.2}, {0}, {1}}, ml.tensor{{1}, {0}, {0}, {1}}
    local want = -(math.log(0.9) + math.log(0.8) + math.log(1 - 1e-7) + math.log(1 - 1e-7)) / 4
    assert.is_near(want, losses.binary_crossentropy.forward(p, y), 1e-6)
    local v = losses.binary_crossentropy.forward(ml.tensor{{0}}, ml.tensor{{1}})
    assert.is_near(-math.log(1e-7), v, 1e-4)   -- log(0) never happens
  end)

  it("categorical cross-entropy from ids or one-hot rows, any dtype", function()
    local p = probs(5, 4)
    local ids = {0, 3, 1, 2, 3}
    local want = 0
    for i, c in ipairs(ids) do want = want - math.log(p[i][c + 1]) end
    want = want / 5
    local ys = ml.tensor(ids)
    for _, name in ipairs{"categorical_crossentropy", "sparse_categorical_crossentropy"} do
      local L = losses[name]
      assert.is_near(want, L.forward(p, onehot(ids, 4)), 1e-5)
      assert.is_near(want, L.forward(p, ys), 1e-5)
      assert.is_near(want, L.forward(p, ys:long()), 1e-5)
      assert.is_near(want, L.forward(p, ys:reshape(5, 1)), 1e-5)
    end
  end)

  it("has finite-difference gradients for every loss", function()
    ml.seed(2)
    local p = ml.rand(4, 3) * 0.8 + 0.1
    local yb = ml.rand(4, 3):gt(0.5):float()
    local yr = ml.randn(4, 3)
    local cases = {
      {"mse", p, yr}, {"mae", p, yr}, {"binary_crossentropy", p, yb},
      {"categorical_crossentropy", p, onehot({0, 2, 1, 1}, 3)},
      {"categorical_crossentropy", p, ml.tensor{2, 0, 1, 2}},
      {"sparse_categorical_crossentropy", p, ml.tensor{2, 0, 1, 2}},
    }
    for _, c in ipairs(cases) do
      local L = losses[c[1]]
      local x = c[2]:clone()
      local g = L.backward(x, c[3])
      local ok, msg = G.fn(function(v) return L.forward(v, c[3]) end, x, g, {eps = 1e-3})
      assert(ok, c[1] .. ": " .. tostring(msg))
      local v, g2 = L.forward_backward(x, c[3])
      assert.is_near(L.forward(x, c[3]), v, 1e-9)
      assert.is_true(g:allclose(g2, 0, 0))
    end
  end)

  it("fused softmax + cross-entropy: (p - y) / N w.r.t. the logits", function()
    ml.seed(3)
    local logits = ml.randn(6, 5)
    local ids = ml.tensor{0, 4, 2, 2, 1, 3}
    local p = logits:softmax(2)
    local loss, g = losses.softmax_cross_entropy(p, ids)
    assert.is_near(losses.categorical_crossentropy.forward(p, ids), loss, 1e-6)
    assert.is_true(g:allclose((p - onehot({0, 4, 2, 2, 1, 3}, 5)) / 6, 1e-6, 1e-7))
    -- against finite differences through the softmax
    local ok, msg = G.fn(function(z) return losses.categorical_crossentropy.forward(z:softmax(2), ids) end,
      logits, g, {eps = 1e-3})
    assert(ok, msg)
    -- the same through a Dense softmax layer with pre_activation = true
    local d = ml.nn.Dense(5, {activation = "softmax"})
    local x = ml.randn(6, 3)
    local pr = d:forward(x, true)
    local _, gl = losses.softmax_cross_entropy(pr, ids)
    local gx = d:backward(x, gl, true):clone()
    local ok2, msg2 = G.fn(function(v) return losses.categorical_crossentropy.forward(d:forward(v), ids) end,
      x, gx, {eps = 1e-3})
    assert(ok2, msg2)
    -- saturated probabilities stay finite
    local l2 = losses.softmax_cross_entropy(ml.tensor{{1, 0}}, ml.tensor{1})
    assert.is_near(-math.log(1e-7), l2, 1e-3)
  end)

  it("fused sigmoid + binary cross-entropy", function()
    ml.seed(4)
    local z = ml.randn(5, 1)
    local y = ml.tensor{{1}, {0}, {1}, {1}, {0}}
    local loss, g = losses.sigmoid_cross_entropy(z:sigmoid(), y)
    assert.is_near(losses.binary_crossentropy.forward(z:sigmoid(), y), loss, 1e-6)
    local ok, msg = G.fn(function(v) return losses.binary_crossentropy.forward(v:sigmoid(), y) end,
      z, g, {eps = 1e-3})
    assert(ok, msg)
    assert.are.equal("softmax", losses.fused_with("sparse_categorical_crossentropy", "softmax"))
    assert.is_nil(losses.fused_with("mse", "softmax"))
  end)

  it("names a label out of range and K", function()
    local p = probs(3, 10)
    local ok, err = pcall(losses.sparse_categorical_crossentropy.forward, p, ml.tensor{1, 12, 3})
    assert.is_false(ok)
    assert.matches("label 12", err, 1, true)
    assert.matches("10 classes", err, 1, true)
    ok, err = pcall(losses.categorical_crossentropy.forward, p, ml.tensor{-1, 0, 0})
    assert.is_false(ok)
    assert.matches("label %-1", err)
    ok, err = pcall(losses.softmax_cross_entropy, p, ml.tensor{0.5, 0, 0})
    assert.is_false(ok)
    ok, err = pcall(losses.mse.forward, p, ml.zeros(3, 4))
    assert.is_false(ok)
    assert.matches("3x10", err, 1, true)
    assert.matches("3x4", err, 1, true)
    ok, err = pcall(losses.get, "hinge_loss")
    assert.is_false(ok)
    assert.matches("unknown loss 'hinge_loss'", err, 1, true)
  end)
end)

describe("activations module", function()
  it("functions and derivatives", function()
    local A = ml.nn.activations
    local x = ml.tensor{{-2, 0.5, 3}}
    assert.is_true(A.relu(x):allclose(ml.tensor{{0, 0.5, 3}}))
    assert.is_true(A.softmax(x):allclose(x:softmax(2), 1e-6, 1e-7))
    local y = A.tanh(x)
    assert.is_true(A.backward("tanh", y, ml.ones(1, 3)):allclose(1 - y * y, 1e-6, 1e-7))
    assert.has_error(function() A.check("gelux", "t") end)
  end)
end)
