-- The MNIST CNN of issue 3 on the 8,000-digit subset, one process or data-
-- parallel under mpirun. Prints seconds per epoch, test accuracy and the
-- gradient volume each step reduces.  mlrun cnn.lua EPOCHS [distributed]
local nn = ml.nn
local epochs = tonumber(arg[1]) or 2
local distributed = arg[2] == "distributed"
ml.seed(1)
local x, y, xt, yt = ml.datasets.mnist()
local model = nn.Sequential{nn.Input{28, 28, 1},
  nn.Conv2D(32, 3, {activation = "relu"}), nn.Conv2D(64, 3, {activation = "relu"}),
  nn.MaxPooling2D(2), nn.Dropout(0.25), nn.Flatten(),
  nn.Dense(128, {activation = "relu"}), nn.Dropout(0.5), nn.Dense(10, {activation = "softmax"})}
model:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
local times, t0 = {}, 0
local timer = {on_epoch_begin = function() t0 = ml.parallel.now() end,
               on_epoch_end = function() times[#times + 1] = ml.parallel.now() - t0 end}
model:fit(x, y, {epochs = epochs, batch_size = 128, verbose = 0, distributed = distributed,
  callbacks = {timer}})
local _, acc = model:evaluate(xt, yt, {batch_size = 500})
if ml.dist.rank() == 0 then
  local best = math.huge
  for _, t in ipairs(times) do best = math.min(best, t) end
  local params = model:count_params()
  local steps = math.ceil(x.shape[1] / 128)
  local p = ml.dist.size()
  print(("  %-34s %6.2f s/epoch (best of %d)  test accuracy %.4f"):format(
    distributed and ("mpirun -np %d, %d thread(s) each"):format(p, ml.get_num_threads())
      or ("1 process, %d thread(s)"):format(ml.get_num_threads()), best, #times, acc))
  if distributed then
    local bytes = params * 4
    print(("  allreduce per step: %d parameters = %.2f MB; a ring allreduce moves %.2f MB per rank, "
      .. "%d steps per epoch"):format(params, bytes / 2^20, 2 * (p - 1) / p * bytes / 2^20, steps))
  end
end
