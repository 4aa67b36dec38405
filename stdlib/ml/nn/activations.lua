-- ml.nn.activations: relu, leaky_relu, elu, selu, softplus, swish (= silu),
-- gelu, sigmoid, tanh, softmax, linear, as functions on tensors (softmax over
-- the last dimension) with their derivatives, over the C kernels of
-- runtime/nn/activation.c. Derivatives come from the output, except for
-- swish and gelu (not invertible), whose backward takes the input:
-- M.needs_input[name].
local ml = require "ml"
local core = require "ml.core"
local raise = require("ml.errors").raise

local M = {}

M.names = {"elu", "gelu", "leaky_relu", "linear", "relu", "selu", "sigmoid", "silu", "softmax",
  "softplus", "swish", "tanh"}
M.needs_input = {swish = true, silu = true, gelu = true}
local known = {}
for _, n in ipairs(M.names) do known[n] = true end

--- Default alpha of the parameterised ones (Keras: LeakyReLU 0.3, ELU 1.0).
M.default_alpha = {leaky_relu = 0.3, elu = 1.0}

--- Checks an activation name (nil means linear) and returns it; errors
--- name `who` and list the known names.
function M.check(name, who)
  if name == nil then return nil end
  if type(name) == "string" and known[name] then return name end
  raise(string.format("%s: unknown activation %s (expected one of: %s)", who or "activation",
    type(name) == "string" and ("'" .. name .. "'") or type(name), table.concat(M.names, ", ")))
end

--- y = f(x) (a new tensor).
function M.forward(name, x, alpha)
  return core.nn.act_forward(x, M.check(name), alpha)
end

--- gx = gy * f'(x), computed from y = f(x) (from x itself for swish, silu
--- and gelu: M.needs_input).
function M.backward(name, y, gy, alpha)
  return core.nn.act_backward(y, gy, M.check(name), alpha)
end

for _, n in ipairs(M.names) do
  M[n] = function(x, alpha) return core.nn.act_forward(x, n, alpha) end
end

return M
