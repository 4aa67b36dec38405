-- ml.nn.strategy: how fit spreads a training step, as tf.distribute's
-- strategies do. fit asks strategy.get(distributed) for one object and calls
-- it at fixed points; the loop itself has no `if distributed` branches.
--   s:configure(opts)             first (may change opts.verbose)
--   s:begin(model)                before the first epoch, after any resume
--   s:keeps(callback)             whether this process runs the callback
--   s:batches(loader)             the epoch's batch iterator
--   s:train_step(model, xb, yb)   one optimizer step -> mean loss, correct rows
--   s:evaluate(model, x, y, bs)   validation -> loss [, accuracy]
local ml = require "ml"
local base = require "ml.base"

local M = {}

---------------------------------------------------------------------------
-- one process (the default)

local Local = base.class("LocalStrategy")
M.Local = Local

function Local:configure() end
function Local:begin() end
function Local:keeps() return true end
function Local:batches(loader) return loader:batches() end
function Local:train_step(model, xb, yb) return model:train_on_batch(xb, yb) end
function Local:evaluate(model, x, y, bs) return model:evaluate(x, y, {batch_size = bs}) end

---------------------------------------------------------------------------
-- data-parallel (fit{distributed = true} under mpirun): every rank takes its
-- shard of each batch; gradients are averaged so all ranks stay identical.

local DataParallel = base.class("DataParallelStrategy")
M.DataParallel = DataParallel

function DataParallel:init()
  self.rank = ml.dist.rank()
end

-- only rank 0 reports progress
function DataParallel:configure(opts)
  if self.rank ~= 0 then opts.verbose = 0 end
end

function DataParallel:begin(model)
  ml.dist.sync_parameters(model:parameters(true))
end

-- callbacks that write files run on rank 0 only
function DataParallel:keeps(cb) return self.rank == 0 or not cb.rank0_only end

-- One shuffle for all ranks, then each rank its own dropout stream.
function DataParallel:batches(loader)
  local epoch_seed = math.floor(ml.dist.broadcast(ml.tensor{ml.rand(1)[1] * 2^24}, 0)[1])
  ml.seed(epoch_seed)
  local batches = loader:batches()
  ml.seed(epoch_seed * 7919 + self.rank + 1)
  return batches
end

--- One step on this rank's shard of a global batch: gradients are averaged
--- over every rank's rows (one packed allreduce), so all ranks apply the same
--- update and hold identical weights. Returns the global mean loss and the
--- global count of correct rows.
function DataParallel:train_step(model, xb, yb)
  local n = xb.shape[1]
  local first, last = ml.dist.shard(n)
  local m = last - first + 1
  local c = model:_sync()
  local ps, gs = c.params, c.grads
  local v, correct = 0, 0
  if m > 0 then
    local p = model:forward(xb:narrow(1, first, m), true)
    local g, pre
    v, g, correct, pre = model:_loss(p, yb:narrow(1, first, m), true)
    model:backward(g, pre)
  else
    for _, g in ipairs(gs) do g:zero_() end   -- a short last batch: nothing here
  end
  ml.dist.average_gradients(gs, m, n)
  local sums = ml.dist.allreduce_numbers({v * m, correct or 0})
  model.optimizer:step(ps, gs)
  return sums[1] / n, correct and sums[2] or nil
end

--- Validation on this rank's shard, combined over ranks.
function DataParallel:evaluate(model, x, y, bs)
  local n = x.shape[1]
  local first, last = ml.dist.shard(n)
  local m = last - first + 1
  local vl, va = 0, 0
  if m > 0 then
    vl, va = model:evaluate(x:narrow(1, first, m), y:narrow(1, first, m), {batch_size = bs})
  end
  local sums = ml.dist.allreduce_numbers({vl * m, (va or 0) * m})
  return sums[1] / n, model._has_acc and sums[2] / n or nil
end

--- The strategy for fit{distributed = ...}: data-parallel only when asked
--- and launched on more than one rank.
function M.get(distributed)
  if distributed and ml.dist.size() > 1 then return DataParallel() end
  return Local()
end

return M
