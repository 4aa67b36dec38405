-- ml.nn.layers: the Keras layers, over the C kernels of runtime/nn/.
--
-- The layer protocol (shared with ml.nn.model): a layer has `name`
-- ("dense_1"), `trainable`, `built`; build(input_shape) creates the weights
-- (shape without the batch dimension); output_shape(input_shape);
-- forward(x, training) -> y; backward(x, gy [, pre_activation
-- [, skip_input_grad]]) -> gx (nil when skip_input_grad), storing weight
-- gradients (overwritten each call); parameters() -> params, grads (the same
-- tensor objects every call, empty when trainable is false);
-- get_weights() / set_weights(list); get_config(); count_params();
-- state() / Class.from_state(Class, state) for saving; calling a layer on a
-- graph node (layer(node)) builds the functional graph (ml.nn.model).
--
-- Tensors returned by forward(x, true) and by backward belong to the layer
-- and are overwritten by its next call with the same shapes (no allocation
-- per batch in training); forward(x) without training returns fresh tensors.
local ml = require "ml"
local base = require "ml.base"
local activations = require "ml.nn.activations"
local initializers = require "ml.nn.initializers"
local regularizers = require "ml.nn.regularizers"
local core = require "ml.core"
local raise = require("ml.errors").raise
local shapes = require "ml.nn.shapes"

local M = {}

local shape_str, copy, tail, prod = shapes.str, shapes.copy, shapes.tail, shapes.prod

local is_tensor = ml.is_tensor

-- Unique names per kind, as Keras: dense_1, dense_2, ...
local counters = {}
local function auto_name(prefix)
  counters[prefix] = (counters[prefix] or 0) + 1
  return prefix .. "_" .. counters[prefix]
end
--- Restarts the automatic names (Keras's clear_session for names).
function M.reset_names() counters = {} end

local pair = shapes.pair

local function check_input_shape(who, s)
  if s == nil then return nil end
  return shapes.check(who, "input_shape", s)
end

-- Window output size (as runtime/nn/conv2d.c computes it).
local function window_out(who, n, k, s, padding, what)
  if padding == "same" then return n > 0 and (n - 1) // s + 1 or 0 end
  if n < k then
    raise(string.format("%s: input %s %d is smaller than the window %d (padding \"valid\")",
      who, what, n, k))
  end
  return (n - k) // s + 1
end

-- ---------------------------------------------------------------- Layer --

local Layer = base.class("Layer")
Layer._module = "ml.nn.layers"
M.Layer = Layer

local common = {{"name", nil, "string|nil"}, {"input_shape", nil, "table|nil"},
                {"trainable", true, "boolean"}}

-- options spec of a layer kind = its own entries + the common ones
local function spec(own)
  local s = {}
  for _, e in ipairs(own) do s[#s + 1] = e end
  for _, e in ipairs(common) do s[#s + 1] = e end
  return s
end

-- Sets the fields every layer has; returns the checked options.
-- Activation, bias, initializers and regularizers of a layer with a kernel
-- (Dense, Conv2D).
function Layer:_setup_weights(o)
  self.activation = activations.check(o.activation, self.name)
  self.alpha = o.alpha
  self.kernel_regularizer = regularizers.get(o.kernel_regularizer, self.name .. ": kernel_regularizer")
  self.bias_regularizer = regularizers.get(o.bias_regularizer, self.name .. ": bias_regularizer")
  self.use_bias = o.use_bias
  self.kernel_initializer, self.bias_initializer = o.kernel_initializer, o.bias_initializer
  self._kinit = initializers.get(o.kernel_initializer, self.name)
  self._binit = initializers.get(o.bias_initializer, self.name)
end

function Layer:_setup(prefix, opts, own)
  local who = self.__name
  local o = base.options(who, opts, spec(own or {}))
  self.name = o.name or auto_name(prefix)
  self.trainable = o.trainable
  self.built = false
  self.input_shape = check_input_shape(self.name, o.input_shape)
  self._cache = {}
  self._params, self._grads = {}, {}
  return o
end

function Layer:__repr()
  return string.format("%s(name=%s)", self.__name, self.name)
end

--- Default build: remembers the input shape. Subclasses create weights.
function Layer:build(input_shape)
  self.built_input_shape = copy(input_shape)
  self.built = true
end

function Layer:output_shape(input_shape) return copy(input_shape) end

function Layer:parameters()
  if not self.trainable then return {}, {} end
  return { table.unpack(self._params) }, { table.unpack(self._grads) }
end

--- Every weight in Keras's order (trainable ones first); clones.
function Layer:weights() return self._params end

function Layer:get_weights()
  local out = {}
  for i, w in ipairs(self:weights()) do out[i] = w:detach():clone() end
  return out
end

function Layer:set_weights(list)
  local ws = self:weights()
  if type(list) ~= "table" or #list ~= #ws then
    raise(string.format("%s: set_weights expected a list of %d tensors, got %s", self.name, #ws,
      type(list) == "table" and tostring(#list) or type(list)))
  end
  for i, w in ipairs(ws) do
    local v = list[i]
    if not is_tensor(v) then v = ml.tensor(v) end
    if shape_str(v.shape) ~= shape_str(w.shape) then
      raise(string.format("%s: weight %d expected shape %s, got %s", self.name, i,
        shape_str(w.shape), shape_str(v.shape)))
    end
    ml.no_grad(w.copy_, w, v)   -- weights of custom layers collect gradients
  end
end

function Layer:count_params()
  local n = 0
  for _, w in ipairs(self:weights()) do n = n + w:numel() end
  return n
end

function Layer:get_config()
  local c = {name = self.name, trainable = self.trainable}
  if self.input_shape then c.input_shape = copy(self.input_shape) end
  return c
end

--- Saveable state: the config, the build shape and the weights.
function Layer:state()
  return {config = self:get_config(), built_input_shape = self.built_input_shape,
          weights = self.built and self:get_weights() or nil}
end

function Layer.from_state(cls, state)
  local layer = cls.from_config(cls, state.config)
  if state.built_input_shape then
    layer:build(state.built_input_shape)
    if state.weights then layer:set_weights(state.weights) end
  end
  return layer
end

--- Builds on first use from x's shape, then checks x against the built shape
--- (check(self, shape) returns an error message or nil).
function Layer:_prepare(x)
  if not is_tensor(x) then
    raise(string.format("%s: expected a tensor input, got %s", self.name, type(x)))
  end
  if x:dim() < 1 then
    raise(string.format("%s: expected a batch of inputs, got a scalar", self.name))
  end
  if not self.built then self:build(tail(x.shape)) end
  local msg = self:_check_input(tail(x.shape))
  if msg then raise(self.name .. ": " .. msg) end
end

function Layer:_check_input(shape)
  local want = self.built_input_shape
  if want and shape_str(want) ~= shape_str(shape) then
    return string.format("expected input of shape %s, got %s", shape_str(want), shape_str(shape))
  end
end

function Layer:_need_forward()
  if not self._y and not self._did_forward then
    raise(self.name .. ": backward called before forward")
  end
end

--- The penalty of the layer's regularizers (kernel_regularizer,
--- bias_regularizer): a number added to the training loss, as Keras's
--- layer.losses. 0 without regularizers or weights.
function Layer:regularization_loss()
  local r = 0
  if self.kernel_regularizer and self.kernel then r = r + self.kernel_regularizer:loss(self.kernel) end
  if self.bias_regularizer and self.bias then r = r + self.bias_regularizer:loss(self.bias) end
  return r
end

--- Adds the regularizers' gradients to the weight gradients; the trainer
--- calls it after the backward pass (backward itself stays the gradient of
--- the layer's output alone).
function Layer:add_regularization_grads()
  if self.kernel_regularizer and self.kernel then
    self._kreg_buf = self._kreg_buf or ml.zeros(self.kernel.shape)
    self.kernel_regularizer:add_grad(self.kernel, self.kernel_grad, self._kreg_buf)
  end
  if self.bias_regularizer and self.bias then
    self._breg_buf = self._breg_buf or ml.zeros(self.bias.shape)
    self.bias_regularizer:add_grad(self.bias, self.bias_grad, self._breg_buf)
  end
end

-- Activations that need their input for the gradient (swish, gelu) run as a
-- separate step after the fused kernel (which then applies no activation):
-- returns the activation name for the kernel.
function Layer:_kernel_act()
  if activations.needs_input[self.activation] then return nil end
  return self.activation
end

function Layer:_act_after(z, training)
  if not activations.needs_input[self.activation] then return z end
  self._z = z
  self._act_cache = self._act_cache or {}
  return core.nn.act_forward(z, self.activation, self.alpha, self._act_cache, training and true or false)
end

-- gy w.r.t. the kernel's output: through the separate activation step if any.
function Layer:_act_back(gy, pre_activation)
  if pre_activation or not activations.needs_input[self.activation] then return gy end
  return core.nn.act_backward(self._z, gy, self.activation, self.alpha, self._act_cache)
end

--- Layer:extend("Name") -> a layer class defined by build/call (ml.nn.custom).
function Layer.extend(cls, name) return require("ml.nn.custom").extend(cls, name) end

--- Functional API: layer(node) -> node (ml.nn.model builds the graph).
function Layer:__call(...)
  return require("ml.nn.model").call_layer(self, ...)
end

-- Subclass with the metamethods Lua looks up by rawget on the class.
local function class(name)
  local c = base.class(name, Layer)
  c._module = "ml.nn.layers"
  c.__call = Layer.__call
  M[name] = c
  return c
end

-- Creates weight + gradient tensors from an initializer.
local function weight(self, init, shape)
  local w = init(shape)
  return w, ml.zeros(shape)
end

-- ---------------------------------------------------------------- Dense --

local Dense = class("Dense")
local dense_opts = {{"activation", nil, "string|nil"}, {"use_bias", true, "boolean"},
  {"kernel_initializer", "glorot_uniform", "string|function"},
  {"bias_initializer", "zeros", "string|function"}, {"alpha", nil, "number|nil"},
  {"kernel_regularizer", nil, "table|nil"}, {"bias_regularizer", nil, "table|nil"},
  {"input_dim", nil, "integer|nil"}}

function Dense:init(units, opts)
  if math.type(units) ~= "integer" and not (type(units) == "number" and units == math.floor(units))
      or units < 1 then
    raise(string.format("Dense: units expected a positive integer, got %s", tostring(units)))
  end
  local o = self:_setup("dense", opts, dense_opts)
  if o.input_dim then   -- Keras's Dense(n, input_dim = d): input_shape = {d}
    if o.input_shape then
      raise(self.name .. ": give input_dim or input_shape, not both")
    end
    if o.input_dim < 1 then
      raise(string.format("%s: input_dim must be >= 1, got %d", self.name, o.input_dim))
    end
    self.input_shape = {math.tointeger(o.input_dim)}
  end
  self.units = math.tointeger(units)
  self:_setup_weights(o)
end

function Dense.from_config(cls, c)
  return cls(c.units, {activation = c.activation, use_bias = c.use_bias, alpha = c.alpha,
    kernel_initializer = c.kernel_initializer, bias_initializer = c.bias_initializer,
    kernel_regularizer = regularizers.from_config(c.kernel_regularizer),
    bias_regularizer = regularizers.from_config(c.bias_regularizer),
    name = c.name, trainable = c.trainable, input_shape = c.input_shape})
end

function Dense:get_config()
  local c = Layer.get_config(self)
  c.units, c.activation, c.use_bias, c.alpha = self.units, self.activation, self.use_bias, self.alpha
  c.kernel_regularizer = regularizers.config(self.kernel_regularizer)
  c.bias_regularizer = regularizers.config(self.bias_regularizer)
  c.kernel_initializer = type(self.kernel_initializer) == "string" and self.kernel_initializer or nil
  c.bias_initializer = type(self.bias_initializer) == "string" and self.bias_initializer or nil
  return c
end

function Dense:build(input_shape)
  if #input_shape < 1 then raise(self.name .. ": expected at least 1-D inputs") end
  local d = input_shape[#input_shape]
  self.kernel, self.kernel_grad = weight(self, self._kinit, {d, self.units})
  self._params, self._grads = {self.kernel}, {self.kernel_grad}
  if self.use_bias then
    self.bias, self.bias_grad = weight(self, self._binit, {self.units})
    self._params[2], self._grads[2] = self.bias, self.bias_grad
  end
  Layer.build(self, input_shape)
end

function Dense:output_shape(s)
  local o = copy(s)
  o[#o] = self.units
  return o
end

function Dense:_check_input(shape)
  local d = self.kernel.shape[1]
  if #shape < 1 or shape[#shape] ~= d then
    return string.format("expected input with %d features, got %s", d, shape_str(shape))
  end
end

function Dense:forward(x, training)
  self:_prepare(x)
  local x2 = x:dim() == 2 and x or x:reshape(-1, self.kernel.shape[1])
  local y = core.nn.dense_forward(x2, self.kernel, self.bias, self:_kernel_act(), self.alpha,
    self._cache, training and true or false)
  self._y = y
  y = self:_act_after(y, training)
  if x:dim() ~= 2 then
    local s = copy(x.shape)
    s[#s] = self.units
    y = y:reshape(s)
  end
  return y
end

function Dense:backward(x, gy, pre_activation, skip_input_grad)
  self:_need_forward()
  local d = self.kernel.shape[1]
  local x2 = x:dim() == 2 and x or x:reshape(-1, d)
  local gy2 = gy:dim() == 2 and gy or gy:reshape(-1, self.units)
  gy2 = self:_act_back(gy2, pre_activation)
  local gx = core.nn.dense_backward(x2, self.kernel, self._y, gy2, self:_kernel_act(), self.alpha,
    pre_activation and true or false, self.kernel_grad, self.bias_grad, not skip_input_grad,
    self._cache)
  if gx and x:dim() ~= 2 then gx = gx:reshape(x.shape) end
  return gx
end

-- --------------------------------------------------------------- Conv2D --

local Conv2D = class("Conv2D")
local conv_opts = {{"strides", 1, "integer|table"}, {"padding", "valid", {"valid", "same"}},
  {"activation", nil, "string|nil"}, {"use_bias", true, "boolean"},
  {"kernel_initializer", "glorot_uniform", "string|function"},
  {"bias_initializer", "zeros", "string|function"}, {"alpha", nil, "number|nil"},
  {"kernel_regularizer", nil, "table|nil"}, {"bias_regularizer", nil, "table|nil"}}

function Conv2D:init(filters, kernel_size, opts)
  if math.type(filters) ~= "integer" and not (type(filters) == "number" and
      filters == math.floor(filters)) or filters < 1 then
    raise(string.format("Conv2D: filters expected a positive integer, got %s", tostring(filters)))
  end
  local o = self:_setup("conv2d", opts, conv_opts)
  self.filters = math.tointeger(filters)
  self.kernel_size = pair(self.name, "kernel_size", kernel_size)
  self.strides = pair(self.name, "strides", o.strides)
  self.padding = o.padding
  self:_setup_weights(o)
end

function Conv2D.from_config(cls, c)
  return cls(c.filters, c.kernel_size, {strides = c.strides, padding = c.padding,
    activation = c.activation, use_bias = c.use_bias, alpha = c.alpha,
    kernel_initializer = c.kernel_initializer, bias_initializer = c.bias_initializer,
    kernel_regularizer = regularizers.from_config(c.kernel_regularizer),
    bias_regularizer = regularizers.from_config(c.bias_regularizer),
    name = c.name, trainable = c.trainable, input_shape = c.input_shape})
end

function Conv2D:get_config()
  local c = Layer.get_config(self)
  c.filters, c.kernel_size, c.strides = self.filters, copy(self.kernel_size), copy(self.strides)
  c.padding, c.activation, c.use_bias, c.alpha = self.padding, self.activation, self.use_bias, self.alpha
  c.kernel_regularizer = regularizers.config(self.kernel_regularizer)
  c.bias_regularizer = regularizers.config(self.bias_regularizer)
  c.kernel_initializer = type(self.kernel_initializer) == "string" and self.kernel_initializer or nil
  c.bias_initializer = type(self.bias_initializer) == "string" and self.bias_initializer or nil
  return c
end

local function check_image(self, shape, channels)
  if #shape ~= 3 then
    return string.format("expected images H x W x C (4-D batches), got input of shape %s",
      shape_str(shape))
  end
  if channels and shape[3] ~= channels then
    return string.format("expected input with %d channels, got %s", channels, shape_str(shape))
  end
end

function Conv2D:build(input_shape)
  local msg = check_image(self, input_shape)
  if msg then raise(self.name .. ": " .. msg) end
  self:output_shape(input_shape)   -- checks the window fits
  local kh, kw = self.kernel_size[1], self.kernel_size[2]
  self.kernel, self.kernel_grad = weight(self, self._kinit, {kh, kw, input_shape[3], self.filters})
  self._params, self._grads = {self.kernel}, {self.kernel_grad}
  if self.use_bias then
    self.bias, self.bias_grad = weight(self, self._binit, {self.filters})
    self._params[2], self._grads[2] = self.bias, self.bias_grad
  end
  Layer.build(self, input_shape)
end

function Conv2D:output_shape(s)
  local msg = check_image(self, s)
  if msg then raise(self.name .. ": " .. msg) end
  return {window_out(self.name, s[1], self.kernel_size[1], self.strides[1], self.padding, "height"),
          window_out(self.name, s[2], self.kernel_size[2], self.strides[2], self.padding, "width"),
          self.filters}
end

function Conv2D:_check_input(shape)
  return check_image(self, shape, self.kernel.shape[3])
end

function Conv2D:forward(x, training)
  self:_prepare(x)
  local y = core.nn.conv2d_forward(x, self.kernel, self.bias, self.strides[1], self.strides[2],
    self.padding == "same", self:_kernel_act(), self.alpha, self._cache, training and true or false)
  self._y = y
  return self:_act_after(y, training)
end

function Conv2D:backward(x, gy, pre_activation, skip_input_grad)
  self:_need_forward()
  gy = self:_act_back(gy, pre_activation)
  local gx = core.nn.conv2d_backward(x, self.kernel, self._y, gy, self.strides[1], self.strides[2],
    self.padding == "same", self:_kernel_act(), self.alpha, pre_activation and true or false,
    self.kernel_grad, self.bias_grad, not skip_input_grad, self._cache)
  return gx
end

-- -------------------------------------------------------------- pooling --

local pool_opts = {{"strides", nil, "integer|table|nil"}, {"padding", "valid", {"valid", "same"}},
  {"pool_size", nil, "integer|table|nil"}}

local function pool_class(name, prefix, kind)
  local P = class(name)
  function P:init(pool_size, opts)
    if type(pool_size) == "table" and not pool_size[1] and opts == nil then
      opts, pool_size = pool_size, nil   -- MaxPooling2D{strides = ...}
    end
    local o = self:_setup(prefix, opts, pool_opts)
    self.pool_size = pair(self.name, "pool_size", pool_size or o.pool_size or 2)
    self.strides = pair(self.name, "strides", o.strides or self.pool_size)
    self.padding = o.padding
  end
  function P.from_config(cls, c)
    return cls(c.pool_size, {strides = c.strides, padding = c.padding, name = c.name,
      trainable = c.trainable, input_shape = c.input_shape})
  end
  function P:get_config()
    local c = Layer.get_config(self)
    c.pool_size, c.strides, c.padding = copy(self.pool_size), copy(self.strides), self.padding
    return c
  end
  function P:output_shape(s)
    local msg = check_image(self, s)
    if msg then raise(self.name .. ": " .. msg) end
    return {window_out(self.name, s[1], self.pool_size[1], self.strides[1], self.padding, "height"),
            window_out(self.name, s[2], self.pool_size[2], self.strides[2], self.padding, "width"),
            s[3]}
  end
  function P:build(input_shape)
    self:output_shape(input_shape)
    Layer.build(self, input_shape)
  end
  function P:_check_input(shape)
    return check_image(self, shape, self.built_input_shape[3])
  end
  function P:forward(x, training)
    self:_prepare(x)
    self._did_forward = true
    return core.nn.pool2d_forward(x, kind, self.pool_size[1], self.pool_size[2], self.strides[1],
      self.strides[2], self.padding == "same", self._cache, training and true or false)
  end
  function P:backward(x, gy)
    self:_need_forward()
    return core.nn.pool2d_backward(x, gy, kind, self.pool_size[1], self.pool_size[2],
      self.strides[1], self.strides[2], self.padding == "same", self._cache)
  end
  return P
end

pool_class("MaxPooling2D", "max_pooling2d", "max")
pool_class("AveragePooling2D", "average_pooling2d", "avg")

local GAP = class("GlobalAveragePooling2D")
function GAP:init(opts) self:_setup("global_average_pooling2d", opts) end
function GAP.from_config(cls, c)
  return cls{name = c.name, trainable = c.trainable, input_shape = c.input_shape}
end
function GAP:output_shape(s)
  local msg = check_image(self, s)
  if msg then raise(self.name .. ": " .. msg) end
  return {s[3]}
end
function GAP:_check_input(shape) return check_image(self, shape, self.built_input_shape[3]) end
function GAP:forward(x, training)
  self:_prepare(x)
  self._did_forward = true
  return core.nn.gap2d_forward(x, self._cache, training and true or false)
end
function GAP:backward(x, gy)
  return core.nn.gap2d_backward(x, gy, self._cache)
end

-- ----------------------------------------------------- Flatten, Reshape --

local Flatten = class("Flatten")
function Flatten:init(opts) self:_setup("flatten", opts) end
function Flatten.from_config(cls, c)
  return cls{name = c.name, trainable = c.trainable, input_shape = c.input_shape}
end
function Flatten:output_shape(s) return {prod(s)} end
function Flatten:_check_input() end   -- any shape flattens
function Flatten:forward(x)
  self:_prepare(x)
  return x:reshape(x.shape[1], -1)
end
function Flatten:backward(x, gy) return gy:reshape(x.shape) end

local Reshape = class("Reshape")
function Reshape:init(target_shape, opts)
  if type(target_shape) ~= "table" or #target_shape == 0 then
    raise("Reshape: target_shape expected a list of dimensions, got " .. tostring(target_shape))
  end
  local o = self:_setup("reshape", opts)
  local unknown = 0
  for i, v in ipairs(target_shape) do
    if v == -1 then unknown = unknown + 1
    elseif math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) or v < 1 then
      raise(string.format("%s: target_shape entry %d expected a positive integer or -1, got %s",
        self.name, i, tostring(v)))
    end
  end
  if unknown > 1 then raise(self.name .. ": target_shape may contain at most one -1") end
  self.target_shape = copy(target_shape)
  return o
end
function Reshape.from_config(cls, c)
  return cls(c.target_shape, {name = c.name, trainable = c.trainable, input_shape = c.input_shape})
end
function Reshape:get_config()
  local c = Layer.get_config(self)
  c.target_shape = copy(self.target_shape)
  return c
end
function Reshape:output_shape(s)
  local n, known, out = prod(s), 1, copy(self.target_shape)
  local hole
  for i, v in ipairs(out) do if v == -1 then hole = i else known = known * v end end
  if hole then
    if n % known ~= 0 then
      raise(string.format("%s: cannot reshape input %s into %s", self.name, shape_str(s),
        shape_str(self.target_shape)))
    end
    out[hole] = n // known
  elseif known ~= n then
    raise(string.format("%s: cannot reshape input %s (%d values) into %s (%d values)", self.name,
      shape_str(s), n, shape_str(out), known))
  end
  return out
end
function Reshape:_check_input(shape) self:output_shape(shape) end
function Reshape:forward(x)
  self:_prepare(x)
  local s = self:output_shape(tail(x.shape))
  table.insert(s, 1, x.shape[1])
  return x:reshape(s)
end
function Reshape:backward(x, gy) return gy:reshape(x.shape) end

-- -------------------------------------------------------------- Dropout --

local Dropout = class("Dropout")
function Dropout:init(rate, opts)
  if type(rate) ~= "number" or not (rate >= 0 and rate < 1) then
    raise(string.format("Dropout: rate expected a number in [0, 1), got %s", tostring(rate)))
  end
  self:_setup("dropout", opts)
  self.rate = rate
end
function Dropout.from_config(cls, c)
  return cls(c.rate, {name = c.name, trainable = c.trainable, input_shape = c.input_shape})
end
function Dropout:get_config()
  local c = Layer.get_config(self)
  c.rate = self.rate
  return c
end
function Dropout:_check_input() end
function Dropout:forward(x, training)
  self:_prepare(x)
  self._did_forward = true
  self._active = training and self.rate > 0
  if not self._active then return x end
  return core.nn.dropout_forward(x, self.rate, self._cache, true)
end
function Dropout:backward(x, gy)
  if not self._active then return gy end
  return core.nn.dropout_backward(gy, self._cache)
end

-- --------------------------------------------------- BatchNormalization --

local BN = class("BatchNormalization")
local bn_opts = {{"axis", -1, "integer"}, {"momentum", 0.99, "number"}, {"epsilon", 1e-3, "number"},
  {"center", true, "boolean"}, {"scale", true, "boolean"},
  {"beta_initializer", "zeros", "string|function"}, {"gamma_initializer", "ones", "string|function"},
  {"moving_mean_initializer", "zeros", "string|function"},
  {"moving_variance_initializer", "ones", "string|function"}}

function BN:init(opts)
  local o = self:_setup("batch_normalization", opts, bn_opts)
  if o.axis ~= -1 then
    raise(self.name .. ": only axis = -1 (the channels, last) is supported")
  end
  if o.epsilon <= 0 then raise(self.name .. ": epsilon must be positive") end
  if o.momentum < 0 or o.momentum > 1 then raise(self.name .. ": momentum must be in [0, 1]") end
  self.axis, self.momentum, self.epsilon = -1, o.momentum, o.epsilon
  self.center, self.scale = o.center, o.scale
  self._inits = {}
  for _, k in ipairs{"beta", "gamma", "moving_mean", "moving_variance"} do
    self[k .. "_initializer"] = o[k .. "_initializer"]
    self._inits[k] = initializers.get(o[k .. "_initializer"], self.name)
  end
end

function BN.from_config(cls, c)
  return cls{momentum = c.momentum, epsilon = c.epsilon, center = c.center, scale = c.scale,
    name = c.name, trainable = c.trainable, input_shape = c.input_shape}
end

function BN:get_config()
  local c = Layer.get_config(self)
  c.momentum, c.epsilon, c.center, c.scale = self.momentum, self.epsilon, self.center, self.scale
  return c
end

function BN:build(input_shape)
  if #input_shape < 1 then raise(self.name .. ": expected at least 1-D inputs") end
  local c = input_shape[#input_shape]
  self._params, self._grads = {}, {}
  if self.scale then
    self.gamma, self.gamma_grad = weight(self, self._inits.gamma, {c})
    table.insert(self._params, self.gamma); table.insert(self._grads, self.gamma_grad)
  end
  if self.center then
    self.beta, self.beta_grad = weight(self, self._inits.beta, {c})
    table.insert(self._params, self.beta); table.insert(self._grads, self.beta_grad)
  end
  self.moving_mean = self._inits.moving_mean({c})
  self.moving_variance = self._inits.moving_variance({c})
  Layer.build(self, input_shape)
end

--- Keras's order: gamma, beta, moving_mean, moving_variance.
function BN:weights()
  local w = { table.unpack(self._params) }
  w[#w + 1] = self.moving_mean
  w[#w + 1] = self.moving_variance
  return w
end

function BN:_check_input(shape)
  local c = self.moving_mean:numel()
  if #shape < 1 or shape[#shape] ~= c then
    return string.format("expected input with %d features (last axis), got %s", c, shape_str(shape))
  end
end

function BN:forward(x, training)
  self:_prepare(x)
  self._did_forward = true
  local train = (training and self.trainable) and true or false   -- frozen BN runs in inference mode
  return core.nn.batchnorm_forward(x, self.gamma, self.beta, self.moving_mean,
    self.moving_variance, self.momentum, self.epsilon, train, self._cache, training and true or false)
end

function BN:backward(x, gy)
  self:_need_forward()
  return core.nn.batchnorm_backward(x, gy, self.gamma, self.gamma_grad, self.beta_grad, self._cache)
end

-- ----------------------------------------------------------- Activation --

local Activation = class("Activation")
function Activation:init(name, opts)
  local o = self:_setup("activation", opts, {{"alpha", nil, "number|nil"}})
  self.activation = activations.check(name, self.name) or "linear"
  self.alpha = o.alpha
end
function Activation.from_config(cls, c)
  return cls(c.activation, {alpha = c.alpha, name = c.name, trainable = c.trainable,
    input_shape = c.input_shape})
end
function Activation:get_config()
  local c = Layer.get_config(self)
  c.activation, c.alpha = self.activation, self.alpha
  return c
end
function Activation:_check_input() end
function Activation:forward(x, training)
  self:_prepare(x)
  local y = core.nn.act_forward(x, self.activation, self.alpha, self._cache,
    training and true or false)
  self._y = y
  return y
end
function Activation:backward(x, gy, pre_activation)
  self:_need_forward()
  if pre_activation then return gy end
  -- swish and gelu differentiate from their input x
  local from = activations.needs_input[self.activation] and x or self._y
  return core.nn.act_backward(from, gy, self.activation, self.alpha, self._cache)
end

return M
