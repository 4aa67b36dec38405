-- ml.optim: optimizers with Keras names and defaults. Each keeps its state per
-- parameter tensor (keyed by the tensor object, so the same parameter lists
-- can be stepped again and again) and updates parameters in place through the
-- fused C kernels of runtime/optim/. `opt.lr` may be changed at any time
-- (schedulers and callbacks do).
--   local opt = ml.optim.Adam{lr = 1e-3}
--   opt:step(params, grads)       -- lists of tensors in matching order
-- or, PyTorch-style, over tensors that collect gradients (ml.autograd):
--   local opt = ml.optim.SGD{params = {w, b}, lr = 0.1}
--   opt:zero_grad(); loss:backward(); opt:step()
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local optim = {}

local Optimizer = base.class("Optimizer")
optim.Optimizer = Optimizer
Optimizer._module = "ml.optim"

-- Keras spells it learning_rate; lr is accepted as the short form. Every
-- optimizer takes Keras 3's weight_decay (decoupled, AdamW's form: each step
-- first shrinks p by lr * weight_decay * p; SGD keeps PyTorch's coupled form,
-- below), clipnorm (each gradient's norm capped) and global_clipnorm (the
-- norm of all gradients together capped).
local function check_params(who, params)
  if params == nil then return nil end
  local list = {}
  for i, p in ipairs(params) do
    if not ml.is_tensor(p) then
      raise(string.format("%s: params entry %d is a %s, expected a tensor", who, i, type(p)))
    end
    if not p.is_leaf then
      raise(string.format("%s: params entry %d is computed from other tensors; an optimizer "
        .. "steps leaf tensors (created with requires_grad = true)", who, i))
    end
    list[i] = p
  end
  if #list == 0 then raise(who .. ": params expected a non-empty list of tensors") end
  return list
end

local function common_init(self, who, opts, spec)
  spec[#spec + 1] = {"learning_rate", nil, "number|nil"}
  spec[#spec + 1] = {"params", nil, "table|nil"}
  local has_wd = false
  for _, e in ipairs(spec) do if e[1] == "weight_decay" then has_wd = true end end
  if not has_wd then spec[#spec + 1] = {"weight_decay", 0, "number"} end
  spec[#spec + 1] = {"clipnorm", nil, "number|nil"}
  spec[#spec + 1] = {"global_clipnorm", nil, "number|nil"}
  local o = base.options(who, opts, spec)
  o.params = check_params(who, o.params)
  if o.learning_rate then o.lr = o.learning_rate end
  o.learning_rate = nil
  for k, v in pairs(o) do self[k] = v end
  if not (self.lr > 0) then raise(who .. ": lr must be > 0, got " .. tostring(self.lr)) end
  if not (self.weight_decay >= 0) then
    raise(who .. ": weight_decay must be >= 0, got " .. tostring(self.weight_decay))
  end
  for _, k in ipairs{"clipnorm", "global_clipnorm"} do
    if self[k] ~= nil and not (self[k] > 0) then
      raise(string.format("%s: %s must be > 0, got %s", who, k, tostring(self[k])))
    end
  end
  if self.clipnorm and self.global_clipnorm then
    raise(who .. ": give clipnorm or global_clipnorm, not both")
  end
  local cfg = {}
  for i, k in ipairs(self._config) do cfg[i] = k end
  for _, k in ipairs{"weight_decay", "clipnorm", "global_clipnorm"} do
    local seen = false
    for _, c in ipairs(cfg) do if c == k then seen = true end end
    if not seen then cfg[#cfg + 1] = k end
  end
  self._config = cfg
  self.iterations = 0
  self.slots = setmetatable({}, {__mode = "k"})   -- tensor -> {name = tensor, t = steps}
end

--- Per-parameter state, created on first use with zeros (or `init`) like the parameter.
function Optimizer:_slot(p, names, init)
  local s = self.slots[p]
  if not s then
    s = {t = 0}
    for _, n in ipairs(names) do
      s[n] = ml.zeros(p.shape)
      if init and init ~= 0 then s[n]:fill(init) end
    end
    self.slots[p] = s
  end
  return s
end

--- Updates every parameter in place from its gradient. Lists must match.
--- Without arguments: the `params` given at construction, each from its
--- .grad (parameters without a gradient are skipped, as PyTorch does).
function Optimizer:step(params, grads)
  if params == nil and grads == nil then
    if not self.params then
      raise(self.__name .. ":step: no parameters (pass params = {...} when creating the "
        .. "optimizer, or call step(params, grads))")
    end
    params, grads = {}, {}
    for _, p in ipairs(self.params) do
      local g = p.grad
      if g then params[#params + 1], grads[#grads + 1] = p, g end
    end
  else
    if type(params) ~= "table" or type(grads) ~= "table" then
      raise(self.__name .. ":step: expected lists of parameters and gradients")
    end
    if #params ~= #grads then
      raise(string.format("%s:step: %d parameters but %d gradients", self.__name, #params,
        #grads))
    end
  end
  self.iterations = self.iterations + 1
  if self.global_clipnorm then   -- scale every gradient by one factor
    local sq = 0
    for i = 1, #grads do local n = grads[i]:norm(); sq = sq + n * n end
    local n = math.sqrt(sq)
    if n > self.global_clipnorm then
      for i = 1, #grads do grads[i]:mul_(self.global_clipnorm / n) end
    end
  end
  local decoupled = self.weight_decay > 0 and not self._coupled_decay
  for i = 1, #params do
    local g = grads[i]
    if self.clipnorm then
      local n = g:norm()
      if n > self.clipnorm then g:mul_(self.clipnorm / n) end
    end
    if decoupled then params[i]:mul_(1 - self.lr * self.weight_decay) end
    self:_update(params[i], g)
  end
end

--- Clears the .grad of the `params` given at construction, as PyTorch does
--- (set_to_none: the next backward hands its gradient tensors over without
--- a copy); {set_to_none = false} zeroes them in place instead.
function Optimizer:zero_grad(opts)
  if not self.params then
    raise(self.__name .. ":zero_grad: no parameters (pass params = {...} when creating the "
      .. "optimizer)")
  end
  if opts ~= nil and (type(opts) ~= "table" or next(opts, next(opts)) ~= nil
      or (next(opts) ~= nil and next(opts) ~= "set_to_none")) then
    raise(self.__name .. ":zero_grad: expected nothing or {set_to_none = true|false}")
  end
  local none = not (type(opts) == "table" and opts.set_to_none == false)
  for _, p in ipairs(self.params) do
    if none then p.grad = nil
    else
      local g = p.grad
      if g then g:zero_() end
    end
  end
end

--- Constructor arguments (for saving and summaries).
function Optimizer:get_config()
  local c = {}
  for _, k in ipairs(self._config) do c[k] = self[k] end
  return c
end

--- State of the parameters in `params` (a list), in that order: a plain tree
--- for ml.save. Parameters without state yet get `false`.
function Optimizer:get_slots(params)
  local out = {}
  for i, p in ipairs(params) do
    local s = self.slots[p]
    if s then
      local c = {}
      for k, v in pairs(s) do c[k] = v end
      out[i] = c
    else
      out[i] = false
    end
  end
  return out
end

--- Restores state saved by get_slots for the same parameter list.
function Optimizer:set_slots(params, slots)
  for i, p in ipairs(params) do
    local s = slots[i]
    if s then
      local c = {}
      for k, v in pairs(s) do
        if type(v) ~= "number" then
          if v:numel() ~= p:numel() then
            raise(string.format("%s: saved state '%s' of parameter %d has %d values, the "
              .. "parameter %d", self.__name, k, i, v:numel(), p:numel()))
          end
          v = v:clone()
        end
        c[k] = v
      end
      self.slots[p] = c
    end
  end
end

-- save/load protocol: configuration and step count (per-parameter state is
-- saved by the model, which knows the parameter order).
function Optimizer:state()
  return {config = self:get_config(), iterations = self.iterations}
end

function Optimizer.from_state(cls, state)
  local o = cls(state.config)
  o.iterations = state.iterations or 0
  return o
end

function Optimizer:__repr()
  local parts = {}
  for _, k in ipairs(self._config) do
    if self[k] ~= nil then parts[#parts + 1] = k .. "=" .. tostring(self[k]) end
  end
  return self.__name .. "{" .. table.concat(parts, ", ") .. "}"
end

local function class(name)
  local c = base.class(name, Optimizer)
  c._module = "ml.optim"
  c.__tostring = Optimizer.__tostring
  optim[name] = c
  return c
end

--- SGD{lr = 0.01, momentum = 0, nesterov = false, weight_decay = 0}
--- (PyTorch's form; weight_decay adds wd * p to the gradient).
local SGD = class("SGD")
SGD._config = {"lr", "momentum", "nesterov", "weight_decay"}
SGD._coupled_decay = true
function SGD:init(opts)
  common_init(self, "SGD", opts, {{"lr", 0.01, "number"}, {"momentum", 0, "number"},
    {"nesterov", false, "boolean"}, {"weight_decay", 0, "number"}})
  if self.momentum < 0 or self.momentum >= 1 then
    raise("SGD: momentum must be in [0, 1), got " .. self.momentum)
  end
  if self.nesterov and self.momentum == 0 then
    raise("SGD: nesterov needs momentum > 0")
  end
  if self.weight_decay < 0 then raise("SGD: weight_decay must be >= 0") end
end
local SGD_SLOTS = {"velocity"}
function SGD:_update(p, g)
  local v
  if self.momentum > 0 then
    local s = self:_slot(p, SGD_SLOTS)
    s.t = s.t + 1
    v = s.velocity
  end
  core.optim.sgd(p, g, v, self.lr, self.momentum, self.nesterov, self.weight_decay)
end

--- Adam{lr = 1e-3, beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7, amsgrad = false,
--- weight_decay = 0 (decoupled: AdamW, as Keras 3), clipnorm, global_clipnorm} (Keras).
local Adam = class("Adam")
Adam._config = {"lr", "beta_1", "beta_2", "epsilon", "amsgrad"}
function Adam:init(opts)
  common_init(self, "Adam", opts, {{"lr", 1e-3, "number"}, {"beta_1", 0.9, "number"},
    {"beta_2", 0.999, "number"}, {"epsilon", 1e-7, "number"}, {"amsgrad", false, "boolean"}})
  for _, k in ipairs{"beta_1", "beta_2"} do
    if not (self[k] >= 0 and self[k] < 1) then
      raise(string.format("Adam: %s must be in [0, 1), got %s", k, self[k]))
    end
  end
  if not (self.epsilon > 0) then raise("Adam: epsilon must be > 0") end
end
local ADAM_SLOTS, AMS_SLOTS = {"m", "v"}, {"m", "v", "vmax"}
function Adam:_update(p, g)
  local s = self:_slot(p, self.amsgrad and AMS_SLOTS or ADAM_SLOTS)
  s.t = s.t + 1
  core.optim.adam(p, g, s.m, s.v, s.vmax, self.lr, self.beta_1, self.beta_2, self.epsilon, s.t)
end

--- RMSprop{lr = 1e-3, rho = 0.9, momentum = 0, epsilon = 1e-7, centered = false} (Keras).
local RMSprop = class("RMSprop")
RMSprop._config = {"lr", "rho", "momentum", "epsilon", "centered"}
function RMSprop:init(opts)
  common_init(self, "RMSprop", opts, {{"lr", 1e-3, "number"}, {"rho", 0.9, "number"},
    {"momentum", 0, "number"}, {"epsilon", 1e-7, "number"}, {"centered", false, "boolean"}})
  if not (self.rho >= 0 and self.rho < 1) then raise("RMSprop: rho must be in [0, 1)") end
  if self.momentum < 0 or self.momentum >= 1 then
    raise("RMSprop: momentum must be in [0, 1)")
  end
  if not (self.epsilon > 0) then raise("RMSprop: epsilon must be > 0") end
  local names = {"sq"}
  if self.centered then names[#names + 1] = "avg" end
  if self.momentum > 0 then names[#names + 1] = "mom" end
  self._names = names
end
function RMSprop:_update(p, g)
  local s = self:_slot(p, self._names)
  s.t = s.t + 1
  core.optim.rmsprop(p, g, s.sq, s.avg, s.mom, self.lr, self.rho, self.momentum, self.epsilon)
end

--- Adagrad{lr = 1e-3, initial_accumulator_value = 0.1, epsilon = 1e-7} (Keras).
local Adagrad = class("Adagrad")
Adagrad._config = {"lr", "initial_accumulator_value", "epsilon"}
function Adagrad:init(opts)
  common_init(self, "Adagrad", opts, {{"lr", 1e-3, "number"},
    {"initial_accumulator_value", 0.1, "number"}, {"epsilon", 1e-7, "number"}})
  if self.initial_accumulator_value < 0 then
    raise("Adagrad: initial_accumulator_value must be >= 0")
  end
  if not (self.epsilon > 0) then raise("Adagrad: epsilon must be > 0") end
end
local ADAGRAD_SLOTS = {"acc"}
function Adagrad:_update(p, g)
  local s = self:_slot(p, ADAGRAD_SLOTS, self.initial_accumulator_value)
  s.t = s.t + 1
  core.optim.adagrad(p, g, s.acc, self.lr, self.epsilon)
end

--- AdamW{weight_decay = 0.004, ...}: Adam with Keras's AdamW default decay.
local AdamW = class("AdamW")
AdamW._config = Adam._config
function AdamW:init(opts)
  opts = opts or {}
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  if o.weight_decay == nil then o.weight_decay = 0.004 end
  Adam.init(self, o)
end
AdamW._update = Adam._update

local by_name = {sgd = SGD, adam = Adam, adamw = AdamW, rmsprop = RMSprop, adagrad = Adagrad}

--- An optimizer from a name ("adam", "sgd", "rmsprop", "adagrad", with Keras's
--- defaults) or an optimizer object (returned as is).
function optim.get(o)
  if type(o) == "string" then
    local c = by_name[o:lower()]
    if not c then
      raise(string.format("unknown optimizer '%s' (expected adam, adamw, sgd, rmsprop or adagrad)",
        o))
    end
    return c{}
  end
  if type(o) == "table" and o.step and o._update then return o end
  raise("expected an optimizer name or an ml.optim optimizer, got " .. type(o))
end

return optim
