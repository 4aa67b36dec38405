-- A tiny Dense layer written with tensor operations, following the layer
-- protocol of HELPERS.md: the test double nn_model_spec uses to exercise the
-- containers and the training loop independently of the C layers.
local ml = require "ml"
local base = require "ml.base"

local D = base.class("LuaDense")
D._module = "test.nn_double"
local count = 0
function D:init(units, opts)
  opts = opts or {}
  self.units, self.activation = units, opts.activation
  count = count + 1
  self.name = opts.name or ("lua_dense_" .. count)
  self.trainable, self.built = true, false
end
function D.from_config(cls, c) return cls(c.units, {activation = c.activation}) end
function D:build(s)
  local fan_in = s[#s]
  local lim = math.sqrt(6 / (fan_in + self.units))
  self.W = (ml.rand(fan_in, self.units) * 2 - 1) * lim
  self.b = ml.zeros(self.units)
  self.gW, self.gb = ml.zeros(fan_in, self.units), ml.zeros(self.units)
  self.built = true
end
function D:output_shape(s) return {self.units} end
function D:forward(x, training)
  local z = x:matmul(self.W) + self.b
  local a = self.activation
  if a == "relu" then z = z:relu()
  elseif a == "sigmoid" then z = z:sigmoid()
  elseif a == "tanh" then z = z:tanh()
  elseif a == "softmax" then z = z:softmax(2) end
  self.y = z
  return z
end
function D:backward(x, gy, pre)
  local a, y = self.activation, self.y
  local gz = gy
  if not pre then
    if a == "relu" then gz = gy * y:gt(0)
    elseif a == "sigmoid" then gz = gy * y * (1 - y)
    elseif a == "tanh" then gz = gy * (1 - y * y)
    elseif a == "softmax" then
      local s = (gy * y):sum(2)
      gz = y * (gy - s)
    end
  end
  self.gW:copy_(x:t():matmul(gz))
  self.gb:copy_(gz:sum(1))
  return gz:matmul(self.W:t())
end
function D:parameters() return {self.W, self.b}, {self.gW, self.gb} end
function D:get_weights() return {self.W:clone(), self.b:clone()} end
function D:set_weights(w) self.W:copy_(w[1]); self.b:copy_(w[2]) end
function D:get_config() return {units = self.units, activation = self.activation} end
function D:count_params() return self.W:numel() + self.b:numel() end
D.__call = function(...) return require("ml.nn.model").call_layer(...) end
return D
