-- Run by tests/spec/dp_overlap_spec.lua under `mpirun -np 2`: the bucketed,
-- overlapped allreduce trains the weights of the blocking one, and
-- fit{accumulate = 2} under data parallelism those of the whole batch.
local nn = ml.nn
local strategy = require "ml.nn.strategy"
ml.seed(3)
local x = ml.randn(250, 12)
local y = (x:select(2, 1) - x:select(2, 2)):gt(0):float()
local function train(overlap, accumulate, first_cap)
  strategy.DataParallel.overlap = overlap
  strategy.DataParallel.FIRST_CAP = first_cap or 2^20
  ml.seed(5)
  local m = nn.Sequential{nn.Input{12}, nn.Dense(32, {activation = "relu"}),
    nn.Dense(16, {activation = "tanh"}), nn.Dense(2, {activation = "softmax"})}
  m:compile{optimizer = ml.optim.SGD{lr = 0.1, momentum = 0.9},
            loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
  m:fit(x, y, {epochs = 3, batch_size = 50, verbose = 0, distributed = true,
               accumulate = accumulate, shuffle = false})
  local w = {}
  for _, p in ipairs(m:parameters()) do w[#w + 1] = p:clone() end
  return w, m._dp_stats
end
local function diff(a, b)
  local d = 0
  for i = 1, #a do
    local v = (a[i] - b[i]):abs():max()
    d = math.max(d, type(v) == "number" and v or v:item())
  end
  return d
end
local blocking = train(false)
local overlapped, st = train(true, nil, 64)   -- small first bucket: several buckets
local accumulated = train(false, 2)
local sum = 0
for _, p in ipairs(overlapped) do local v = p:sum(); sum = sum + (type(v) == "number" and v or v:item()) end
print(("rank %d: buckets %d steps %d overlap-diff %.3g accumulate-diff %.3g checksum %.6f"):format(
  ml.dist.rank(), st.buckets, st.steps, diff(blocking, overlapped), diff(blocking, accumulated), sum))
