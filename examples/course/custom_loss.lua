-- A loss written as a Lua function of tensors, given to compile{loss = fn}:
-- the pinball (quantile) loss, which Keras does not ship. Autograd derives
-- its gradient. Trained on Fisher's iris flowers (data/classic/iris.csv), a
-- small network predicts the 10th and the 90th percentile of petal width
-- for a given petal length: a band that should hold about 80% of the
-- flowers, which the script checks.
--   mlrun examples/course/custom_loss.lua [--quick]
local ml = require "ml"
local nn = ml.nn
local epochs = arg[1] == "--quick" and 250 or 400
ml.seed(11)

-- pinball loss for quantile q: mean of max(q * e, (q - 1) * e), e = y - pred
local function pinball(q)
  return function(pred, y)
    local e = y - pred
    return ml.maximum(e * q, e * (q - 1)):mean()
  end
end

local X = ml.datasets.load_iris()
local x = X:narrow(2, 3, 1):contiguous()   -- petal length (cm)
local y = X:narrow(2, 4, 1):contiguous()   -- petal width (cm)
local xs = (x - x:mean()) / x:std()

local function quantile_model(q)
  local m = nn.Sequential{nn.Input{1}, nn.Dense(16, {activation = "tanh"}), nn.Dense(1)}
  m:compile{optimizer = ml.optim.Adam{lr = 0.01}, loss = pinball(q)}
  local h = m:fit(xs, y, {epochs = epochs, batch_size = 32, verbose = 0})
  print(string.format("q = %.1f: pinball loss %.4f -> %.4f", q, h.loss[1], h.loss[#h.loss]))
  return m
end

local m_lo, m_hi = quantile_model(0.1), quantile_model(0.9)
local lo, hi = m_lo:predict(xs), m_hi:predict(xs)
-- iris widths are measured to 0.1 cm, so many flowers sit exactly on a line:
-- a q-quantile line has at most q of them strictly below and at least q on
-- or below it
local function check(name, line, q)
  local lt, le = y:lt(line):float():mean(), y:le(line):float():mean()
  print(string.format("%s: %.2f of the flowers below, %.2f on or below (target %.1f)", name, lt,
    le, q))
  if lt > q + 0.05 or le < q - 0.05 then
    error(string.format("the %s line does not split the flowers at %.1f", name, q))
  end
end
check("10th percentile", lo, 0.1)
check("90th percentile", hi, 0.9)
for _, len in ipairs{1.5, 4.5, 6} do
  local z = ml.tensor{{(len - x:mean()) / x:std()}}
  print(string.format("petal length %.1f cm: width between %.2f and %.2f cm (80%% band)", len,
    m_lo:predict(z):item(), m_hi:predict(z):item()))
end
