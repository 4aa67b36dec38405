-- Resumable training: a run SIGKILLed after epoch k and resumed from its
-- checkpoint ends with weights bit-identical to an uninterrupted run.
local ml = require "ml"
local mlrun = os.getenv("MLRUN") or "build/mlrun"

local function run(...)
  local args = table.concat({...}, " ")
  return os.execute(mlrun .. " tests/resume/train.lua " .. args .. " 2>/dev/null")
end

describe("resumable training", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("continues bit-identically after a SIGKILL", function()
    assert.is_true(run(dir .. "/full.ckpt", dir .. "/full.mlt"))
    local full = ml.load(dir .. "/full.mlt")
    assert.equal(4, full.epochs)
    -- killed after epoch 2: the checkpoint of epoch 2 survives
    assert.is_falsy(run(dir .. "/part.ckpt", dir .. "/part.mlt", 2))
    assert.is_nil(io.open(dir .. "/part.mlt"))
    local st = ml.load(dir .. "/part.ckpt")
    assert.equal(2, st.epoch)
    -- resumed: epochs 3 and 4 only, same final weights to the bit
    assert.is_true(run(dir .. "/part.ckpt", dir .. "/part.mlt"))
    local part = ml.load(dir .. "/part.mlt")
    assert.equal(4, part.epochs)
    assert.same(full.loss, part.loss)
    for i, w in ipairs(full.weights) do
      assert.is_true(w:eq(part.weights[i]):all(), "weight tensor " .. i .. " differs")
    end
  end)

  it("refuses a file that is not a training state", function()
    local m = ml.nn.Sequential{ml.nn.Input{2}, ml.nn.Dense(1)}
    m:compile{optimizer = "sgd", loss = "mse"}
    ml.save(dir .. "/plain.mlt", {a = 1})
    assert.has_error(function()
      m:fit(ml.ones(4, 2), ml.ones(4, 1), {verbose = 0, resume = dir .. "/plain.mlt"})
    end, "fit: resume: '" .. dir .. "/plain.mlt' is not a training state (save it with " ..
      "ModelCheckpoint{save_training_state = true})")
  end)

  it("starts from scratch when the checkpoint does not exist yet", function()
    local m = ml.nn.Sequential{ml.nn.Input{2}, ml.nn.Dense(1)}
    m:compile{optimizer = "sgd", loss = "mse"}
    local h = m:fit(ml.ones(4, 2), ml.ones(4, 1), {epochs = 2, verbose = 0,
      resume = dir .. "/none.ckpt"})
    assert.equal(2, #h.loss)
  end)
end)
