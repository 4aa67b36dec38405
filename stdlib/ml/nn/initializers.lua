-- ml.nn.initializers: Keras's weight initializers by name or as functions.
-- All draw from the engine RNG, so ml.seed(n) fixes the weights.
local ml = require "ml"
local core = require "ml.core"
local raise = require("ml.errors").raise

local M = {}

M.names = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
           "lecun_normal", "zeros", "ones"}

--- Keras's fans of a weight shape: {in, out}; kernels KH x KW x CIN x COUT
--- count the receptive field in both.
function M.fans(shape)
  local n = #shape
  if n == 0 then return 1, 1 end
  if n == 1 then return shape[1], shape[1] end
  if n == 2 then return shape[1], shape[2] end
  local receptive = 1
  for i = 1, n - 2 do receptive = receptive * shape[i] end
  return shape[n - 1] * receptive, shape[n] * receptive
end

local function by_name(name)
  return function(shape)
    local t = ml.empty(shape)
    local fan_in, fan_out = M.fans(shape)
    return core.nn.init(t, name, fan_in, fan_out)
  end
end

for _, name in ipairs(M.names) do M[name] = by_name(name) end

--- A truncated normal initializer (Keras TruncatedNormal) with standard deviation sd.
function M.truncated_normal(sd)
  return function(shape) return core.nn.truncated_normal(ml.empty(shape), sd or 0.05) end
end

--- Resolves a name or a function(shape) -> tensor into an initializer;
--- errors name `who` and list the known names.
function M.get(spec, who)
  if type(spec) == "function" then
    return function(shape)
      local t = spec(shape)
      if not ml.is_tensor(t) then
        raise(string.format("%s: initializer function must return a tensor, got %s",
          who or "initializer", type(t)))
      end
      local ok = #t.shape == #shape
      for i = 1, #shape do ok = ok and t.shape[i] == shape[i] end
      if not ok then
        raise(string.format("%s: initializer returned shape %s, expected %s", who or "initializer",
          table.concat(t.shape, "x"), table.concat(shape, "x")))
      end
      return t:float():contiguous()
    end
  end
  if type(spec) == "string" and rawget(M, spec) and spec ~= "get" and spec ~= "fans"
      and spec ~= "names" and spec ~= "truncated_normal" then
    return M[spec]
  end
  local names = {}
  for i, n in ipairs(M.names) do names[i] = n end
  table.sort(names)
  raise(string.format("%s: unknown initializer %s (expected one of: %s, or a function)",
    who or "initializer", type(spec) == "string" and ("'" .. spec .. "'") or type(spec),
    table.concat(names, ", ")))
end

return M
