-- ml.nn: layers (ml.nn.layers), losses, activations, initializers, and the
-- containers Sequential / Model / Input (ml.nn.model, which inherits compile /
-- fit / evaluate / predict from ml.nn.trainer). Names load lazily.
local nn = {}

local where = {
  -- containers and graph nodes
  Sequential = "ml.nn.model", Model = "ml.nn.model", Input = "ml.nn.model",
  -- layers
  Dense = "ml.nn.layers", Conv2D = "ml.nn.layers", MaxPooling2D = "ml.nn.layers",
  AveragePooling2D = "ml.nn.layers", GlobalAveragePooling2D = "ml.nn.layers",
  Flatten = "ml.nn.layers", Reshape = "ml.nn.layers", Dropout = "ml.nn.layers",
  BatchNormalization = "ml.nn.layers", Activation = "ml.nn.layers", Layer = "ml.nn.layers",
  -- weight penalties
  l1 = "ml.nn.regularizers", l2 = "ml.nn.regularizers", l1_l2 = "ml.nn.regularizers",
}
local submodules = {
  layers = "ml.nn.layers", losses = "ml.nn.losses", activations = "ml.nn.activations",
  initializers = "ml.nn.initializers", model = "ml.nn.model", regularizers = "ml.nn.regularizers",
  functional = "ml.nn.functional",
}

--- ml.nn.register(Class) -> Class: lets ml.load rebuild saved models holding
--- layers of a class made with ml.nn.Layer:extend. A saved model names the
--- class only, never code: the loading program defines and registers it
--- (ml.registry, the one list of classes a file may name).
function nn.register(cls)
  if not require("ml.nn.custom").is_custom(cls) then
    error("register: expected a layer class made with ml.nn.Layer:extend, got "
      .. (type(cls) == "table" and tostring(rawget(cls, "__name") or "a table") or type(cls)), 2)
  end
  return require("ml.registry").register(cls, "layer")
end

return setmetatable(nn, {
  __index = function(t, k)
    local mod = submodules[k]
    if mod then
      local m = require(mod)
      rawset(t, k, m)
      return m
    end
    mod = where[k]
    if mod then
      local v = require(mod)[k]
      rawset(t, k, v)
      return v
    end
    return nil
  end,
})
