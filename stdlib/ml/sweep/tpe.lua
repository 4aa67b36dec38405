-- ml.sweep.tpe: the tree-structured Parzen estimator (Bergstra et al. 2011;
-- the univariate form that is Optuna's default sampler).
-- The finished trials are split by loss: the best gamma(n) = min(ceil(0.1 n),
-- 25) form "below", the rest "above". For each parameter, on its own, a
-- Parzen density is fitted to its values in each group: l(x) below, g(x)
-- above; candidates are drawn from l and the one with the largest l(x)/g(x)
-- is kept. A parameter absent from a trial (a conditional one) simply has
-- no observation from it. Until n_startup trials have finished, configs are
-- drawn at random from the space.
--   numeric (uniform; loguniform in log space; randint over [low-0.5,
--   high-0.5] rounded): a mixture of truncated normals, one per observation
--   plus a prior centred on the range with the whole range as width; the
--   observations share one width by Scott's rule, clipped to [range /
--   min(100, n + 1), range].
--   choice: counts per value plus prior_weight / #values each.
local space = require "ml.sweep.space"

local tpe = {}

local SQRT2 = math.sqrt(2)

-- erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7)
local function erf(x)
  local s = x < 0 and -1 or 1
  x = math.abs(x)
  local t = 1 / (1 + 0.3275911 * x)
  local y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
    + 0.254829592) * t * math.exp(-x * x)
  return s * y
end
local function Phi(z) return 0.5 * (1 + erf(z / SQRT2)) end

local function normal(u)   -- Box-Muller, one draw
  local a = u()
  if a < 1e-300 then a = 1e-300 end
  return math.sqrt(-2 * math.log(a)) * math.cos(2 * math.pi * u())
end

-- The Parzen mixture over [lo, hi] for observations xs.
local function parzen(xs, lo, hi, prior_weight)
  local range = hi - lo
  local mus = {}
  for i, x in ipairs(xs) do mus[i] = x end
  table.sort(mus)
  local n = #mus
  local comps = {}
  -- one width for all: Scott's rule 1.06 min(sd, IQR / 1.34) n^(-1/5),
  -- clipped to [range / min(100, n + 1), range] (duplicates give sd = 0)
  local mean, var = 0, 0
  for _, x in ipairs(mus) do mean = mean + x / n end
  for _, x in ipairs(mus) do var = var + (x - mean) ^ 2 / math.max(1, n - 1) end
  local sd = math.sqrt(var)
  if n >= 4 then
    local iqr = mus[math.floor(0.75 * (n - 1)) + 1] - mus[math.floor(0.25 * (n - 1)) + 1]
    if iqr > 0 then sd = math.min(sd, iqr / 1.34) end
  end
  local s = 1.06 * sd * n ^ -0.2
  s = math.min(range, math.max(range / math.min(100, n + 1), s))
  for _, mu in ipairs(mus) do comps[#comps + 1] = {mu = mu, s = s, w = 1} end
  comps[#comps + 1] = {mu = (lo + hi) / 2, s = range, w = prior_weight}
  local total = 0
  for _, c in ipairs(comps) do
    c.z = Phi((hi - c.mu) / c.s) - Phi((lo - c.mu) / c.s)   -- truncation mass
    total = total + c.w
  end
  for _, c in ipairs(comps) do c.w = c.w / total end
  return {comps = comps, lo = lo, hi = hi}
end

local function parzen_sample(p, u)
  local r, acc, c = u(), 0, p.comps[#p.comps]
  for _, k in ipairs(p.comps) do
    acc = acc + k.w
    if r < acc then c = k; break end
  end
  for _ = 1, 100 do
    local x = c.mu + c.s * normal(u)
    if x >= p.lo and x <= p.hi then return x end
  end
  return math.min(p.hi, math.max(p.lo, c.mu))
end

local function parzen_logpdf(p, x)
  local d = 0
  for _, c in ipairs(p.comps) do
    local z = (x - c.mu) / c.s
    d = d + c.w * math.exp(-0.5 * z * z) / (c.s * math.sqrt(2 * math.pi) * c.z)
  end
  return math.log(math.max(d, 1e-300))
end

-- log of the mass of [a, b] (the cell of an integer value)
local function parzen_logmass(p, a, b)
  local m = 0
  for _, c in ipairs(p.comps) do
    m = m + c.w * (Phi((b - c.mu) / c.s) - Phi((a - c.mu) / c.s)) / c.z
  end
  return math.log(math.max(m, 1e-300))
end

-- One numeric parameter: returns the chosen value.
local function pick_numeric(kind, spec, below, above, o, u)
  local lo, hi, to, from = spec.low, spec.high, nil, nil
  if kind == "loguniform" then
    lo, hi = math.log(lo), math.log(hi)
    to, from = math.log, math.exp
  elseif kind == "randint" then
    lo, hi = spec.low - 0.5, spec.high - 0.5
  end
  local function tx(list)
    local out = {}
    for _, v in ipairs(list) do
      if type(v) == "number" then
        local x = to and to(v) or v
        if x >= lo and x <= hi then out[#out + 1] = x end   -- outside a changed range: dropped
      end
    end
    return out
  end
  local l = parzen(tx(below), lo, hi, o.prior_weight)
  local g = parzen(tx(above), lo, hi, o.prior_weight)
  local best, best_score
  for _ = 1, o.n_candidates do
    local x = parzen_sample(l, u)
    local score
    if kind == "randint" then
      local k = math.floor(x + 0.5)
      k = math.max(spec.low, math.min(spec.high - 1, k))
      x = k
      score = parzen_logmass(l, k - 0.5, k + 0.5) - parzen_logmass(g, k - 0.5, k + 0.5)
    else
      score = parzen_logpdf(l, x) - parzen_logpdf(g, x)
    end
    if not best_score or score > best_score then best, best_score = x, score end
  end
  if kind == "randint" then return math.tointeger(best) end
  local v = from and from(best) or best
  -- the space is [low, high): keep a draw at the upper edge inside it
  if v >= spec.high then v = spec.high - (spec.high - spec.low) * 1e-12 end
  if v < spec.low then v = spec.low end
  return v
end

local function pick_choice(values, below, above, o, u)
  local K = #values
  local function weights(list)
    local w, total = {}, 0
    for j = 1, K do w[j] = o.prior_weight / K end
    for _, v in ipairs(list) do
      for j = 1, K do
        if values[j] == v then w[j] = w[j] + 1; break end
      end
    end
    for j = 1, K do total = total + w[j] end
    for j = 1, K do w[j] = w[j] / total end
    return w
  end
  local l, g = weights(below), weights(above)
  local best, best_score
  for _ = 1, o.n_candidates do
    local r, acc, j = u(), 0, K
    for i = 1, K do
      acc = acc + l[i]
      if r < acc then j = i; break end
    end
    local score = math.log(l[j]) - math.log(g[j])
    if not best_score or score > best_score then best, best_score = j, score end
  end
  return values[best]
end

--- Default split size: Optuna's gamma(n) = min(ceil(0.1 n), 25).
function tpe.gamma(n) return math.min(math.ceil(0.1 * n), 25) end

--- A sampler: sample(history, u) -> config, where history is a list of
--- {config =, loss =} (lower is better; math.huge for pruned or diverged
--- trials, which always fall in "above") and u a uniform generator.
--- opts: n_startup (10), n_candidates (24), gamma (tpe.gamma), prior_weight (1).
function tpe.sampler(sp, opts)
  local o = {n_startup = opts.n_startup or 10, n_candidates = opts.n_candidates or 24,
             gamma = opts.gamma or tpe.gamma, prior_weight = opts.prior_weight or 1}
  return function(all, u)
    local history = {}   -- failed trials (loss nil) say nothing about the space
    for _, h in ipairs(all) do if h.loss ~= nil then history[#history + 1] = h end end
    if #history < o.n_startup then
      return space.draw(sp, function(name, spec) return space.sample(name, spec, u) end)
    end
    local sorted = {}
    for i, h in ipairs(history) do sorted[i] = h end
    table.sort(sorted, function(a, b)
      if a.loss ~= b.loss then return a.loss < b.loss end
      return a.id < b.id
    end)
    local n_below = math.max(1, math.min(#sorted - 1, o.gamma(#sorted)))
    return space.draw(sp, function(name, spec)
      local kind, values = space.kind(spec)
      if kind == "fixed" or kind == "other" then return space.sample(name, spec, u) end
      local below, above = {}, {}
      for i, h in ipairs(sorted) do
        local v = h.config[name]
        if v ~= nil then
          local list = i <= n_below and below or above
          list[#list + 1] = v
        end
      end
      if kind == "choice" then return pick_choice(values, below, above, o, u) end
      return pick_numeric(kind, spec, below, above, o, u)
    end)
  end
end

return tpe
