-- bias_variance.lua - under- and over-fitting: polynomials of degree 1..12
-- fitted to 20 noisy points of a sine; training error falls with the degree
-- while the error on fresh points first falls, then rises again.
--   mlrun examples/course/bias_variance.lua
local ml = require "ml"
ml.seed(0)
local function sample(m)
  local x = ml.rand(m, 1) * 2 - 1                            -- in [-1, 1]
  return x, (x * math.pi):sin() + ml.randn(m, 1) * 0.2
end
local x_tr, y_tr = sample(20)
local x_te, y_te = sample(500)
local function powers(x, d)
  local cols = {}
  for p = 1, d do cols[p] = x ^ p end
  return ml.cat(cols, 2)
end
print("degree  train MSE  test MSE")
local best, best_d, errs = math.huge, 0, {}
for d = 1, 12 do
  local m = ml.LinearRegression():fit(powers(x_tr, d), y_tr)
  local tr = ml.metrics.mean_squared_error(y_tr, m:predict(powers(x_tr, d)))
  local te = ml.metrics.mean_squared_error(y_te, m:predict(powers(x_te, d)))
  errs[d] = te
  if te < best then best, best_d = te, d end
  print(string.format("%6d  %9.4f  %8.4f%s", d, tr, te, d == 1 and "   <- high bias" or ""))
end
print(string.format("best degree on fresh points: %d; degree 12 test MSE is %.1fx the best",
  best_d, errs[12] / best))
assert(best_d > 1 and best_d < 12 and errs[1] > best and errs[12] > best,
  "the test error has a minimum between the extremes")
