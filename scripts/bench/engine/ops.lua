-- ops.lua - the engine side of the engine benchmark: ml.matmul GFLOP/s and
-- a * b + c on 1e7 floats, timed with ml.parallel.now (wall clock), best of N.
local ml = require "ml"

local function best(reps, f)
  local b = math.huge
  for _ = 1, reps do
    local t = ml.parallel.now()
    f()
    t = ml.parallel.now() - t
    if t < b then b = t end
  end
  return b
end

for _, case in ipairs{{64, 400}, {256, 100}, {1024, 16}} do
  local n, reps = case[1], case[2]
  local a = ml.rand(n, n)
  local b = ml.rand(n, n)
  local t = best(reps, function() return ml.matmul(a, b) end)
  print(("matmul_%d %.3f"):format(n, 2 * n ^ 3 / t * 1e-9))
end

local N = 10000000
local a, b, c = ml.rand(N), ml.full({N}, 0.5), ml.ones(N)
local d
local t = best(30, function() d = a * b + c end)
print(("axpb_ms %.3f"):format(t * 1e3))
assert(math.abs(d[N] - (a[N] * 0.5 + 1)) < 1e-5)
