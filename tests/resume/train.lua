-- Run by tests/spec/resume_spec.lua:
--   mlrun train.lua CKPT OUT [KILL_AFTER_EPOCH]
-- Trains a small CNN with dropout for 4 epochs, checkpointing the full
-- training state every epoch; optionally SIGKILLs itself after an epoch;
-- resumes from CKPT when it exists; saves the final weights to OUT.
local ckpt, out, kill_after = arg[1], arg[2], tonumber(arg[3])
local nn = ml.nn
ml.seed(7)
local x = ml.rand(96, 8, 8, 1)
local s = x:sum(2):sum(2):reshape(96):totable()
local labels = {}
for i, v in ipairs(s) do labels[i] = math.floor(v * 3) % 4 end
local y = ml.tensor(labels)
local model = nn.Sequential{nn.Input{8, 8, 1}, nn.Conv2D(4, 3, {activation = "relu"}),
  nn.MaxPooling2D(2), nn.Flatten(), nn.Dropout(0.3), nn.Dense(4, {activation = "softmax"})}
model:compile{optimizer = ml.optim.Adam{lr = 0.01}, loss = "sparse_categorical_crossentropy",
  metrics = {"accuracy"}}
local killer = {on_epoch_end = function(_, epoch)
  if epoch == kill_after then
    local pid = io.open("/proc/self/stat"):read("l"):match("^(%d+)")
    os.execute("kill -9 " .. pid)
  end
end}
local h = model:fit(x, y, {epochs = 4, batch_size = 16, verbose = 0, validation_split = 0.25,
  resume = ckpt,
  callbacks = {ml.callbacks.ModelCheckpoint{path = ckpt, save_training_state = true}, killer}})
ml.save(out, {weights = model:get_weights(), loss = h.loss, epochs = #h.loss})
