-- Run by tests/spec/dist_spec.lua under `mpirun -np 2`: data-parallel fit.
-- After every step, the ranks compare a checksum of all their weights.
local nn = ml.nn
ml.seed(3)
local x = ml.rand(200, 6)
local w = ml.randn(6, 1)
local y = x:matmul(w):gt(x:matmul(w):mean()):reshape(200)   -- a learnable rule
local model = nn.Sequential{nn.Input{6}, nn.Dense(16, {activation = "relu"}), nn.Dropout(0.1),
  nn.Dense(2, {activation = "softmax"})}
if ml.dist.rank() == 1 then ml.seed(99) end   -- different init: fit must sync from rank 0
model:compile{optimizer = ml.optim.Adam{lr = 0.02}, loss = "sparse_categorical_crossentropy",
  metrics = {"accuracy"}}
local steps, mismatches = 0, 0
local checker = {on_batch_end = function()
  steps = steps + 1
  local c = 0
  for _, p in ipairs(model:parameters(true)) do c = c + p:sum() + p:abs():sum() * 1e-3 end
  local hi = ml.dist.allreduce_numbers({c}, "max")[1]
  local lo = ml.dist.allreduce_numbers({c}, "min")[1]
  if hi ~= lo then mismatches = mismatches + 1 end
end}
local h = model:fit(x, y, {epochs = 8, batch_size = 25, verbose = 0, validation_split = 0.2,
  distributed = true, callbacks = {checker}})
print(("rank %d: steps %d mismatches %d val_accuracy %.3f loss %.4f"):format(ml.dist.rank(),
  steps, mismatches, h.val_accuracy[#h.val_accuracy], h.loss[#h.loss]))
