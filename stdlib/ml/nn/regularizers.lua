-- ml.nn.regularizers: Keras's weight penalties, ml.nn.l2(1e-4),
-- ml.nn.l1(1e-5), ml.nn.l1_l2{l1 = 1e-5, l2 = 1e-4}, given to Dense and
-- Conv2D as kernel_regularizer / bias_regularizer. The penalty
-- (l1 * sum |w| + l2 * sum w^2) is added to the training loss and its
-- gradient (l1 * sign(w) + 2 * l2 * w) to the weight's gradient after
-- each backward pass, as Keras does.
local ml = require "ml"
local raise = require("ml.errors").raise

local M = {}

local Reg = {}
Reg.__index = Reg
Reg.__name = "Regularizer"

local function make(l1, l2)
  return setmetatable({l1 = l1, l2 = l2, __regularizer = "l1_l2"}, Reg)
end

local function factor(who, v)
  if v == nil then return 0 end
  if type(v) ~= "number" or v < 0 or v ~= v then
    raise(string.format("%s: expected a factor >= 0, got %s", who, tostring(v)))
  end
  return v
end

--- ml.nn.l2([factor = 0.01]) (Keras's default factor)
function M.l2(l2) return make(0, factor("l2", l2 == nil and 0.01 or l2)) end
--- ml.nn.l1([factor = 0.01])
function M.l1(l1) return make(factor("l1", l1 == nil and 0.01 or l1), 0) end
--- ml.nn.l1_l2{l1 = 0, l2 = 0} (Keras's defaults 0.01 each when called with no table)
function M.l1_l2(opts)
  if opts == nil then return make(0.01, 0.01) end
  local o = require("ml.base").options("l1_l2", opts, {{"l1", 0, "number"}, {"l2", 0, "number"}})
  return make(factor("l1_l2", o.l1), factor("l1_l2", o.l2))
end

--- The penalty of weight tensor w (a number).
function Reg:loss(w)
  local r = 0
  if self.l1 > 0 then r = r + self.l1 * w:abs():sum() end
  if self.l2 > 0 then r = r + self.l2 * w:square():sum() end
  return r
end

--- grad += d penalty / d w, using buf (w's shape) as scratch: no allocation.
function Reg:add_grad(w, grad, buf)
  if self.l2 > 0 then grad:add_(buf:copy_(w):mul_(2 * self.l2)) end
  if self.l1 > 0 then grad:add_(buf:copy_(w):sign_():mul_(self.l1)) end
end

function Reg:__tostring() return string.format("Regularizer(l1=%g, l2=%g)", self.l1, self.l2) end

--- A regularizer from a layer option (nil stays nil); errors name `who`.
function M.get(v, who)
  if v == nil then return nil end
  if getmetatable(v) == Reg then return v end
  if type(v) == "table" and type(v.loss) == "function" and type(v.add_grad) == "function" then
    return v   -- a user-made regularizer with the same two methods
  end
  raise(string.format("%s: expected a regularizer (ml.nn.l2(1e-4), ml.nn.l1(...), " ..
    "ml.nn.l1_l2{...}), got %s", who, type(v)))
end

--- Saved form: {l1 =, l2 =} (nil for none or a user-made one). Recognised
--- by its fields, not its metatable: a second copy of this module (busted
--- reloads modules per spec file) must save the first one's regularizers.
function M.config(r)
  if type(r) ~= "table" or r.__regularizer ~= "l1_l2" then return nil end
  return {l1 = r.l1, l2 = r.l2}
end
function M.from_config(c)
  if c == nil then return nil end
  return make(c.l1 or 0, c.l2 or 0)
end

local _ = ml
return M
