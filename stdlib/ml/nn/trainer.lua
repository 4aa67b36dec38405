-- ml.nn.trainer: what Keras's Trainer adds to a Model: compile (optimizer,
-- loss, metrics), train_on_batch, the fit / evaluate / predict loops, and the
-- training state a checkpoint saves for a bit-identical restart. How a step
-- is spread over processes is a strategy object (ml.nn.strategy) that fit
-- plugs in; progress output and History are callbacks (ml.callbacks).
-- ml.nn.model mixes these methods into its Model class.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local callbacks = require "ml.callbacks"
local strategy = require "ml.nn.strategy"

local Trainer = {}
local losses = {}

local function shape_str(s) return table.concat(s, "x") end

---------------------------------------------------------------------------
-- compile: optimizer, loss and metrics

local CE = {categorical_crossentropy = true, sparse_categorical_crossentropy = true}
local LOSS_ALIASES = {mean_squared_error = "mse", mean_absolute_error = "mae",
  crossentropy = "categorical_crossentropy"}

--- compile{optimizer = "adam" | ml.optim.X{...}, loss = "categorical_crossentropy" |
--- "sparse_categorical_crossentropy" | "binary_crossentropy" | "mse" | "mae" |
--- function(pred, target) -> one-element tensor (differentiated by ml.autograd),
--- metrics = {"accuracy"}}
function Trainer:compile(opts)
  local o = base.options("compile", opts, {{"optimizer", "rmsprop", "string|table"},
    {"loss", nil, "string|function"}, {"metrics", {}, "table"}})
  if not o.loss then error("compile: option 'loss' is required (e.g. \"mse\")", 0) end
  self.optimizer = require("ml.optim").get(o.optimizer)
  local loss = LOSS_ALIASES[o.loss] or o.loss
  if type(loss) ~= "function" then losses.check(loss) end
  self.loss = loss
  self.metrics = {}
  for i, m in ipairs(o.metrics) do
    if m == "accuracy" or m == "acc" then self.metrics[i] = "accuracy"
    else
      error(string.format("compile: unknown metric '%s' (expected \"accuracy\")", tostring(m)), 0)
    end
  end
  self._has_acc = #self.metrics > 0
  self.compiled = true
  return self
end

-- Losses: the fused softmax + cross-entropy lives in runtime/train (with the
-- accuracy count, into a reused gradient buffer); the others, and the fused
-- sigmoid + binary cross-entropy, come from ml.nn.losses.
-- A loss given as a Lua function: its value, and its gradient by autograd.
local function eval_function(fn, p, y, want_grad)
  if want_grad then
    local g, v = ml.grad(function(pp) return fn(pp, y) end, {p})
    return v, g[1]
  end
  local v = ml.no_grad(fn, p, y)
  if type(v) ~= "number" then
    if not ml.is_tensor(v) or v:numel() ~= 1 then
      error("loss function: expected a one-element tensor or a number, got "
        .. (ml.is_tensor(v) and "shape " .. shape_str(v.shape) or type(v)), 0)
    end
    v = v:item()
  end
  return v
end

--- value [, gradient w.r.t. p] of loss `name` (a name or a Lua function).
function losses.eval(name, p, y, want_grad)
  if type(name) == "function" then return eval_function(name, p, y, want_grad) end
  local loss = require("ml.nn.losses").get(name, "loss")
  if want_grad then return loss.forward_backward(p, y) end
  return loss.forward(p, y)
end
local KNOWN = {mse = true, mae = true, binary_crossentropy = true,
  categorical_crossentropy = true, sparse_categorical_crossentropy = true}
function losses.check(name)
  if not KNOWN[name] then
    error(string.format("compile: unknown loss '%s' (expected mse, mae, binary_crossentropy, "
      .. "categorical_crossentropy or sparse_categorical_crossentropy)", tostring(name)), 0)
  end
end

function Trainer:_fused()
  local last = self.layers[#self.layers]
  return CE[self.loss] and last and last.activation == "softmax"
end

function Trainer:_fused_sigmoid()
  local last = self.layers[#self.layers]
  return self.loss == "binary_crossentropy" and last and last.activation == "sigmoid"
end

-- Loss (and its gradient into gbuf when given) of predictions p against y.
-- Returns value, gradient, correct-count (nil if not computed), pre_activation.
function Trainer:_loss(p, y, want_grad)
  local gbuf
  if want_grad and self:_fused() then
    gbuf = self._gbuf
    if not gbuf or gbuf.shape[1] ~= p.shape[1] or gbuf:numel() ~= p:numel() then
      gbuf = self._gbufs and self._gbufs[p.shape[1]]
      if not gbuf or gbuf:numel() ~= p:numel() then
        gbuf = ml.empty(p.shape)
        self._gbufs = self._gbufs or {}
        self._gbufs[p.shape[1]] = gbuf
      end
      self._gbuf = gbuf
    end
  end
  if self:_fused() then
    local v, correct = core.train.xent(p, y, gbuf)
    return v, gbuf, correct, true
  end
  local v, g, pre
  if want_grad and self:_fused_sigmoid() then
    v, g = require("ml.nn.losses").sigmoid_cross_entropy(p, y)
    pre = true
  else
    v, g = losses.eval(self.loss, p, y, want_grad)
    pre = false
  end
  local correct
  if self._has_acc then correct = core.train.correct(p, y) end
  return v, g, correct, pre
end

local function is_finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

--- One optimizer step on a batch: forward (training), loss, backward, update.
--- Returns the batch loss and the number of correct rows (nil without accuracy).
function Trainer:train_on_batch(x, y)
  if not self.compiled then error("train_on_batch: compile the model first", 0) end
  local p = self:forward(x, true)
  local v, g, correct, pre = self:_loss(p, y, true)
  if not is_finite(v) then return v, correct end
  self:backward(g, pre)
  local c = self:_sync()
  self.optimizer:step(c.params, c.grads)
  return v, correct
end

---------------------------------------------------------------------------
-- fit / evaluate / predict

local function as_input(who, x)
  base.check_arg(who, 1, x, "tensor")
  if x.dtype ~= "float32" then x = x:float() end
  return x:contiguous()
end

local function check_xy(who, x, y)
  x = as_input(who, x)
  base.check_arg(who, 2, y, "tensor")
  if y:dim() < 1 or y.shape[1] ~= x.shape[1] then
    error(string.format("%s: x has %d samples but y has shape %s", who, x.shape[1],
      shape_str(y.shape)), 0)
  end
  return x, y:contiguous()
end

local function call_cbs(cbs, method, ...)
  for _, cb in ipairs(cbs) do
    local f = cb[method]
    if f then f(cb, ...) end
  end
end

-- fit's data: the training loader and the validation tensors (or nil).
local function fit_data(x, y, o)
  local loader
  if type(x) == "table" and not ml.is_tensor(x) and x.batches and x.get then
    loader = x                            -- fit(loader, nil, opts): its batches as given
    if y ~= nil or not loader.y then
      error("fit: with a DataLoader, pass nil for y and give the loader targets", 0)
    end
    if o.validation_split > 0 then
      error("fit: validation_split needs tensors, not a DataLoader", 0)
    end
    x, y = loader.X, loader.y
  else
    x, y = check_xy("fit", x, y)
  end
  if o.batch_size < 1 then error("fit: batch_size must be >= 1", 0) end
  if o.epochs < 0 then error("fit: epochs must be >= 0", 0) end
  local xv, yv
  if o.validation_data then
    xv, yv = check_xy("fit (validation_data)", o.validation_data[1], o.validation_data[2])
  elseif o.validation_split > 0 then
    if o.validation_split >= 1 then error("fit: validation_split must be in [0, 1)", 0) end
    local n = x.shape[1]
    local split = math.floor(n * (1 - o.validation_split))
    if split < 1 or split >= n then
      error(string.format("fit: validation_split %g leaves no training or validation rows "
        .. "(%d samples)", o.validation_split, n), 0)
    end
    xv, yv = x:narrow(1, split + 1, n - split), y:narrow(1, split + 1, n - split)
    x, y = x:narrow(1, 1, split), y:narrow(1, 1, split)
  end
  return x, y, loader, xv, yv
end

-- The callbacks this process runs (History last) and whether one of them
-- handles a non-finite loss.
local function fit_callbacks(self, o, strat, history)
  local cbs, nan_ok = {}, false
  for _, cb in ipairs(o.callbacks) do
    if type(cb) ~= "table" then error("fit: callbacks must be ml.callbacks objects", 0) end
    if strat:keeps(cb) then cbs[#cbs + 1] = cb end
    if cb.handles_nan then nan_ok = true end
  end
  cbs[#cbs + 1] = history
  for _, cb in ipairs(cbs) do if cb.set_model then cb:set_model(self) end end
  return cbs, nan_ok
end

-- One epoch over the loader's batches; returns the epoch's logs.
function Trainer:_fit_epoch(epoch, run)
  local sum_loss, sum_correct, seen = 0, 0, 0
  local i = 0
  local blogs = run.blogs
  for xb, yb in run.strategy:batches(run.loader) do
    i = i + 1
    local n = xb.shape[1]
    local v, correct = run.strategy:train_step(self, xb, yb)
    if not is_finite(v) and not run.nan_ok then
      error(string.format("fit: the loss became %s at epoch %d, batch %d (lower the "
        .. "learning rate, check the data for NaN, or pass ml.callbacks.TerminateOnNaN())",
        tostring(v), epoch, i), 0)
    end
    sum_loss = sum_loss + v * n
    seen = seen + n
    if correct then sum_correct = sum_correct + correct end
    blogs.loss, blogs.batch, blogs.size = v, i, n
    blogs.accuracy = correct and correct / n or nil
    call_cbs(run.callbacks, "on_batch_end", i, blogs)
    run.progbar:on_batch_end(i, blogs)
    if self.stop_training then break end
  end
  local logs = {loss = sum_loss / seen}
  if self._has_acc then logs.accuracy = sum_correct / seen end
  if run.xv and is_finite(logs.loss) then
    local vl, va = run.strategy:evaluate(self, run.xv, run.yv, math.max(run.batch_size, 256))
    logs.val_loss = vl
    if self._has_acc then logs.val_accuracy = va end
  end
  return logs
end

--- fit(x, y, opts) -> History. opts: epochs (1), batch_size (32), verbose (1),
--- shuffle (true), validation_split (0: the last fraction of x/y, taken before
--- shuffling, as Keras), validation_data ({x_val, y_val}), callbacks ({}),
--- initial_epoch (0), distributed (false: data-parallel under mpirun, see
--- ml.nn.strategy), resume (a training-state file to continue from),
--- allow_nan (false: x, y and the validation data are checked once for
--- NaN/Inf, an error names the row; true skips it).
--- y: class ids (any dtype) or one-hot / target rows. x may be an
--- ml.data.DataLoader (y nil): its batches, shuffling and augmentation are
--- used as they are.
function Trainer:fit(x, y, opts)
  local o = base.options("fit", opts, {{"epochs", 1, "integer"}, {"batch_size", 32, "integer"},
    {"verbose", 1, {0, 1, 2}}, {"shuffle", true, "boolean"},
    {"validation_split", 0, "number"}, {"validation_data", nil, "table|nil"},
    {"callbacks", {}, "table"}, {"initial_epoch", 0, "integer"},
    {"distributed", false, "boolean"}, {"resume", nil, "string|nil"},
    {"allow_nan", false, "boolean"}})
  if not self.compiled then error("fit: compile the model first (model:compile{...})", 0) end
  if not (o.validation_split >= 0 and o.validation_split < 1) then
    error(string.format("fit: validation_split must be in [0, 1), got %s",
      o.validation_split ~= o.validation_split and "nan" or tostring(o.validation_split)), 0)
  end
  local strat = strategy.get(o.distributed)
  strat:configure(o)
  local loader, xv, yv
  x, y, loader, xv, yv = fit_data(x, y, o)
  if not o.allow_nan then   -- one NaN would train NaN weights that relu hides
    base.check_finite("fit", x, "x", "allow_nan = true")
    base.check_finite("fit", y, "y", "allow_nan = true")
    if xv then
      base.check_finite("fit", xv, "validation x", "allow_nan = true")
      base.check_finite("fit", yv, "validation y", "allow_nan = true")
    end
  end
  self:_ensure_built(x, "fit")
  loader = loader or
    require("ml.data").DataLoader(x, y, {batch_size = o.batch_size, shuffle = o.shuffle})
  local steps = #loader
  local history = callbacks.History()
  history.params = {epochs = o.epochs, steps = steps, verbose = o.verbose}
  if o.resume then o.initial_epoch = self:_resume(o.resume, history, o.initial_epoch) end
  strat:begin(self)
  local cbs, nan_ok = fit_callbacks(self, o, strat, history)
  local run = {strategy = strat, loader = loader, callbacks = cbs, nan_ok = nan_ok, xv = xv,
    yv = yv, batch_size = o.batch_size, blogs = {},
    progbar = callbacks.ProgbarLogger{verbose = o.verbose, epochs = o.epochs, steps = steps,
      accuracy = self._has_acc}}
  self.stop_training = false
  self.history = history
  call_cbs(cbs, "on_train_begin", {})
  for epoch = o.initial_epoch + 1, o.epochs do
    call_cbs(cbs, "on_epoch_begin", epoch, {})
    run.progbar:on_epoch_begin(epoch)
    local logs = self:_fit_epoch(epoch, run)
    run.progbar:on_epoch_end(epoch, logs)
    call_cbs(cbs, "on_epoch_end", epoch, logs)
    if self.stop_training then break end
  end
  call_cbs(cbs, "on_train_end", {})
  return history
end

---------------------------------------------------------------------------
-- training state: what a checkpoint needs for a bit-identical restart

--- {weights and optimizer state (the model), epoch, random generator state,
--- history so far}: ModelCheckpoint{save_training_state = true} saves it.
--- logs: this epoch's logs, when History has not recorded them yet (it runs
--- after the other callbacks).
function Trainer:training_state(epoch, logs)
  local hist = {}
  for k, list in pairs(self.history and self.history.history or {}) do
    hist[k] = table.move(list, 1, #list, 1, {})
  end
  for k, v in pairs(logs or {}) do
    if type(v) == "number" then
      hist[k] = hist[k] or {}
      if #hist[k] < epoch then hist[k][epoch] = v end
    end
  end
  return {training_state = 1, model = self, epoch = epoch, rng = ml.get_rng_state(),
          history = hist}
end

--- Restores a training state into this (compiled, same-architecture) model;
--- returns the epoch to continue after. A missing file starts from scratch.
function Trainer:_resume(path, history, initial_epoch)
  local f = io.open(path, "rb")
  if not f then return initial_epoch end
  f:close()
  local st = ml.load(path)
  if type(st) ~= "table" or st.training_state ~= 1 or type(st.model) ~= "table" then
    error(("fit: resume: '%s' is not a training state (save it with "
      .. "ModelCheckpoint{save_training_state = true})"):format(path), 0)
  end
  local saved = st.model
  local mine, theirs = self:parameters(true), saved:parameters(true)
  if #mine ~= #theirs then
    error(("fit: resume: '%s' holds a model with %d parameter tensors, this one has %d")
      :format(path, #theirs, #mine), 0)
  end
  for i, p in ipairs(mine) do
    if p:numel() ~= theirs[i]:numel() then
      error(("fit: resume: parameter %d has %d values in '%s', %d here"):format(i,
        theirs[i]:numel(), path, p:numel()), 0)
    end
    p:copy_(theirs[i]:reshape(p.shape))
  end
  if saved.optimizer then
    local opt = saved.optimizer
    opt:set_slots(mine, opt:get_slots(theirs))
    for _, p in ipairs(theirs) do opt.slots[p] = nil end
    self.optimizer = opt
  end
  for e = 1, st.epoch do history.epoch[e] = e end
  for k, list in pairs(st.history or {}) do
    if type(list) == "table" then
      history.history[k] = history.history[k] or {}
      for i, v in ipairs(list) do history.history[k][i] = v end
      history[k] = history.history[k]
    end
  end
  ml.set_rng_state(st.rng)
  return st.epoch
end

-- Runs fn(xb, first_row, n) over batches of x (views, no copies).
local function each_batch(x, bs, fn)
  local n = x.shape[1]
  for s = 1, n, bs do
    local m = math.min(bs, n - s + 1)
    fn(m == n and x or x:narrow(1, s, m), s, m)
  end
end

--- evaluate(x, y, {batch_size = 32, verbose = 0}) -> loss [, accuracy]
function Trainer:evaluate(x, y, opts)
  local o = base.options("evaluate", opts, {{"batch_size", 32, "integer"},
    {"verbose", 0, {0, 1, 2}}})
  if not self.compiled then error("evaluate: compile the model first", 0) end
  if o.batch_size < 1 then error("evaluate: batch_size must be >= 1", 0) end
  x, y = check_xy("evaluate", x, y)
  if x.shape[1] == 0 then error("evaluate: x has no rows (a mean over 0 samples is undefined)", 0) end
  self:_ensure_built(x, "evaluate")
  local total, correct = 0, 0
  local fused = self:_fused()
  each_batch(x, o.batch_size, function(xb, s, m)
    local yb = m == y.shape[1] and y or y:narrow(1, s, m)
    local p = self:forward(xb, false)
    local v, c
    if fused then v, c = core.train.xent(p, yb)
    else
      v = losses.eval(self.loss, p, yb, false)
      if self._has_acc then c = core.train.correct(p, yb) end
    end
    total = total + v * m
    if c then correct = correct + c end
  end)
  local n = x.shape[1]
  if o.verbose > 0 then
    print(string.format("%d/%d - loss: %.4f%s", n, n, total / n,
      self._has_acc and string.format(" - accuracy: %.4f", correct / n) or ""))
  end
  if self._has_acc then return total / n, correct / n end
  return total / n
end

--- predict(x, {batch_size = 32}) -> outputs for every row of x.
function Trainer:predict(x, opts)
  local o = base.options("predict", opts, {{"batch_size", 32, "integer"},
    {"verbose", 0, {0, 1, 2}}})
  if o.batch_size < 1 then error("predict: batch_size must be >= 1", 0) end
  x = as_input("predict", x)
  self:_ensure_built(x, "predict")
  local n = x.shape[1]
  if n == 0 then   -- an empty result of the output's shape: run one zero row for it
    local one = {table.unpack(x.shape)}
    one[1] = 1
    local shp = {table.unpack(self:forward(ml.zeros(one), false).shape)}
    shp[1] = 0
    return ml.zeros(shp)
  end
  local out
  each_batch(x, o.batch_size, function(xb, s, m)
    local p = self:forward(xb, false)
    if m == n then out = p:clone() return end
    if not out then
      local shp = {table.unpack(p.shape)}
      shp[1] = n
      out = ml.empty(shp)
    end
    out:narrow(1, s, m):copy_(p)
  end)
  return out
end

--- Class ids (int64, 0..K-1) of the rows of x; a single sigmoid output gives 0/1.
function Trainer:predict_classes(x, opts)
  local p = self:predict(x, opts)
  if p:dim() == 1 or (p:dim() == 2 and p.shape[2] == 1) then
    return p:reshape(-1):gt(0.5):long()
  end
  return (p:argmax(2) - 1):reshape(-1):long()
end

return Trainer
