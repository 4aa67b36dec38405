-- ml.nn.model: the containers of layers and the Keras training loop.
--   nn.Input{28, 28, 1}               -- a graph node holding a shape (no batch dim)
--   nn.Sequential{nn.Input{2}, nn.Dense(8, ...), ...}; model:add(layer)
--   nn.Model{inputs = inp, outputs = out}   -- functional form: layers called on nodes
--   model:compile{optimizer, loss, metrics}; model:fit(x, y, opts) -> History
--   model:evaluate, predict, predict_classes, summary, count_params, parameters,
--   get_weights/set_weights, save (through ml.save's class protocol)
-- Layers follow the protocol of HELPERS.md (build, output_shape, forward,
-- backward, parameters, get_config); this module adds nothing to them except
-- the `__call` metamethod that turns `layer(node)` into a new graph node.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local clock = core.term.clock

local M = {}

local is_tensor = ml.is_tensor
local function shape_str(s) return table.concat(s, "x") end
local function copy_list(t) local c = {} for i, v in ipairs(t) do c[i] = v end return c end

---------------------------------------------------------------------------
-- graph nodes

local Node = base.class("Node")
M.Node = Node
-- Nodes are recognised by this mark, not by their metatable: a second copy of
-- this module (busted reloads modules per spec file) must accept them too.
Node._ml_node = true
local function is_node(v)
  return type(v) == "table" and rawget(v, "shape") ~= nil and v._ml_node == true
end

local function check_shape(who, shape)
  if type(shape) ~= "table" or #shape == 0 then
    error(who .. ": expected a shape table such as {28, 28, 1}", 0)
  end
  for i, d in ipairs(shape) do
    if math.type(d) ~= "integer" and not (type(d) == "number" and d == math.floor(d)) or d < 1 then
      error(string.format("%s: dimension %d of the shape must be a positive integer, got %s",
        who, i, tostring(d)), 0)
    end
  end
  local s = {}
  for i, d in ipairs(shape) do s[i] = math.tointeger(d) end
  return s
end

--- nn.Input{28, 28, 1} or nn.Input{shape = {...}, name = "pixels"}: the input
--- of a model, as a graph node. The shape leaves out the batch dimension.
function M.Input(spec, opts)
  if type(spec) ~= "table" then error("Input: expected a shape table such as {784}", 0) end
  local shape, name = spec, nil
  if spec.shape then
    shape, name = spec.shape, spec.name
  elseif opts then
    name = base.options("Input", opts, {{"name", nil, "string|nil"}}).name
  end
  local n = Node()
  n.shape = check_shape("Input", shape)
  n.name = name or "input"
  n.is_input = true
  return n
end

function Node:__repr()
  return string.format("Node(%s, shape=(None, %s))", self.layer and self.layer.name or self.name,
    table.concat(self.shape, ", "))
end

--- `layer(node)` makes a node (builds the layer for the node's shape);
--- `layer(x)` with a tensor runs the layer in inference mode.
function M.call_layer(layer, arg, ...)
  if is_tensor(arg) then
    if not layer.built then
      local s = {table.unpack(arg.shape, 2)}
      layer:build(s)
    end
    return layer:forward(arg, false)
  end
  if not is_node(arg) then
    error(string.format("%s: a layer is called on a graph node (nn.Input or another layer's "
      .. "output) or on a tensor, got %s", layer.name or "layer", type(arg)), 2)
  end
  if select("#", ...) > 0 then error((layer.name or "layer") .. ": takes one input", 2) end
  if not layer.built then layer:build(copy_list(arg.shape)) end
  local n = Node()
  n.layer, n.inbound = layer, arg
  n.shape = layer:output_shape(copy_list(arg.shape))
  return n
end

-- Layers written by nn-core get `__call` here unless they already have one.
-- (Metamethods are looked up raw in each class, so every class gets it.)
local function install_call(cls)
  if type(cls) == "table" and rawget(cls, "__index") == cls and rawget(cls, "__call") == nil
    and (cls.forward or cls.build) then
    rawset(cls, "__call", M.call_layer)
  end
end
M.install_call = install_call
do
  local ok, layers = pcall(require, "ml.nn.layers")
  if ok and type(layers) == "table" then
    for _, v in pairs(layers) do install_call(v) end
  end
end

---------------------------------------------------------------------------
-- History

local History = base.class("History")
M.History = History

function History:init()
  self.history = {}
  self.epoch = {}
  self.params = {}
end

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

-- history.val_loss etc. before they exist (no validation): nil, like a missing key.

---------------------------------------------------------------------------
-- the model

local Model = base.class("Model")
M.Model_base = Model
Model._module = "ml.nn.model"

local counters = {}
local function auto_name(prefix)
  counters[prefix] = (counters[prefix] or 0) + 1
  return counters[prefix] == 1 and prefix or (prefix .. "_" .. (counters[prefix] - 1))
end

local function check_layer(who, l, i)
  if type(l) ~= "table" or type(l.forward) ~= "function" or type(l.backward) ~= "function" then
    error(string.format("%s: item %d is not a layer", who, i), 0)
  end
end

local function init_model(self, layers, input_shape, name, prefix)
  self.layers = {}
  self.name = name or auto_name(prefix)
  self.stop_training = false
  self.built = false
  for i, l in ipairs(layers) do
    check_layer(self.__name, l, i)
    self.layers[i] = l
  end
  -- Keras: input_shape (or Dense's input_dim) on the first layer builds the model
  input_shape = input_shape or (layers[1] and layers[1].input_shape)
  if input_shape then self:build(input_shape) end
end

--- nn.Sequential{layers...} (an nn.Input node may come first), or
--- nn.Sequential(layers, {name = "..."}).
local Sequential = base.class("Sequential", Model)
M.Sequential = Sequential
Sequential._module = "ml.nn.model"
Sequential.__tostring = Model.__tostring
Sequential.__call = function(...) return M.call_model(...) end

function Sequential:init(list, opts)
  list = list or {}
  if type(list) ~= "table" then error("Sequential: expected a list of layers", 0) end
  local o = base.options("Sequential", opts, {{"name", nil, "string|nil"}})
  local layers, input_shape = {}, nil
  for i, l in ipairs(list) do
    if is_node(l) then
      if i ~= 1 or not l.is_input then
        error("Sequential: only an nn.Input may be given, and only first", 0)
      end
      input_shape = l.shape
    else
      layers[#layers + 1] = l
    end
  end
  init_model(self, layers, input_shape, o.name, "sequential")
end

--- Appends a layer (or sets the input with an nn.Input node).
function Sequential:add(layer)
  if is_node(layer) and layer.is_input then
    if #self.layers > 0 then error("Sequential:add: an Input must come first", 0) end
    self.input_shape = layer.shape
    return self
  end
  check_layer("Sequential:add", layer, #self.layers + 1)
  self.layers[#self.layers + 1] = layer
  if #self.layers == 1 and not self.input_shape and layer.input_shape then
    self.input_shape = layer.input_shape
  end
  if self.built then
    local s = #self.layers > 1 and self.output_shapes[#self.layers - 1] or self.input_shape
    if not layer.built then layer:build(copy_list(s)) end
    self.output_shapes[#self.layers] = layer:output_shape(copy_list(s))
    self.output_shape = self.output_shapes[#self.layers]
  elseif self.input_shape then
    self:build(self.input_shape)
  end
  return self
end

--- nn.Model{inputs = input_node, outputs = output_node [, name]}: the chain of
--- layers from the input to the output (each layer used once).
local FModel = base.class("Model", Model)
M.Model = FModel
FModel._module = "ml.nn.model"
FModel.__tostring = Model.__tostring
FModel.__call = function(...) return M.call_model(...) end

function FModel:init(opts)
  local o = base.options("Model", opts, {{"inputs", nil, "table"}, {"outputs", nil, "table"},
    {"name", nil, "string|nil"}})
  local inp, out = o.inputs, o.outputs
  if not is_node(inp) and type(inp) == "table" and #inp == 1 then inp = inp[1] end
  if not is_node(out) and type(out) == "table" and #out == 1 then out = out[1] end
  if not is_node(inp) or not inp.is_input then
    error("Model: inputs must be one nn.Input node (several inputs are not supported)", 0)
  end
  if not is_node(out) then
    error("Model: outputs must be one graph node (several outputs are not supported)", 0)
  end
  local chain, seen, n = {}, {}, out
  while n ~= inp do
    if n.is_input then error("Model: outputs do not depend on the given input", 0) end
    if seen[n.layer] then
      error("Model: layer '" .. tostring(n.layer.name) .. "' is used twice (not supported)", 0)
    end
    seen[n.layer] = true
    table.insert(chain, 1, n.layer)
    n = n.inbound
  end
  init_model(self, chain, inp.shape, o.name, "model")
  self.inputs, self.outputs = inp, out
  self.input, self.output = inp, out
end

--- Builds every layer for inputs of `input_shape` (no batch dimension).
function Model:build(input_shape)
  input_shape = check_shape(self.__name .. ":build", input_shape)
  self.input_shape = input_shape
  self.output_shapes = {}
  local s = input_shape
  for i, l in ipairs(self.layers) do
    local ok, err = pcall(function()
      if not l.built then l:build(copy_list(s)) end
      s = l:output_shape(copy_list(s))
    end)
    if not ok then
      error(string.format("%s: layer %d ('%s') cannot take inputs of shape (None, %s): %s",
        self.name, i, tostring(l.name), table.concat(s, ", "), tostring(err)), 0)
    end
    self.output_shapes[i] = s
  end
  self.output_shape = s
  self.built = true
  if not self.inputs then   -- Keras's model.input / model.output as graph nodes
    local n = M.Input(copy_list(input_shape))
    self.input = n
    for i, l in ipairs(self.layers) do
      local m = Node()
      m.layer, m.inbound, m.shape = l, n, copy_list(self.output_shapes[i])
      n = m
    end
    self.output = n
  end
  return self
end

--- model:get_layer(name | index): a layer by its name or its 1-based position.
function Model:get_layer(key)
  if type(key) == "number" then
    local l = self.layers[key]
    if not l then
      error(string.format("get_layer: index %s out of range 1..%d", tostring(key), #self.layers), 2)
    end
    return l
  end
  local names = {}
  for _, l in ipairs(self.layers) do
    if l.name == key then return l end
    names[#names + 1] = tostring(l.name)
  end
  error(string.format("get_layer: no layer named '%s' (layers: %s)", tostring(key),
    table.concat(names, ", ")), 2)
end

--- model(node): a model used as a layer of a functional graph (Keras's
--- `out = base(inp)`): its layers are applied to the node in turn, sharing
--- their weights with the model; `base.trainable = false` set before the
--- call freezes them (transfer learning). model(x) with a tensor predicts.
function M.call_model(model, arg, ...)
  if is_tensor(arg) then return model:predict(arg) end
  if not is_node(arg) then
    error(string.format("%s: a model is called on a graph node (nn.Input or a layer's output) " ..
      "or on a tensor, got %s", model.name, type(arg)), 2)
  end
  if select("#", ...) > 0 then error(model.name .. ": takes one input", 2) end
  if model.built and model.input_shape and
      table.concat(model.input_shape, "x") ~= table.concat(arg.shape, "x") then
    error(string.format("%s: expected inputs of shape (None, %s), got (None, %s)", model.name,
      table.concat(model.input_shape, ", "), table.concat(arg.shape, ", ")), 2)
  end
  local n = arg
  for _, l in ipairs(model.layers) do
    if model.trainable == false then l.trainable = false end
    n = M.call_layer(l, n)
  end
  return n
end

local function ensure_built(self, x, who)
  if not self.built then
    if not x then
      error(string.format("%s: the model is not built yet: give it an nn.Input or call "
        .. "build{...}, fit or predict first", who), 0)
    end
    self:build({table.unpack(x.shape, 2)})
  end
end

--- Forward pass through every layer. training enables dropout and batch
--- statistics (frozen BatchNormalization layers stay in inference mode, as Keras).
function Model:forward(x, training)
  ensure_built(self, x, "forward")
  local acts = self._acts
  if not acts then acts = {} self._acts = acts end
  for i, l in ipairs(self.layers) do
    acts[i] = x
    local tr = training
    if tr and l.trainable == false and l.__name == "BatchNormalization" then tr = false end
    local ok, y = pcall(l.forward, l, x, tr)
    if not ok then
      error(string.format("%s: layer %d ('%s') forward: %s", self.name, i, tostring(l.name), y), 0)
    end
    x = y
  end
  return x
end

--- Backward pass from gy (gradient w.r.t. the output, or w.r.t. the last
--- layer's pre-activation when pre_activation is true). Layers below the
--- lowest trainable layer are skipped (their input gradient is not needed).
function Model:backward(gy, pre_activation)
  local acts, layers = self._acts, self.layers
  if not acts or not acts[1] then error("backward: call forward first", 0) end
  local low = self:_sync().low
  for i = #layers, low, -1 do
    local l = layers[i]
    -- the lowest layer's input gradient is never used: layers may skip it
    local ok, g = pcall(l.backward, l, acts[i], gy, pre_activation and i == #layers, i == low)
    if not ok then
      error(string.format("%s: layer %d ('%s') backward: %s", self.name, i, tostring(l.name), g), 0)
    end
    gy = g
  end
  return gy
end

-- What the training step needs to know about the layers (the trainable
-- parameter lists and the lowest layer that has some), recomputed only when
-- a layer is added, frozen or unfrozen, so a step allocates nothing here.
function Model:_sync()
  local c = self._sync_cache
  local layers = self.layers
  if c and c.n == #layers then
    local same = true
    for i = 1, #layers do
      if c.flags[i] ~= (layers[i].trainable ~= false) then same = false break end
    end
    if same then return c end
  end
  c = {n = #layers, flags = {}, low = #layers + 1}
  for i = #layers, 1, -1 do
    local l = layers[i]
    c.flags[i] = l.trainable ~= false
    if c.flags[i] and #(l:parameters()) > 0 then c.low = i end
  end
  c.params, c.grads = self:parameters()
  self._sync_cache = c
  return c
end

--- Trainable parameters and their gradients (what an optimizer steps), in
--- layer order. parameters(true) includes frozen layers' parameters too.
function Model:parameters(all)
  ensure_built(self, nil, "parameters")
  local ps, gs = {}, {}
  for _, l in ipairs(self.layers) do
    if all or l.trainable ~= false then
      local p, g = l:parameters()
      for i = 1, #p do ps[#ps + 1] = p[i]; gs[#gs + 1] = g[i] end
    end
  end
  return ps, gs
end

function Model:count_params()
  ensure_built(self, nil, "count_params")
  local n = 0
  for _, l in ipairs(self.layers) do n = n + l:count_params() end
  return n
end

--- Every layer's weights, as one list of copies (Keras's model.get_weights()).
function Model:get_weights()
  ensure_built(self, nil, "get_weights")
  local out = {}
  for _, l in ipairs(self.layers) do
    for _, w in ipairs(l:get_weights()) do out[#out + 1] = w:clone() end
  end
  return out
end

function Model:set_weights(list)
  ensure_built(self, nil, "set_weights")
  local k = 0
  for _, l in ipairs(self.layers) do
    local n = #l:get_weights()
    local part = {}
    for i = 1, n do part[i] = list[k + i] end
    if n > 0 then
      if #part ~= n then
        error(string.format("set_weights: %d tensors given, the model has more", #list), 0)
      end
      l:set_weights(part)
    end
    k = k + n
  end
  if k ~= #list then
    error(string.format("set_weights: %d tensors given, the model has %d", #list, k), 0)
  end
end

---------------------------------------------------------------------------
-- summary

local function group(n)
  local s = tostring(math.tointeger(n) or n)
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""))
end
M.group_digits = group

local function trainable_count(l)
  if l.trainable == false then return 0 end
  local n = 0
  for _, p in ipairs((l:parameters())) do n = n + p:numel() end
  return n
end

--- Prints (and returns) the Keras table: layer (type), output shape, params,
--- then total, trainable and non-trainable counts.
function Model:summary(opts)
  local o = base.options("summary", opts, {{"print", true, "boolean"}})
  ensure_built(self, nil, "summary")
  local W1, W2, W3 = 29, 26, 10
  for i, l in ipairs(self.layers) do   -- widen the columns for long names and shapes
    W1 = math.max(W1, #tostring(l.name) + #(l.__name or "Layer") + 5)
    W2 = math.max(W2, #table.concat(self.output_shapes[i], ", ") + 10)
  end
  local lines = {}
  local function row(a, b, c)
    lines[#lines + 1] = string.format(" %-" .. (W1 - 1) .. "s %-" .. (W2 - 1) .. "s %s", a, b, c)
  end
  local width = W1 + W2 + W3 + 1
  lines[#lines + 1] = string.format('Model: "%s"', self.name)
  lines[#lines + 1] = string.rep("_", width)
  row("Layer (type)", "Output Shape", "Param #")
  lines[#lines + 1] = string.rep("=", width)
  local total, trainable = 0, 0
  for i, l in ipairs(self.layers) do
    local name = string.format("%s (%s)", tostring(l.name), l.__name or "Layer")
    local shape = "(None, " .. table.concat(self.output_shapes[i], ", ") .. ")"
    local n = l:count_params()
    total = total + n
    trainable = trainable + trainable_count(l)
    row(name, shape, group(n))
    if i < #self.layers then lines[#lines + 1] = "" end
  end
  lines[#lines + 1] = string.rep("=", width)
  lines[#lines + 1] = "Total params: " .. group(total)
  lines[#lines + 1] = "Trainable params: " .. group(trainable)
  lines[#lines + 1] = "Non-trainable params: " .. group(total - trainable)
  lines[#lines + 1] = string.rep("_", width)
  local s = table.concat(lines, "\n")
  if o.print then print(s) end
  return s, total, trainable
end

function Model:__repr()
  return string.format('%s("%s", %d layers%s)', self.__name, self.name, #self.layers,
    self.built and (", " .. group(self:count_params()) .. " params") or "")
end

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
function Model:compile(opts)
  local o = base.options("compile", opts, {{"optimizer", "rmsprop", "string|table"},
    {"loss", nil, "string|function"}, {"metrics", {}, "table"}})
  if not o.loss then error("compile: option 'loss' is required (e.g. \"mse\")", 0) end
  self.optimizer = require("ml.optim").get(o.optimizer)
  local loss = LOSS_ALIASES[o.loss] or o.loss
  if type(loss) ~= "function" then M.losses.check(loss) end
  self.loss = loss
  self.metrics, self._metric_specs, self._acc_name = {}, {}, nil
  local seen = {}
  for i, m in ipairs(o.metrics) do
    local kind = METRIC_KINDS[m]
    if not kind then
      error(string.format("compile: unknown metric '%s' (expected one of: accuracy, acc, mae, " ..
        "mse, AUC, precision, recall)", tostring(m)), 0)
    end
    if seen[m] then error(string.format("compile: metric '%s' given twice", m), 0) end
    seen[m] = true
    self.metrics[i] = m
    if kind == "accuracy" then
      if self._acc_name then error("compile: give accuracy once (\"accuracy\" or \"acc\")", 0) end
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
-- sigmoid + binary cross-entropy, come from ml.nn.losses (nn-core).
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
      error("loss function: expected a one-element tensor or a number, got "
        .. (is_tensor(v) and "shape " .. shape_str(v.shape) or type(v)), 0)
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
    error(string.format("compile: unknown loss '%s' (expected mse, mae, huber, hinge, " ..
      "kl_divergence, binary_crossentropy, categorical_crossentropy or " ..
      "sparse_categorical_crossentropy)", tostring(name)), 0)
  end
end

function Model:_fused()
  local last = self.layers[#self.layers]
  return CE[self.loss] and last and last.activation == "softmax"
end

function Model:_fused_sigmoid()
  local last = self.layers[#self.layers]
  return self.loss == "binary_crossentropy" and last and last.activation == "sigmoid"
end

-- Loss (and its gradient into gbuf when given) of predictions p against y.
-- Returns value, gradient, correct-count (nil if not computed), pre_activation.
function Model:_loss(p, y, want_grad)
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
    error(string.format("metric '%s' needs targets shaped like the outputs (outputs %s, " ..
      "targets %s); one-hot encode class ids with ml.utils.to_categorical", self.specs[1].name,
      shape_str(p.shape), shape_str(y.shape)), 0)
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
function Model:_regularize()
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
function Model:_weigh(p, y, w, g)
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
function Model:train_on_batch(x, y, w)
  if not self.compiled then error("train_on_batch: compile the model first", 0) end
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
    error(string.format("%s: x has %d samples but y has shape %s", who, x.shape[1],
      shape_str(y.shape)), 0)
  end
  return x, y:contiguous()
end

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

-- Progress output: a bar updated in place on a terminal, one line per epoch otherwise.
local Progress = base.class("Progress")
function Progress:init(verbose, epochs, steps)
  self.verbose, self.epochs, self.steps = verbose, epochs, steps
  self.tty = verbose == 1 and core.term.isatty(1)
  self.out = io.stdout
end
function Progress:epoch_begin(epoch)
  self.t0 = clock()
  self.last = 0
  if self.tty then self.out:write(string.format("Epoch %d/%d\n", epoch, self.epochs)) end
end
function Progress:batch(step, loss, acc, acc_name)
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
function Progress:epoch_end(epoch, logs, keys)
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

local function call_cbs(cbs, method, ...)
  for _, cb in ipairs(cbs) do
    local f = cb[method]
    if f then f(cb, ...) end
  end
end

--- fit(x, y, opts) -> History. opts: epochs (1), batch_size (32), verbose (1),
--- shuffle (true), validation_split (0: the last fraction of x/y, taken before
--- shuffling, as Keras), validation_data ({x_val, y_val}), callbacks ({}),
--- initial_epoch (0). y: class ids (any dtype) or one-hot / target rows.
--- x may be an ml.data.DataLoader (y nil): its batches, shuffling and
--- augmentation are used as they are. x, y and the validation data are
--- checked once for NaN/Inf (an error names the row); allow_nan = true skips it.
function Model:fit(x, y, opts)
  local o = base.options("fit", opts, {{"epochs", 1, "integer"}, {"batch_size", 32, "integer"},
    {"verbose", 1, {0, 1, 2}}, {"shuffle", true, "boolean"},
    {"validation_split", 0, "number"}, {"validation_data", nil, "table|nil"},
    {"callbacks", {}, "table"}, {"initial_epoch", 0, "integer"},
    {"distributed", false, "boolean"}, {"resume", nil, "string|nil"},
    {"class_weight", nil, "table|nil"}, {"sample_weight", nil, "tensor|table|nil"},
    {"allow_nan", false, "boolean"}})
  if not self.compiled then error("fit: compile the model first (model:compile{...})", 0) end
  if not (o.validation_split >= 0 and o.validation_split < 1) then
    error(string.format("fit: validation_split must be in [0, 1), got %s",
      o.validation_split ~= o.validation_split and "nan" or tostring(o.validation_split)), 0)
  end
  local data = require "ml.data"
  -- data-parallel under mpirun: every rank takes its shard of each batch
  local dp = o.distributed and ml.dist.size() > 1
  local rank = dp and ml.dist.rank() or 0
  if dp and rank ~= 0 then o.verbose = 0 end
  local loader
  x = frame_tensor(x)
  if type(x) == "table" and not is_tensor(x) and x.batches and x.get then
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
  local weights = self:_sample_weights(o, x, y, loader ~= nil, dp)
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
  if not o.allow_nan then   -- one NaN would train NaN weights that relu hides
    base.check_finite("fit", x, "x", "allow_nan = true")
    base.check_finite("fit", y, "y", "allow_nan = true")
    if xv then
      base.check_finite("fit", xv, "validation x", "allow_nan = true")
      base.check_finite("fit", yv, "validation y", "allow_nan = true")
    end
  end
  ensure_built(self, x, "fit")
  if weights and xv and o.validation_split > 0 then
    weights = weights:narrow(1, 1, x.shape[1])   -- the training rows' weights
  end
  loader = loader or data.DataLoader(x, y, {batch_size = o.batch_size, shuffle = o.shuffle})
  local steps = #loader
  local history = History()
  history.params = {epochs = o.epochs, steps = steps, verbose = o.verbose}
  if o.resume then o.initial_epoch = self:_resume(o.resume, history, o.initial_epoch) end
  if dp then ml.dist.sync_parameters(self:parameters(true)) end
  local cbs = {}
  local nan_ok = false
  for _, cb in ipairs(o.callbacks) do
    if type(cb) ~= "table" then error("fit: callbacks must be ml.callbacks objects", 0) end
    -- callbacks that write files run on rank 0 only
    if not (dp and rank ~= 0 and cb.rank0_only) then cbs[#cbs + 1] = cb end
    if cb.handles_nan then nan_ok = true end
  end
  cbs[#cbs + 1] = history
  for _, cb in ipairs(cbs) do if cb.set_model then cb:set_model(self) end end
  if dp and #self._metric_specs > 0 then
    error("fit: with distributed = true only the accuracy metric is computed; compile " ..
      "without " .. self._metric_specs[1].name, 0)
  end
  local acc = self._acc_name
  local keys = {"loss"}
  for _, m in ipairs(self.metrics) do keys[#keys + 1] = m end
  if xv then
    keys[#keys + 1] = "val_loss"
    for _, m in ipairs(self.metrics) do keys[#keys + 1] = "val_" .. m end
  end
  local progress = Progress(o.verbose, o.epochs, steps)
  self.stop_training = false
  self.history = history
  call_cbs(cbs, "on_train_begin", {})
  local blogs = {}
  for epoch = o.initial_epoch + 1, o.epochs do
    call_cbs(cbs, "on_epoch_begin", epoch, {})
    progress:epoch_begin(epoch)
    local sum_loss, sum_correct, seen = 0, 0, 0
    local i = 0
    local mstate = metrics_new(self._metric_specs)
    local epoch_seed
    if dp then   -- one shuffle for all ranks, then each rank its own dropout stream
      epoch_seed = math.floor(ml.dist.broadcast(ml.tensor{ml.rand(1)[1] * 2^24}, 0)[1])
      ml.seed(epoch_seed)
    end
    local batches = loader:batches()
    if dp then ml.seed(epoch_seed * 7919 + rank + 1) end
    for xb, yb in batches do
      i = i + 1
      local n = xb.shape[1]
      local v, correct, p
      local wb
      if weights then   -- the weights of this batch's rows, in the loader's order
        wb = weights:index_select(1, loader.order:narrow(1, (i - 1) * loader.batch_size + 1, n))
      end
      if dp then v, correct = self:_train_on_batch_dp(xb, yb)
      else v, correct, p = self:train_on_batch(xb, yb, wb) end
      if p and is_finite(v) then mstate:update(p, yb) end
      if not is_finite(v) then
        if not nan_ok then
          error(string.format("fit: the loss became %s at epoch %d, batch %d (lower the "
            .. "learning rate, check the data for NaN, or pass ml.callbacks.TerminateOnNaN())",
            tostring(v), epoch, i), 0)
        end
      end
      sum_loss = sum_loss + v * n
      seen = seen + n
      if correct then sum_correct = sum_correct + correct end
      blogs.loss, blogs.batch, blogs.size = v, i, n
      if acc then blogs[acc] = correct and correct / n or nil end
      call_cbs(cbs, "on_batch_end", i, blogs)
      progress:batch(i, sum_loss / seen, self._has_acc and sum_correct / seen or nil, acc)
      if self.stop_training then break end
    end
    local logs = {loss = sum_loss / seen}
    if acc then logs[acc] = sum_correct / seen end
    if seen > 0 and is_finite(logs.loss) then mstate:results(logs) end
    if xv and is_finite(logs.loss) then
      if dp then
        local vl, va = self:_evaluate_dp(xv, yv, math.max(o.batch_size, 256))
        logs.val_loss = vl
        if acc then logs["val_" .. acc] = va end
      else
        local r = {self:evaluate(xv, yv, {batch_size = math.max(o.batch_size, 256)})}
        logs.val_loss = r[1]
        for k, m in ipairs(self.metrics) do logs["val_" .. m] = r[k + 1] end
      end
    end
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
function Model:_sample_weights(o, x, y, has_loader, dp)
  if not o.class_weight and not o.sample_weight then return nil end
  if has_loader then error("fit: class_weight and sample_weight need tensors, not a DataLoader", 0) end
  if dp then error("fit: class_weight and sample_weight are not supported with distributed = true", 0) end
  local n = x.shape[1]
  local w = ml.ones(n)
  if o.sample_weight then
    local sw = o.sample_weight
    if not is_tensor(sw) then sw = ml.tensor(sw) end
    sw = sw:float():reshape(-1)
    if sw:numel() ~= n then
      error(string.format("fit: sample_weight has %d values for %d samples", sw:numel(), n), 0)
    end
    if sw:min() < 0 then error("fit: sample_weight must be >= 0", 0) end
    w = w * sw
  end
  if o.class_weight then
    local ids = y
    if y:dim() == 2 and y.shape[2] > 1 then ids = y:argmax(2, {base = 0})   -- one-hot rows
    else ids = y:reshape(-1) end
    if ids:numel() ~= n then error("fit: class_weight needs one class id per sample", 0) end
    local cw, list = o.class_weight, ids:totable()
    local t = {}
    for i, c in ipairs(list) do
      local k = math.tointeger(c) or c
      local v = cw[k]
      if v == nil then
        error(string.format("fit: class_weight has no weight for class %s (sample %d)",
          tostring(k), i), 0)
      end
      if type(v) ~= "number" or v < 0 then
        error(string.format("fit: class_weight[%s] must be a number >= 0, got %s", tostring(k),
          tostring(v)), 0)
      end
      t[i] = v
    end
    w = w * ml.tensor(t)
  end
  return w
end

---------------------------------------------------------------------------
-- data-parallel training (fit{distributed = true} under mpirun)

--- One step on this rank's shard of a global batch: gradients are averaged
--- over every rank's rows (one packed allreduce), so all ranks apply the same
--- update and hold identical weights. Returns the global mean loss and the
--- global count of correct rows.
function Model:_train_on_batch_dp(xb, yb)
  local n = xb.shape[1]
  local first, last = ml.dist.shard(n)
  local m = last - first + 1
  local c = self:_sync()
  local ps, gs = c.params, c.grads
  local v, correct = 0, 0
  if m > 0 then
    local p = self:forward(xb:narrow(1, first, m), true)
    local g, pre
    v, g, correct, pre = self:_loss(p, yb:narrow(1, first, m), true)
    self:backward(g, pre)
    -- each rank adds the penalty gradient once: the average keeps it once
    v = v + self:_regularize()
  else
    for _, g in ipairs(gs) do g:zero_() end   -- a short last batch: nothing here
  end
  ml.dist.average_gradients(gs, m, n)
  local sums = ml.dist.allreduce_numbers({v * m, correct or 0})
  self.optimizer:step(ps, gs)
  return sums[1] / n, correct and sums[2] or nil
end

--- Validation on this rank's shard, combined over ranks.
function Model:_evaluate_dp(x, y, bs)
  local n = x.shape[1]
  local first, last = ml.dist.shard(n)
  local m = last - first + 1
  local vl, va = 0, 0
  if m > 0 then
    vl, va = self:evaluate(x:narrow(1, first, m), y:narrow(1, first, m), {batch_size = bs})
  end
  local sums = ml.dist.allreduce_numbers({vl * m, (va or 0) * m})
  return sums[1] / n, self._has_acc and sums[2] / n or nil
end

---------------------------------------------------------------------------
-- training state: what a checkpoint needs for a bit-identical restart

--- {weights and optimizer state (the model), epoch, random generator state,
--- history so far}: ModelCheckpoint{save_training_state = true} saves it.
--- logs: this epoch's logs, when History has not recorded them yet (it runs
--- after the other callbacks).
function Model:training_state(epoch, logs)
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
function Model:_resume(path, history, initial_epoch)
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

--- evaluate(x, y, {batch_size = 32, verbose = 0}) -> loss, then each compiled
--- metric in compile order (Keras's list, as several results).
function Model:evaluate(x, y, opts)
  local o = base.options("evaluate", opts, {{"batch_size", 32, "integer"},
    {"verbose", 0, {0, 1, 2}}})
  if not self.compiled then error("evaluate: compile the model first", 0) end
  if o.batch_size < 1 then error("evaluate: batch_size must be >= 1", 0) end
  x, y = check_xy("evaluate", x, y)
  if x.shape[1] == 0 then error("evaluate: x has no rows (a mean over 0 samples is undefined)", 0) end
  ensure_built(self, x, "evaluate")
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
function Model:predict(x, opts)
  local o = base.options("predict", opts, {{"batch_size", 32, "integer"},
    {"verbose", 0, {0, 1, 2}}})
  if o.batch_size < 1 then error("predict: batch_size must be >= 1", 0) end
  x = as_input("predict", x)
  ensure_built(self, x, "predict")
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
function Model:predict_classes(x, opts)
  local p = self:predict(x, opts)
  if p:dim() == 1 or (p:dim() == 2 and p.shape[2] == 1) then
    return p:reshape(-1):gt(0.5):long()
  end
  return (p:argmax(2) - 1):reshape(-1):long()
end

---------------------------------------------------------------------------
-- freezing helpers

--- model:freeze(from, to) / unfreeze(from, to): set trainable on layers from..to.
function Model:freeze(from, to)
  for i = from or 1, to or #self.layers do self.layers[i].trainable = false end
  return self
end
function Model:unfreeze(from, to)
  for i = from or 1, to or #self.layers do self.layers[i].trainable = true end
  return self
end

---------------------------------------------------------------------------
-- save / load (ml.save's class protocol)

--- model:save(path [, {level =}]): architecture, weights, optimizer and its
--- state (options as ml.save's).
function Model:save(path, opts)
  base.check_arg("save", 1, path, "string")
  return ml.save(path, self, opts)
end

local function layer_state(l)
  return {class = l.__name, module = l._module or "ml.nn.layers", config = l:get_config(),
    name = l.name, trainable = l.trainable ~= false, weights = l:get_weights()}
end

local function layer_from_state(s, i)
  if type(s) ~= "table" or type(s.class) ~= "string" or type(s.module) ~= "string" then
    error(string.format("load: layer %d of the saved model is malformed", i), 0)
  end
  local cls = require("ml.registry").resolve("load: layer " .. i, "layer", s.module, s.class)
  local l
  if cls.from_config then l = cls.from_config(cls, s.config or {})
  else l = cls(s.config) end
  l.name = s.name or l.name
  l.trainable = s.trainable ~= false
  return l
end

function Model:state()
  ensure_built(self, nil, "save")
  local st = {name = self.name, kind = self.__name, input_shape = self.input_shape, layers = {}}
  for i, l in ipairs(self.layers) do st.layers[i] = layer_state(l) end
  -- a loss written as a Lua function is code: the loading program compiles again
  if self.compiled and type(self.loss) ~= "function" then
    local opt = self.optimizer
    local all = self:parameters(true)
    st.compile = {loss = self.loss, metrics = self.metrics,
      optimizer = {class = opt.__name, module = opt._module or "ml.optim",
        state = opt:state(), slots = opt:get_slots(all)}}
  end
  return st
end

function Model.from_state(cls, st)
  if type(st) ~= "table" or type(st.layers) ~= "table" then
    error("load: not a saved model", 0)
  end
  local layers = {}
  for i, s in ipairs(st.layers) do layers[i] = layer_from_state(s, i) end
  local m
  if cls == Sequential or st.kind == "Sequential" then
    m = Sequential(layers, {name = st.name})
  else
    m = setmetatable({}, FModel)
    init_model(m, layers, nil, st.name, "model")
  end
  m:build(st.input_shape)
  for i, s in ipairs(st.layers) do
    if s.weights and #s.weights > 0 then m.layers[i]:set_weights(s.weights) end
  end
  local c = st.compile
  if c then
    local ocls = require("ml.registry").resolve("load: optimizer", "optimizer",
      c.optimizer.module, c.optimizer.class)
    local opt = ocls.from_state(ocls, c.optimizer.state)
    m:compile{optimizer = opt, loss = c.loss, metrics = c.metrics}
    if c.optimizer.slots then opt:set_slots(m:parameters(true), c.optimizer.slots) end
  end
  return m
end
Sequential.from_state = Model.from_state
FModel.from_state = Model.from_state

return M
