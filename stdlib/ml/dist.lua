-- ml.dist: the processes of an MPI job (`mpirun -np K mlrun script.lua`).
-- Outside a launcher the script is rank 0 of 1 and every call is a no-op.
local core = require "ml.core"

local dist = {}

--- Rank of this process, 0..size-1 (MPI numbering).
function dist.rank() return core.dist.rank() end
--- Number of processes in the job (1 outside mpirun).
function dist.size() return core.dist.size() end
--- True when started by mpirun/mpiexec.
function dist.launched() return core.dist.launched() end
--- True when there is more than one rank.
function dist.is_distributed() return core.dist.size() > 1 end

--- Reduces t in place across ranks: "sum" (default), "mean", "max", "min".
function dist.allreduce(t, op) return core.dist.allreduce(t, op) end
--- Reduces a list of Lua numbers (double precision) and returns the result.
function dist.allreduce_numbers(list, op) return core.dist.allreduce_numbers(list, op) end
--- Copies root's t into t on every rank (same shape everywhere); returns t.
function dist.broadcast(t, root) return core.dist.broadcast(t, root or 0) end
--- The root's string, on every rank.
function dist.broadcast_string(s, root) return core.dist.broadcast_string(s, root or 0) end
function dist.send(s, dest, tag) return core.dist.send(s, dest, tag or 0) end
--- Receives a string: from `source` (nil = any), blocking unless block == false.
function dist.recv(source, tag, block) return core.dist.recv(source or -1, tag or 0, block) end
function dist.barrier() return core.dist.barrier() end

-- Data-parallel training helpers (model:fit{distributed = true} uses them).

--- Rows [first, last] (1-based, inclusive) of an n-row batch that this rank
--- takes: contiguous shards whose sizes differ by at most one.
function dist.shard(n, rank, size)
  rank, size = rank or dist.rank(), size or dist.size()
  local base, extra = n // size, n % size
  local first = rank * base + math.min(rank, extra) + 1
  local count = base + (rank < extra and 1 or 0)
  return first, first + count - 1
end

--- Turns per-rank mean gradients over `local_n` rows into the gradient of
--- the mean over all ranks' rows: sum of grad * local_n / global_n, in one
--- packed allreduce. Same result on every rank.
function dist.average_gradients(grads, local_n, global_n)
  core.dist.allreduce_many(grads, local_n / global_n)
end

--- Makes every rank hold rank 0's parameter values.
function dist.sync_parameters(params)
  if dist.size() == 1 then return end
  for _, p in ipairs(params) do core.dist.broadcast(p, 0) end
end

return dist
