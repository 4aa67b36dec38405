-- XOR with a 2-8-1 multilayer perceptron (tanh hidden layer, sigmoid output,
-- binary cross-entropy, Adam), trained on the full batch of four patterns
-- until every prediction is on the right side of 0.5 and the loss is below
-- 0.05 (at most 2,000 steps).
--   mlrun scripts/xor.lua [--seed N]
local ml = require "ml"
local nn = ml.nn

local seed = 42
if arg[1] == "--seed" then seed = tonumber(arg[2]) end
ml.seed(seed)

local X = ml.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}
local y = ml.tensor{{0}, {1}, {1}, {0}}

local model = nn.Sequential{
  nn.Input{2},
  nn.Dense(8, {activation = "tanh"}),
  nn.Dense(1, {activation = "sigmoid"}),
}
model:compile{optimizer = ml.optim.Adam{lr = 0.05}, loss = "binary_crossentropy",
  metrics = {"accuracy"}}

-- One epoch = one full-batch step. Converged: all four on the right side of
-- 0.5; training goes on until the loss is below 0.05 (every prediction then
-- is within about 0.1 of its target).
local converged_at, settled_at
local stop = ml.callbacks.LambdaCallback{on_epoch_end = function(epoch, logs)
  if logs.accuracy == 1 and not converged_at then converged_at = epoch end
  if logs.accuracy == 1 and logs.loss < 0.05 then
    settled_at = epoch
    model.stop_training = true
  end
end}
local t0 = ml.parallel.now()
local history = model:fit(X, y, {epochs = 2000, batch_size = 4, verbose = 0, shuffle = false,
  callbacks = {stop}})
local dt = ml.parallel.now() - t0

local p, xs, ys = model:predict(X):totable(), X:totable(), y:totable()
for i = 1, 4 do
  local a, b, target, v = xs[i][1], xs[i][2], ys[i][1], p[i][1]
  print(string.format("%d xor %d = %d   predicted %.4f  %s", a, b, target, v,
    ((v > 0.5) == (target > 0.5)) and "ok" or "WRONG"))
end
if converged_at and settled_at then
  print(string.format("all four right after %d full-batch steps; loss below 0.05 after %d "
    .. "(%.1f ms)", converged_at, settled_at, dt * 1000))
else
  print("did not converge within 2,000 steps")
  os.exit(1)
end
