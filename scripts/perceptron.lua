-- perceptron.lua - the delta rule on the AND gate, trained by hand with
-- tensor ops (no ml.nn): a single unit y = step(x . w + b), weights nudged by
-- lr * (target - y) * x after each pass over the four inputs.
--   mlrun scripts/perceptron.lua [epochs] [learning_rate]
local ml = require "ml"

local epochs = tonumber(arg and arg[1]) or 20
local lr = tonumber(arg and arg[2]) or 0.1

local X = ml.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}   -- 4 x 2 inputs
local y = ml.tensor{{0}, {0}, {0}, {1}}               -- 4 x 1 targets: AND
ml.seed(1)
local w = ml.randn(2, 1) * 0.1                        -- 2 x 1 weights
local b = 0.0

local function predict(x)
  return (ml.matmul(x, w) + b):gt(0)                  -- 0/1 outputs, N x 1
end

for epoch = 1, epochs do
  local out = predict(X)
  local err = y - out                                 -- 4 x 1: +1, 0 or -1
  local wrong = err:abs():sum()
  -- delta rule, batch form: w += lr * X^T err ; b += lr * sum(err)
  w:add_(X:t():matmul(err) * lr)
  b = b + lr * err:sum()
  print(("epoch %2d  misclassified %d  w = (%.3f, %.3f)  b = %.3f")
    :format(epoch, wrong, w[1][1], w[2][1], b))
  if wrong == 0 then break end
end

print("weights:", w:reshape(-1), "bias:", b)
local p = predict(X)
for i = 1, 4 do
  print(("%d AND %d -> %d"):format(X[i][1], X[i][2], p[i][1]))
end
assert(p:eq(y):all(), "the perceptron did not learn AND")
