-- Linear regression y = w x + b by gradient descent, written the way the
-- PyTorch course writes it: tensors that require grad, a loss built from
-- tensor operations, loss:backward(), then an update of w and b. On a real
-- table: Fisher's iris flowers (data/classic/iris.csv), petal width (cm)
-- predicted from petal length (cm), two measurements that grow together.
-- The fitted line must agree with the closed-form least-squares solution
-- (ml.LinearRegression); the script fails otherwise.
--   mlrun scripts/linreg_autograd.lua
local ml = require "ml"

local X = ml.datasets.load_iris()
local x = X:narrow(2, 3, 1):contiguous()   -- petal length, 150 x 1
local y = X:narrow(2, 4, 1):contiguous()   -- petal width, 150 x 1
local lr, epochs = 0.05, 1000

-- 1. By hand: the update runs under ml.no_grad (it must not be recorded),
--    and the gradients are cleared before the next backward.
local w = ml.zeros(1, 1):requires_grad_()
local b = ml.zeros(1):requires_grad_()
for epoch = 1, epochs do
  local pred = x:matmul(w) + b
  local loss = ((pred - y) ^ 2):mean()
  loss:backward()
  do
    local _ <close> = ml.no_grad()   -- the <close> form of ml.no_grad(function() ... end)
    w:sub_(w.grad * lr)
    b:sub_(b.grad * lr)
  end
  w.grad, b.grad = nil, nil
  if epoch % 250 == 0 then
    print(string.format("epoch %4d  loss %.5f  w %.4f  b %.4f", epoch, loss:item(), w:item(),
      b:item()))
  end
end

-- 2. The same loop with an optimizer, as torch.optim.SGD(params, lr).
local w2 = ml.zeros(1, 1):requires_grad_()
local b2 = ml.zeros(1):requires_grad_()
local opt = ml.optim.SGD{params = {w2, b2}, lr = lr}
local loss
for _ = 1, epochs do
  opt:zero_grad()
  loss = ((x:matmul(w2) + b2 - y) ^ 2):mean()
  loss:backward()
  opt:step()
end
print(string.format("optimizer: loss %.5f  w %.4f  b %.4f", loss:item(), w2:item(), b2:item()))

-- 3. The closed-form answer.
local ref = ml.LinearRegression()
ref:fit(x, y:reshape(-1))
local rw, rb = ref.coef_[1], ref.intercept_
print(string.format("least squares:          w %.4f  b %.4f", rw, rb))
for _, p in ipairs{{w:item(), b:item()}, {w2:item(), b2:item()}} do
  if math.abs(p[1] - rw) > 5e-3 or math.abs(p[2] - rb) > 2e-2 then
    error(string.format("gradient descent ended at w %.4f, b %.4f, least squares says %.4f, %.4f",
      p[1], p[2], rw, rb))
  end
end
print(string.format("petal width = %.3f * petal length %+.3f (cm)", w:item(), b:item()))
