-- ml.nn.trainer: what turns a model into something that learns, as Keras's
-- Trainer: compile (optimizer, loss, metrics), train_on_batch, fit, evaluate,
-- predict, and the training state fit{resume =} restarts from. ml.nn.model's
-- Model class inherits from Trainer; a trainer method reaches the layers only
-- through the model's forward, backward, _sync, parameters and layers.
-- How a step is spread over processes is ml.nn.strategy's business; History
-- and the progress bar are ml.callbacks'.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local callbacks = require "ml.callbacks"
local strategy = require "ml.nn.strategy"
local raise = require("ml.errors").raise

local M = {}

local is_tensor = ml.is_tensor
local shape_str = require("ml.nn.shapes").str
local function is_finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

local Trainer = base.class("Trainer")
M.Trainer = Trainer

---------------------------------------------------------------------------
-- compile: optimizer, loss and metrics

local CE = {categorical_crossentropy = true, sparse_categorical_crossentropy = true}
local LOSS_ALIASES = {mean_squared_error = "mse", mean_absolute_error = "mae",
  crossentropy = "categorical_crossentropy", kld = "kl_divergence",
  kullback_leibler_divergence = "kl_divergence"}

-- Metrics by the names Keras accepts; History, logs and evaluate keep the
-- name the user gave ({"acc"} -> h.acc, as Keras).
local METRIC_KINDS = {accuracy = "accuracy", acc = "accuracy", mae = "mae",
  mean_absolute_error = "mae", mse = "mse", mean_squared_error = "mse", auc = "auc", AUC = "auc",
  precision = "precision", recall = "recall"}

--- compile{optimizer = "adam" | ml.optim.X{...}, loss = "categorical_crossentropy" |
--- "sparse_categorical_crossentropy" | "binary_crossentropy" | "mse" | "mae" | "huber" |
--- "hinge" | "kl_divergence" | function(pred, target) -> one-element tensor
--- (differentiated by ml.autograd), metrics = {"accuracy" | "acc", "mae", "mse", "AUC",
--- "precision", "recall", ...}}
function Trainer:compile(opts)
  local o = base.options("compile", opts, {{"optimizer", "rmsprop", "string|table"},
    {"loss", nil, "string|function"}, {"metrics", {}, "table"}})
  if not o.loss then raise("compile: option 'loss' is required (e.g. \"mse\")") end
  self.optimizer = require("ml.optim").get(o.optimizer)
  local loss = LOSS_ALIASES[o.loss] or o.loss
  if type(loss) ~= "function" then M.losses.check(loss) end
  self.loss = loss
  self.metrics, self._metric_specs, self._acc_name = {}, {}, nil
  local seen = {}
  for i, m in ipairs(o.metrics) do
    local kind = METRIC_KINDS[m]
    if not kind then
      raise(string.format("compile: unknown metric '%s' (expected one of: accuracy, acc, mae, " ..
        "mse, AUC, precision, recall)", tostring(m)))
    end
    if seen[m] then raise(string.format("compile: metric '%s' given twice", m)) end
    seen[m] = true
    self.metrics[i] = m
    if kind == "accuracy" then
      if self._acc_name then raise("compile: give accuracy once (\"accuracy\" or \"acc\")") end
      self._acc_name = m
    else
      self._metric_specs[#self._metric_specs + 1] = {name = m, kind = kind}
    end
  end
  self._has_acc = self._acc_name ~= nil
  self.compiled = true
  return self
end

-- Losses: the fused softmax + cross-entropy lives in runtime/train (with the
-- accuracy count, into a reused gradient buffer); the others, and the fused
-- sigmoid + binary cross-entropy, come from ml.nn.losses.
M.losses = {}
-- A loss given as a Lua function: its value, and its gradient by autograd.
local function eval_function(fn, p, y, want_grad)
  if want_grad then
    local g, v = ml.grad(function(pp) return fn(pp, y) end, {p})
    return v, g[1]
  end
  local v = ml.no_grad(fn, p, y)
  if type(v) ~= "number" then
    if not is_tensor(v) or v:numel() ~= 1 then
      raise("loss function: expected a one-element tensor or a number, got "
        .. (is_tensor(v) and "shape " .. shape_str(v.shape) or type(v)))
    end
    v = v:item()
  end
  return v
end

--- value [, gradient w.r.t. p] of loss `name` (a name or a Lua function).
function M.losses.eval(name, p, y, want_grad)
  if type(name) == "function" then return eval_function(name, p, y, want_grad) end
  local loss = require("ml.nn.losses").get(name, "loss")
  if want_grad then return loss.forward_backward(p, y) end
  return loss.forward(p, y)
end
local KNOWN = {mse = true, mae = true, binary_crossentropy = true,
  categorical_crossentropy = true, sparse_categorical_crossentropy = true, huber = true,
  hinge = true, kl_divergence = true}
function M.losses.check(name)
  if not KNOWN[name] then
    raise(string.format("compile: unknown loss '%s' (expected mse, mae, huber, hinge, " ..
      "kl_divergence, binary_crossentropy, categorical_crossentropy or " ..
      "sparse_categorical_crossentropy)", tostring(name)))
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
    v, g = M.losses.eval(self.loss, p, y, want_grad)
    pre = false
  end
  local correct
  if self._has_acc then correct = core.train.correct(p, y) end
  return v, g, correct, pre
end

local function is_finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- Streaming state of the metrics other than accuracy over one pass (an
-- epoch or an evaluate): mae/mse sum errors, precision/recall count
-- outputs thresholded at 0.5 (elementwise, as Keras's), AUC keeps the
-- scores and computes the exact ROC AUC at the end.
local Metrics = {}
Metrics.__index = Metrics
local function metrics_new(specs)
  local m = setmetatable({specs = specs, st = {}}, Metrics)
  for i in ipairs(specs) do m.st[i] = {sum = 0, n = 0, tp = 0, fp = 0, fn = 0, ps = {}, ys = {}} end
  return m
end
function Metrics:update(p, y)
  if #self.specs == 0 then return end
  local yf = y.dtype == "float32" and y or y:float()
  if yf:numel() ~= p:numel() then
    raise(string.format("metric '%s' needs targets shaped like the outputs (outputs %s, " ..
      "targets %s); one-hot encode class ids with ml.utils.to_categorical", self.specs[1].name,
      shape_str(p.shape), shape_str(y.shape)))
  end
  yf = yf:reshape(p.shape)
  for i, s in ipairs(self.specs) do
    local st = self.st[i]
    if s.kind == "mae" then st.sum = st.sum + (p - yf):abs():sum(); st.n = st.n + p:numel()
    elseif s.kind == "mse" then st.sum = st.sum + (p - yf):square():sum(); st.n = st.n + p:numel()
    elseif s.kind == "precision" or s.kind == "recall" then
      local pred = p:gt(0.5)
      local tp = (pred * yf):sum()
      st.tp = st.tp + tp
      st.fp = st.fp + pred:sum() - tp
      st.fn = st.fn + yf:sum() - tp
    else   -- auc: every (sample, output) pair is one scored example, as Keras's AUC
      st.ps[#st.ps + 1] = p:reshape(-1):clone()
      st.ys[#st.ys + 1] = yf:reshape(-1):clone()
    end
  end
end
--- name -> value of every metric.
function Metrics:results(out)
  for i, s in ipairs(self.specs) do
    local st = self.st[i]
    if s.kind == "mae" or s.kind == "mse" then out[s.name] = st.n > 0 and st.sum / st.n or 0 / 0
    elseif s.kind == "precision" then
      out[s.name] = st.tp + st.fp > 0 and st.tp / (st.tp + st.fp) or 0
    elseif s.kind == "recall" then
      out[s.name] = st.tp + st.fn > 0 and st.tp / (st.tp + st.fn) or 0
    else
      local ps, ys = ml.cat(st.ps, 1), ml.cat(st.ys, 1)
      local pos = ys:sum()
      if pos == 0 or pos == ys:numel() then out[s.name] = 0   -- Keras: AUC is 0 with one class
      else out[s.name] = require("ml.metrics").roc_auc_score(ys:gt(0.5):long(), ps) end
    end
  end
  return out
end

--- Weight penalties (kernel_regularizer / bias_regularizer): adds their
--- gradients to the trainable layers' weight gradients and returns the total
--- penalty, which the reported loss includes (as Keras's).
function Trainer:_regularize()
  local r = 0
  for _, l in ipairs(self.layers) do
    if l.trainable ~= false and (l.kernel_regularizer or l.bias_regularizer) then
      r = r + l:regularization_loss()
      l:add_regularization_grads()
    end
  end
  return r
end

-- Per-sample weighted loss (Keras: sum(w_i * l_i) / N) and its gradient:
-- the loss of each row times its weight, and each gradient row scaled.
function Trainer:_weigh(p, y, w, g)
  local n = p.shape[1]
  local wl = w:totable()
  local total = 0
  for i = 1, n do
    if wl[i] ~= 0 then
      local v = M.losses.eval(self.loss, p:narrow(1, i, 1), y:narrow(1, i, 1), false)
      total = total + wl[i] * v
    end
  end
  if g then
    local shape = {n}
    for d = 2, g:dim() do shape[d] = 1 end
    g:mul_(w:reshape(shape))
  end
  return total / n
end

--- One optimizer step on a batch: forward (training), loss, backward, update.
--- w: optional per-sample weights (sample_weight / class_weight). Returns the
--- batch loss, the number of correct rows (nil without accuracy) and the
--- predictions (valid until the next step).
function Trainer:train_on_batch(x, y, w)
  if not self.compiled then raise("train_on_batch: compile the model first") end
  local p = self:forward(x, true)
  local v, g, correct, pre = self:_loss(p, y, true)
  if w then v = self:_weigh(p, y, w, g) end
  if not is_finite(v) then return v, correct, p end
  self:backward(g, pre)
  v = v + self:_regularize()
  local c = self:_sync()
  self.optimizer:step(c.params, c.grads)
  return v, correct, p
end

---------------------------------------------------------------------------
-- fit / evaluate / predict

-- DataFrames and Series become tensors here (ml.tensor, as ml.base's X/y
-- checks do for the estimators).
local function frame_tensor(v)
  local mt = type(v) == "table" and getmetatable(v)
  if mt and (mt.__name == "DataFrame" or mt.__name == "Series") then return ml.tensor(v) end
  return v
end

local function as_input(who, x)
  x = frame_tensor(x)
  base.check_arg(who, 1, x, "tensor")
  if x.dtype ~= "float32" then x = x:float() end
  return x:contiguous()
end

local function check_xy(who, x, y)
  x, y = as_input(who, x), frame_tensor(y)
  base.check_arg(who, 2, y, "tensor")
  if y:dim() < 1 or y.shape[1] ~= x.shape[1] then
    raise(string.format("%s: x has %d samples but y has shape %s", who, x.shape[1],
      shape_str(y.shape)))
  end
  return x, y:contiguous()
end

local function call_cbs(cbs, method, ...)
  for _, cb in ipairs(cbs) do
    local f = cb[method]
    if f then f(cb, ...) end
  end
end

local FIT_OPTIONS = {{"epochs", 1, "integer"}, {"batch_size", 32, "integer"},
  {"verbose", 1, {0, 1, 2}}, {"shuffle", true, "boolean"},
  {"validation_split", 0, "number"}, {"validation_data", nil, "table|nil"},
  {"callbacks", {}, "table"}, {"initial_epoch", 0, "integer"},
  {"distributed", false, "boolean"}, {"resume", nil, "string|nil"},
  {"class_weight", nil, "table|nil"}, {"sample_weight", nil, "tensor|table|nil"},
  {"allow_nan", false, "boolean"}, {"accumulate", 1, "integer"}}

-- fit's training rows: (x, y) tensors, or a DataLoader's X and y (returned third).
local function fit_inputs(o, x, y)
  x = frame_tensor(x)
  if not (type(x) == "table" and not is_tensor(x) and x.batches and x.get) then
    x, y = check_xy("fit", x, y)
    return x, y, nil
  end
  local loader = x                        -- fit(loader, nil, opts): its batches as given
  if y ~= nil or not loader.y then
    raise("fit: with a DataLoader, pass nil for y and give the loader targets")
  end
  if o.validation_split > 0 then
    raise("fit: validation_split needs tensors, not a DataLoader")
  end
  return loader.X, loader.y, loader
end

-- Training and validation rows: validation_data as given, or the last
-- validation_split of x and y (taken before shuffling, as Keras).
local function split_validation(o, x, y)
  if o.validation_data then
    local xv, yv = check_xy("fit (validation_data)", o.validation_data[1], o.validation_data[2])
    return x, y, xv, yv
  end
  if o.validation_split == 0 then return x, y end
  local n = x.shape[1]
  local split = math.floor(n * (1 - o.validation_split))
  if split < 1 or split >= n then
    raise(string.format("fit: validation_split %g leaves no training or validation rows "
      .. "(%d samples)", o.validation_split, n))
  end
  return x:narrow(1, 1, split), y:narrow(1, 1, split),
    x:narrow(1, split + 1, n - split), y:narrow(1, split + 1, n - split)
end

-- One NaN would train NaN weights that relu hides: refused unless allow_nan.
local function check_finite_data(x, y, xv, yv)
  base.check_finite("fit", x, "x", "allow_nan = true")
  base.check_finite("fit", y, "y", "allow_nan = true")
  if xv then
    base.check_finite("fit", xv, "validation x", "allow_nan = true")
    base.check_finite("fit", yv, "validation y", "allow_nan = true")
  end
end

-- The callbacks fit calls: the user's (those that write files only on the
-- strategy's chief), then the History. nan_ok: one of them handles a NaN loss.
local function fit_callbacks(self, list, strat, history)
  local cbs, nan_ok = {}, false
  for _, cb in ipairs(list) do
    if type(cb) ~= "table" then raise("fit: callbacks must be ml.callbacks objects") end
    if strat.chief or not cb.rank0_only then cbs[#cbs + 1] = cb end
    if cb.handles_nan then nan_ok = true end
  end
  cbs[#cbs + 1] = history
  for _, cb in ipairs(cbs) do if cb.set_model then cb:set_model(self) end end
  return cbs, nan_ok
end

-- The logs the progress bar prints, in order: loss, metrics, then validation's.
local function log_keys(metrics, validation)
  local keys = {"loss"}
  for _, m in ipairs(metrics) do keys[#keys + 1] = m end
  if validation then
    keys[#keys + 1] = "val_loss"
    for _, m in ipairs(metrics) do keys[#keys + 1] = "val_" .. m end
  end
  return keys
end

-- One epoch: every batch through the strategy's step, the callbacks'
-- on_batch_end and the bar; returns the epoch's logs (validation included).
-- run: what fit set up (strategy, loader, weights, callbacks, ...).
local function run_epoch(self, run, epoch)
  local acc, loader, blogs = self._acc_name, run.loader, run.blogs
  local sum_loss, sum_correct, seen, i = 0, 0, 0, 0
  local mstate = metrics_new(self._metric_specs)
  for xb, yb in run.strategy:batches(loader) do
    i = i + 1
    local n = xb.shape[1]
    local wb
    if run.weights then   -- the weights of this batch's rows, in the loader's order
      wb = run.weights:index_select(1, loader.order:narrow(1, (i - 1) * loader.batch_size + 1, n))
    end
    local v, correct, p = run.strategy:train_step(self, xb, yb, wb)
    if p and is_finite(v) then mstate:update(p, yb) end
    if not is_finite(v) and not run.nan_ok then
      raise(string.format("fit: the loss became %s at epoch %d, batch %d (lower the "
        .. "learning rate, check the data for NaN, or pass ml.callbacks.TerminateOnNaN())",
        tostring(v), epoch, i))
    end
    sum_loss = sum_loss + v * n
    seen = seen + n
    if correct then sum_correct = sum_correct + correct end
    blogs.loss, blogs.batch, blogs.size = v, i, n
    if acc then blogs[acc] = correct and correct / n or nil end
    call_cbs(run.cbs, "on_batch_end", i, blogs)
    run.progress:update(i, sum_loss / seen, self._has_acc and sum_correct / seen or nil, acc)
    if self.stop_training then break end
  end
  local logs = {loss = sum_loss / seen}
  if acc then logs[acc] = sum_correct / seen end
  if seen > 0 and is_finite(logs.loss) then mstate:results(logs) end
  if run.xv and is_finite(logs.loss) then
    run.strategy:validate(self, run.xv, run.yv, math.max(run.batch_size, 256), logs)
  end
  return logs
end

--- fit(x, y, opts) -> History. opts: epochs (1), batch_size (32), verbose (1),
--- shuffle (true), validation_split (0: the last fraction of x/y, taken before
--- shuffling, as Keras), validation_data ({x_val, y_val}), callbacks ({}),
--- initial_epoch (0), class_weight, sample_weight, resume (a training state
--- file), distributed (data-parallel under mpirun: ml.nn.strategy),
--- accumulate (1: each batch runs as that many micro-batches whose
--- gradients are summed before one update, the update of the whole batch
--- with a micro-batch's activation memory).
--- y: class ids (any dtype) or one-hot / target rows.
--- x may be an ml.data.DataLoader (y nil): its batches, shuffling and
--- augmentation are used as they are. x, y and the validation data are
--- checked once for NaN/Inf (an error names the row); allow_nan = true skips it.
function Trainer:fit(x, y, opts)
  local o = base.options("fit", opts, FIT_OPTIONS)
  if not self.compiled then raise("fit: compile the model first (model:compile{...})") end
  if not (o.validation_split >= 0 and o.validation_split < 1) then
    raise(string.format("fit: validation_split must be in [0, 1), got %s",
      o.validation_split ~= o.validation_split and "nan" or tostring(o.validation_split)))
  end
  if o.accumulate < 1 then raise("fit: accumulate must be an integer >= 1, got " .. o.accumulate) end
  local strat = strategy.get(o.distributed, o.accumulate)
  if not strat.chief then o.verbose = 0 end
  local loader
  x, y, loader = fit_inputs(o, x, y)
  local weights = self:_sample_weights(o, x, y, loader ~= nil)
  strat:check(self, o)
  if o.batch_size < 1 then raise("fit: batch_size must be >= 1") end
  if o.epochs < 0 then raise("fit: epochs must be >= 0") end
  local xv, yv
  x, y, xv, yv = split_validation(o, x, y)
  if not o.allow_nan then check_finite_data(x, y, xv, yv) end
  self:_ensure_built(x, "fit")
  if weights and xv and o.validation_split > 0 then
    weights = weights:narrow(1, 1, x.shape[1])   -- the training rows' weights
  end
  loader = loader or require("ml.data").DataLoader(x, y, {batch_size = o.batch_size,
    shuffle = o.shuffle})
  local history = callbacks.History()
  history.params = {epochs = o.epochs, steps = #loader, verbose = o.verbose}
  if o.resume then o.initial_epoch = self:_resume(o.resume, history, o.initial_epoch) end
  strat:begin(self)
  local cbs, nan_ok = fit_callbacks(self, o.callbacks, strat, history)
  local keys = log_keys(self.metrics, xv)
  local progress = callbacks.Progbar(o.verbose, o.epochs, #loader)
  local run = {strategy = strat, loader = loader, weights = weights, cbs = cbs, nan_ok = nan_ok,
    progress = progress, xv = xv, yv = yv, batch_size = o.batch_size, blogs = {}}
  self.stop_training = false
  self.history = history
  call_cbs(cbs, "on_train_begin", {})
  for epoch = o.initial_epoch + 1, o.epochs do
    call_cbs(cbs, "on_epoch_begin", epoch, {})
    progress:epoch_begin(epoch)
    local logs = run_epoch(self, run, epoch)
    progress:epoch_end(epoch, logs, keys)
    call_cbs(cbs, "on_epoch_end", epoch, logs)
    if self.stop_training then break end
  end
  call_cbs(cbs, "on_train_end", {})
  return history
end

-- fit's class_weight ({[class] = weight}, class ids as in y) and
-- sample_weight (one weight per row of x), multiplied when both are given:
-- a float32 tensor of per-row weights, or nil.
function Trainer:_sample_weights(o, x, y, has_loader)
  if not o.class_weight and not o.sample_weight then return nil end
  if has_loader then raise("fit: class_weight and sample_weight need tensors, not a DataLoader") end
  local n = x.shape[1]
  local w = ml.ones(n)
  if o.sample_weight then
    local sw = o.sample_weight
    if not is_tensor(sw) then sw = ml.tensor(sw) end
    sw = sw:float():reshape(-1)
    if sw:numel() ~= n then
      raise(string.format("fit: sample_weight has %d values for %d samples", sw:numel(), n))
    end
    if sw:min() < 0 then raise("fit: sample_weight must be >= 0") end
    w = w * sw
  end
  if o.class_weight then
    local ids = y
    if y:dim() == 2 and y.shape[2] > 1 then ids = y:argmax(2, {base = 0})   -- one-hot rows
    else ids = y:reshape(-1) end
    if ids:numel() ~= n then raise("fit: class_weight needs one class id per sample") end
    local cw, list = o.class_weight, ids:totable()
    local t = {}
    for i, c in ipairs(list) do
      local k = math.tointeger(c) or c
      local v = cw[k]
      if v == nil then
        raise(string.format("fit: class_weight has no weight for class %s (sample %d)",
          tostring(k), i))
      end
      if type(v) ~= "number" or v < 0 then
        raise(string.format("fit: class_weight[%s] must be a number >= 0, got %s", tostring(k),
          tostring(v)))
      end
      t[i] = v
    end
    w = w * ml.tensor(t)
  end
  return w
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
    raise(("fit: resume: '%s' is not a training state (save it with "
      .. "ModelCheckpoint{save_training_state = true})"):format(path))
  end
  local saved = st.model
  local mine, theirs = self:parameters(true), saved:parameters(true)
  if #mine ~= #theirs then
    raise(("fit: resume: '%s' holds a model with %d parameter tensors, this one has %d")
      :format(path, #theirs, #mine))
  end
  for i, p in ipairs(mine) do
    if p:numel() ~= theirs[i]:numel() then
      raise(("fit: resume: parameter %d has %d values in '%s', %d here"):format(i,
        theirs[i]:numel(), path, p:numel()))
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

--- evaluate(x, y, {batch_size = 32, verbose = 0}) -> loss, then each compiled
--- metric in compile order (Keras's list, as several results).
function Trainer:evaluate(x, y, opts)
  local o = base.options("evaluate", opts, {{"batch_size", 32, "integer"},
    {"verbose", 0, {0, 1, 2}}})
  if not self.compiled then raise("evaluate: compile the model first") end
  if o.batch_size < 1 then raise("evaluate: batch_size must be >= 1") end
  x, y = check_xy("evaluate", x, y)
  if x.shape[1] == 0 then raise("evaluate: x has no rows (a mean over 0 samples is undefined)") end
  self:_ensure_built(x, "evaluate")
  local total, correct = 0, 0
  local fused = self:_fused()
  local mstate = metrics_new(self._metric_specs)
  each_batch(x, o.batch_size, function(xb, s, m)
    local yb = m == y.shape[1] and y or y:narrow(1, s, m)
    local p = self:forward(xb, false)
    mstate:update(p, yb)
    local v, c
    if fused then v, c = core.train.xent(p, yb)
    else
      v = M.losses.eval(self.loss, p, yb, false)
      if self._has_acc then c = core.train.correct(p, yb) end
    end
    total = total + v * m
    if c then correct = correct + c end
  end)
  local n = x.shape[1]
  local res = mstate:results({})
  if self._has_acc then res[self._acc_name] = correct / n end
  local out, parts = {total / n}, {string.format("loss: %.4f", total / n)}
  for k, m in ipairs(self.metrics) do
    out[k + 1] = res[m]
    parts[#parts + 1] = string.format("%s: %.4f", m, res[m])
  end
  if o.verbose > 0 then print(string.format("%d/%d - %s", n, n, table.concat(parts, " - "))) end
  return table.unpack(out)
end

--- predict(x, {batch_size = 32}) -> outputs for every row of x.
function Trainer:predict(x, opts)
  local o = base.options("predict", opts, {{"batch_size", 32, "integer"},
    {"verbose", 0, {0, 1, 2}}})
  if o.batch_size < 1 then raise("predict: batch_size must be >= 1") end
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

return M
