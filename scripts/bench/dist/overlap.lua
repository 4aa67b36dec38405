-- How much of the gradient allreduce the bucketed, overlapped allreduce
-- hides behind backward, for the MNIST CNN of cnn.lua (issue 18):
--   OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
--   mpirun --oversubscribe -np 2 mlrun scripts/bench/dist/overlap.lua [STEPS]
-- One epoch-slice of STEPS steps (batch 128) with the blocking packed
-- allreduce after backward, then the same with overlap; each step's time
-- spent in (blocking) or waiting for (overlap) the allreduce after backward
-- is summed. Hidden fraction = 1 - overlap wait / blocking time.
local nn = ml.nn
local strategy = require "ml.nn.strategy"
local steps = tonumber(arg[1]) or 40
local x, y = ml.datasets.mnist()
x, y = x:narrow(1, 1, 128 * steps), y:narrow(1, 1, 128 * steps)
local function model()
  ml.seed(1)
  local m = nn.Sequential{nn.Input{28, 28, 1},
    nn.Conv2D(32, 3, {activation = "relu"}), nn.Conv2D(64, 3, {activation = "relu"}),
    nn.MaxPooling2D(2), nn.Dropout(0.25), nn.Flatten(),
    nn.Dense(128, {activation = "relu"}), nn.Dropout(0.5), nn.Dense(10, {activation = "softmax"})}
  m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
  return m
end
local res = {}
for _, overlap in ipairs{false, true, false, true} do
  strategy.DataParallel.overlap = overlap
  local m = model()
  local t0 = ml.parallel.now()
  m:fit(x, y, {epochs = 1, batch_size = 128, verbose = 0, distributed = true, shuffle = false})
  local dt = ml.parallel.now() - t0
  local s = m._dp_stats
  local r = res[overlap] or {wait = math.huge, step = math.huge}
  r.wait = math.min(r.wait, s.wait / s.steps)     -- best of two runs
  r.step = math.min(r.step, dt / s.steps)
  r.buckets = s.buckets
  res[overlap] = r
end
if ml.dist.rank() == 0 then
  local b, o = res[false], res[true]
  print(("%d ranks, %d steps of 128, %d thread(s) per rank"):format(ml.dist.size(), steps,
    ml.get_num_threads()))
  print(("  blocking: %.2f ms per step in the allreduce after backward; step %.1f ms"):format(
    b.wait * 1e3, b.step * 1e3))
  print(("  overlap (%d buckets): %.2f ms per step waiting after backward; step %.1f ms"):format(
    o.buckets, o.wait * 1e3, o.step * 1e3))
  print(("  hidden fraction: %.0f %%"):format(100 * (1 - o.wait / b.wait)))
end
