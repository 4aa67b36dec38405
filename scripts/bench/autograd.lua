-- The tape's cost: one training loop, three ways of writing the model.
--   builtin  : nn.Sequential{Dense(relu), Dense(softmax)}, train_on_batch
--              (the fused hand-written kernels, no tape)
--   autograd : the same 2-layer MLP in raw tensor ops (matmul, +, relu,
--              log_softmax, gather, mean), loss:backward(), SGD{params = ...}
-- Twin of autograd_torch.py (PyTorch eager, the autograd loop's code).
-- Configs: mnist (784-128-10, batch 128, one epoch over the 8,000 digits of
-- data/mnist-10k, three epochs after 20 warm-up steps), small (20-32-4,
-- batch 32, 2,000 steps: per-op overhead),
-- ops (the tape's cost per op, below).
--   mlrun scripts/bench/autograd.lua --config mnist|small --mode builtin|autograd --threads N
-- Prints: RESULT <config> <mode> <threads> <us per step> <final loss>
local ml = require "ml"
local nn = ml.nn

local opts = {config = "mnist", mode = "autograd", threads = 1}
local i = 1
while arg[i] do
  local k = arg[i]:match("^%-%-(.+)$")
  if not k or opts[k] == nil then
    error("usage: autograd.lua --config mnist|small --mode builtin|autograd --threads N")
  end
  opts[k] = k == "threads" and tonumber(arg[i + 1]) or arg[i + 1]
  i = i + 2
end
ml.set_num_threads(opts.threads)
ml.seed(42)

-- --config ops: the tape's own cost per op on 16-element tensors (where the
-- arithmetic is nothing): a chain of 8 ops untracked, recorded, and recorded
-- plus backward. Prints: RESULT ops <plain> <recorded> <recorded+backward> (us per op)
if opts.config == "ops" then
  local a, b = ml.randn(16), ml.randn(16)
  local w = ml.randn(16):requires_grad_()
  local function chain(x) return ((((x * b + a) * 0.5):tanh() - a):exp() * b):sum() end
  local function time(f, n)
    for _ = 1, 100 do f() end
    local t0 = os.clock()
    for _ = 1, n do f() end
    return (os.clock() - t0) / n / 8 * 1e6
  end
  local plain = time(function() return chain(a) end, 20000)
  local rec = time(function() return chain(w) end, 20000)
  local full = time(function() chain(w):backward() end, 10000)
  print(string.format("RESULT ops %.2f %.2f %.2f", plain, rec, full))
  return
end

-- batches, fixed in advance (the same for every mode)
local xs, ys, din, dh, dout, steps = {}, {}, nil, nil, nil, nil
if opts.config == "mnist" then
  local x, y = ml.datasets.mnist()
  x = x:reshape(x.shape[1], -1):contiguous()
  din, dh, dout = 784, 128, 10
  for s = 1, x.shape[1], 128 do
    local n = math.min(128, x.shape[1] - s + 1)
    xs[#xs + 1] = x:narrow(1, s, n):contiguous()
    ys[#ys + 1] = y:narrow(1, s, n):contiguous()
  end
  steps = 3 * #xs   -- three epochs
else
  din, dh, dout = 20, 32, 4
  for b = 1, 50 do
    xs[b] = ml.randn(32, din)
    ys[b] = (ml.rand(32) * dout):floor():long()
  end
  steps = 2000
end

local step
if opts.mode == "builtin" then
  local model = nn.Sequential{nn.Input{din}, nn.Dense(dh, {activation = "relu"}),
    nn.Dense(dout, {activation = "softmax"})}
  model:compile{optimizer = ml.optim.SGD{lr = 0.1}, loss = "sparse_categorical_crossentropy"}
  step = function(xb, yb) return model:train_on_batch(xb, yb) end
elseif opts.mode == "autograd" then
  local init = nn.initializers
  local w1 = init.glorot_uniform{din, dh}:requires_grad_()
  local b1 = ml.zeros(dh):requires_grad_()
  local w2 = init.glorot_uniform{dh, dout}:requires_grad_()
  local b2 = ml.zeros(dout):requires_grad_()
  local opt = ml.optim.SGD{params = {w1, b1, w2, b2}, lr = 0.1}
  local cols = {}
  for b, yb in ipairs(ys) do cols[b] = (yb + 1):reshape(yb:numel(), 1) end   -- 1-based, N x 1
  local colof = {}
  for b, yb in ipairs(ys) do colof[yb] = cols[b] end
  step = function(xb, yb)
    opt:zero_grad()
    local h = (xb:matmul(w1) + b1):relu()
    local logits = h:matmul(w2) + b2
    local loss = -logits:log_softmax(2):gather(2, colof[yb]):mean()
    loss:backward()
    opt:step()
    return loss:item()
  end
else
  error("unknown mode " .. tostring(opts.mode))
end

local function run(n)
  local loss
  for s = 1, n do
    local b = (s - 1) % #xs + 1
    loss = step(xs[b], ys[b])
  end
  return loss
end
run(20)   -- warm-up: buffers reach the pool, pages are touched
local t0 = os.clock()   -- process CPU time: steadier than wall time on a shared machine
local loss = run(steps)
local dt = os.clock() - t0
print(string.format("RESULT %s %s %d %.1f %.4f", opts.config, opts.mode, opts.threads,
  dt / steps * 1e6, loss))
