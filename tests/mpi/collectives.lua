-- Run by tests/spec/dist_spec.lua under `mpirun -np 2`.
local r, n = ml.dist.rank(), ml.dist.size()
local s = ml.dist.allreduce(ml.full({3}, r + 1), "sum")
local m = ml.dist.allreduce(ml.full({1}, r + 1), "mean")
local x = ml.dist.allreduce(ml.full({1}, r + 1), "max")
local b = ml.dist.broadcast(ml.full({2}, r == 0 and 7 or 0), 0)
local fmt = function(t)
  local q = {}
  for i, v in ipairs(t:totable()) do q[i] = string.format("%g", v) end
  return table.concat(q, ",")
end
local msg = ""
if r == 1 then ml.dist.send("hello from 1", 0, 3) end
if r == 0 then msg = " msg " .. ml.dist.recv(1, 3) end
ml.dist.barrier()
print(("rank %d of %d: sum %s mean %s max %s bcast %s%s"):format(r, n, fmt(s), fmt(m), fmt(x),
  fmt(b), msg))
-- gradient averaging: rank r holds grads (r+1), local rows 3 and 1 of 4
local g1, g2 = ml.full({2}, r + 1), ml.full({3}, 10 * (r + 1))
local local_n = r == 0 and 3 or 1
ml.dist.average_gradients({g1, g2}, local_n, 4)
print(("rank %d avg %s %s"):format(r, fmt(g1), fmt(g2)))
