-- nn_layers.lua - times forward + backward of the MNIST CNN's layers for one
-- batch (default 128) in mlrun, per layer and in total. Prints, never asserts.
-- usage: mlrun scripts/bench/nn_layers.lua [threads] [batch] [reps]
local ml = require "ml"
local nn = ml.nn
local threads, batch, reps = tonumber(arg[1]) or 1, tonumber(arg[2]) or 128, tonumber(arg[3]) or 20
ml.set_num_threads(threads)
ml.seed(1)
local layers = {
  nn.Conv2D(32, 3, {activation = "relu"}), nn.Conv2D(64, 3, {activation = "relu"}),
  nn.MaxPooling2D(2), nn.Dropout(0.25), nn.Flatten(), nn.Dense(128, {activation = "relu"}),
  nn.Dropout(0.5), nn.Dense(10, {activation = "softmax"}),
}
local s = {28, 28, 1}
for _, l in ipairs(layers) do l:build(s); s = l:output_shape(s) end
local x = ml.rand(batch, 28, 28, 1)
local y = ml.tensor((function() local t = {} for i = 1, batch do t[i] = (i - 1) % 10 end return t end)())
local wall = ml.parallel.now   -- monotonic wall clock (seconds)
local fwd, bwd = {}, {}
for i = 1, #layers do fwd[i], bwd[i] = 0, 0 end
local function step(timed)
  local acts = {x}
  for i, l in ipairs(layers) do
    local t0 = timed and wall() or 0
    acts[i + 1] = l:forward(acts[i], true)
    if timed then fwd[i] = fwd[i] + wall() - t0 end
  end
  local _, g = ml.nn.losses.softmax_cross_entropy(acts[#acts], y)
  for i = #layers, 1, -1 do
    local t0 = timed and wall() or 0
    g = layers[i]:backward(acts[i], g, i == #layers, i == 1)
    if timed then bwd[i] = bwd[i] + wall() - t0 end
  end
end
for _ = 1, 3 do step(false) end
local times = {}
local cpu0 = os.clock()
for r = 1, reps do
  local t0 = wall()
  step(false)
  times[r] = wall() - t0
end
local cpu = (os.clock() - cpu0) / reps * 1000
table.sort(times)
local total, best = times[(reps + 1) // 2] * 1000, times[1] * 1000
for _ = 1, reps do step(true) end
print(string.format("mlrun  threads=%d batch=%d: %.1f ms per forward+backward (median; min %.1f; "
  .. "cpu %.1f ms)", threads, batch, total, best, cpu))
for i, l in ipairs(layers) do
  print(string.format("  %-18s fwd %7.2f ms  bwd %7.2f ms", l.name, fwd[i] / reps * 1000,
    bwd[i] / reps * 1000))
end
