-- ml.nn.strategy: how model:fit spreads its work over processes, as Keras's
-- distribution strategies. fit asks strategy.get(distributed) for one object
-- and calls it at each point where one process and many differ:
--   strategy.chief               this process prints and writes files
--   strategy:check(model, opts)  refuses what the strategy cannot do
--   strategy:begin(model)        before the first epoch
--   strategy:batches(loader)     one epoch's batch iterator
--   strategy:train_step(model, xb, yb, wb) -> loss, correct rows (or nil), predictions (or nil)
--   strategy:validate(model, x, y, batch_size, logs)  sets logs.val_*
-- Default: this process alone. DataParallel (fit{distributed = true} under
-- mpirun with two or more ranks): each rank takes its shard of every batch.
local ml = require "ml"
local base = require "ml.base"

local M = {}

---------------------------------------------------------------------------
-- one process

local Default = base.class("Default")
M.Default = Default
Default.chief = true

function Default:check() end
function Default:begin() end
function Default:batches(loader) return loader:batches() end

function Default:train_step(model, xb, yb, wb)
  return model:train_on_batch(xb, yb, wb)
end

function Default:validate(model, x, y, batch_size, logs)
  local r = {model:evaluate(x, y, {batch_size = batch_size})}
  logs.val_loss = r[1]
  for k, m in ipairs(model.metrics) do logs["val_" .. m] = r[k + 1] end
end

---------------------------------------------------------------------------
-- data-parallel training (fit{distributed = true} under mpirun)

local DataParallel = base.class("DataParallel", Default)
M.DataParallel = DataParallel

function DataParallel:init()
  self.rank = ml.dist.rank()
  self.chief = self.rank == 0
end

function DataParallel:check(model, o)
  if o.class_weight or o.sample_weight then
    error("fit: class_weight and sample_weight are not supported with distributed = true", 0)
  end
  if #model._metric_specs > 0 then
    error("fit: with distributed = true only the accuracy metric is computed; compile " ..
      "without " .. model._metric_specs[1].name, 0)
  end
end

-- Every rank starts from rank 0's weights.
function DataParallel:begin(model)
  ml.dist.sync_parameters(model:parameters(true))
end

-- One shuffle for all ranks (rank 0's seed), then each rank its own dropout stream.
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
    -- each rank adds the penalty gradient once: the average keeps it once
    v = v + model:_regularize()
  else
    for _, g in ipairs(gs) do g:zero_() end   -- a short last batch: nothing here
  end
  ml.dist.average_gradients(gs, m, n)
  local sums = ml.dist.allreduce_numbers({v * m, correct or 0})
  model.optimizer:step(ps, gs)
  return sums[1] / n, correct and sums[2] or nil
end

--- Validation on this rank's shard, combined over ranks.
function DataParallel:validate(model, x, y, batch_size, logs)
  local n = x.shape[1]
  local first, last = ml.dist.shard(n)
  local m = last - first + 1
  local vl, va = 0, 0
  if m > 0 then
    vl, va = model:evaluate(x:narrow(1, first, m), y:narrow(1, first, m), {batch_size = batch_size})
  end
  local sums = ml.dist.allreduce_numbers({vl * m, (va or 0) * m})
  logs.val_loss = sums[1] / n
  if model._acc_name then logs["val_" .. model._acc_name] = sums[2] / n end
end

--- The strategy for fit{distributed = ...}: DataParallel when asked for and
--- the job has two or more ranks, Default otherwise.
function M.get(distributed)
  if distributed and ml.dist.size() > 1 then return DataParallel() end
  return Default()
end

return M
