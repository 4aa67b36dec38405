-- ml.nn.custom: Keras-style layers defined by their forward pass only.
--
--   local Scale = ml.nn.Layer:extend("Scale")
--   function Scale:build(input_shape)
--     self.w = self:add_weight{shape = {input_shape[#input_shape]}, initializer = "ones"}
--   end
--   function Scale:call(x) return x * self.w end
--
-- Such a layer takes part in model:fit like a built-in one: its forward
-- records the tape (ml.autograd) and its backward runs it, filling the same
-- gradient buffers the optimizers read. Options other than name,
-- input_shape and trainable are the layer's config (self.config, and
-- self.<key>), saved with the model; loading needs ml.nn.register(Scale)
-- in the loading program (a saved model never names code to run).
local ml = require "ml"
local base = require "ml.base"
local layers = require "ml.nn.layers"
local initializers = require "ml.nn.initializers"
local autograd = require "ml.autograd"
local core = require "ml.core"
local raise = require("ml.errors").raise
local shapes = require "ml.nn.shapes"

local M = {}
local Layer = layers.Layer
local alias, set_record, record = core.autograd.grad_alias, core.autograd.grad_set_record, core.autograd.grad_record

local is_tensor = ml.is_tensor

local copy, tail = shapes.copy, shapes.tail

-- CamelCase -> snake_case for automatic names (Scale -> scale_1).
local function snake(name)
  return (name:gsub("(%l)(%u)", "%1_%2"):lower())
end

local Custom = base.class("CustomLayer", Layer)

local COMMON = {name = true, input_shape = true, trainable = true}

function Custom:init(opts)
  if opts ~= nil and type(opts) ~= "table" then
    raise(string.format("%s: expected an options table, got %s", self.__name, type(opts)))
  end
  local common, config = {}, {}
  for k, v in pairs(opts or {}) do
    if COMMON[k] then common[k] = v
    elseif type(k) ~= "string" then
      raise(string.format("%s: option names must be strings, got %s", self.__name, type(k)))
    else config[k] = v end
  end
  self:_setup(snake(self.__name), common)
  self._fixed = {}
  self.config = config
  for k, v in pairs(config) do
    if type(self[k]) ~= "function" then self[k] = v end
  end
end

function Custom.from_config(cls, c) return cls(c) end

function Custom:get_config()
  local c = Layer.get_config(self)
  for k, v in pairs(self.config) do c[k] = v end
  return c
end

--- self:add_weight{shape =, initializer = "glorot_uniform", trainable = true, name =}
--- -> a weight tensor, trained by model:fit (and collecting .grad) when trainable.
function Custom:add_weight(opts)
  local who = (self.name or self.__name) .. ": add_weight"
  local o = base.options(who, opts, {{"shape", nil, "table"},
    {"initializer", "glorot_uniform", "string|function"}, {"trainable", true, "boolean"},
    {"name", nil, "string|nil"}})
  if not o.shape then raise(who .. ": option 'shape' is required") end
  local shape = shapes.check(who, "shape", o.shape, true)
  local w = initializers.get(o.initializer, self.name)(copy(shape))
  if o.trainable then
    w:requires_grad_()
    self._params[#self._params + 1] = w
    self._grads[#self._grads + 1] = ml.zeros(shape)
  else
    self._fixed[#self._fixed + 1] = w
  end
  return w
end

--- Keras's order: trainable weights first, then the others.
function Custom:weights()
  local w = copy(self._params)
  for _, f in ipairs(self._fixed) do w[#w + 1] = f end
  return w
end

function Custom:call()
  raise(self.name .. ": a layer made with extend must define call(self, x)")
end

-- One forward through call() on a dummy batch gives the output shape.
function Custom:output_shape(input_shape)
  if not self.built then self:build(copy(input_shape)) end
  local s = {1}
  for i, v in ipairs(input_shape) do s[i + 1] = v end
  local y = ml.no_grad(self.call, self, ml.zeros(s), false)
  if not is_tensor(y) then
    raise(string.format("%s: call must return a tensor, got %s", self.name, type(y)))
  end
  return tail(y.shape)
end

--- forward(x, training): in training, records the tape from x and the
--- weights (for backward); otherwise runs call without recording.
function Custom:forward(x, training)
  self:_prepare(x)
  if not training then
    self._y = nil
    return ml.no_grad(self.call, self, x, false)
  end
  local xa = alias(x)
  local xrec = {requires_grad = true}
  set_record(xa, xrec)
  local y = ml.enable_grad(self.call, self, xa, true)
  if not is_tensor(y) then
    raise(string.format("%s: call must return a tensor, got %s", self.name, type(y)))
  end
  self._y, self._xrec = y, xrec
  return alias(y)
end

--- backward(x, gy [, pre_activation [, skip_input_grad]]) -> gx: runs the
--- tape recorded by the last training forward; weight gradients go to the
--- layer's gradient buffers (parameters()).
function Custom:backward(x, gy, _, skip_input_grad)
  local y = self._y
  if not y then raise(self.name .. ": backward called before a training forward") end
  self._y = nil
  local capture = {[self._xrec] = false}
  for _, w in ipairs(self._params) do capture[record(w)] = false end
  if autograd._edge_of(y) then autograd._run_backward(y, gy, false, capture) end
  ml.no_grad(function()
    for i, w in ipairs(self._params) do
      local g = capture[record(w)]
      if g then self._grads[i]:copy_(g) else self._grads[i]:zero_() end
    end
  end)
  if skip_input_grad then return nil end
  return capture[self._xrec] or ml.zeros(x.shape)
end

-- layer(x) on a tensor runs call() and records (PyTorch-style use);
-- layer(node) builds the functional graph like any layer.
local function custom_call(self, x, ...)
  if is_tensor(x) then
    self:_prepare(x)
    return self:call(x, ...)
  end
  return require("ml.nn.model").call_layer(self, x, ...)
end

-- build as the user wrote it, then marked as built for the input shape
local function wrap_build(fn)
  return function(self, input_shape)
    fn(self, input_shape)
    self.built_input_shape = copy(input_shape)
    self.built = true
  end
end

--- Is cls a layer class made with extend?
function M.is_custom(cls)
  local p = cls
  while type(p) == "table" do
    if p == Custom then return cls ~= Custom end
    local mt = getmetatable(p)
    p = mt and rawget(mt, "__index")
  end
  return false
end

--- Layer:extend(name) -> a new layer class (see the header).
function M.extend(parent, name)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    raise("extend: expected a class name such as \"Scale\", got " .. tostring(name))
  end
  -- ml.nn.Layer may come from another copy of ml.nn.layers (busted reloads
  -- modules per spec file, while ml.nn keeps the first copy's Layer): the
  -- base class is recognised by its name and module, not its identity.
  if type(parent) == "table" and rawget(parent, "__name") == "Layer"
      and rawget(parent, "_module") == "ml.nn.layers" then
    parent = Layer
  end
  if parent ~= Layer and parent ~= Custom then
    if not M.is_custom(parent) then
      raise("extend: only ml.nn.Layer and layers made with extend can be extended (the "
        .. "built-in layers run fused kernels)")
    end
  end
  if parent == Layer then parent = Custom end
  local cls = base.class(name, parent)
  cls.__call = custom_call
  cls._module = "user"   -- saved models name it so; ml.nn.register resolves it on load
  local mt = getmetatable(cls)
  mt.__newindex = function(c, k, v)
    if k == "build" and type(v) == "function" then v = wrap_build(v) end
    rawset(c, k, v)
  end
  return cls
end

return M
