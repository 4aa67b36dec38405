-- xor_three_ways.lua - XOR, which no single perceptron can learn, solved
-- three ways: (1) weights set by hand (XOR = AND(OR, NAND)), (2) a 2-4-1
-- network trained with the layer-level API (forward, backward, opt:step),
-- (3) the same network through Sequential + compile + fit.
--   mlrun examples/course/xor_three_ways.lua [--quick]
local ml = require "ml"
local nn = ml.nn
local steps = arg[1] == "--quick" and 600 or 2000
ml.seed(3)
local X = ml.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}
local y = ml.tensor{{0}, {1}, {1}, {0}}

local function show(title, p)
  io.write(title, ":")
  for i = 1, 4 do io.write(string.format("  %d^%d=%.2f", X[i][1], X[i][2], p[i][1])) end
  print()
  assert(p:gt(0.5):eq(y):all(), title .. " did not learn XOR")
end

-- 1. by hand: hidden units OR and NAND as step functions, output AND
local step = function(t) return t:gt(0):float() end
local W1 = ml.tensor{{1, -1}, {1, -1}}          -- columns: OR, NAND
local b1 = ml.tensor{-0.5, 1.5}
local W2 = ml.tensor{{1}, {1}}                   -- AND of the two
local h = step(ml.matmul(X, W1) + b1)
show("by hand    ", step(ml.matmul(h, W2) - 1.5))

-- 2. layer by layer: forward, loss gradient, backward, optimizer step
local l1, l2 = nn.Dense(4, {activation = "tanh"}), nn.Dense(1, {activation = "sigmoid"})
l1:build({2}); l2:build({4})
local opt = ml.optim.Adam{lr = 0.05}
local params, grads = {}, {}
for _, l in ipairs({l1, l2}) do
  local p, g = l:parameters()
  for i = 1, #p do params[#params + 1] = p[i]; grads[#grads + 1] = g[i] end
end
for s = 1, steps do
  local a = l1:forward(X, true)
  local p = l2:forward(a, true)
  local gp = (p - y) / ((p * (1 - p)) + 1e-7) / 4          -- d(mean BCE)/dp
  l1:backward(X, l2:backward(a, gp))
  opt:step(params, grads)
  if s % (steps // 4) == 0 then
    local loss = -(y * (p + 1e-7):log() + (1 - y) * (1 - p + 1e-7):log()):mean()
    print(string.format("  step %4d  loss %.4f", s, loss))
  end
end
show("layer API  ", l2:forward(l1:forward(X)))

-- 3. Keras style
local model = nn.Sequential{nn.Input{2}, nn.Dense(4, {activation = "tanh"}),
  nn.Dense(1, {activation = "sigmoid"})}
model:compile{optimizer = ml.optim.Adam{lr = 0.05}, loss = "binary_crossentropy"}
model:fit(X, y, {epochs = steps, batch_size = 4, verbose = 0})
show("Sequential ", model:predict(X))
