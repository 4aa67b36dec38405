-- ml.nn.losses: Keras's losses over the C kernels of runtime/nn/loss.c:
-- mse, mae, huber (delta 1), hinge (targets -1/1 or 0/1), kl_divergence,
-- binary/categorical/sparse_categorical cross-entropy.
-- Each loss has forward(pred, target) -> number (the mean Keras reports)
-- and backward(pred, target) -> gradient w.r.t. pred. Cross-entropies take
-- class ids 0..K-1 (any dtype) or one-hot rows; the fused paths
-- softmax_cross_entropy / sigmoid_cross_entropy give the gradient w.r.t. the
-- logits from the activation's output, (p - y) / N.
local ml = require "ml"
local core = require "ml.core"
local raise = require("ml.errors").raise

local M = {}

M.names = {"binary_crossentropy", "categorical_crossentropy", "hinge", "huber", "kl_divergence",
           "mae", "mse", "sparse_categorical_crossentropy"}

local aliases = {mean_squared_error = "mse", mean_absolute_error = "mae", kld = "kl_divergence",
  kullback_leibler_divergence = "kl_divergence"}

local function make(name)
  local loss = {name = name}
  function loss.forward(pred, target)
    return (core.nn.loss(name, pred, target, false))
  end
  function loss.backward(pred, target)
    local _, g = core.nn.loss(name, pred, target, true)
    return g
  end
  --- value and gradient in one pass
  function loss.forward_backward(pred, target)
    return core.nn.loss(name, pred, target, true)
  end
  return setmetatable(loss, {
    __call = function(_, pred, target) return loss.forward(pred, target) end,
    __tostring = function() return "loss " .. name end,
  })
end

for _, n in ipairs(M.names) do M[n] = make(n) end
for a, n in pairs(aliases) do M[a] = M[n] end

--- Fused softmax + categorical cross-entropy. p: the softmax output (N x K),
--- target: class ids or one-hot rows. Returns the loss and the gradient
--- w.r.t. the logits, (p - y) / N.
function M.softmax_cross_entropy(p, target)
  return core.nn.softmax_xent(p, target, true)
end

--- Fused sigmoid + binary cross-entropy: loss and (p - y) / numel w.r.t. the logits.
function M.sigmoid_cross_entropy(p, target)
  return core.nn.sigmoid_xent(p, target, true)
end

--- Which fused path applies to a loss after an activation, if any:
--- "softmax" for (sparse_)categorical_crossentropy after softmax,
--- "sigmoid" for binary_crossentropy after sigmoid, else nil.
function M.fused_with(loss_name, activation)
  if activation == "softmax" and (loss_name == "categorical_crossentropy" or
      loss_name == "sparse_categorical_crossentropy") then
    return "softmax"
  end
  if activation == "sigmoid" and loss_name == "binary_crossentropy" then return "sigmoid" end
  return nil
end

--- A loss by name (Keras names and mean_squared_error / mean_absolute_error)
--- or a table with forward/backward, returned as is.
function M.get(spec, who)
  if type(spec) == "table" and spec.forward and spec.backward then return spec end
  if type(spec) == "string" and M[spec] and type(M[spec]) == "table" and M[spec].forward then
    return M[spec]
  end
  raise(string.format("%s: unknown loss %s (expected one of: %s)", who or "loss",
    type(spec) == "string" and ("'" .. spec .. "'") or type(spec), table.concat(M.names, ", ")))
end

return M
