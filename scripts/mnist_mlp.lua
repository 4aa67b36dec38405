-- A multilayer perceptron on MNIST: 784-256-128-10 with ReLU and dropout,
-- Adam, sparse categorical cross-entropy on the digit labels 0..9.
--   mlrun scripts/mnist_mlp.lua [--data DIR] [--epochs N]
local ml = require "ml"
local nn = ml.nn

local opts = {data = nil, epochs = 5, ["batch-size"] = 128}
for i = 1, #arg, 2 do
  local k = arg[i]:match("^%-%-(.+)$")
  if not k or opts[k] == nil and k ~= "data" then
    error("usage: mnist_mlp.lua [--data DIR] [--epochs N] [--batch-size N]", 0)
  end
  opts[k] = k == "data" and arg[i + 1] or tonumber(arg[i + 1])
end
ml.seed(1)

local x_train, y_train, x_test, y_test = ml.datasets.mnist(opts.data)
print(string.format("MNIST: %d training and %d test digits", x_train.shape[1], x_test.shape[1]))

local model = nn.Sequential{
  nn.Input{28, 28, 1},
  nn.Flatten(),
  nn.Dense(256, {activation = "relu"}),
  nn.Dropout(0.2),
  nn.Dense(128, {activation = "relu"}),
  nn.Dropout(0.2),
  nn.Dense(10, {activation = "softmax"}),
}
model:summary()
model:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
model:fit(x_train, y_train, {epochs = opts.epochs, batch_size = opts["batch-size"],
  validation_split = 0.1})
local loss, acc = model:evaluate(x_test, y_test)
print(string.format("test loss %.4f, test accuracy %.2f%%", loss, 100 * acc))
