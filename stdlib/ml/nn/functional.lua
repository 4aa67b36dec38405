-- ml.nn.functional: the built-in layers and losses as functions of tensors
-- (torch.nn.functional), for custom layers and PyTorch-style loops. Each
-- runs the layer's fused C kernel forward and, when an input takes part in
-- autograd, records one node whose backward is the same kernel's backward
-- (runtime/nn/): no per-element tape. Images are N x H x W x C; weights
-- are laid out as in the Keras layers (Dense: in x out, Conv2D: kh x kw x
-- in x out).
--   local F = ml.nn.functional
--   local h = F.dense(x, w1, b1, "relu")
--   local loss = F.cross_entropy(F.dense(h, w2, b2), labels)
local ml = require "ml"
local base = require "ml.base"
local autograd = require "ml.autograd"
local core = require "ml.core"
local raise = require("ml.errors").raise
local shapes = require "ml.nn.shapes"

local F = {}

local edge_of = autograd._edge_of
local set_record = core.autograd.grad_set_record

local is_tensor = ml.is_tensor

local function check_tensor(who, what, v, optional)
  if v == nil and optional then return end
  if not is_tensor(v) then
    raise(string.format("%s: %s expected a tensor, got %s", who, what, type(v)))
  end
end

-- Records `node` as the producer of out when recording and an input is tracked.
local function record(out, name, inputs, bw)
  if not autograd.is_grad_enabled() then return out end
  local node = {name = name, f = bw, n = #inputs}
  local any = false
  for i = 1, #inputs do
    node[i] = edge_of(inputs[i]) or false
    any = any or node[i] ~= false
  end
  if any then set_record(out, {fn = node}) end
  return out
end

-- A kernel size or stride (shapes.pair), `default` when nil.
local function pair(who, what, v, default)
  if v == nil then v = default end
  return shapes.pair(who, what, v)
end

--- F.dense(x, w [, b [, activation]]) -> activation(x w + b); x: N x in,
--- w: in x out, b: out; activation: a Keras name ("relu", "tanh", ...) or nil.
function F.dense(x, w, b, activation)
  check_tensor("dense", "x", x)
  check_tensor("dense", "w", w)
  check_tensor("dense", "b", b, true)
  local y = core.nn.dense_forward(x, w, b, activation, nil, nil, false)
  return record(y, "dense", {x, w, b or false}, function(_, gy)
    local gw = ml.zeros(w.shape)
    local gb = b and ml.zeros(b.shape) or nil
    local gx = core.nn.dense_backward(x, w, y, gy, activation, nil, false, gw, gb, edge_of(x) ~= nil)
    return gx, gw, gb
  end)
end

--- F.conv2d(x, w [, b [, {strides = 1, padding = "valid", activation}]]):
--- x: N x H x W x Cin, w: kh x kw x Cin x Cout, b: Cout.
function F.conv2d(x, w, b, opts)
  check_tensor("conv2d", "x", x)
  check_tensor("conv2d", "w", w)
  check_tensor("conv2d", "b", b, true)
  local o = base.options("conv2d", opts, {{"strides", 1, "integer|table"},
    {"padding", "valid", {"valid", "same"}}, {"activation", nil, "string|nil"}})
  local s = pair("conv2d", "strides", o.strides)
  local same, act = o.padding == "same", o.activation
  local cache = {}
  local y = core.nn.conv2d_forward(x, w, b, s[1], s[2], same, act, nil, cache, false)
  return record(y, "conv2d", {x, w, b or false}, function(_, gy)
    local gw = ml.zeros(w.shape)
    local gb = b and ml.zeros(b.shape) or nil
    local gx = core.nn.conv2d_backward(x, w, y, gy, s[1], s[2], same, act, nil, false, gw, gb,
      edge_of(x) ~= nil, cache)
    return gx, gw, gb
  end)
end

local function pool(kind, who)
  return function(x, pool_size, opts)
    check_tensor(who, "x", x)
    local o = base.options(who, opts, {{"strides", nil, "integer|table|nil"},
      {"padding", "valid", {"valid", "same"}}})
    local k = pair(who, "pool_size", pool_size, 2)
    local s = pair(who, "strides", o.strides, k)
    local same = o.padding == "same"
    local cache = {}
    local y = core.nn.pool2d_forward(x, kind, k[1], k[2], s[1], s[2], same, cache, false)
    return record(y, who, {x}, function(_, gy)
      return core.nn.pool2d_backward(x, gy, kind, k[1], k[2], s[1], s[2], same, cache)
    end)
  end
end
--- F.max_pool2d(x [, pool_size = 2 [, {strides = pool_size, padding = "valid"}]])
F.max_pool2d = pool("max", "max_pool2d")
--- F.avg_pool2d(x [, pool_size = 2 [, {strides = pool_size, padding = "valid"}]])
F.avg_pool2d = pool("avg", "avg_pool2d")

--- F.batch_norm(x, gamma, beta, running_mean, running_var [, {training = false,
--- momentum = 0.99, epsilon = 1e-3}]): normalises over the last axis (Keras's
--- momentum: running = momentum * running + (1 - momentum) * batch).
function F.batch_norm(x, gamma, beta, running_mean, running_var, opts)
  check_tensor("batch_norm", "x", x)
  check_tensor("batch_norm", "gamma", gamma, true)
  check_tensor("batch_norm", "beta", beta, true)
  check_tensor("batch_norm", "running_mean", running_mean)
  check_tensor("batch_norm", "running_var", running_var)
  local o = base.options("batch_norm", opts, {{"training", false, "boolean"},
    {"momentum", 0.99, "number"}, {"epsilon", 1e-3, "number"}})
  local cache = {}
  local y = core.nn.batchnorm_forward(x, gamma, beta, running_mean, running_var, o.momentum,
    o.epsilon, o.training, cache, false)
  return record(y, "batch_norm", {x, gamma or false, beta or false}, function(_, gy)
    local gg = gamma and ml.zeros(gamma.shape) or nil
    local gb = beta and ml.zeros(beta.shape) or nil
    local gx = core.nn.batchnorm_backward(x, gy, gamma, gg, gb, cache)
    return gx, gg, gb
  end)
end

--- F.dropout(x, rate [, training = true]): zeroes a fraction `rate` of the
--- entries and scales the rest by 1 / (1 - rate); the identity when not training.
function F.dropout(x, rate, training)
  check_tensor("dropout", "x", x)
  if type(rate) ~= "number" or rate < 0 or rate >= 1 then
    raise("dropout: rate expected a number in [0, 1), got " .. tostring(rate))
  end
  if training == false or rate == 0 then return x end
  local cache = {}
  local y = core.nn.dropout_forward(x, rate, cache, false)
  return record(y, "dropout", {x}, function(_, gy) return core.nn.dropout_backward(gy, cache) end)
end

-- A loss value as a tensor: 0-d, tracked when pred is.
local function loss_result(who, v, g, pred)
  local out = core.tensor.tensor(v)
  return record(out, who, {pred}, function(_, gy) return core.tensor.raw.mul(g, gy:item()) end)
end

--- F.cross_entropy(logits, target) -> mean softmax cross-entropy (0-d tensor).
--- target: class ids 0..K-1 (as the Keras losses) or one-hot / probability rows.
function F.cross_entropy(logits, target)
  check_tensor("cross_entropy", "logits", logits)
  check_tensor("cross_entropy", "target", target)
  if logits:dim() ~= 2 then
    raise(string.format("cross_entropy: expected N x K logits, got %d dimensions", logits:dim()))
  end
  local p = core.tensor.raw.softmax(logits, 2)
  local v, g = core.nn.softmax_xent(p, target, true)
  return loss_result("cross_entropy", v, g, logits)
end

--- F.binary_cross_entropy_with_logits(logits, target) -> mean sigmoid cross-entropy.
function F.binary_cross_entropy_with_logits(logits, target)
  check_tensor("binary_cross_entropy_with_logits", "logits", logits)
  check_tensor("binary_cross_entropy_with_logits", "target", target)
  local p = core.tensor.raw.sigmoid(logits)
  local v, g = core.nn.sigmoid_xent(p, target, true)
  return loss_result("binary_cross_entropy_with_logits", v, g, logits)
end

--- F.loss(name, pred, target): any Keras loss by name ("mse", "mae",
--- "binary_crossentropy", "categorical_crossentropy",
--- "sparse_categorical_crossentropy") as a 0-d tensor.
function F.loss(name, pred, target)
  check_tensor(tostring(name), "pred", pred)
  check_tensor(tostring(name), "target", target)
  local L = require("ml.nn.losses").get(name, "loss")
  local v, g = L.forward_backward(pred, target)
  return loss_result(L.name, v, g, pred)
end

--- F.mse(pred, target) -> mean squared error (0-d tensor).
function F.mse(pred, target) return F.loss("mse", pred, target) end
--- F.mae(pred, target) -> mean absolute error (0-d tensor).
function F.mae(pred, target) return F.loss("mae", pred, target) end

-- activations, for symmetry with torch.nn.functional (the tensor methods)
for _, name in ipairs{"relu", "sigmoid", "tanh", "softmax", "log_softmax"} do
  F[name] = function(x, ...) return x[name](x, ...) end
end

return F
