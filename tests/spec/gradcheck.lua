-- gradcheck.lua - finite-difference gradient checks, shared by the specs.
-- float32 tensors: central differences with a step of 1e-2 and a tolerance
-- relative to the gradients' scale. Load with dofile("tests/spec/gradcheck.lua").
local G = {}

-- Indices (1-based, flat) to probe: all when few, else an even spread.
local function probes(n, max)
  local idx = {}
  if n <= max then
    for i = 1, n do idx[i] = i end
  else
    for k = 1, max do idx[k] = math.floor((k - 1) * (n - 1) / (max - 1)) + 1 end
  end
  return idx
end

--- Compares the analytic gradient `ana` (a tensor like x) of the scalar
--- function f() at x, perturbing x in place. Returns ok, message, worst error.
--- opts: eps (1e-2), rtol (2e-2), atol (2e-3), max (probes, 40).
function G.check(f, x, ana, opts)
  opts = opts or {}
  local eps, rtol, atol = opts.eps or 1e-2, opts.rtol or 2e-2, opts.atol or 2e-3
  -- a detached view: parameters that collect gradients are perturbed outside the tape
  local flat, a = x:detach():reshape(-1), ana:contiguous():reshape(-1)
  local scale = 0
  for i = 1, a:numel() do scale = math.max(scale, math.abs(a[i])) end
  local worst, msg = 0, nil
  for _, i in ipairs(probes(flat:numel(), opts.max or 40)) do
    local old = flat[i]
    flat[i] = old + eps
    local fp = f()
    flat[i] = old - eps
    local fm = f()
    flat[i] = old
    local num, an = (fp - fm) / (2 * eps), a[i]
    local err = math.abs(num - an)
    local tol = atol + rtol * math.max(math.abs(num), math.abs(an), 0.1 * scale)
    if err / tol > worst then worst = err / tol end
    if err > tol and not msg then
      msg = string.format("element %d: numeric %.6g, analytic %.6g", i, num, an)
    end
  end
  return msg == nil, msg, worst
end

--- Checks a layer's input gradient and every parameter gradient at x.
--- f(x) = sum(forward(x) * gy) with a fixed random gy. opts: training,
--- before (called before every forward, e.g. to reseed dropout's mask),
--- plus those of G.check. Returns ok, message.
function G.layer(layer, x, opts)
  opts = opts or {}
  local before = opts.before or function() end
  local training = opts.training
  before()
  local y0 = layer:forward(x, training)
  local gy = ml.rand(y0.shape) * 2 - 1
  local function f()
    before()
    return (layer:forward(x, training) * gy):sum()
  end
  before()
  layer:forward(x, training)
  local gx = layer:backward(x, gy):clone()
  local params, grads = layer:parameters()
  local saved = {}
  for i, g in ipairs(grads) do saved[i] = g:clone() end
  local ok, msg = G.check(f, x, gx, opts)
  if not ok then return false, "input gradient: " .. msg end
  for i, p in ipairs(params) do
    ok, msg = G.check(f, p, saved[i], opts)
    if not ok then return false, string.format("parameter %d gradient: %s", i, msg) end
  end
  return true
end

--- Checks d loss / d pred of a loss function f(pred) against grad.
function G.fn(f, x, grad, opts)
  return G.check(function() return f(x) end, x, grad, opts)
end

return G
