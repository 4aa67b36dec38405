-- im2col_by_hand.lua - how a convolution becomes one matrix product: every
-- 3x3 patch of a small image unrolled into a row (im2col), the kernels into
-- a matrix, one matmul, reshaped back - and checked against nn.Conv2D, whose
-- C kernel does the same with SGEMM.
--   mlrun examples/course/im2col_by_hand.lua
local ml = require "ml"
local nn = ml.nn
ml.seed(5)
local H, W, C, F, K = 6, 5, 2, 3, 3             -- image 6x5x2, 3 filters of 3x3
local img = ml.randn(1, H, W, C)
local conv = nn.Conv2D(F, K)                     -- 'valid': output 4x3x3
conv:build({H, W, C})
local kernel, bias = conv.kernel, conv.bias      -- K x K x C x F, F

local OH, OW = H - K + 1, W - K + 1
local cols = ml.zeros(OH * OW, K * K * C)        -- one row per output pixel
for i = 1, OH do
  for j = 1, OW do
    local patch = img[1]:narrow(1, i, K):narrow(2, j, K)          -- K x K x C
    cols[(i - 1) * OW + j]:copy_(patch:reshape(-1))
  end
end
print(string.format("im2col: %d patches x %d values; kernel matrix %d x %d",
  OH * OW, K * K * C, K * K * C, F))
local out = (ml.matmul(cols, kernel:reshape(K * K * C, F)) + bias):reshape(1, OH, OW, F)
local ref = conv:forward(img)
local diff = (out - ref):abs():max()
print(string.format("largest difference from nn.Conv2D: %.2e", diff))
assert(diff < 1e-5, "im2col + matmul must equal the convolution")
