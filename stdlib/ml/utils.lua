-- ml.utils: small helpers in Keras's keras.utils spirit.
local ml = require "ml"
local raise = require("ml.errors").raise

local M = {}

local is_tensor = ml.is_tensor

--- ml.utils.to_categorical(y [, num_classes]) -> N x K float32 one-hot rows.
--- y: class ids 0..K-1 (a 1-D tensor of any dtype, an N x 1 tensor, or a Lua
--- list). num_classes defaults to max(y) + 1.
function M.to_categorical(y, num_classes)
  if type(y) == "table" and not is_tensor(y) then y = ml.tensor(y) end
  if not is_tensor(y) then
    raise("to_categorical: expected a tensor or a list of class ids, got " .. type(y))
  end
  if y:dim() == 2 and y.shape[2] == 1 then y = y:reshape(-1) end
  if y:dim() ~= 1 then
    raise("to_categorical: expected a 1-D tensor of class ids, got shape " ..
      table.concat(y.shape, "x"))
  end
  local n = y.shape[1]
  local yf = y.dtype == "float32" and y or ml.tensor(y, "float32")
  if n > 0 and (yf - yf:floor()):abs():max() ~= 0 then
    raise("to_categorical: class ids must be whole numbers")
  end
  local lo = n > 0 and yf:min() or 0
  local hi = n > 0 and yf:max() or -1
  if num_classes == nil then num_classes = math.tointeger(hi + 1) or 0 end
  if math.type(num_classes) ~= "integer" and not (type(num_classes) == "number" and
      num_classes == math.floor(num_classes)) then
    raise("to_categorical: num_classes must be an integer, got " .. tostring(num_classes))
  end
  num_classes = math.tointeger(num_classes)
  if num_classes < 1 then raise("to_categorical: num_classes must be >= 1, got " .. num_classes) end
  if lo < 0 or hi >= num_classes then
    raise(string.format("to_categorical: class ids must be in 0..%d, got values in %g..%g",
      num_classes - 1, lo, hi))
  end
  if n == 0 then return ml.zeros(0, num_classes) end
  return yf:reshape(n, 1):eq(ml.arange(0, num_classes):reshape(1, num_classes))
end

return M
