-- nn_custom_spec: Keras-style layers defined by build/call (ml.nn.Layer:extend)
-- and losses written as Lua functions, trained by model:fit through autograd.
local ml = require "ml"
local nn = ml.nn
local G = dofile("tests/spec/gradcheck.lua")

local Scale = nn.Layer:extend("Scale")
function Scale:build(input_shape)
  self.w = self:add_weight{shape = {input_shape[#input_shape]}, initializer = "ones"}
  self.b = self:add_weight{shape = {input_shape[#input_shape]}, initializer = "zeros"}
end
function Scale:call(x) return x * self.w + self.b end

-- a layer with config, a non-trainable weight and a non-linear forward
local Gated = nn.Layer:extend("Gated")
function Gated:build(input_shape)
  local d = input_shape[#input_shape]
  self.kernel = self:add_weight{shape = {d, self.units}}
  self.gate = self:add_weight{shape = {d, self.units}, initializer = "glorot_normal"}
  self.offset = self:add_weight{shape = {self.units}, initializer = "ones", trainable = false}
end
function Gated:call(x)
  return x:matmul(self.kernel):tanh() * x:matmul(self.gate):sigmoid() + self.offset
end

local function data()
  ml.seed(1)
  local x = ml.randn(128, 3)
  local y = (x * ml.tensor{2, -1, 0.5} + 0.3):sum(2, true)
  return x, y
end

describe("ml.nn.Layer:extend", function()
  it("trains with model:fit like a built-in layer", function()
    local x, y = data()
    local m = nn.Sequential{Scale{input_shape = {3}}, nn.Dense(1)}
    m:compile{optimizer = ml.optim.Adam{lr = 0.05}, loss = "mse"}
    local h = m:fit(x, y, {epochs = 25, batch_size = 32, verbose = 0})
    assert.is_true(h.loss[#h.loss] < 0.01 * h.loss[1])
    assert.are.equal(10, m:count_params())
    assert.are.equal("scale_1", m.layers[1].name:gsub("%d+$", "1"))
  end)

  it("backward gives the finite-difference gradients of call", function()
    ml.seed(2)
    local l = Gated{units = 4}
    local x = ml.randn(5, 3)
    local ok, msg = G.layer(l, x, {training = true})
    assert(ok, msg)
    assert.are.equal(2, #select(1, l:parameters()))
    assert.are.equal(3, #l:weights())
  end)

  it("works eagerly on tensors: layer(x) records, .grad lands on the weights", function()
    local l = Scale()
    local x = ml.tensor{{1, 2}, {3, 4}}
    local loss = l(x):sum()
    loss:backward()
    assert.are.same({4, 6}, l.w.grad:totable())
    assert.are.same({2, 2}, l.b.grad:totable())
    local opt = ml.optim.SGD{params = l:parameters(), lr = 0.1}
    opt:step()
    assert.is_true(l.w:detach():allclose(ml.tensor{0.6, 0.4}))
  end)

  it("saves; loading needs ml.nn.register", function()
    local x, y = data()
    local m = nn.Sequential{nn.Input{3}, Gated{units = 4}, nn.Dense(1)}
    m:compile{optimizer = "adam", loss = "mse"}
    m:fit(x, y, {epochs = 2, verbose = 0})
    local path = os.tmpname()
    m:save(path)
    local ok, msg = pcall(ml.load, path)
    assert.is_false(ok)
    assert.matches("Gated", msg)
    nn.register(Gated)
    local m2 = ml.load(path)
    os.remove(path)
    assert.are.equal(4, m2.layers[1].units)
    assert.is_true(m2:predict(x):allclose(m:predict(x), 1e-5, 1e-6))
    assert.has_error(function() nn.register({}) end)
  end)

  it("errors clearly", function()
    assert.has_error(function() nn.Layer:extend("bad name") end)
    assert.has_error(function() nn.Dense:extend("MyDense") end)
    local NoCall = nn.Layer:extend("NoCall")
    assert.has_error(function() NoCall()(ml.ones(2, 2)) end)
    local l = Scale()
    assert.has_error(function() l:add_weight{shape = {0}} end)
    assert.has_error(function() l:add_weight{shape = {2}, bogus = 1} end)
  end)
end)

describe("compile{loss = function}", function()
  local function huber(p, t)
    local d = (p - t):abs()
    return ml.where(d:lt(1), d ^ 2 * 0.5, d - 0.5):mean()
  end
  it("trains with a loss written in tensor ops and evaluates with it", function()
    local x, y = data()
    local m = nn.Sequential{nn.Input{3}, nn.Dense(8, {activation = "tanh"}), nn.Dense(1)}
    m:compile{optimizer = ml.optim.Adam{lr = 0.05}, loss = huber}
    local h = m:fit(x, y, {epochs = 10, batch_size = 32, verbose = 0})
    assert.is_true(h.loss[#h.loss] < h.loss[1])
    local p = m:predict(x)
    assert.is_true(math.abs(m:evaluate(x, y) - huber(p, y)) < 1e-5)
  end)
  it("matches the built-in mse when written as one", function()
    local x, y = data()
    local function run(loss)
      ml.seed(5)
      local m = nn.Sequential{nn.Input{3}, nn.Dense(4, {activation = "relu"}), nn.Dense(1)}
      m:compile{optimizer = "sgd", loss = loss}
      return m:fit(x, y, {epochs = 3, batch_size = 16, verbose = 0, shuffle = false}).loss
    end
    local a, b = run("mse"), run(function(p, t) return ((p - t) ^ 2):mean() end)
    for i = 1, 3 do assert.is_true(math.abs(a[i] - b[i]) < 1e-4 * math.max(1, a[i])) end
  end)
  it("refuses a function that does not return a scalar", function()
    local x, y = data()
    local m = nn.Sequential{nn.Input{3}, nn.Dense(1)}
    m:compile{optimizer = "sgd", loss = function(p, t) return p - t end}
    assert.has_error(function() m:fit(x, y, {epochs = 1, verbose = 0}) end)
  end)
end)
