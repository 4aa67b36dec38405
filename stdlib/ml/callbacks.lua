-- ml.callbacks: Keras's training callbacks. fit calls, on each callback that
-- defines them: set_model(model), on_train_begin(logs), on_epoch_begin(epoch, logs),
-- on_batch_end(batch, logs), on_epoch_end(epoch, logs), on_train_end(logs).
-- Epochs and batches are numbered from 1 (Lua's convention; Keras counts from 0).
-- A callback stops training by setting model.stop_training = true.
-- fit always adds a History (last, so it sees the other callbacks' log
-- entries) and draws its output with a Progbar (Keras's keras.utils.Progbar).
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise
local clock = core.term.clock

local M = {}

local Callback = base.class("Callback")
M.Callback = Callback
function Callback:set_model(model) self.model = model end

local function class(name)
  local c = base.class(name, Callback)
  c.__tostring = Callback.__tostring
  M[name] = c
  return c
end

-- "min" for losses and errors, "max" for accuracies (Keras's "auto" rule).
local function resolve_mode(who, mode, monitor)
  if mode == "auto" then
    return (monitor:find("acc") or monitor:find("auc")) and "max" or "min"
  end
  if mode ~= "min" and mode ~= "max" then
    raise(string.format("%s: mode must be \"auto\", \"min\" or \"max\", got %q", who,
      tostring(mode)))
  end
  return mode
end

local function better(mode, v, best, delta)
  if best == nil then return true end
  if mode == "min" then return v < best - delta end
  return v > best + delta
end

local function monitored(who, logs, monitor)
  local v = logs[monitor]
  if v == nil then
    local keys = {}
    for k in pairs(logs) do keys[#keys + 1] = k end
    table.sort(keys)
    io.stderr:write(string.format("%s: metric '%s' is not available (logs have: %s); "
      .. "skipping\n", who, monitor, table.concat(keys, ", ")))
  end
  return v
end

---------------------------------------------------------------------------

--- EarlyStopping{monitor = "val_loss", patience = 0, min_delta = 0, mode = "auto",
--- restore_best_weights = false, baseline = nil, verbose = 0}
local EarlyStopping = class("EarlyStopping")
function EarlyStopping:init(opts)
  local o = base.options("EarlyStopping", opts, {{"monitor", "val_loss", "string"},
    {"patience", 0, "integer"}, {"min_delta", 0, "number"}, {"mode", "auto", "string"},
    {"restore_best_weights", false, "boolean"}, {"baseline", nil, "number|nil"},
    {"verbose", 0, "integer"}})
  for k, v in pairs(o) do self[k] = v end
  self.min_delta = math.abs(self.min_delta)
  self.mode = resolve_mode("EarlyStopping", self.mode, self.monitor)
  if self.patience < 0 then raise("EarlyStopping: patience must be >= 0") end
end
function EarlyStopping:on_train_begin()
  self.wait, self.stopped_epoch, self.best_epoch = 0, nil, nil
  self.best, self.best_weights = self.baseline, nil
end
function EarlyStopping:on_epoch_end(epoch, logs)
  local v = monitored("EarlyStopping", logs, self.monitor)
  if v == nil then return end
  if self.restore_best_weights and self.best_weights == nil then
    self.best_weights = self.model:get_weights()   -- Keras: first epoch counts as best
    self.best_epoch = epoch
  end
  if better(self.mode, v, self.best, self.min_delta) then
    self.best, self.best_epoch, self.wait = v, epoch, 0
    if self.restore_best_weights then self.best_weights = self.model:get_weights() end
    return
  end
  self.wait = self.wait + 1
  if self.wait >= self.patience then
    self.stopped_epoch = epoch
    self.model.stop_training = true
  end
end
function EarlyStopping:on_train_end()
  if self.stopped_epoch and self.verbose > 0 then
    print(string.format("Epoch %d: early stopping", self.stopped_epoch))
  end
  if self.restore_best_weights and self.best_weights and self.stopped_epoch then
    if self.verbose > 0 then
      print(string.format("Restoring model weights from the end of the best epoch: %d.",
        self.best_epoch))
    end
    self.model:set_weights(self.best_weights)
  end
end

---------------------------------------------------------------------------

--- ReduceLROnPlateau{monitor = "val_loss", factor = 0.1, patience = 10, mode = "auto",
--- min_delta = 1e-4, cooldown = 0, min_lr = 0, verbose = 0}
local ReduceLROnPlateau = class("ReduceLROnPlateau")
function ReduceLROnPlateau:init(opts)
  local o = base.options("ReduceLROnPlateau", opts, {{"monitor", "val_loss", "string"},
    {"factor", 0.1, "number"}, {"patience", 10, "integer"}, {"mode", "auto", "string"},
    {"min_delta", 1e-4, "number"}, {"cooldown", 0, "integer"}, {"min_lr", 0, "number"},
    {"verbose", 0, "integer"}})
  for k, v in pairs(o) do self[k] = v end
  if not (self.factor > 0 and self.factor < 1) then
    raise("ReduceLROnPlateau: factor must be in (0, 1), got " .. self.factor)
  end
  self.mode = resolve_mode("ReduceLROnPlateau", self.mode, self.monitor)
end
function ReduceLROnPlateau:on_train_begin()
  self.best, self.wait, self.cooldown_counter = nil, 0, 0
end
function ReduceLROnPlateau:on_epoch_end(epoch, logs)
  local opt = self.model.optimizer
  logs.lr = opt.lr
  local v = monitored("ReduceLROnPlateau", logs, self.monitor)
  if v == nil then return end
  if self.cooldown_counter > 0 then self.cooldown_counter = self.cooldown_counter - 1 end
  if better(self.mode, v, self.best, self.min_delta) then
    self.best, self.wait = v, 0
  elseif self.cooldown_counter <= 0 then
    self.wait = self.wait + 1
    if self.wait >= self.patience then
      local old = opt.lr
      if old > self.min_lr then
        opt.lr = math.max(old * self.factor, self.min_lr)
        if self.verbose > 0 then
          print(string.format("Epoch %d: ReduceLROnPlateau reducing learning rate to %g.",
            epoch, opt.lr))
        end
        self.cooldown_counter, self.wait = self.cooldown, 0
      end
    end
  end
end

---------------------------------------------------------------------------

--- LearningRateScheduler(fn [, {verbose = 0}]): before each epoch,
--- opt.lr = fn(epoch, lr) with epoch counted from 0, as Keras (the first
--- epoch, printed "Epoch 1/N", calls fn(0, lr)).
local LearningRateScheduler = class("LearningRateScheduler")
function LearningRateScheduler:init(fn, opts)
  base.check_arg("LearningRateScheduler", 1, fn, "function")
  self.schedule = fn
  self.verbose = base.options("LearningRateScheduler", opts, {{"verbose", 0, "integer"}}).verbose
end
function LearningRateScheduler:on_epoch_begin(epoch)
  local opt = self.model.optimizer
  local lr = self.schedule(epoch - 1, opt.lr)   -- callbacks see 1-based epochs; Keras's fn 0-based
  if type(lr) ~= "number" or not (lr > 0) or lr == math.huge then
    raise(string.format("LearningRateScheduler: the schedule returned %s for epoch %d "
      .. "(expected a positive number)", tostring(lr), epoch - 1))
  end
  opt.lr = lr
  if self.verbose > 0 then
    print(string.format("Epoch %d: LearningRateScheduler setting learning rate to %g.", epoch, lr))
  end
end
function LearningRateScheduler:on_epoch_end(_, logs) logs.lr = self.model.optimizer.lr end

---------------------------------------------------------------------------

--- ModelCheckpoint{path, monitor = "val_loss", save_best_only = false, mode = "auto",
--- verbose = 0, save_training_state = false}: saves the model (ml.save, atomic)
--- after each epoch, or only when the monitored value improves. "{epoch}" in
--- the path is replaced. With save_training_state the file also holds the
--- optimizer state, the epoch and the random generator state, and
--- model:fit(x, y, {resume = path}) continues from it bit-identically.
local ModelCheckpoint = class("ModelCheckpoint")
function ModelCheckpoint:init(opts)
  if type(opts) == "string" then opts = {path = opts} end
  local o = base.options("ModelCheckpoint", opts, {{"path", nil, "string"},
    {"monitor", "val_loss", "string"}, {"save_best_only", false, "boolean"},
    {"mode", "auto", "string"}, {"verbose", 0, "integer"},
    {"save_training_state", false, "boolean"}})
  if not o.path then raise("ModelCheckpoint: option 'path' is required") end
  for k, v in pairs(o) do self[k] = v end
  self.mode = resolve_mode("ModelCheckpoint", self.mode, self.monitor)
end
function ModelCheckpoint:on_epoch_end(epoch, logs)
  local path = self.path:gsub("{epoch}", tostring(epoch))
  if self.save_best_only then
    local v = monitored("ModelCheckpoint", logs, self.monitor)
    if v == nil or not better(self.mode, v, self.best, 0) then return end
    if self.verbose > 0 then
      print(string.format("Epoch %d: %s improved from %s to %.5f, saving model to %s", epoch,
        self.monitor, self.best and string.format("%.5f", self.best) or "inf", v, path))
    end
    self.best = v
  end
  if self.save_training_state then
    ml.save(path, self.model:training_state(epoch, logs))   -- for fit{resume = path}
  else
    self.model:save(path)
  end
  self.last_path = path
end
ModelCheckpoint.rank0_only = true   -- under fit{distributed = true}

---------------------------------------------------------------------------

--- CSVLogger(path [, {separator = ",", append = false}]): one row per epoch
--- (epoch, then the logs' keys in sorted order). Each row is written and
--- flushed whole, so an interrupted run leaves a valid file.
local CSVLogger = class("CSVLogger")
CSVLogger.rank0_only = true
function CSVLogger:init(path, opts)
  base.check_arg("CSVLogger", 1, path, "string")
  local o = base.options("CSVLogger", opts, {{"separator", ",", "string"},
    {"append", false, "boolean"}})
  self.path, self.sep, self.append = path, o.separator, o.append
end
function CSVLogger:on_train_begin()
  local exists = io.open(self.path, "r")
  local nonempty = exists and exists:read(1) ~= nil
  if exists then exists:close() end
  local f, err = io.open(self.path, self.append and "a" or "w")
  if not f then raise("CSVLogger: cannot open " .. self.path .. ": " .. tostring(err)) end
  self.file, self.keys = f, nil
  self.header_done = self.append and nonempty
end
function CSVLogger:on_epoch_end(epoch, logs)
  if not self.keys then
    local keys = {}
    for k, v in pairs(logs) do if type(v) == "number" then keys[#keys + 1] = k end end
    table.sort(keys)
    self.keys = keys
    if not self.header_done then
      self:_write("epoch" .. self.sep .. table.concat(keys, self.sep) .. "\n")
    end
  end
  local row = {tostring(epoch)}
  for _, k in ipairs(self.keys) do
    local v = logs[k]
    row[#row + 1] = v == nil and "" or string.format("%.17g", v)
  end
  self:_write(table.concat(row, self.sep) .. "\n")
end
-- Every write is checked (a full disk or /dev/full is an error, not a lost row).
function CSVLogger:_write(text)
  local ok, err = self.file:write(text)
  if ok then ok, err = self.file:flush() end
  if not ok then
    self.file:close()
    self.file = nil
    raise("CSVLogger: writing " .. self.path .. " failed: " .. tostring(err))
  end
end
function CSVLogger:on_train_end()
  if self.file then
    local ok, err = self.file:close()
    self.file = nil
    if not ok then raise("CSVLogger: writing " .. self.path .. " failed: " .. tostring(err)) end
  end
end

---------------------------------------------------------------------------

--- TerminateOnNaN(): stops training quietly (after a message, as Keras) when a
--- batch loss is NaN or infinite; without it fit raises an error instead.
local TerminateOnNaN = class("TerminateOnNaN")
TerminateOnNaN.handles_nan = true
function TerminateOnNaN:init() end
function TerminateOnNaN:on_batch_end(batch, logs)
  local v = logs.loss
  if v ~= v or v == math.huge or v == -math.huge then
    print(string.format("Batch %d: Invalid loss, terminating training", batch))
    self.model.stop_training = true
    self.terminated = true
  end
end

--- LambdaCallback{on_epoch_end = function(epoch, logs) ... end, ...}
local LambdaCallback = class("LambdaCallback")
function LambdaCallback:init(opts)
  local o = base.options("LambdaCallback", opts, {{"on_train_begin", nil, "function|nil"},
    {"on_epoch_begin", nil, "function|nil"}, {"on_batch_end", nil, "function|nil"},
    {"on_epoch_end", nil, "function|nil"}, {"on_train_end", nil, "function|nil"}})
  for k, f in pairs(o) do self[k] = function(_, ...) return f(...) end end
end

---------------------------------------------------------------------------

--- History: what model:fit returns. history.loss (also history.history.loss)
--- lists the epochs' values; history.val_loss is nil without validation.
--- It keeps no reference to the model, so it can be kept or saved alone.
local History = class("History")
function History:init()
  self.history = {}
  self.epoch = {}
  self.params = {}
end
function History:set_model() end
function History:on_epoch_end(epoch, logs)
  self.epoch[#self.epoch + 1] = epoch
  for k, v in pairs(logs) do
    if type(v) == "number" then
      local l = self.history[k]
      if not l then
        l = {}
        self.history[k] = l
        rawset(self, k, l)   -- history.loss is history.history.loss
      end
      l[#l + 1] = v
    end
  end
end
function History:__repr()
  local keys = {}
  for k in pairs(self.history) do keys[#keys + 1] = k end
  table.sort(keys)
  return string.format("History(%d epochs: %s)", #self.epoch, table.concat(keys, ", "))
end

---------------------------------------------------------------------------
-- fit's output: a bar updated in place on a terminal (verbose = 1), one line
-- per epoch otherwise (verbose = 2, or 1 when stdout is not a terminal).

local function fmt_time(s)
  if s >= 3600 then return string.format("%d:%02d:%02d", s // 3600, (s % 3600) // 60, s % 60) end
  if s >= 60 then return string.format("%d:%02d", s // 60, s % 60) end
  return string.format("%ds", math.floor(s + 0.5))
end

local function fmt_metrics(logs, keys)
  local parts = {}
  for _, k in ipairs(keys) do
    if logs[k] then parts[#parts + 1] = string.format("%s: %.4f", k, logs[k]) end
  end
  return table.concat(parts, " - ")
end

--- Progbar(verbose, epochs, steps): epoch_begin(epoch); update(step, mean
--- loss, mean accuracy or nil, accuracy's name); epoch_end(epoch, logs, keys)
--- prints the logs named in keys, in that order.
local Progbar = base.class("Progbar")
M.Progbar = Progbar
function Progbar:init(verbose, epochs, steps)
  self.verbose, self.epochs, self.steps = verbose, epochs, steps
  self.tty = verbose == 1 and core.term.isatty(1)
  self.out = io.stdout
end
function Progbar:epoch_begin(epoch)
  self.t0 = clock()
  self.last = 0
  if self.tty then self.out:write(string.format("Epoch %d/%d\n", epoch, self.epochs)) end
end
function Progbar:update(step, loss, acc, acc_name)
  if not self.tty then return end
  local now = clock()
  if step < self.steps and now - self.last < 0.1 then return end
  self.last = now
  local el = now - self.t0
  local w = 30
  local done = math.floor(w * step / self.steps)
  local bar = string.rep("=", done) .. (step < self.steps and ">" or "")
    .. string.rep(".", w - done - (step < self.steps and 1 or 0))
  local eta = step < self.steps and (el / step * (self.steps - step)) or 0
  local s = string.format("\r%d/%d [%s] - %s%s - loss: %.4f", step, self.steps, bar,
    fmt_time(el), step < self.steps and (" - ETA: " .. fmt_time(eta)) or "", loss)
  if acc then s = s .. string.format(" - %s: %.4f", acc_name or "accuracy", acc) end
  self.out:write(s .. "\27[K")
  self.out:flush()
end
function Progbar:epoch_end(epoch, logs, keys)
  if self.verbose == 0 then return end
  local el = clock() - self.t0
  local per = el / self.steps
  local stepstr = per >= 1 and string.format("%.1fs/step", per) or
    string.format("%.0fms/step", per * 1000)
  local s = string.format("%d/%d - %.1fs - %s - %s", self.steps, self.steps, el, stepstr,
    fmt_metrics(logs, keys))
  if self.tty then
    self.out:write(string.format("\r%d/%d [%s] - %s - %s - %s\27[K\n", self.steps, self.steps,
      string.rep("=", 30), fmt_time(el), stepstr, fmt_metrics(logs, keys)))
  else
    self.out:write(string.format("Epoch %d/%d - ", epoch, self.epochs) .. s .. "\n")
  end
  self.out:flush()
end

---------------------------------------------------------------------------

--- SweepReporter{monitor = the sweep's metric}: inside an ml.sweep trial,
--- reports logs[monitor] after every epoch (ml.trial.report(epoch, value))
--- and stops training when the sweep's pruner says so
--- (ml.trial.should_prune()); the trial is then logged "pruned". Outside a
--- sweep it does nothing.
local SweepReporter = class("SweepReporter")
function SweepReporter:init(opts)
  local o = base.options("SweepReporter", opts, {{"monitor", nil, "string|nil"}})
  self.monitor = o.monitor
end
function SweepReporter:on_epoch_end(epoch, logs)
  local trial = require "ml.trial"
  if not trial.id() then return end
  local monitor = self.monitor or trial._metric() or "val_loss"
  local v = monitored("SweepReporter", logs, monitor)
  if type(v) ~= "number" then return end
  trial.report(epoch, v)
  if trial.should_prune() then self.model.stop_training = true end
end

return M
