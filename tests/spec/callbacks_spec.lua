-- ml.callbacks: driven directly with scripted logs, and inside fit.
local ml = require "ml"

-- A stand-in model: one weight that records the epoch it was set at.
local function fake_model()
  local m = {stop_training = false, optimizer = ml.optim.SGD{lr = 0.1}, w = 0, saved = {}}
  function m:get_weights() return {ml.tensor{self.w}} end
  function m:set_weights(list) self.w = list[1]:totable()[1] end
  function m:save(path) self.saved[#self.saved + 1] = path end
  return m
end

local function drive(cb, model, values, key)
  key = key or "val_loss"
  cb:set_model(model)
  if cb.on_train_begin then cb:on_train_begin({}) end
  local last = 0
  for epoch, v in ipairs(values) do
    if cb.on_epoch_begin then cb:on_epoch_begin(epoch, {}) end
    model.w = epoch
    cb:on_epoch_end(epoch, {[key] = v})
    last = epoch
    if model.stop_training then break end
  end
  if cb.on_train_end then cb:on_train_end({}) end
  return last
end

describe("ml.callbacks", function()
  -- free this file\'s tensors now: later specs measure memory in use
  teardown(function() collectgarbage() collectgarbage() end)
  it("EarlyStopping stops after patience epochs without improvement", function()
    local m = fake_model()
    local cb = ml.callbacks.EarlyStopping{patience = 2}
    assert.are.equal(4, drive(cb, m, {1.0, 0.5, 0.6, 0.55, 0.7, 0.1}))
    assert.are.equal(4, m.w)   -- weights left as they are without restore_best_weights
    assert.are.equal(2, cb.best_epoch)
  end)

  it("EarlyStopping restores the best weights", function()
    local m = fake_model()
    local cb = ml.callbacks.EarlyStopping{patience = 1, restore_best_weights = true}
    assert.are.equal(3, drive(cb, m, {1.0, 0.4, 0.5, 0.45, 0.1}))
    assert.are.equal(2, m.w)
  end)

  it("EarlyStopping maximises accuracies and honours min_delta", function()
    local m = fake_model()
    local cb = ml.callbacks.EarlyStopping{monitor = "val_accuracy", patience = 0, min_delta = 0.01}
    assert.are.equal(3, drive(cb, m, {0.5, 0.6, 0.605, 0.9}, "val_accuracy"))
    assert.are.equal("max", cb.mode)
  end)

  it("ReduceLROnPlateau lowers lr after patience epochs, down to min_lr", function()
    local m = fake_model()
    local cb = ml.callbacks.ReduceLROnPlateau{factor = 0.5, patience = 2, min_lr = 0.02}
    drive(cb, m, {1, 0.9, 0.95, 0.95})
    assert.is_true(math.abs(m.optimizer.lr - 0.05) < 1e-12)
    drive(cb, m, {1, 1, 1, 1, 1, 1, 1})
    assert.are.equal(0.02, m.optimizer.lr)
    assert.has_error(function() ml.callbacks.ReduceLROnPlateau{factor = 2} end)
  end)

  it("LearningRateScheduler sets lr from fn(epoch, lr), epochs counted from 0 as Keras", function()
    local m = fake_model()
    local seen = {}
    local cb = ml.callbacks.LearningRateScheduler(function(epoch, lr)
      seen[#seen + 1] = epoch
      return epoch < 2 and lr or lr * 0.1
    end)
    drive(cb, m, {1, 1, 1, 1})
    assert.are.same({0, 1, 2, 3}, seen)
    assert.is_true(math.abs(m.optimizer.lr - 0.001) < 1e-12)
    cb = ml.callbacks.LearningRateScheduler(function() return -1 end)
    assert.has_error(function() drive(cb, m, {1}) end)
  end)

  it("ModelCheckpoint saves every epoch or only improvements", function()
    local m = fake_model()
    drive(ml.callbacks.ModelCheckpoint{path = "m{epoch}.mlm"}, m, {3, 2, 4})
    assert.are.same({"m1.mlm", "m2.mlm", "m3.mlm"}, m.saved)
    m = fake_model()
    drive(ml.callbacks.ModelCheckpoint{path = "best.mlm", save_best_only = true}, m, {3, 2, 4, 1})
    assert.are.equal(3, #m.saved)
  end)

  it("CSVLogger writes a header and one row per epoch, appending on request", function()
    local path = os.tmpname()
    local m = fake_model()
    local cb = ml.callbacks.CSVLogger(path)
    cb:set_model(m); cb:on_train_begin({})
    cb:on_epoch_end(1, {loss = 0.5, accuracy = 0.75})
    cb:on_epoch_end(2, {loss = 0.25, accuracy = 0.875})
    cb:on_train_end({})
    cb = ml.callbacks.CSVLogger(path, {append = true})
    cb:set_model(m); cb:on_train_begin({})
    cb:on_epoch_end(3, {loss = 0.125, accuracy = 1})
    cb:on_train_end({})
    local lines = {}
    for l in io.lines(path) do lines[#lines + 1] = l end
    os.remove(path)
    assert.are.same({"epoch,accuracy,loss", "1,0.75,0.5", "2,0.875,0.25", "3,1,0.125"}, lines)
  end)

  it("TerminateOnNaN stops on an invalid loss", function()
    local m = fake_model()
    local cb = ml.callbacks.TerminateOnNaN()
    cb:set_model(m)
    cb:on_batch_end(1, {loss = 0.3})
    assert.is_false(m.stop_training)
    cb:on_batch_end(2, {loss = 0 / 0})
    assert.is_true(m.stop_training)
  end)

  it("checks options", function()
    assert.has_error(function() ml.callbacks.EarlyStopping{patiense = 3} end)
    assert.has_error(function() ml.callbacks.EarlyStopping{mode = "up"} end)
    assert.has_error(function() ml.callbacks.ModelCheckpoint{} end)
  end)
end)
