-- Regression with a small Dense network and mean squared error on a real
-- table: Fisher's iris measurements (data/classic/iris.csv). The network
-- predicts a flower's petal width from its sepal length, sepal width and
-- petal length. Why this table: the four measurements are real physical
-- quantities of 150 flowers, petal width follows petal length closely but
-- not exactly (and differently per species), so there is real signal to fit
-- and a clear yardstick: the error of always predicting the mean. (Linnerud
-- has 20 rows, too few for a network; the bank table's numeric columns hold
-- no target worth predicting by regression.)
--   mlrun scripts/regression.lua
local ml = require "ml"
local nn = ml.nn
ml.seed(3)

local X, species = ml.datasets.load_iris()
local n = X.shape[1]
local inputs = X:narrow(2, 1, 3):contiguous()        -- sepal length, sepal width, petal length
local target = X:narrow(2, 4, 1):contiguous()        -- petal width (cm), n x 1

-- 80% / 20% split in random order, inputs standardised with training statistics
local perm = ml.randperm(n)
local n_train = math.floor(0.8 * n)
local tr, te = perm:narrow(1, 1, n_train), perm:narrow(1, n_train + 1, n - n_train)
local x_train, y_train = inputs:index_select(1, tr), target:index_select(1, tr)
local x_test, y_test = inputs:index_select(1, te), target:index_select(1, te)
local mean, sd = x_train:mean(1), x_train:std(1)
x_train, x_test = (x_train - mean) / sd, (x_test - mean) / sd

local model = nn.Sequential{
  nn.Input{3},
  nn.Dense(16, {activation = "relu"}),
  nn.Dense(16, {activation = "relu"}),
  nn.Dense(1),
}
model:compile{optimizer = ml.optim.Adam{lr = 0.01}, loss = "mse"}
local history = model:fit(x_train, y_train, {epochs = 150, batch_size = 16, verbose = 0,
  validation_split = 0.1})
print(string.format("training MSE %.4f after %d epochs (validation MSE %.4f)",
  history.loss[#history.loss], #history.loss, history.val_loss[#history.val_loss]))

local pred = model:predict(x_test)
local err = pred - y_test
local mse = (err * err):mean()
local mae = err:abs():mean()
local base = y_test - y_train:mean()
local base_mse = (base * base):mean()
print(string.format("test (%d flowers): RMSE %.3f cm, MAE %.3f cm, R^2 %.3f", n - n_train,
  math.sqrt(mse), mae, 1 - mse / base_mse))
print(string.format("predicting the mean petal width instead: RMSE %.3f cm", math.sqrt(base_mse)))
local rows, truth, guess = te:totable(), y_test:totable(), pred:totable()
for i = 1, 5 do
  print(string.format("  flower %3d: petal width %.1f cm, predicted %.2f cm", rows[i], truth[i][1],
    guess[i][1]))
end
