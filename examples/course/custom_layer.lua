-- A Keras-style custom layer, defined by its forward pass only, trained by
-- model:fit next to built-in layers: a gated linear unit (Dauphin et al.,
-- 2017), out = (x W + b) * sigmoid(x V + c), on Fisher's iris flowers
-- (data/classic/iris.csv; species from the four measurements). Autograd
-- derives the layer's backward. The model is then saved and loaded again:
-- the file names the class "GLU", never code, so the loading program
-- registers the class first (ml.nn.register).
--   mlrun examples/course/custom_layer.lua [--quick]
local ml = require "ml"
local nn = ml.nn
local epochs = arg[1] == "--quick" and 30 or 60
ml.seed(7)

local GLU = nn.Layer:extend("GLU")

function GLU:build(input_shape)
  local d = input_shape[#input_shape]
  self.w = self:add_weight{shape = {d, self.units}}                  -- glorot_uniform
  self.b = self:add_weight{shape = {self.units}, initializer = "zeros"}
  self.v = self:add_weight{shape = {d, self.units}}
  self.c = self:add_weight{shape = {self.units}, initializer = "zeros"}
end

function GLU:call(x)
  return (x:matmul(self.w) + self.b) * (x:matmul(self.v) + self.c):sigmoid()
end

local X, species = ml.datasets.load_iris()
local n = X.shape[1]
local perm = ml.randperm(n)
local n_train = 110
local tr, te = perm:narrow(1, 1, n_train), perm:narrow(1, n_train + 1, n - n_train)
local mean, sd = X:index_select(1, tr):mean(1), X:index_select(1, tr):std(1)
local x_train = (X:index_select(1, tr) - mean) / sd
local x_test = (X:index_select(1, te) - mean) / sd
local y_train, y_test = species:index_select(1, tr), species:index_select(1, te)

local model = nn.Sequential{
  nn.Input{4},
  GLU{units = 16},                        -- config: self.units, saved with the model
  nn.Dense(3, {activation = "softmax"}),
}
model:compile{optimizer = ml.optim.Adam{lr = 0.02}, loss = "sparse_categorical_crossentropy",
  metrics = {"accuracy"}}
model:summary()
model:fit(x_train, y_train, {epochs = epochs, batch_size = 16, verbose = 0})
local loss, acc = model:evaluate(x_test, y_test)
print(string.format("test loss %.4f, accuracy %.3f on %d flowers", loss, acc, n - n_train))
if acc < 0.85 then error(string.format("the GLU network reached only %.3f accuracy", acc)) end

local path = os.tmpname()
model:save(path)
nn.register(GLU)                          -- what a program loading the file does first
local again = ml.load(path)
os.remove(path)
local same = again:predict(x_test):allclose(model:predict(x_test), 1e-5, 1e-6)
print("loaded model predicts the same: " .. tostring(same))
if not same then error("the loaded model predicts differently") end
