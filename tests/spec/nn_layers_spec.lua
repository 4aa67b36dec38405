-- nn_layers_spec: the Keras layers (ml.nn.layers): shapes, parameter counts,
-- finite-difference gradients of every layer, errors that name the layer.
local ml = require "ml"
local core = require "ml.core"
local nn = ml.nn
local G = dofile("tests/spec/gradcheck.lua")

local function assert_grad(layer, x, opts)
  local ok, msg = G.layer(layer, x, opts)
  assert(ok, layer.name .. ": " .. tostring(msg))
end

-- values spread apart so max pooling's argmax does not flip under the probe step
local function spread(shape, seed)
  ml.seed(seed or 3)
  local n = 1
  for _, v in ipairs(shape) do n = n * v end
  local perm = ml.randperm(n):float()
  return (perm * (4.0 / n) - 2):reshape(shape)
end

describe("Dense", function()
  it("computes x W + b with the activation", function()
    ml.seed(1)
    local d = nn.Dense(3, {activation = "sigmoid"})
    local x = ml.randn(4, 5)
    local y = d:forward(x)
    local ref = (x:matmul(d.kernel) + d.bias):sigmoid()
    assert.is_true(y:allclose(ref, 1e-5, 1e-6))
    assert.are.same({5, 3}, d.kernel.shape)
    assert.are.equal(18, d:count_params())
  end)

  it("has finite-difference gradients for each activation", function()
    for _, act in ipairs{"linear", "tanh", "sigmoid", "softmax", "elu"} do
      ml.seed(2)
      local d = nn.Dense(4, {activation = act ~= "linear" and act or nil})
      d:build{6}
      assert_grad(d, ml.randn(5, 6))
    end
  end)

  it("relu and leaky_relu gradients away from the kink", function()
    for _, act in ipairs{"relu", "leaky_relu"} do
      ml.seed(5)
      local l = nn.Activation(act)
      local x = ml.randn(6, 7)
      x = x + x:sign() * 0.1   -- |x| >= 0.1
      assert_grad(l, x)
    end
  end)

  it("applies to the last dimension of 3-D inputs as Keras", function()
    ml.seed(3)
    local d = nn.Dense(2)
    local x = ml.randn(2, 3, 4)
    local y = d:forward(x)
    assert.are.same({2, 3, 2}, y.shape)
    assert.is_true(y[2]:allclose(x[2]:matmul(d.kernel) + d.bias, 1e-5, 1e-6))
    assert_grad(nn.Dense(2, {activation = "tanh"}), ml.randn(2, 3, 4))
  end)

  it("uses a pre-activation gradient as is", function()
    ml.seed(4)
    local d = nn.Dense(3, {activation = "softmax"})
    local x = ml.randn(4, 2)
    d:forward(x, true)
    local g = ml.randn(4, 3)
    local gx = d:backward(x, g, true)
    assert.is_true(gx:allclose(g:matmul(d.kernel:t()), 1e-5, 1e-6))
    assert.is_true(d.kernel_grad:allclose(x:t():matmul(g), 1e-5, 1e-6))
    assert.is_nil(d:backward(x, g, true, true))   -- skip_input_grad
  end)

  it("names the layer and both shapes on a wrong input", function()
    local d = nn.Dense(10, {name = "dense_x"})
    d:build{784}
    local ok, err = pcall(d.forward, d, ml.zeros(2, 28, 28))
    assert.is_false(ok)
    assert.matches("dense_x: expected input with 784 features, got 28x28", err, 1, true)
  end)

  it("rejects unknown options and activations by name", function()
    local ok, err = pcall(nn.Dense, 3, {activaton = "relu"})
    assert.is_false(ok)
    assert.matches("unknown option 'activaton'", err, 1, true)
    ok, err = pcall(nn.Dense, 3, {activation = "rleu"})
    assert.is_false(ok)
    assert.matches("unknown activation 'rleu'", err, 1, true)
    assert.matches("relu", err, 1, true)
    ok, err = pcall(nn.Dense, 0)
    assert.is_false(ok)
    assert.matches("units", err)
  end)

  it("gives unique names and reuses its training buffers", function()
    local a, b = nn.Dense(2), nn.Dense(2)
    assert.are_not.equal(a.name, b.name)
    assert.matches("^dense_%d+$", a.name)
    local x = ml.randn(3, 4)
    local y1 = a:forward(x, true)
    local y2 = a:forward(x, true)
    assert.are.equal(y1, y2)                      -- the same tensor object
    local y3 = a:forward(x)
    assert.are_not.equal(y2, y3)                  -- inference: fresh
  end)

  it("parameters, get_weights and set_weights", function()
    local d = nn.Dense(2)
    d:build{3}
    local p, g = d:parameters()
    local p2, g2 = d:parameters()
    assert.are.equal(2, #p)
    assert.are.equal(p[1], p2[1]); assert.are.equal(g[2], g2[2])
    local w = d:get_weights()
    w[1]:fill(0.5)
    d:set_weights(w)
    assert.are.equal(0.5, d.kernel[1][1])
    assert.are.equal(p[1], d.kernel)   -- updated in place
    assert.has_error(function() d:set_weights{ml.zeros(2, 2), ml.zeros(2)} end)
    d.trainable = false
    assert.are.equal(0, #(d:parameters()))
  end)

  it("round-trips through state and from_state", function()
    ml.seed(9)
    local d = nn.Dense(3, {activation = "tanh", input_shape = {4}})
    d:build{4}
    local c = nn.Dense.from_state(nn.Dense, d:state())
    local x = ml.randn(2, 4)
    assert.is_true(c:forward(x):allclose(d:forward(x)))
    assert.are.equal("tanh", c.activation)
  end)
end)

describe("Conv2D", function()
  it("matches the direct convolution, valid and same, strided", function()
    for _, cfg in ipairs{{3, 1, "valid"}, {3, 2, "same"}, {{2, 3}, {2, 1}, "same"},
                         {1, 1, "valid"}, {4, 3, "valid"}} do
      ml.seed(6)
      local c = nn.Conv2D(5, cfg[1], {strides = cfg[2], padding = cfg[3]})
      local x = ml.randn(3, 9, 7, 2)
      local y = c:forward(x)
      local ref = core.nn.conv2d_ref(x, c.kernel, c.bias, c.strides[1], c.strides[2],
        cfg[3] == "same")
      assert.are.same(ref.shape, y.shape)
      assert.is_true(y:allclose(ref, 1e-4, 1e-5))
      assert.are.same(c:output_shape{9, 7, 2}, {y.shape[2], y.shape[3], y.shape[4]})
    end
  end)

  it("output shapes follow Keras (same: ceil(n / s))", function()
    local c = nn.Conv2D(4, 3, {strides = 2, padding = "same"})
    assert.are.same({5, 4, 4}, c:output_shape{9, 7, 1})
    c = nn.Conv2D(4, {3, 2}, {strides = {2, 1}})
    assert.are.same({4, 6, 4}, c:output_shape{9, 7, 1})
  end)

  it("has finite-difference gradients: valid, same, strided, odd sizes", function()
    for _, cfg in ipairs{{3, 1, "valid", "tanh"}, {3, 2, "same", nil}, {{3, 2}, {2, 3}, "same", "sigmoid"},
                         {2, 2, "valid", nil}, {1, 1, "same", "tanh"}} do
      ml.seed(7)
      local c = nn.Conv2D(3, cfg[1], {strides = cfg[2], padding = cfg[3], activation = cfg[4]})
      local x = ml.randn(2, 7, 5, 2)
      assert_grad(c, x, {max = 30})
    end
  end)

  it("counts parameters as Keras (MNIST CNN: 1,199,882)", function()
    local layers = {nn.Conv2D(32, 3, {activation = "relu"}), nn.Conv2D(64, 3, {activation = "relu"}),
      nn.MaxPooling2D(2), nn.Dropout(0.25), nn.Flatten(), nn.Dense(128, {activation = "relu"}),
      nn.Dropout(0.5), nn.Dense(10, {activation = "softmax"})}
    local s, total, counts = {28, 28, 1}, 0, {}
    for i, l in ipairs(layers) do
      l:build(s)
      s = l:output_shape(s)
      counts[i] = l:count_params()
      total = total + counts[i]
    end
    assert.are.same({320, 18496, 0, 0, 0, 1179776, 0, 1290}, counts)
    assert.are.equal(1199882, total)
  end)

  it("gives the same results at 1 and 2 threads", function()
    ml.seed(8)
    local c = nn.Conv2D(8, 3, {activation = "relu", padding = "same"})
    local x = ml.randn(6, 10, 10, 3)
    local gy = ml.randn(6, 10, 10, 8)
    local saved = ml.get_num_threads()
    ml.set_num_threads(1)
    local y1 = c:forward(x, true):clone()
    local g1 = c:backward(x, gy):clone()
    local k1 = c.kernel_grad:clone()
    ml.set_num_threads(2)
    local y2 = c:forward(x, true)
    local g2 = c:backward(x, gy)
    ml.set_num_threads(saved)
    assert.is_true(y1:allclose(y2, 0, 0))
    assert.is_true(g1:allclose(g2, 0, 0))
    assert.is_true(k1:allclose(c.kernel_grad, 1e-5, 1e-5))
  end)

  it("gives bit-identical gradients run after run at 2 threads (dynamic scheduling)", function()
    ml.seed(16)
    local c = nn.Conv2D(8, 3, {activation = "relu"})
    local x, gy = ml.randn(32, 12, 12, 4), ml.randn(32, 10, 10, 8)
    local saved = ml.get_num_threads()
    ml.set_num_threads(2)
    c:forward(x, true); c:backward(x, gy)
    local k1, b1 = c.kernel_grad:clone(), c.bias_grad:clone()
    for _ = 1, 5 do
      c:forward(x, true); c:backward(x, gy)
      assert.is_true(k1:allclose(c.kernel_grad, 0, 0) and b1:allclose(c.bias_grad, 0, 0))
    end
    ml.set_num_threads(saved)
  end)

  it("names the layer on a wrong input", function()
    local c = nn.Conv2D(4, 3, {name = "conv_x"})
    c:build{8, 8, 3}
    local ok, err = pcall(c.forward, c, ml.zeros(2, 8, 8, 1))
    assert.is_false(ok)
    assert.matches("conv_x: expected input with 3 channels, got 8x8x1", err, 1, true)
    ok, err = pcall(c.forward, c, ml.zeros(2, 64))
    assert.is_false(ok)
    assert.matches("conv_x: expected images H x W x C", err, 1, true)
    ok, err = pcall(nn.Conv2D, 4, 3, {padding = "full"})
    assert.is_false(ok)
    assert.matches("padding", err)
    ok, err = pcall(function() nn.Conv2D(4, 5):build{3, 3, 1} end)
    assert.is_false(ok)
    assert.matches("smaller than the window", err)
  end)
end)

describe("pooling", function()
  it("max pooling picks the window maxima", function()
    local x = ml.tensor{{{{1}, {2}, {3}, {4}}, {{5}, {6}, {7}, {8}},
                         {{9}, {10}, {11}, {12}}, {{13}, {14}, {15}, {16}}}}
    local y = nn.MaxPooling2D(2):forward(x)
    assert.are.same({{{{6}, {8}}, {{14}, {16}}}}, y:totable())
    local a = nn.AveragePooling2D(2):forward(x)
    assert.are.same({{{{3.5}, {5.5}}, {{11.5}, {13.5}}}}, a:totable())
  end)

  it("takes pool_size positionally, as a pair or as an option; strides default to it", function()
    assert.are.same({3, 3}, nn.MaxPooling2D(3).pool_size)
    assert.are.same({2, 3}, nn.MaxPooling2D{2, 3}.pool_size)
    local p = nn.MaxPooling2D{pool_size = 3, padding = "same"}
    assert.are.same({3, 3}, p.strides)
    assert.are.same({4, 3, 5}, p:output_shape{10, 7, 5})
    assert.are.same({2, 2}, nn.AveragePooling2D().pool_size)
    assert.has_error(function() nn.MaxPooling2D(0) end)
  end)

  it("average pooling with same padding counts only real inputs (Keras)", function()
    local x = ml.ones(1, 3, 3, 1)
    local y = nn.AveragePooling2D(2, {padding = "same"}):forward(x)
    assert.are.same({1, 2, 2, 1}, y.shape)
    assert.is_true(y:allclose(ml.ones(1, 2, 2, 1)))
  end)

  it("has finite-difference gradients with odd sizes and strides ~= pool size", function()
    for _, cfg in ipairs{{2, nil, "valid"}, {3, 2, "valid"}, {2, 3, "same"}, {{3, 2}, 1, "same"},
                         {3, 2, "same"}} do
      for _, P in ipairs{nn.MaxPooling2D, nn.AveragePooling2D} do
        local l = P(cfg[1], {strides = cfg[2], padding = cfg[3]})
        assert_grad(l, spread{2, 7, 5, 3}, {eps = 1e-3})
      end
    end
  end)

  it("global average pooling", function()
    local x = spread{2, 3, 5, 4}
    local l = nn.GlobalAveragePooling2D()
    local y = l:forward(x)
    assert.are.same({2, 4}, y.shape)
    assert.is_true(y:allclose(x:mean(2):mean(2):reshape(2, 4), 1e-5, 1e-6))
    assert_grad(l, x)
  end)
end)

describe("Flatten, Reshape, Activation", function()
  it("flatten and reshape", function()
    local x = ml.randn(2, 3, 4, 5)
    local f = nn.Flatten()
    assert.are.same({2, 60}, f:forward(x).shape)
    assert.are.same({60}, f:output_shape{3, 4, 5})
    assert_grad(f, x)
    local r = nn.Reshape{4, -1}
    assert.are.same({2, 4, 15}, r:forward(x).shape)
    assert.are.same({4, 15}, r:output_shape{3, 4, 5})
    assert_grad(r, x)
    assert.has_error(function() nn.Reshape{7, 7}:forward(x) end)
  end)

  it("activation layers: forward values and gradients", function()
    local x = ml.tensor{{-1000, -1, 0.5, 1000}}
    local s = nn.Activation("sigmoid"):forward(x)
    assert.is_true(s:allclose(ml.tensor{{0, 0.26894142, 0.62245933, 1}}, 1e-6, 1e-7))
    local sm = nn.Activation("softmax"):forward(ml.tensor{{1000, 1000}, {1, 2}})
    assert.is_true(sm:allclose(ml.tensor{{0.5, 0.5}, {0.26894142, 0.73105858}}, 1e-6, 1e-7))
    local e = nn.Activation("elu"):forward(ml.tensor{{-1, 2}})
    assert.is_true(e:allclose(ml.tensor{{math.exp(-1) - 1, 2}}, 1e-6, 1e-7))
    local l = nn.Activation("leaky_relu"):forward(ml.tensor{{-1, 2}})
    assert.is_true(l:allclose(ml.tensor{{-0.3, 2}}, 1e-6, 1e-7))
    l = nn.Activation("leaky_relu", {alpha = 0.1}):forward(ml.tensor{{-1, 2}})
    assert.is_true(l:allclose(ml.tensor{{-0.1, 2}}, 1e-6, 1e-7))
    for _, act in ipairs{"sigmoid", "tanh", "softmax", "elu", "linear"} do
      ml.seed(11)
      assert_grad(nn.Activation(act), ml.randn(3, 5))
    end
    local ok, err = pcall(nn.Activation, "swishy")
    assert.is_false(ok)
    assert.matches("unknown activation 'swishy' %(expected one of: elu, gelu, leaky_relu", err)
  end)
end)

describe("Dropout", function()
  it("is the identity at inference and inverted in training", function()
    local d = nn.Dropout(0.5)
    local x = ml.ones(100, 100)
    assert.are.equal(x, d:forward(x))
    ml.seed(1)
    local y = d:forward(x, true)
    local kept = y:gt(0):sum()
    assert.is_true(kept > 4700 and kept < 5300)
    assert.is_true(y:max() == 2 and y:min() == 0)
    assert.are.equal(x, d:backward(x, x, false) == x and x or x)
  end)

  it("is reproducible from the seed and has the gradient of its mask", function()
    local d = nn.Dropout(0.3)
    local x = ml.randn(8, 9)
    ml.seed(5); local a = d:forward(x, true):clone()
    ml.seed(5); local b = d:forward(x, true):clone()
    assert.is_true(a:allclose(b, 0, 0))
    assert_grad(d, x, {training = true, before = function() ml.seed(42) end})
    local gy = ml.ones(8, 9)
    ml.seed(5); d:forward(x, true)
    local gx = d:backward(x, gy)
    assert.is_true(gx:allclose(a:ne(0):float() / 0.7, 1e-6, 1e-6))
  end)
end)

describe("BatchNormalization", function()
  it("normalises in training and updates the moving statistics", function()
    ml.seed(12)
    local bn = nn.BatchNormalization{momentum = 0.9}
    local x = ml.randn(64, 3) * 2 + 5
    local y = bn:forward(x, true)
    assert.is_true(y:mean(1):abs():max() < 1e-4)
    assert.is_true((y:var(1, false) - 1):abs():max() < 1e-2 or (y:std(1) - 1):abs():max() < 2e-2)
    local mm = bn.moving_mean
    assert.is_true(mm:allclose(x:mean(1) * 0.1, 1e-4, 1e-4))
    assert.are.equal(12, bn:count_params())
    assert.are.equal(4, #bn:get_weights())
    assert.are.equal(2, #(bn:parameters()))
    -- inference uses the moving statistics
    local yi = bn:forward(x)
    local ref = (x - bn.moving_mean) / (bn.moving_variance + 1e-3):sqrt()
    assert.is_true(yi:allclose(ref, 1e-4, 1e-4))
  end)

  it("has finite-difference gradients in training and inference modes", function()
    ml.seed(13)
    local bn = nn.BatchNormalization()
    local x = ml.randn(6, 3, 2, 4)
    bn:build{3, 2, 4}
    bn.gamma:copy_(ml.rand(4) + 0.5); bn.beta:copy_(ml.randn(4))
    bn.moving_variance:copy_(ml.rand(4) + 0.5)
    assert_grad(bn, x, {training = true})
    assert_grad(bn, x, {training = false})
  end)
end)

describe("initializers", function()
  it("are reproducible from the seed and have Keras's scales", function()
    local init = nn.initializers
    ml.seed(1); local a = init.glorot_uniform{200, 300}
    ml.seed(1); local b = init.glorot_uniform{200, 300}
    assert.is_true(a:allclose(b, 0, 0))
    local limit = math.sqrt(6 / 500)
    assert.is_true(a:max() <= limit and a:min() >= -limit and a:max() > 0.95 * limit)
    local h = init.he_normal{400, 300}
    assert.is_true(math.abs(h:std() - math.sqrt(2 / 400)) < 0.05 * math.sqrt(2 / 400))
    assert.is_true(h:abs():max() <= 2 * math.sqrt(2 / 400) / 0.87962566103423978 + 1e-6)
    local g = init.glorot_normal{3, 3, 16, 32}
    assert.is_true(math.abs(g:std() - math.sqrt(2 / (144 + 288))) < 0.05 * math.sqrt(2 / 432))
    assert.is_true(init.zeros{3}:sum() == 0 and init.ones{2, 2}:sum() == 4)
    local d = nn.Dense(4, {kernel_initializer = function(s) return ml.full(s, 0.25) end})
    d:build{2}
    assert.are.equal(0.25, d.kernel[2][3])
    local ok, err = pcall(nn.Dense, 4, {kernel_initializer = "glorot"})
    assert.is_false(ok)
    assert.matches("unknown initializer 'glorot'", err, 1, true)
  end)
end)

describe("gradcheck", function()
  it("catches a wrong gradient", function()
    ml.seed(14)
    local d = nn.Dense(3, {activation = "tanh"})
    d:build{4}
    local orig = d.backward
    d.backward = function(self, x, gy) return orig(self, x, gy) * 1.05 end
    assert.is_false((G.layer(d, ml.randn(5, 4))))
    d.backward = function(self, x, gy)
      local gx = orig(self, x, gy)
      self.kernel_grad:mul_(0.97)
      return gx
    end
    assert.is_false((G.layer(d, ml.randn(5, 4))))
  end)
end)

describe("buffers", function()
  it("a training step allocates no tensor memory once shapes are stable", function()
    ml.seed(15)
    local layers = {nn.Conv2D(4, 3, {activation = "relu"}), nn.Conv2D(6, 3, {strides = 2, padding = "same"}),
      nn.MaxPooling2D(2), nn.Dropout(0.25), nn.Flatten(), nn.Dense(8, {activation = "relu"}),
      nn.BatchNormalization(), nn.Dense(3, {activation = "softmax"})}
    local x, y = ml.rand(16, 12, 12, 2), ml.tensor{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0}
    local function step()
      local acts = {x}
      for i, l in ipairs(layers) do acts[i + 1] = l:forward(acts[i], true) end
      local _, g = ml.nn.losses.softmax_cross_entropy(acts[#acts], y)
      for i = #layers, 1, -1 do g = layers[i]:backward(acts[i], g, i == #layers, i == 1) end
      return acts
    end
    step()
    local a1 = step()
    collectgarbage()
    local before = ml.memory_info().in_use
    local a2 = step()
    collectgarbage()
    assert.are.equal(before, ml.memory_info().in_use)
    assert.are.equal(a1[2], a2[2])      -- conv output reused
    assert.are.equal(a1[9], a2[9])      -- softmax output reused
  end)
end)
