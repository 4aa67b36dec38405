-- Training speed of the MNIST CNN, the MLP and XOR, timed as the PyTorch
-- twin (nn_train_torch.py) times them: 5 warm-up batches, then one full
-- epoch over the 8,000 training digits of data/mnist-10k at batch size 128;
-- XOR: 1,000 full-batch steps after 50 warm-up steps.
--   mlrun scripts/bench/nn_train.lua --model cnn|mlp|xor --threads N
-- Prints: RESULT <model> <threads> <s per epoch | us per step> <images/s | steps/s>
-- <peak MB (VmHWM)> <peak tensor MB (ml.memory_info)>
local ml = require "ml"
local nn = ml.nn

local opts = {model = "cnn", threads = 1, ["batch-size"] = 128}
local i = 1
while arg[i] do
  local k = arg[i]:match("^%-%-(.+)$")
  if not k or opts[k] == nil then error("usage: nn_train.lua --model cnn|mlp|xor --threads N") end
  opts[k] = k == "model" and arg[i + 1] or tonumber(arg[i + 1])
  i = i + 2
end
ml.set_num_threads(opts.threads)
ml.seed(42)

local function vmhwm_mb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then return tonumber(kb) / 1024 end
  end
end

local function report(a, b, last)
  print(string.format("RESULT %s %d %.3f %.0f %.0f %.0f loss=%.4f", opts.model, opts.threads,
    a, b, vmhwm_mb(), ml.memory_info().peak / 2^20, last))
end

if opts.model == "xor" then
  local X = ml.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}
  local Y = ml.tensor{{0}, {1}, {1}, {0}}
  local model = nn.Sequential{nn.Input{2}, nn.Dense(8, {activation = "tanh"}),
    nn.Dense(1, {activation = "sigmoid"})}
  model:compile{optimizer = ml.optim.Adam{lr = 0.05}, loss = "binary_crossentropy"}
  for _ = 1, 50 do model:train_on_batch(X, Y) end
  local t0 = ml.parallel.now()
  local loss
  for _ = 1, 1000 do loss = model:train_on_batch(X, Y) end
  local dt = ml.parallel.now() - t0
  report(dt / 1000 * 1e6, 1000 / dt, loss)
  return
end

local x, y = ml.datasets.mnist()
local model
if opts.model == "cnn" then
  model = nn.Sequential{nn.Input{28, 28, 1},
    nn.Conv2D(32, 3, {activation = "relu"}), nn.Conv2D(64, 3, {activation = "relu"}),
    nn.MaxPooling2D(2), nn.Dropout(0.25), nn.Flatten(),
    nn.Dense(128, {activation = "relu"}), nn.Dropout(0.5), nn.Dense(10, {activation = "softmax"})}
else
  model = nn.Sequential{nn.Input{28, 28, 1}, nn.Flatten(),
    nn.Dense(256, {activation = "relu"}), nn.Dropout(0.2),
    nn.Dense(128, {activation = "relu"}), nn.Dropout(0.2), nn.Dense(10, {activation = "softmax"})}
end
model:compile{optimizer = ml.optim.Adam{lr = 1e-3}, loss = "sparse_categorical_crossentropy",
  metrics = {"accuracy"}}
local loader = ml.data.DataLoader(x, y, {batch_size = opts["batch-size"], shuffle = true})
local k = 0
for xb, yb in loader:batches() do
  model:train_on_batch(xb, yb)
  k = k + 1
  if k == 5 then break end
end
local t0 = ml.parallel.now()
local loss
for xb, yb in loader:batches() do loss = model:train_on_batch(xb, yb) end
local dt = ml.parallel.now() - t0
report(dt, x.shape[1] / dt, loss)
