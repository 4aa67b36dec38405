-- backprop_by_hand.lua - backpropagation written out with tensor ops: a
-- 2-4-1 sigmoid network on a tiny data set, the chain rule for every weight,
-- a finite-difference check of the gradients, then gradient descent.
--   mlrun examples/course/backprop_by_hand.lua [--quick]
local ml = require "ml"
local epochs = arg[1] == "--quick" and 3000 or 10000
ml.seed(7)
local X = ml.tensor{{0.05, 0.10}, {0.90, 0.20}, {0.30, 0.80}, {0.70, 0.95}}
local y = ml.tensor{{0.01}, {0.99}, {0.99}, {0.01}}
local W1, b1 = ml.randn(2, 4) * 0.5, ml.zeros(4)
local W2, b2 = ml.randn(4, 1) * 0.5, ml.zeros(1)
local sig = function(t) return t:sigmoid() end

local function forward()
  local h = sig(ml.matmul(X, W1) + b1)
  local o = sig(ml.matmul(h, W2) + b2)
  return h, o, ((o - y) ^ 2):sum() / 2                       -- squared error
end

local function gradients()
  local h, o = forward()
  local d_o = (o - y) * o * (1 - o)                          -- dE/d(net_o)
  local d_h = ml.matmul(d_o, W2:t()) * h * (1 - h)           -- dE/d(net_h)
  return {ml.matmul(X:t(), d_h), d_h:sum(1), ml.matmul(h:t(), d_o), d_o:sum(1)}
end

-- the chain rule against finite differences, for every weight
local g = gradients()
local worst = 0
for k, w in ipairs({W1, b1, W2, b2}) do
  local flat, gflat = w:reshape(-1), g[k]:reshape(-1)
  for i = 1, flat:numel() do
    local v = flat[i]
    flat[i] = v + 1e-3; local _, _, up = forward()
    flat[i] = v - 1e-3; local _, _, down = forward()
    flat[i] = v
    worst = math.max(worst, math.abs((up - down) / 2e-3 - gflat[i]))
  end
end
print(string.format("largest |backprop - finite difference| = %.2e", worst))
assert(worst < 1e-3, "backprop disagrees with finite differences")

local lr = 2.0
for e = 1, epochs do
  g = gradients()
  W1:sub_(g[1] * lr); b1:sub_(g[2] * lr); W2:sub_(g[3] * lr); b2:sub_(g[4] * lr)
  if e % (epochs // 5) == 0 then
    local _, _, err = forward()
    print(string.format("epoch %5d  error %.5f", e, err))
  end
end
local _, o, err = forward()
print("outputs:", o:reshape(-1), "targets:", y:reshape(-1))
assert(err < 0.05, "the network did not fit the four points")
