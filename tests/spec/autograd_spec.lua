-- autograd_spec: ml.autograd - finite-difference checks of every op with a
-- gradient (float32 central differences, tests/spec/gradcheck.lua), their
-- combinations, views, in-place ops, accumulation and the error cases.
local ml = require "ml"
local G = dofile("tests/spec/gradcheck.lua")

-- Checks ml.grad(f, inputs) against central differences for every input.
local function check(f, inputs, opts)
  local grads = ml.grad(f, inputs)
  for i, x in ipairs(inputs) do
    assert.are.same(x.shape, grads[i].shape)
    local function value()
      return ml.no_grad(function()
        local v = f(table.unpack(inputs))
        return type(v) == "number" and v or v:item()
      end)
    end
    local ok, msg = G.check(value, x, grads[i], opts)
    assert(ok, string.format("input %d: %s", i, tostring(msg)))
  end
end

-- values away from 0 (kinks of relu/abs) and from each other
local function away(shape, seed)
  ml.seed(seed or 1)
  local x = ml.randn(shape)
  return x + x:sign() * 0.2
end
local function positive(shape, seed)
  ml.seed(seed or 2)
  return ml.rand(shape) + 0.5
end

describe("autograd arithmetic", function()
  it("add, sub, mul, div with broadcasting reduce gradients to the input shapes", function()
    local a, b, c = away{3, 4}, away({4}, 2), positive({3, 1}, 3)
    check(function(a, b, c) return ((a + b) * c - a / c + b * 2 - 1 / c):sum() end, {a, b, c})
    check(function(a, b) return (3 - a * b):mean() end, {a, b})
  end)

  it("pow with tensor or number exponents and bases", function()
    local a, b = positive{2, 3}, away({2, 3}, 4) * 0.5
    check(function(a, b) return (a ^ b):sum() end, {a, b})
    check(function(a) return (a ^ 3):sum() + (2 ^ a):sum() end, {a})
    check(function(a) return a:pow(0.5):sum() end, {a})
  end)

  it("maximum and minimum send the gradient to the chosen side", function()
    local a, b = away{3, 3}, away({3, 3}, 5)
    check(function(a, b) return (ml.maximum(a, b) * 2 + ml.minimum(a, b)):sum() end, {a, b})
    check(function(a) return a:maximum(0.1):sum() end, {a})
  end)

  it("matmul of matrices, vectors and batches", function()
    local a, b = away{3, 4}, away({4, 2}, 2)
    check(function(a, b) return (a:matmul(b) ^ 2):sum() end, {a, b})
    local v = away({4}, 3)
    check(function(a, v) return (a:matmul(v) ^ 2):sum() end, {a, v})
    check(function(v, b) return (v:matmul(b) ^ 2):sum() end, {v, b})
    check(function(v) return v:matmul(v) end, {v})
    local p, q = away({2, 3, 4}, 4), away({2, 4, 2}, 5)
    check(function(p, q) return (ml.matmul(p, q) ^ 2):sum() end, {p, q})
  end)
end)

describe("autograd elementwise functions", function()
  local fns = {"exp", "tanh", "sigmoid", "relu", "abs", "neg", "square", "sin", "cos", "expm1"}
  for _, name in ipairs(fns) do
    it(name, function()
      local x = away({3, 4}, 7) * 0.7
      check(function(x) return (x[name](x) * ml.linspace(-1, 1, 4)):sum() end, {x})
    end)
  end
  for _, name in ipairs{"log", "sqrt", "reciprocal", "log1p"} do
    it(name, function()
      check(function(x) return (x[name](x) * ml.linspace(-1, 1, 4)):sum() end, {positive{3, 4}})
    end)
  end
  it("clamp passes the gradient inside the bounds only", function()
    local x = away({4, 4}, 8)
    check(function(x) return (x:clamp(-0.5, 0.5) * x):sum() end, {x})
  end)
  it("softmax and log_softmax over any dimension", function()
    local x = away({3, 5}, 9)
    local w = ml.randn(3, 5)
    check(function(x) return (x:softmax() * w):sum() end, {x})
    check(function(x) return (x:softmax(1) * w):sum() end, {x})
    check(function(x) return (x:log_softmax(2) * w):sum() end, {x})
    check(function(x) return (x:log_softmax(-2) * w):sum() end, {x})
  end)
end)

describe("autograd reductions", function()
  local x = away({3, 4}, 11)
  local w1 = ml.linspace(-1, 1, 4)
  it("sum and mean over everything, a dimension, with keepdim", function()
    check(function(x) return x:sum() * 2 + x:mean() end, {x})
    check(function(x) return (x:sum(1) * w1):sum() + (x:mean(2, true) ^ 2):sum() end, {x})
    check(function(x) return (x:sum(-1) ^ 2):sum() end, {x})
  end)
  it("max and min (values and positions)", function()
    check(function(x) return x:max() - x:min() * 2 end, {x})
    check(function(x)
      local v, p = x:max(2)
      assert.are.equal("int64", p.dtype)
      return (v * ml.tensor{1, 2, 3}):sum() + (x:min(1, true) ^ 2):sum()
    end, {x})
  end)
  it("var, std, norm, prod", function()
    check(function(x) return x:var() + x:std(1):sum() + (x:var(2, true, 0) ^ 2):sum() end, {x})
    check(function(x) return x:norm() + x:norm(2):sum() end, {x})
    check(function(x) return x:prod(2):sum() + (x * 0.5):prod() end, {x})
  end)
end)

describe("autograd views, indexing and joins", function()
  local x = away({3, 4}, 13)
  local w = ml.randn(4, 3)
  it("reshape, view, flatten, squeeze, unsqueeze, expand", function()
    check(function(x) return (x:reshape(4, 3) * w):sum() end, {x})
    check(function(x) return (x:view(2, 6):flatten() ^ 2):sum() end, {x})
    check(function(x)
      return (x:unsqueeze(1):squeeze() * x):sum() + (x:reshape(3, 1, 4):expand(3, 2, 4) ^ 2):sum()
    end, {x})
  end)
  it("transpose, t, permute", function()
    check(function(x) return (x:t() * w):sum() + (x:transpose(1, 2) ^ 2):sum() end, {x})
    local y, m = away({2, 3, 4}, 14), ml.randn(4, 2, 3)
    check(function(y) return (y:permute(3, 1, 2) * m):sum() + (y:permute{2, 3, 1} ^ 2):sum() end,
      {y})
  end)
  it("integer, range and mask indexing, narrow, select", function()
    check(function(x) return (x[2] ^ 2):sum() + x[{1, 3}] * 3 + (x[{{2, 3}, {1, 2}}] ^ 3):sum() end,
      {x})
    check(function(x) return (x:narrow(2, 2, 2) ^ 2):sum() + (x:select(1, 3) * 2):sum() end, {x})
    local mask = x:gt(0)
    check(function(x) return (x[mask] ^ 2):sum() + x:masked_select(mask):sum() end, {x})
    local v = away({5}, 15)
    check(function(v) return v[2] * v[4] + v[-1] end, {v})
  end)
  it("cat, stack, vstack, hstack", function()
    local a, b = away({2, 3}, 16), away({2, 3}, 17)
    local m = ml.randn(4, 3)
    check(function(a, b) return (ml.cat{a, b} * m):sum() + (ml.cat({a, b}, 2) ^ 2):sum() end,
      {a, b})
    check(function(a, b) return (ml.stack{a, b, a} ^ 2):sum() + (ml.stack({a, b}, 3) * 2):sum() end,
      {a, b})
    check(function(a, b) return (ml.vstack{a, b} * m):sum() + (ml.hstack{a, b} ^ 2):sum() end,
      {a, b})
  end)
  it("gather, index_select, where", function()
    local idx = ml.tensor({{1, 3}, {2, 2}, {4, 1}}, "int64")
    check(function(x) return (x:gather(2, idx) ^ 2):sum() end, {x})
    check(function(x) return (x:index_select(1, ml.tensor({3, 1, 3}, "int64")) ^ 2):sum() end, {x})
    local y = away({3, 4}, 18)
    check(function(x, y) return (ml.where(x:gt(0), x * 2, y) ^ 2):sum() end, {x, y})
  end)
end)

describe("autograd through combinations", function()
  it("a two-layer network with cross-entropy written in tensor ops", function()
    ml.seed(5)
    local x, w1, b1 = ml.randn(6, 4), away({4, 5}, 20) * 0.5, away({5}, 21) * 0.1
    local w2, b2 = away({5, 3}, 22) * 0.5, away({3}, 23) * 0.1
    local y = ml.tensor({1, 3, 2, 1, 2, 3}, "int64"):reshape(6, 1)
    check(function(w1, b1, w2, b2)
      local h = (x:matmul(w1) + b1):tanh()
      local logits = h:matmul(w2) + b2
      return -logits:log_softmax(2):gather(2, y):mean()
    end, {w1, b1, w2, b2})
  end)
  it("a tensor used twice gets both contributions", function()
    local x = away({4}, 24)
    check(function(x) return (x * x:exp() + x:sigmoid() * x):sum() end, {x})
  end)
end)

describe("autograd state", function()
  it("backward accumulates into .grad of leaves; zeroing restarts", function()
    local w = ml.tensor({1, 2, 3}, {requires_grad = true})
    assert.is_true(w.requires_grad)
    assert.is_true(w.is_leaf)
    assert.is_nil(w.grad)
    ;(w * 2):sum():backward()
    assert.are.same({2, 2, 2}, w.grad:totable())
    ;(w * w):sum():backward()
    assert.are.same({4, 6, 8}, w.grad:totable())
    w.grad:zero_()
    ;(w * 3):sum():backward()
    assert.are.same({3, 3, 3}, w.grad:totable())
    w.grad = nil
    assert.is_nil(w.grad)
  end)

  it("backward with a gradient argument for non-scalar outputs", function()
    local x = ml.tensor({1, 2}, {requires_grad = true})
    local y = x * x
    assert.has_error(function() y:backward() end,
      "backward: a gradient argument is needed for a non-scalar output (shape 2); pass a tensor of that shape")
    y:backward(ml.tensor{1, 10})
    assert.are.same({2, 40}, x.grad:totable())
    assert.has_error(function() (x * 2):backward(ml.ones(3)) end,
      "backward: gradient of shape 3, expected the output's shape 2")
  end)

  it("backward twice errors unless the graph is retained", function()
    local x = ml.tensor({1, 2}, {requires_grad = true})
    local l = (x:exp()):sum()
    l:backward({retain_graph = true})
    l:backward()
    assert.is_true(x.grad:allclose(x:detach():exp() * 2))
    assert.has_error(function() l:backward() end)
    local ok, msg = pcall(function() l:backward() end)
    assert.is_false(ok)
    assert.matches("retain_graph = true", msg, 1, true)
  end)

  it("refuses an in-place change of a tensor the tape still needs", function()
    local x = ml.tensor({1, 2}, {requires_grad = true})
    local y = x:exp()
    local l = (y * 2):sum()
    y:add_(1)
    local ok, msg = pcall(function() l:backward() end)
    assert.is_false(ok)
    assert.matches("changed by an in-place operation", msg, 1, true)
    -- plain tensors saved by the tape are checked as well
    local d = ml.tensor{3, 4}
    local l2 = (x * d):sum()
    d:mul_(2)
    assert.has_error(function() l2:backward() end)
  end)

  it("refuses an in-place change of a leaf while recording; no_grad allows it", function()
    local w = ml.tensor({1, 2}, {requires_grad = true})
    assert.has_error(function() w:add_(1) end)
    assert.has_error(function() w[1] = 5 end)
    ml.no_grad(function() w:sub_(1) end)
    assert.are.same({0, 1}, w:detach():totable())
  end)

  it("differentiates through in-place ops and assignments on computed tensors", function()
    local x = away({4}, 30)
    local v = away({2}, 31)
    check(function(x, v)
      local y = x * 2
      y:mul_(x)
      y:add_(1)
      y:exp_()
      y[{{1, 2}}] = v * 3
      return (y * ml.tensor{1, 2, 3, 4}):sum()
    end, {x, v})
    check(function(x)
      local y = x:clone()
      y[2] = 0
      y:sub_(x:sin())
      return (y ^ 2):sum()
    end, {x})
  end)

  it("refuses in-place ops on views of tracked tensors with a clear message", function()
    local x = ml.tensor({1, 2, 3}, {requires_grad = true})
    local v = (x * 2):narrow(1, 1, 2)
    assert.has_error(function() v:mul_(2) end,
      "mul_: in-place change of a view of a tensor that takes part in autograd is not supported; clone() the view first")
  end)

  it("refuses a view of a computed tensor used after that tensor changed in place", function()
    local x = ml.tensor({1, 2, 3}, {requires_grad = true})
    local y = x * 2
    local v = y[{{1, 2}}]
    y:mul_(3)
    local ok, msg = pcall(function() return (v * 2):sum() end)
    assert.is_false(ok)
    assert.matches("changed in place", msg, 1, true)
    -- views of leaves stay usable across optimizer steps
    local w = ml.tensor({{1, 2}, {3, 4}}, {requires_grad = true})
    local wt = w:t()
    local opt = ml.optim.SGD{params = {w}, lr = 0.1}
    for _ = 1, 2 do
      opt:zero_grad()
      wt:sum():backward()
      opt:step()
    end
    assert.is_true(w:detach():allclose(ml.tensor{{0.8, 1.8}, {2.8, 3.8}}))
  end)

  it("detach, no_grad (function and <close> forms), set_grad_enabled", function()
    local x = ml.tensor({1, 2}, {requires_grad = true})
    assert.is_false(x:detach().requires_grad)
    assert.is_false(ml.no_grad(function() return (x * 2).requires_grad end))
    do
      local _ <close> = ml.no_grad()
      assert.is_false((x * 2).requires_grad)
      assert.is_false(ml.is_grad_enabled())
    end
    assert.is_true((x * 2).requires_grad)
    assert.has_error(function() ml.no_grad(function() error("inner", 0) end) end, "inner")
    assert.is_true(ml.is_grad_enabled())
    assert.is_true(ml.set_grad_enabled(false))
    assert.is_false((x + 1).requires_grad)
    ml.set_grad_enabled(true)
    assert.has_error(function() ml.no_grad(42) end)
  end)

  it("reductions return numbers on plain tensors, 0-d tensors on tracked ones", function()
    local x = ml.tensor{1, 2, 3}
    assert.are.equal(6, x:sum())
    local y = x:clone():requires_grad_()
    local s = y:sum()
    assert.are.equal(0, s:dim())
    assert.are.equal(6, s:item())
  end)

  it("ml.grad leaves .grad untouched and works on plain inputs", function()
    local w = ml.tensor({1, 2}, {requires_grad = true})
    local x = ml.tensor{3, 4}
    local g, v = ml.grad(function(w, x) return (w * x):sum() end, {w, x})
    assert.are.same({3, 4}, g[1]:totable())
    assert.are.same({1, 2}, g[2]:totable())
    assert.are.equal(11, v)
    assert.is_nil(w.grad)
    local g2 = ml.grad(function(a, b) return (a * 2):sum() end, {w, x})
    assert.are.same({0, 0}, g2[2]:totable())
    assert.has_error(function() ml.grad(function(a) return a * 2 end, {x}) end)
  end)

  it("clear errors for bad use", function()
    local x = ml.tensor{1, 2}
    assert.has_error(function() x:sum():backward() end)
    assert.has_error(function() (x * 2):backward() end,
      "backward: the tensor does not require grad (no input of the computation has requires_grad = true, or it ran under ml.no_grad)")
    assert.has_error(function() ml.tensor({1, 2}, "int64"):requires_grad_() end,
      "requires_grad_: only floating-point tensors can require gradients, got int64")
    assert.has_error(function() ml.tensor({1}, {requires_grad = true, bogus = 1}) end,
      "tensor: unknown option 'bogus' (expected dtype, requires_grad)")
    local w = ml.tensor({1, 2}, {requires_grad = true})
    assert.has_error(function() w:argmax():backward() end)
    assert.has_error(function() w.grad = ml.ones(3) end, "grad: expected shape 2, got 3")
  end)

  it("prints how a tensor was made", function()
    local w = ml.tensor({1, 2}, {requires_grad = true})
    assert.matches("requires_grad=true", tostring(w), 1, true)
    assert.matches("grad_fn=<mul>", tostring(w * 2), 1, true)
  end)
end)

describe("ml.nn.functional over the fused kernels", function()
  local F = ml.nn.functional
  it("dense with and without activation", function()
    local x, w, b = away({5, 4}, 40), away({4, 3}, 41) * 0.5, away({3}, 42) * 0.1
    local m = ml.randn(5, 3)
    check(function(x, w, b) return (F.dense(x, w, b, "tanh") * m):sum() end, {x, w, b})
    check(function(x, w) return (F.dense(x, w) ^ 2):sum() end, {x, w})
  end)
  it("conv2d with strides and padding", function()
    local x, w, b = away({2, 5, 5, 2}, 43), away({3, 3, 2, 3}, 44) * 0.5, away({3}, 45) * 0.1
    local m = ml.randn(2, 3, 3, 3)
    check(function(x, w, b) return (F.conv2d(x, w, b, {strides = 2, padding = "same"}) * m):sum() end,
      {x, w, b})
    check(function(x, w) return (F.conv2d(x, w) ^ 2):sum() end, {x, w})
  end)
  it("max and average pooling", function()
    ml.seed(46)
    local x = (ml.randperm(2 * 4 * 4 * 2):float() * 0.1):reshape(2, 4, 4, 2)
    local m = ml.randn(2, 2, 2, 2)
    check(function(x) return (F.max_pool2d(x) * m):sum() + (F.avg_pool2d(x, 2, {strides = 1}) ^ 2):sum() end,
      {x})
  end)
  it("batch_norm in training mode, gradients for x, gamma, beta", function()
    local x, g, b = away({6, 3}, 47), positive({3}, 48), away({3}, 49)
    local mm, mv = ml.zeros(3), ml.ones(3)
    local m = ml.randn(6, 3)
    check(function(x, g, b) return (F.batch_norm(x, g, b, mm, mv, {training = true}) * m):sum() end,
      {x, g, b})
  end)
  it("dropout with a fixed mask", function()
    local x = away({4, 5}, 50)
    check(function(x)
      ml.seed(7)
      return (F.dropout(x, 0.5) * x):sum()
    end, {x})
    assert.are.equal(x, F.dropout(x, 0.5, false))
  end)
  it("cross_entropy, mse, mae and losses by name", function()
    local logits = away({4, 3}, 51)
    local y = ml.tensor({0, 2, 1, 2}, "int64")
    check(function(l) return F.cross_entropy(l, y) end, {logits})
    local ref = -(logits:log_softmax(2):gather(2, (y + 1):reshape(4, 1))):mean()
    assert.is_true(math.abs(F.cross_entropy(logits, y):item() - ref) < 1e-5)
    local t = away({4, 3}, 52)
    check(function(p) return F.mse(p, t) + F.mae(p, t) * 0.5 end, {logits})
    check(function(p) return F.binary_cross_entropy_with_logits(p, t:gt(0)) end, {logits})
    assert.has_error(function() F.loss("bogus", logits, t) end)
    assert.has_error(function() F.dense({1}, logits) end, "dense: x expected a tensor, got table")
  end)
end)
