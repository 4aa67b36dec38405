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
-- Either runs a batch as `accumulate` micro-batches when fit asks for it.
local ml = require "ml"
local base = require "ml.base"
local raise = require("ml.errors").raise

local M = {}

local function is_finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

---------------------------------------------------------------------------
-- gradient accumulation (fit{accumulate = k})

-- Rows first..first+m-1 of a batch as k micro-batches: forward, loss and
-- backward on each, the loss gradient scaled by rows / total first so the
-- summed gradients are those of the mean loss over all `total` rows (total
-- is the global batch under data parallelism). Leaves the sum in the
-- model's gradients; returns the rows' summed loss, the count of correct
-- rows (or nil) and the predictions (or nil), or a non-finite loss early.
-- The accumulators are allocated once per model and reused.
local function accumulate(model, k, x, y, w, total)
  local n = x.shape[1]
  local c = model:_sync()
  local acc = model._accum
  if not acc or acc.params ~= c.params then
    acc = {params = c.params}
    for i, g in ipairs(c.grads) do acc[i] = ml.zeros(g.shape) end
    model._accum = acc
  end
  for i = 1, #c.grads do acc[i]:zero_() end
  local sum, correct, preds = 0, nil, (#model._metric_specs > 0) and {} or nil
  local first = 1
  for j = 1, k do
    local m = n // k + (j <= n % k and 1 or 0)
    if m > 0 then
      local xb, yb = x:narrow(1, first, m), y:narrow(1, first, m)
      local p = model:forward(xb, true)
      local v, g, cor, pre = model:_loss(p, yb, true)
      if w then v = model:_weigh(p, yb, w:narrow(1, first, m), g) end
      if not is_finite(v) then return v * m, cor, nil end
      g:mul_(m / total)
      model:backward(g, pre)
      for i, gr in ipairs(c.grads) do acc[i]:add_(gr) end
      sum = sum + v * m
      if cor then correct = (correct or 0) + cor end
      if preds then preds[#preds + 1] = p:clone() end
      first = first + m
    end
  end
  for i, gr in ipairs(c.grads) do gr:copy_(acc[i]) end
  return sum, correct, preds and ml.cat(preds, 1) or nil
end

---------------------------------------------------------------------------
-- one process

local Default = base.class("Default")
M.Default = Default
Default.chief = true

function Default:check() end
function Default:begin() end
function Default:batches(loader) return loader:batches() end

function Default:train_step(model, xb, yb, wb)
  local k = self.accumulate or 1
  if k == 1 then return model:train_on_batch(xb, yb, wb) end
  local n = xb.shape[1]
  local sum, correct, p = accumulate(model, k, xb, yb, wb, n)
  if not is_finite(sum) then return sum / n, correct, nil end
  local v = sum / n + model:_regularize()
  local c = model:_sync()
  model.optimizer:step(c.params, c.grads)
  return v, correct, p
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

-- Overlap (as PyTorch DDP): gradients go in buckets in reverse layer order,
-- the first up to FIRST_CAP bytes, the others up to CAP; a bucket's
-- non-blocking allreduce starts as soon as backward has passed its lowest
-- layer, and MPI is given a chance to progress it after every layer. Set
-- DataParallel.overlap = false for one packed blocking allreduce per step.
-- model._dp_stats counts steps and the seconds spent waiting for (overlap)
-- or in (blocking) the allreduce after backward.
DataParallel.overlap = true
DataParallel.FIRST_CAP = 1 * 2^20
DataParallel.CAP = 25 * 2^20
local core = require "ml.core"
local clock = core.term.clock

function DataParallel:init()
  self.rank = ml.dist.rank()
  self.chief = self.rank == 0
end

function DataParallel:check(model, o)
  if o.class_weight or o.sample_weight then
    raise("fit: class_weight and sample_weight are not supported with distributed = true")
  end
  if #model._metric_specs > 0 then
    raise("fit: with distributed = true only the accuracy metric is computed; compile " ..
      "without " .. model._metric_specs[1].name)
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

-- The buckets of a model (remade when its trainable layers change):
-- bk.at[i] = the bucket to start after layer i's backward; bk.list in order.
function DataParallel:_buckets(model, c)
  local bk = self._bk
  if bk and bk.c == c then return bk end
  bk = {c = c, at = {}, list = {}}
  local cur, bytes, cap = {}, 0, self.FIRST_CAP
  local layers = model.layers
  for i = #layers, c.low, -1 do
    local l = layers[i]
    if l.trainable ~= false then
      local _, gs = l:parameters()
      for j = #gs, 1, -1 do cur[#cur + 1] = gs[j]; bytes = bytes + 4 * gs[j]:numel() end
    end
    if #cur > 0 and (bytes >= cap or i == c.low) then
      local b = core.dist.bucket(cur)
      bk.at[i] = b
      bk.list[#bk.list + 1] = b
      cur, bytes, cap = {}, 0, self.CAP
    end
  end
  self._bk = bk
  return bk
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
  local k = self.accumulate or 1
  local stats = model._dp_stats or {steps = 0, wait = 0, buckets = 0}
  model._dp_stats = stats
  if self.overlap and k == 1 and not self:_regularized(model) then
    local bk = self:_buckets(model, c)
    local started, scale = 0, m / n
    local function start_after(i)
      local b = bk.at[i]
      if b then core.dist.bucket_start(b, scale); started = started + 1 end
      for j = 1, started - (b and 1 or 0) do core.dist.bucket_test(bk.list[j]) end
    end
    if m > 0 then
      local p = model:forward(xb:narrow(1, first, m), true)
      local g, pre
      v, g, correct, pre = model:_loss(p, yb:narrow(1, first, m), true)
      model:backward(g, pre, start_after)
    else
      for _, gr in ipairs(gs) do gr:zero_() end   -- a short last batch: nothing here
      for i = #model.layers, c.low, -1 do start_after(i) end
    end
    local t0 = clock()
    for _, b in ipairs(bk.list) do core.dist.bucket_wait(b) end
    stats.wait = stats.wait + (clock() - t0)
    stats.steps, stats.buckets = stats.steps + 1, #bk.list
    local sums = ml.dist.allreduce_numbers({v * m, correct or 0})
    model.optimizer:step(ps, gs)
    return sums[1] / n, correct and sums[2] or nil
  end
  if m > 0 and k > 1 then
    -- micro-batches of the shard; gradients already of the mean over m rows
    local sum
    sum, correct = accumulate(model, k, xb:narrow(1, first, m), yb:narrow(1, first, m), nil, m)
    v = sum / m + model:_regularize()
  elseif m > 0 then
    local p = model:forward(xb:narrow(1, first, m), true)
    local g, pre
    v, g, correct, pre = model:_loss(p, yb:narrow(1, first, m), true)
    model:backward(g, pre)
    -- each rank adds the penalty gradient once: the average keeps it once
    v = v + model:_regularize()
  else
    for _, g in ipairs(gs) do g:zero_() end   -- a short last batch: nothing here
  end
  local t0 = clock()
  ml.dist.average_gradients(gs, m, n)
  stats.wait = stats.wait + (clock() - t0)
  stats.steps = stats.steps + 1
  local sums = ml.dist.allreduce_numbers({v * m, correct or 0})
  model.optimizer:step(ps, gs)
  return sums[1] / n, correct and sums[2] or nil
end

-- Weight penalties add gradients after backward: those steps reduce once,
-- after them, without overlap.
function DataParallel:_regularized(model)
  for _, l in ipairs(model.layers) do
    if l.trainable ~= false and (l.kernel_regularizer or l.bias_regularizer) then return true end
  end
  return false
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
--- accumulate: each (local) batch runs as that many micro-batches.
function M.get(distributed, accumulate)
  local s = (distributed and ml.dist.size() > 1) and DataParallel() or Default()
  s.accumulate = accumulate or 1
  return s
end

return M
