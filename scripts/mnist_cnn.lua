-- The Keras MNIST CNN: two 3x3 convolutions, max pooling, dropout, a dense
-- layer of 128 and a softmax over the ten digits; Adam; 5 epochs.
--   mlrun scripts/mnist_cnn.lua [--data DIR] [--epochs N] [--out DIR]
-- DIR holds the four MNIST IDX files (default: the shipped 8,000/2,000 subset
-- data/mnist-10k; the full set of 70,000: --data DIR with the four IDX files).
-- Writes the training curves to OUT/mnist_cnn_curves.svg and the model to
-- OUT/mnist_cnn.mlm.
local ml = require "ml"
local nn = ml.nn

local opts = {epochs = 5, ["batch-size"] = 128, out = "out"}
for i = 1, #arg, 2 do
  local k = arg[i]:match("^%-%-(.+)$")
  if not k or (opts[k] == nil and k ~= "data") or arg[i + 1] == nil then
    error("usage: mnist_cnn.lua [--data DIR] [--epochs N] [--batch-size N] [--out DIR]", 0)
  end
  opts[k] = (k == "data" or k == "out") and arg[i + 1] or tonumber(arg[i + 1])
end
ml.seed(1)

local x_train, y_train, x_test, y_test = ml.datasets.mnist(opts.data)
print(string.format("MNIST: %d training and %d test digits", x_train.shape[1], x_test.shape[1]))

local model = nn.Sequential{
  nn.Input{28, 28, 1},
  nn.Conv2D(32, 3, {activation = "relu"}),
  nn.Conv2D(64, 3, {activation = "relu"}),
  nn.MaxPooling2D(2),
  nn.Dropout(0.25),
  nn.Flatten(),
  nn.Dense(128, {activation = "relu"}),
  nn.Dropout(0.5),
  nn.Dense(10, {activation = "softmax"}),
}
model:summary()
model:compile{optimizer = ml.optim.Adam{lr = 1e-3}, loss = "sparse_categorical_crossentropy",
  metrics = {"accuracy"}}

local t0 = ml.parallel.now()
local history = model:fit(x_train, y_train, {epochs = opts.epochs, batch_size = opts["batch-size"],
  validation_data = {x_test, y_test}})
local dt = ml.parallel.now() - t0

local loss, acc = model:evaluate(x_test, y_test, {batch_size = 500})
print(string.format("test loss %.4f, test accuracy %.2f%% (%.1f s of training, %.1f s per epoch)",
  loss, 100 * acc, dt, dt / #history.loss))

os.execute(string.format("mkdir -p '%s'", opts.out))
model:save(opts.out .. "/mnist_cnn.mlm")
print("wrote " .. opts.out .. "/mnist_cnn.mlm")
if pcall(require, "ml.plot") then
  ml.plot.history(history, opts.out .. "/mnist_cnn_curves.svg")
  print("wrote " .. opts.out .. "/mnist_cnn_curves.svg")
else
  print("ml.plot is not part of this build: no training curves written")
end
