-- lenet.lua - LeNet-5 (LeCun et al., 1998) in Keras form on MNIST: two
-- 5x5 convolutions with average pooling, then 120-84-10 dense layers, tanh
-- throughout as in the paper, softmax out. Prints the summary (61,706
-- parameters) and trains on the shipped 8,000-digit subset.
--   mlrun examples/course/lenet.lua [--quick]
local ml = require "ml"
local nn = ml.nn
local quick = arg[1] == "--quick"
ml.seed(1)
local x_train, y_train, x_test, y_test = ml.datasets.mnist()   -- pixels already in [0, 1]
if quick then x_train, y_train = x_train:narrow(1, 1, 4000), y_train:narrow(1, 1, 4000) end

local model = nn.Sequential{
  nn.Input{28, 28, 1},
  nn.Conv2D(6, 5, {padding = "same", activation = "tanh"}),   -- 28x28x6
  nn.AveragePooling2D(2),                                       -- 14x14x6
  nn.Conv2D(16, 5, {activation = "tanh"}),                      -- 10x10x16
  nn.AveragePooling2D(2),                                       -- 5x5x16
  nn.Flatten(),
  nn.Dense(120, {activation = "tanh"}),
  nn.Dense(84, {activation = "tanh"}),
  nn.Dense(10, {activation = "softmax"}),
}
model:summary()
assert(model:count_params() == 61706, "LeNet-5 has 61,706 parameters")
model:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"accuracy"}}
model:fit(x_train, y_train, {epochs = quick and 1 or 5, batch_size = 128, verbose = quick and 0 or 1})
local loss, acc = model:evaluate(x_test, y_test)
print(string.format("test accuracy %.2f%% (loss %.4f)", 100 * acc, loss))
assert(acc > (quick and 0.70 or 0.95), "LeNet-5 should recognise the digits")
