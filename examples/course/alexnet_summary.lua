-- alexnet_summary.lua - AlexNet (Krizhevsky et al., 2012) as the Keras
-- tutorials build it, for 227x227x3 images and 1,000 classes: five
-- convolutions (11x11 stride 4, 5x5, three 3x3), three max poolings, two
-- dense layers of 4,096 with dropout. Prints the summary: 62,378,344
-- parameters, 58.6 million of them in the dense layers.
--   mlrun examples/course/alexnet_summary.lua
local ml = require "ml"
local nn = ml.nn
local model = nn.Sequential{
  nn.Input{227, 227, 3},
  nn.Conv2D(96, 11, {strides = 4, activation = "relu"}),          -- 55x55x96
  nn.MaxPooling2D(3, {strides = 2}),                                -- 27x27x96
  nn.Conv2D(256, 5, {padding = "same", activation = "relu"}),      -- 27x27x256
  nn.MaxPooling2D(3, {strides = 2}),                                -- 13x13x256
  nn.Conv2D(384, 3, {padding = "same", activation = "relu"}),
  nn.Conv2D(384, 3, {padding = "same", activation = "relu"}),
  nn.Conv2D(256, 3, {padding = "same", activation = "relu"}),
  nn.MaxPooling2D(3, {strides = 2}),                                -- 6x6x256
  nn.Flatten(),
  nn.Dense(4096, {activation = "relu"}), nn.Dropout(0.5),
  nn.Dense(4096, {activation = "relu"}), nn.Dropout(0.5),
  nn.Dense(1000, {activation = "softmax"}),
}
model:summary()
local total, dense = model:count_params(), 0
for _, l in ipairs(model.layers) do
  if l.__name == "Dense" then dense = dense + l:count_params() end
end
print(string.format("%.1f%% of the parameters are in the dense layers", 100 * dense / total))
assert(total == 62378344, "AlexNet has 62,378,344 parameters")
