-- issue 10 item 8: Keras model-building habits - Dense{input_dim},
-- activations selu/swish/silu/gelu/softplus with gradients, losses huber/
-- hinge/kl_divergence, kernel_regularizer = ml.nn.l2(...), optimizers'
-- weight_decay (decoupled) and clipnorm, LearningRateScheduler from epoch 0.
local ml = require "ml"
local G = dofile("tests/spec/gradcheck.lua")
local nn = ml.nn

local function assert_grad(layer, x, opts)
  local ok, msg = G.layer(layer, x, opts)
  assert(ok, layer.name .. ": " .. tostring(msg))
end

describe("activations", function()
  local x = ml.tensor{{-2, -0.5, 0, 0.5, 2}}
  local function close(a, b) return a:allclose(ml.tensor(b), 1e-5, 1e-6) end
  it("compute Keras's values", function()
    local A = nn.activations
    local l, a = 1.0507009873554805, 1.6732632423543772
    assert.is_true(close(A.selu(x), {{l * a * (math.exp(-2) - 1), l * a * (math.exp(-0.5) - 1), 0,
      l * 0.5, l * 2}}))
    assert.is_true(close(A.softplus(x), {{math.log(1 + math.exp(-2)), math.log(1 + math.exp(-0.5)),
      math.log(2), math.log(1 + math.exp(0.5)), math.log(1 + math.exp(2))}}))
    local sig = function(v) return 1 / (1 + math.exp(-v)) end
    assert.is_true(close(A.swish(x), {{-2 * sig(-2), -0.5 * sig(-0.5), 0, 0.5 * sig(0.5), 2 * sig(2)}}))
    assert.is_true(A.silu(x):allclose(A.swish(x)))
    -- gelu (exact, erf): 0.5 x (1 + erf(x / sqrt 2)); Phi(2) = 0.97724987, Phi(0.5) = 0.69146246
    assert.is_true(close(A.gelu(x), {{-2 * (1 - 0.97724987), -0.5 * (1 - 0.69146246), 0,
      0.5 * 0.69146246, 2 * 0.97724987}}))
    assert.equal(50, A.softplus(ml.tensor{50})[1])   -- no overflow
  end)
  it("have gradients that match finite differences, alone and fused in Dense/Conv2D", function()
    for _, act in ipairs{"selu", "softplus", "swish", "silu", "gelu"} do
      ml.seed(3)
      assert_grad(nn.Activation(act), ml.randn(3, 5))
      ml.seed(4)
      assert_grad(nn.Dense(4, {activation = act}), ml.randn(3, 5))
      ml.seed(5)
      assert_grad(nn.Conv2D(2, 3, {activation = act, padding = "same"}), ml.randn(2, 5, 5, 2))
    end
  end)
  it("refuse unknown names, listing the known ones", function()
    assert.has_error(function() nn.Dense(2, {activation = "mish"}) end)
    local ok, err = pcall(nn.Activation, "mish")
    assert.is_false(ok)
    assert.truthy(err:find("expected one of: elu, gelu, leaky_relu, linear, relu, selu, sigmoid, " ..
      "silu, softmax, softplus, swish, tanh", 1, true), err)
  end)
end)

describe("losses", function()
  local L = nn.losses
  it("huber is quadratic within 1 and linear outside", function()
    local p, t = ml.tensor{{0.5, 3}}, ml.tensor{{0, 0}}
    assert.near((0.5 * 0.25 + (3 - 0.5)) / 2, L.huber(p, t), 1e-6)
  end)
  it("hinge takes -1/1 or 0/1 targets", function()
    local p = ml.tensor{{0.3, -2}}
    assert.near(((1 - 0.3) + 0) / 2, L.hinge(p, ml.tensor{{1, -1}}), 1e-6)
    assert.near(((1 - 0.3) + 0) / 2, L.hinge(p, ml.tensor{{1, 0}}), 1e-6)
  end)
  it("kl_divergence sums over classes, averages over rows", function()
    local y, p = ml.tensor{{0.5, 0.5}, {1, 0}}, ml.tensor{{0.25, 0.75}, {0.5, 0.5}}
    local want = (0.5 * math.log(2) + 0.5 * math.log(0.5 / 0.75) + math.log(2)) / 2
    assert.near(want, L.kl_divergence(p, y), 1e-5)
    assert.equal(L.kl_divergence, L.kld)
  end)
  it("have gradients that match finite differences", function()
    ml.seed(7)
    local p = ml.rand(4, 3) * 0.8 + 0.1
    local t = ml.rand(4, 3)
    for _, name in ipairs{"huber", "hinge", "kl_divergence"} do
      local tgt = name == "hinge" and t:gt(0.5) or (name == "huber" and t * 4 or t)
      local pred = name == "huber" and ml.randn(4, 3) * 2 or p:clone()
      local ok, msg = G.fn(function() return L[name](pred, tgt) end, pred, L[name].backward(pred, tgt))
      assert(ok, name .. ": " .. tostring(msg))
    end
  end)
  it("train through compile", function()
    ml.seed(8)
    local X = ml.randn(32, 3)
    local m = nn.Sequential{nn.Input{3}, nn.Dense(1)}
    m:compile{optimizer = "adam", loss = "huber"}
    local h = m:fit(X, X[{{}, 1}]:reshape(-1, 1), {epochs = 2, verbose = 0})
    assert.equal(2, #h.loss)
  end)
end)

describe("Dense{input_dim}", function()
  it("sets the input shape (Keras's Dense(n, input_dim = d))", function()
    local d = nn.Dense(3, {input_dim = 4})
    assert.same({4}, d.input_shape)
    assert.has_error(function() nn.Dense(3, {input_dim = 4, input_shape = {4}}) end,
      "dense_" .. d.name:match("%d+$") + 1 .. ": give input_dim or input_shape, not both")
  end)
end)

describe("regularizers", function()
  it("l2 adds its penalty to the loss and its gradient to the weights", function()
    ml.seed(9)
    local X, Y = ml.randn(16, 3), ml.randn(16, 2)
    local function model(reg)
      ml.seed(10)
      local m = nn.Sequential{nn.Input{3}, nn.Dense(2, {kernel_regularizer = reg, use_bias = false})}
      m:compile{optimizer = ml.optim.SGD{lr = 0.1}, loss = "mse"}
      return m
    end
    local plain, reg = model(nil), model(nn.l2(0.5))
    local w0 = reg.layers[1].kernel:clone()
    local v_plain = plain:train_on_batch(X, Y)
    local v_reg = reg:train_on_batch(X, Y)
    assert.near(v_plain + 0.5 * w0:square():sum(), v_reg, 1e-4)
    -- the weights moved further by lr * 2 * 0.5 * w0
    local diff = reg.layers[1].kernel - plain.layers[1].kernel
    assert.is_true(diff:allclose(w0 * (-0.1 * 2 * 0.5), 1e-4, 1e-5))
  end)
  it("l1, l1_l2, saving, and bad values", function()
    assert.equal(0.01, nn.l1().l1)
    local r = nn.l1_l2{l1 = 1e-3, l2 = 1e-4}
    assert.same({1e-3, 1e-4}, {r.l1, r.l2})
    local m = nn.Sequential{nn.Input{2}, nn.Dense(2, {kernel_regularizer = nn.l2(1e-4)})}
    local path = os.tmpname()
    m:save(path)
    assert.equal(1e-4, ml.load(path).layers[1].kernel_regularizer.l2)
    os.remove(path)
    assert.has_error(function() nn.l2(-1) end, "l2: expected a factor >= 0, got -1")
    assert.has_error(function() nn.Dense(2, {kernel_regularizer = "l2"}) end)
  end)
end)

describe("optimizers", function()
  it("Adam's weight_decay is decoupled (AdamW): p shrinks by lr * wd * p first", function()
    local p, g = ml.tensor{1, -2}, ml.zeros(2)
    local opt = ml.optim.Adam{lr = 0.1, weight_decay = 0.5}
    opt:step({p}, {g})                       -- a zero gradient: only the decay moves p
    assert.is_true(p:allclose(ml.tensor{0.95, -1.9}, 1e-6, 1e-7))
    assert.equal(0.004, ml.optim.get("adamw").weight_decay)
  end)
  it("clipnorm caps each gradient's norm; global_clipnorm all of them together", function()
    local p, g = ml.zeros(2), ml.tensor{3, 4}
    ml.optim.SGD{lr = 1, clipnorm = 1}:step({p}, {g})
    assert.is_true(p:allclose(ml.tensor{-0.6, -0.8}, 1e-6, 1e-7))
    local p1, p2 = ml.zeros(1), ml.zeros(1)
    ml.optim.SGD{lr = 1, global_clipnorm = 1}:step({p1, p2}, {ml.tensor{3}, ml.tensor{4}})
    assert.is_true(p1:allclose(ml.tensor{-0.6}, 1e-6) and p2:allclose(ml.tensor{-0.8}, 1e-6))
    assert.has_error(function() ml.optim.Adam{clipnorm = 0} end, "Adam: clipnorm must be > 0, got 0")
    assert.has_error(function() ml.optim.RMSprop{weight_decay = -1} end,
      "RMSprop: weight_decay must be >= 0, got -1")
  end)
end)

describe("LearningRateScheduler", function()
  it("calls the schedule with Keras's 0-based epoch", function()
    local seen = {}
    local m = nn.Sequential{nn.Input{1}, nn.Dense(1)}
    m:compile{optimizer = ml.optim.SGD{lr = 0.1}, loss = "mse"}
    local cb = ml.callbacks.LearningRateScheduler(function(epoch, lr)
      seen[#seen + 1] = epoch
      return lr
    end)
    m:fit(ml.ones(4, 1), ml.ones(4, 1), {epochs = 3, verbose = 0, callbacks = {cb}})
    assert.same({0, 1, 2}, seen)
  end)
end)

describe("model building", function()
  it("input_dim / input_shape on the first layer build the model: summary before fit", function()
    local m = nn.Sequential{nn.Dense(8, {input_dim = 4, activation = "relu"}), nn.Dense(3)}
    assert.is_true(m.built)
    assert.equal(4 * 8 + 8 + 8 * 3 + 3, m:count_params())
    local text = m:summary{print = false}
    assert.truthy(text:find("Total params: 67", 1, true), text)
    local c = nn.Sequential{nn.Conv2D(4, 3, {input_shape = {28, 28, 1}}), nn.Flatten(), nn.Dense(2)}
    assert.same({2}, c.output_shape)
    local a = nn.Sequential()
    a:add(nn.Dense(2, {input_dim = 3}))
    a:add(nn.Dense(1))
    assert.is_true(a.built)
  end)
  it("has .input, .output, get_layer and per-layer trainable", function()
    local m = nn.Sequential{nn.Input{4}, nn.Dense(3, {name = "hidden"}), nn.Dense(2, {name = "top"})}
    assert.same({4}, m.input.shape)
    assert.same({2}, m.output.shape)
    assert.equal(m.layers[1], m:get_layer("hidden"))
    assert.equal(m.layers[2], m:get_layer(2))
    assert.has_error(function() m:get_layer("nope") end,
      "get_layer: no layer named 'nope' (layers: hidden, top)")
    m.layers[1].trainable = false
    local w = m.layers[1].kernel:clone()
    m:compile{optimizer = "adam", loss = "mse"}
    m:fit(ml.randn(8, 4), ml.randn(8, 2), {epochs = 2, verbose = 0})
    assert.same(w:totable(), m.layers[1].kernel:totable())
    -- functional: Keras's transfer idiom from base.input / base.output
    local head = nn.Dense(1)(m:get_layer("hidden").output or m.output)
    local f = nn.Model{inputs = m.input, outputs = head}
    assert.same({4}, f.input.shape); assert.same({1}, f.output.shape)
  end)
  it("is callable inside functional graphs (out = base(inp)), sharing weights", function()
    ml.seed(12)
    local base = nn.Sequential{nn.Input{4}, nn.Dense(3, {activation = "relu"})}
    base.trainable = false
    local inp = nn.Input{4}
    local out = nn.Dense(2, {activation = "softmax"})(base(inp))
    local m = nn.Model{inputs = inp, outputs = out}
    assert.equal(base.layers[1], m.layers[1])
    assert.is_false(m.layers[1].trainable)
    local before = base.layers[1].kernel:clone()
    m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"acc"}}
    m:fit(ml.randn(16, 4), ml.tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, "int64"),
      {epochs = 2, verbose = 0})
    assert.same(before:totable(), base.layers[1].kernel:totable())
    local x = ml.randn(2, 4)
    assert.is_true(base(x):allclose(base:predict(x)))
    assert.has_error(function() base(nn.Input{5}) end)
  end)
end)

describe("fit with class_weight and sample_weight", function()
  local X = ml.tensor{{1, 0}, {0, 1}, {1, 1}, {0, 0}}
  local y = ml.tensor({0, 1, 1, 0}, "int64")
  local function model()
    ml.seed(13)
    local m = nn.Sequential{nn.Input{2}, nn.Dense(2, {activation = "softmax"})}
    m:compile{optimizer = ml.optim.SGD{lr = 0.1}, loss = "sparse_categorical_crossentropy"}
    return m
  end
  it("weights each sample's loss (Keras: sum(w * l) / N)", function()
    local plain = model()
    local p = plain:predict(X)
    local l = {}
    for i = 1, 4 do l[i] = -math.log(p[i][y[i] + 1]) end
    local w = {1, 2, 0, 3}
    local h = model():fit(X, y, {epochs = 1, batch_size = 4, shuffle = false, verbose = 0,
      sample_weight = ml.tensor(w)})
    assert.near((l[1] * 1 + l[2] * 2 + l[4] * 3) / 4, h.loss[1], 1e-5)
    local hc = model():fit(X, y, {epochs = 1, batch_size = 4, shuffle = false, verbose = 0,
      class_weight = {[0] = 2, [1] = 1}})
    assert.near((2 * l[1] + l[2] + l[3] + 2 * l[4]) / 4, hc.loss[1], 1e-5)
  end)
  it("a zero weight leaves the weights as if the sample were absent", function()
    local a = model()
    a:fit(X, y, {epochs = 1, batch_size = 4, shuffle = false, verbose = 0,
      sample_weight = {1, 1, 1, 0}})
    local b = model()
    b:fit(X:narrow(1, 1, 3), y:narrow(1, 1, 3), {epochs = 1, batch_size = 3, shuffle = false,
      verbose = 0, sample_weight = {3 / 4, 3 / 4, 3 / 4}})   -- the same sum(w * l) / 4
    assert.is_true(a.layers[1].kernel:allclose(b.layers[1].kernel, 1e-5, 1e-6))
  end)
  it("refuses bad weights", function()
    assert.has_error(function() model():fit(X, y, {verbose = 0, sample_weight = {1, 2}}) end,
      "fit: sample_weight has 2 values for 4 samples")
    assert.has_error(function() model():fit(X, y, {verbose = 0, class_weight = {[0] = 1}}) end,
      "fit: class_weight has no weight for class 1 (sample 2)")
  end)
  it("takes DataFrames and Series", function()
    local df = ml.DataFrame({a = {1, 0, 1, 0}, b = {0, 1, 1, 0}, y = {0, 1, 1, 0}}, {columns = {"a", "b", "y"}})
    local h = model():fit(df:drop{"y"}, df.y, {epochs = 1, verbose = 0})
    assert.equal(1, #h.loss)
    assert.equal(4, model():predict(df:drop{"y"}).shape[1])
  end)
end)
