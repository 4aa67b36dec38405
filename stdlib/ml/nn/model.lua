-- ml.nn.model: the graph nodes and the containers of layers, as Keras's Model.
--   nn.Input{28, 28, 1}               -- a graph node holding a shape (no batch dim)
--   nn.Sequential{nn.Input{2}, nn.Dense(8, ...), ...}; model:add(layer)
--   nn.Model{inputs = inp, outputs = out}   -- functional form: layers called on nodes
--   model:summary, count_params, parameters, get_weights/set_weights, get_layer,
--   freeze/unfreeze, save (through ml.save's class protocol)
-- A Model is also a Trainer (ml.nn.trainer: compile, fit, evaluate, predict),
-- as Keras's; History and the progress bar live in ml.callbacks, the
-- data-parallel strategy in ml.nn.strategy.
-- Layers follow the protocol of HELPERS.md (build, output_shape, forward,
-- backward, parameters, get_config); this module adds nothing to them except
-- the `__call` metamethod that turns `layer(node)` into a new graph node.
local ml = require "ml"
local base = require "ml.base"
local trainer = require "ml.nn.trainer"
local shapes = require "ml.nn.shapes"
local raise = require("ml.errors").raise

local M = {}

local is_tensor = ml.is_tensor
local copy_list = shapes.copy

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

--- nn.Input{28, 28, 1} or nn.Input{shape = {...}, name = "pixels"}: the input
--- of a model, as a graph node. The shape leaves out the batch dimension.
function M.Input(spec, opts)
  if type(spec) ~= "table" then raise("Input: expected a shape table such as {784}") end
  local shape, name = spec, nil
  if spec.shape then
    shape, name = spec.shape, spec.name
  elseif opts then
    name = base.options("Input", opts, {{"name", nil, "string|nil"}}).name
  end
  local n = Node()
  n.shape = shapes.check("Input", "shape", shape)
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
    raise(string.format("%s: a layer is called on a graph node (nn.Input or another layer's "
      .. "output) or on a tensor, got %s", layer.name or "layer", type(arg)))
  end
  if select("#", ...) > 0 then raise((layer.name or "layer") .. ": takes one input") end
  if not layer.built then layer:build(copy_list(arg.shape)) end
  local n = Node()
  n.layer, n.inbound = layer, arg
  n.shape = layer:output_shape(copy_list(arg.shape))
  return n
end

-- The classes of ml.nn.layers get `__call` here unless they already have one.
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
-- the model

local Model = base.class("Model", trainer.Trainer)
M.Model_base = Model
M.History = require("ml.callbacks").History   -- also reachable here, as before the split
M.losses = trainer.losses
Model._module = "ml.nn.model"

local counters = {}
local function auto_name(prefix)
  counters[prefix] = (counters[prefix] or 0) + 1
  return counters[prefix] == 1 and prefix or (prefix .. "_" .. (counters[prefix] - 1))
end

local function check_layer(who, l, i)
  if type(l) ~= "table" or type(l.forward) ~= "function" or type(l.backward) ~= "function" then
    raise(string.format("%s: item %d is not a layer", who, i))
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
  if type(list) ~= "table" then raise("Sequential: expected a list of layers") end
  local o = base.options("Sequential", opts, {{"name", nil, "string|nil"}})
  local layers, input_shape = {}, nil
  for i, l in ipairs(list) do
    if is_node(l) then
      if i ~= 1 or not l.is_input then
        raise("Sequential: only an nn.Input may be given, and only first")
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
    if #self.layers > 0 then raise("Sequential:add: an Input must come first") end
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
    raise("Model: inputs must be one nn.Input node (several inputs are not supported)")
  end
  if not is_node(out) then
    raise("Model: outputs must be one graph node (several outputs are not supported)")
  end
  local chain, seen, n = {}, {}, out
  while n ~= inp do
    if n.is_input then raise("Model: outputs do not depend on the given input") end
    if seen[n.layer] then
      raise("Model: layer '" .. tostring(n.layer.name) .. "' is used twice (not supported)")
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
  input_shape = shapes.check(self.__name .. ":build", "input_shape", input_shape)
  self.input_shape = input_shape
  self.output_shapes = {}
  local s = input_shape
  for i, l in ipairs(self.layers) do
    local ok, err = pcall(function()
      if not l.built then l:build(copy_list(s)) end
      s = l:output_shape(copy_list(s))
    end)
    if not ok then
      raise(string.format("%s: layer %d ('%s') cannot take inputs of shape (None, %s): %s",
        self.name, i, tostring(l.name), table.concat(s, ", "), tostring(err)))
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
      raise(string.format("get_layer: index %s out of range 1..%d", tostring(key), #self.layers))
    end
    return l
  end
  local names = {}
  for _, l in ipairs(self.layers) do
    if l.name == key then return l end
    names[#names + 1] = tostring(l.name)
  end
  raise(string.format("get_layer: no layer named '%s' (layers: %s)", tostring(key),
    table.concat(names, ", ")))
end

--- model(node): a model used as a layer of a functional graph (Keras's
--- `out = base(inp)`): its layers are applied to the node in turn, sharing
--- their weights with the model; `base.trainable = false` set before the
--- call freezes them (transfer learning). model(x) with a tensor predicts.
function M.call_model(model, arg, ...)
  if is_tensor(arg) then return model:predict(arg) end
  if not is_node(arg) then
    raise(string.format("%s: a model is called on a graph node (nn.Input or a layer's output) " ..
      "or on a tensor, got %s", model.name, type(arg)))
  end
  if select("#", ...) > 0 then raise(model.name .. ": takes one input") end
  if model.built and model.input_shape and
      table.concat(model.input_shape, "x") ~= table.concat(arg.shape, "x") then
    raise(string.format("%s: expected inputs of shape (None, %s), got (None, %s)", model.name,
      table.concat(model.input_shape, ", "), table.concat(arg.shape, ", ")))
  end
  local n = arg
  for _, l in ipairs(model.layers) do
    if model.trainable == false then l.trainable = false end
    n = M.call_layer(l, n)
  end
  return n
end

-- Builds the model for x's rows when it is not built yet (fit, predict, ...).
function Model:_ensure_built(x, who)
  if not self.built then
    if not x then
      raise(string.format("%s: the model is not built yet: give it an nn.Input or call "
        .. "build{...}, fit or predict first", who))
    end
    self:build({table.unpack(x.shape, 2)})
  end
end

--- Forward pass through every layer. training enables dropout and batch
--- statistics (frozen BatchNormalization layers stay in inference mode, as Keras).
function Model:forward(x, training)
  self:_ensure_built(x, "forward")
  local acts = self._acts
  if not acts then acts = {} self._acts = acts end
  for i, l in ipairs(self.layers) do
    acts[i] = x
    local tr = training
    if tr and l.trainable == false and l.__name == "BatchNormalization" then tr = false end
    local ok, y = pcall(l.forward, l, x, tr)
    if not ok then
      raise(string.format("%s: layer %d ('%s') forward: %s", self.name, i, tostring(l.name), y))
    end
    x = y
  end
  return x
end

--- Backward pass from gy (gradient w.r.t. the output, or w.r.t. the last
--- layer's pre-activation when pre_activation is true). Layers below the
--- lowest trainable layer are skipped (their input gradient is not needed).
function Model:backward(gy, pre_activation, after_layer)
  local acts, layers = self._acts, self.layers
  if not acts or not acts[1] then raise("backward: call forward first") end
  local low = self:_sync().low
  for i = #layers, low, -1 do
    local l = layers[i]
    -- the lowest layer's input gradient is never used: layers may skip it
    local ok, g = pcall(l.backward, l, acts[i], gy, pre_activation and i == #layers, i == low)
    if not ok then
      raise(string.format("%s: layer %d ('%s') backward: %s", self.name, i, tostring(l.name), g))
    end
    gy = g
    -- layer i's parameter gradients are final: data parallelism starts
    -- their allreduce here (ml.nn.strategy)
    if after_layer then after_layer(i) end
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
  self:_ensure_built(nil, "parameters")
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
  self:_ensure_built(nil, "count_params")
  local n = 0
  for _, l in ipairs(self.layers) do n = n + l:count_params() end
  return n
end

--- Every layer's weights, as one list of copies (Keras's model.get_weights()).
function Model:get_weights()
  self:_ensure_built(nil, "get_weights")
  local out = {}
  for _, l in ipairs(self.layers) do
    for _, w in ipairs(l:get_weights()) do out[#out + 1] = w:clone() end
  end
  return out
end

function Model:set_weights(list)
  self:_ensure_built(nil, "set_weights")
  local k = 0
  for _, l in ipairs(self.layers) do
    local n = #l:get_weights()
    local part = {}
    for i = 1, n do part[i] = list[k + i] end
    if n > 0 then
      if #part ~= n then
        raise(string.format("set_weights: %d tensors given, the model has more", #list))
      end
      l:set_weights(part)
    end
    k = k + n
  end
  if k ~= #list then
    raise(string.format("set_weights: %d tensors given, the model has %d", #list, k))
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
  self:_ensure_built(nil, "summary")
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
    raise(string.format("load: layer %d of the saved model is malformed", i))
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
  self:_ensure_built(nil, "save")
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
    raise("load: not a saved model")
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
