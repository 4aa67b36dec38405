-- ml.optim: updates against hand-computed Keras/PyTorch formulas and against
-- trajectories recorded from PyTorch (tests/fixtures/optim_torch.py).
local ml = require "ml"

local GRADS = {{0.5, -1.0, 0.25}, {0.1, 0.3, -0.7}, {-0.4, 0.2, 0.05}}

local function run(opt, steps)
  local p = ml.tensor{1, -2, 0.5}
  local out = {}
  for s = 1, steps or 3 do
    opt:step({p}, {ml.tensor(GRADS[s])})
    out[s] = p:totable()
  end
  return out
end

local function close(a, b, tol)
  for i = 1, #a do
    if math.abs(a[i] - b[i]) > tol then
      error(string.format("element %d: %.9g vs %.9g (tolerance %g)", i, a[i], b[i], tol), 2)
    end
  end
  return true
end

local function fixture()
  local cases = {}
  for line in io.lines("tests/fixtures/optim_torch.csv") do
    local name, step, a, b, c = line:match("^([%w_]+),(%d+),([^,]+),([^,]+),([^,]+)$")
    if name then
      cases[name] = cases[name] or {}
      cases[name][tonumber(step)] = {tonumber(a), tonumber(b), tonumber(c)}
    end
  end
  return cases
end

describe("ml.optim", function()
  -- free this file\'s tensors now: later specs measure memory in use
  teardown(function() collectgarbage() collectgarbage() end)
  local torch = fixture()

  it("SGD matches p -= lr * g", function()
    local r = run(ml.optim.SGD{lr = 0.1}, 1)
    assert.is_true(close(r[1], {1 - 0.05, -2 + 0.1, 0.5 - 0.025}, 1e-7))
  end)

  it("SGD with momentum, Nesterov and weight decay matches PyTorch", function()
    assert.is_true(close(run(ml.optim.SGD{lr = 0.1})[3], torch.sgd[3], 1e-6))
    assert.is_true(close(run(ml.optim.SGD{lr = 0.1, momentum = 0.9})[3], torch.sgd_momentum[3], 1e-6))
    assert.is_true(close(run(ml.optim.SGD{lr = 0.1, momentum = 0.9, nesterov = true})[3],
      torch.sgd_nesterov[3], 1e-6))
    assert.is_true(close(run(ml.optim.SGD{lr = 0.1, momentum = 0.5, weight_decay = 0.01})[3],
      torch.sgd_wd[3], 1e-6))
  end)

  it("Nesterov by hand: v = mu v + g, p -= lr (g + mu v)", function()
    local p, v, out = {1, -2, 0.5}, {0, 0, 0}, run(ml.optim.SGD{lr = 0.1, momentum = 0.9,
      nesterov = true}, 2)
    for s = 1, 2 do
      for i = 1, 3 do
        local g = GRADS[s][i]
        v[i] = 0.9 * v[i] + g
        p[i] = p[i] - 0.1 * (g + 0.9 * v[i])
      end
    end
    assert.is_true(close(out[2], p, 1e-6))
  end)

  it("Adam follows Keras's formula and PyTorch's trajectory", function()
    local b1, b2, eps, lr = 0.9, 0.999, 1e-7, 0.01
    local p, m, v = {1, -2, 0.5}, {0, 0, 0}, {0, 0, 0}
    local out = run(ml.optim.Adam{lr = lr})
    for t = 1, 3 do
      local alpha = lr * math.sqrt(1 - b2 ^ t) / (1 - b1 ^ t)
      for i = 1, 3 do
        local g = GRADS[t][i]
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        p[i] = p[i] - alpha * m[i] / (math.sqrt(v[i]) + eps)
      end
      assert.is_true(close(out[t], p, 1e-6))
    end
    assert.is_true(close(out[3], torch.adam[3], 1e-5))
  end)

  it("RMSprop and Adagrad follow Keras and match PyTorch", function()
    local s, p = {0, 0, 0}, {1, -2, 0.5}
    local out = run(ml.optim.RMSprop{lr = 0.01, rho = 0.9})
    for t = 1, 3 do
      for i = 1, 3 do
        local g = GRADS[t][i]
        s[i] = 0.9 * s[i] + 0.1 * g * g
        p[i] = p[i] - 0.01 * g / math.sqrt(s[i] + 1e-7)
      end
    end
    assert.is_true(close(out[3], p, 1e-6))
    assert.is_true(close(out[3], torch.rmsprop[3], 1e-5))
    local acc, q = {0.1, 0.1, 0.1}, {1, -2, 0.5}
    local out2 = run(ml.optim.Adagrad{lr = 0.1})
    for t = 1, 3 do
      for i = 1, 3 do
        local g = GRADS[t][i]
        acc[i] = acc[i] + g * g
        q[i] = q[i] - 0.1 * g / math.sqrt(acc[i] + 1e-7)
      end
    end
    assert.is_true(close(out2[3], q, 1e-6))
    assert.is_true(close(out2[3], torch.adagrad[3], 1e-5))
  end)

  it("RMSprop centered and with momentum", function()
    local s, a, b, p = {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {1, -2, 0.5}
    local out = run(ml.optim.RMSprop{lr = 0.01, centered = true, momentum = 0.5})
    for t = 1, 3 do
      for i = 1, 3 do
        local g = GRADS[t][i]
        s[i] = 0.9 * s[i] + 0.1 * g * g
        a[i] = 0.9 * a[i] + 0.1 * g
        b[i] = 0.5 * b[i] + 0.01 * g / math.sqrt(s[i] - a[i] * a[i] + 1e-7)
        p[i] = p[i] - b[i]
      end
    end
    assert.is_true(close(out[3], p, 1e-5))
  end)

  it("keeps state per parameter tensor and lets lr change", function()
    local opt = ml.optim.SGD{lr = 0.1, momentum = 0.9}
    local p1, p2 = ml.tensor{1}, ml.tensor{1, 1}
    opt:step({p1, p2}, {ml.tensor{1}, ml.tensor{2, 2}})
    opt.lr = 0.01
    opt:step({p1, p2}, {ml.tensor{1}, ml.tensor{2, 2}})
    -- p1: v1 = 1 -> p = 0.9; v2 = 1.9 -> p = 0.9 - 0.019
    assert.is_true(close(p1:totable(), {0.881}, 1e-6))
    assert.is_true(close(p2:totable(), {1 - 0.2 - 0.038, 1 - 0.2 - 0.038}, 1e-6))
    assert.are.equal(2, opt.iterations)
  end)

  it("updates large tensors in parallel with the same result", function()
    local n = 100000
    local p1 = ml.randn(n)
    local g = ml.randn(n)
    local p2 = p1:clone()
    ml.set_num_threads(1)
    ml.optim.Adam{}:step({p1}, {g})
    ml.set_num_threads(2)
    ml.optim.Adam{}:step({p2}, {g})
    assert.are.equal(0, (p1 - p2):abs():max())
  end)

  it("builds optimizers from names and checks options", function()
    assert.are.equal("Adam", ml.optim.get("adam").__name)
    assert.are.equal(0.01, ml.optim.get("sgd").lr)
    assert.are.equal(1e-3, ml.optim.get("RMSprop").lr)
    assert.are.equal(0.5, ml.optim.Adam{learning_rate = 0.5}.lr)
    assert.has_error(function() ml.optim.get("adamx") end)
    assert.has_error(function() ml.optim.SGD{lr = 0.1, momentun = 0.9} end,
      "SGD: unknown option 'momentun' (expected one of: clipnorm, global_clipnorm, learning_rate, lr, " ..
      "momentum, nesterov, params, weight_decay)")
    assert.has_error(function() ml.optim.SGD{lr = -1} end)
    assert.has_error(function() ml.optim.SGD{nesterov = true} end)
    assert.has_error(function() ml.optim.Adam{beta_1 = 1.5} end)
  end)

  it("reports mismatched parameter and gradient shapes", function()
    local opt = ml.optim.SGD{}
    local ok, err = pcall(opt.step, opt, {ml.zeros(2, 3)}, {ml.zeros(3, 2, 1)})
    assert.is_false(ok)
    assert.truthy(tostring(err):find("gradient has shape 3x2x1 but the parameter has shape 2x3", 1, true))
    assert.has_error(function() opt:step({ml.zeros(2)}, {}) end, "SGD:step: 1 parameters but 0 gradients")
  end)

  it("saves and restores per-parameter state", function()
    local opt = ml.optim.Adam{lr = 0.01}
    local p = ml.tensor{1, 2, 3}
    opt:step({p}, {ml.tensor{1, 1, 1}})
    local slots = opt:get_slots({p})
    local opt2 = ml.optim.Adam.from_state(ml.optim.Adam, opt:state())
    local q = p:clone()
    opt2:set_slots({q}, slots)
    opt:step({p}, {ml.tensor{0.5, 0, -1}})
    opt2:step({q}, {ml.tensor{0.5, 0, -1}})
    assert.are.same(p:totable(), q:totable())
    assert.are.equal(0.01, opt2.lr)
  end)
end)

describe("ml.optim over tensors with .grad (PyTorch style)", function()
  it("steps params from their .grad, skips those without, zero_grad clears", function()
    local w = ml.tensor({1, 2}, {requires_grad = true})
    local b = ml.tensor({0}, {requires_grad = true})
    local opt = ml.optim.SGD{params = {w, b}, lr = 0.5}
    ;(w * w):sum():backward()
    opt:step()
    assert.is_true(w:detach():allclose(ml.tensor{0, 0}))
    assert.are.same({0}, b:detach():totable())
    opt:zero_grad()
    assert.is_nil(w.grad)
    ;(w + 1):sum():backward()
    opt:zero_grad{set_to_none = false}
    assert.are.same({0, 0}, w.grad:totable())
    assert.has_error(function() opt:zero_grad{bogus = true} end)
  end)
  it("fits y = 2x + 1 with Adam", function()
    ml.seed(3)
    local x = ml.randn(64, 1)
    local y = x * 2 + 1
    local w, b = ml.zeros(1, 1):requires_grad_(), ml.zeros(1):requires_grad_()
    local opt = ml.optim.Adam{params = {w, b}, lr = 0.1}
    for _ = 1, 300 do
      opt:zero_grad()
      local loss = ((x:matmul(w) + b - y) ^ 2):mean()
      loss:backward()
      opt:step()
    end
    assert.is_true(math.abs(w:item() - 2) < 1e-2)
    assert.is_true(math.abs(b:item() - 1) < 1e-2)
  end)
  it("refuses bad params and a step without any", function()
    assert.has_error(function() ml.optim.SGD{params = {1}} end,
      "SGD: params entry 1 is a number, expected a tensor")
    local w = ml.tensor({1}, {requires_grad = true})
    assert.has_error(function() ml.optim.SGD{params = {w * 2}} end)
    assert.has_error(function() ml.optim.SGD{}:step() end)
    assert.has_error(function() ml.optim.SGD{}:zero_grad() end)
  end)
end)
