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
