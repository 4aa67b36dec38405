-- A 16-trial sweep of the MNIST MLP (784-256-128-10, one epoch on the 8,000
-- digit subset per trial): wall time with 1 and 2 worker processes, and in
-- process with all threads (workers = 0), side by side.
--   mlrun scripts/bench/dist/sweep.lua (run by scripts/bench/dist.sh)
local ml = require "ml"
local nn = ml.nn

local x, y = ml.datasets.mnist()
local function run(cfg)
  local model = nn.Sequential{nn.Input{28, 28, 1}, nn.Flatten(),
    nn.Dense(256, {activation = "relu"}), nn.Dropout(0.2),
    nn.Dense(128, {activation = "relu"}), nn.Dropout(0.2),
    nn.Dense(10, {activation = "softmax"})}
  model:compile{optimizer = ml.optim.Adam{lr = cfg.lr},
                loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
  local h = model:fit(x, y, {epochs = 1, batch_size = cfg.batch_size, verbose = 0,
                             validation_split = 0.1})
  return {val_accuracy = h.val_accuracy[1]}
end
local grid = {lr = {3e-4, 1e-3, 3e-3, 1e-2}, batch_size = {32, 64, 128, 256}}

local function timed(workers)
  local t0 = ml.parallel.now()
  local res = ml.sweep{grid = grid, run = run, metric = "val_accuracy", workers = workers,
                       verbose = 0}
  local dt = ml.parallel.now() - t0
  local failed = 0
  for _, t in ipairs(res.trials) do if t.status ~= "ok" then failed = failed + 1 end end
  return dt, res, failed
end

print(("16-trial MLP sweep on %d digits, %d cores"):format(x.shape[1], ml.parallel.effective_jobs(-1)))
local t1, r1, f1 = timed(1)
local t2, r2, f2 = timed(2)
local t0, r0, f0 = timed(0)
print(("  workers = 1 (1 thread each):  %6.2f s   best val_accuracy %.4f  failed %d")
  :format(t1, r1.best.metrics.val_accuracy, f1))
print(("  workers = 2 (1 thread each):  %6.2f s   best val_accuracy %.4f  failed %d")
  :format(t2, r2.best.metrics.val_accuracy, f2))
print(("  in process (%d threads):      %6.2f s   best val_accuracy %.4f  failed %d")
  :format(ml.get_num_threads(), t0, r0.best.metrics.val_accuracy, f0))
print(("  speed-up of 2 workers over 1: %.2fx (same trials, same seeds: identical results: %s)")
  :format(t1 / t2, tostring(r1.best.metrics.val_accuracy == r2.best.metrics.val_accuracy)))
