-- ml.sweep.prune: ASHA and Hyperband decisions, taken from the reports in
-- the sweep log (every worker and rank appends its reports there, so the
-- log holds what all trials so far have reached; it is the only state, and
-- a resumed sweep has it all).
--
-- Rungs: min_steps * eta^k below max_steps. A trial is judged once at each
-- rung, when its first report at or past the rung arrives: among every
-- trial with a value there (itself included, n of them) it goes on if its
-- value is among the best max(1, floor(n / eta)), else it is pruned. This is
-- asynchronous successive halving (Li et al. 2020), optimistic as Optuna's
-- SuccessiveHalvingPruner: the first trial at a rung always goes on.
-- Hyperband runs ASHA brackets with min_steps * eta^b, b = 0..B-1 (B = the
-- number of rungs), trials assigned round-robin by id; trials compete only
-- within their bracket.
local raise = require("ml.errors").raise
local prune = {}

--- The pruner of an asha/hyperband spec: {kind, min_steps, max_steps, eta, brackets}.
function prune.new(kind, spec)
  local function int(name, v, low)
    if math.type(v) ~= "integer" or v < low then
      raise(("sweep: %s.%s must be an integer >= %d, got %s"):format(kind, name, low, tostring(v)))
    end
    return v
  end
  local p = {kind = kind}
  p.max_steps = int("max_steps", spec.max_steps, 1)
  p.min_steps = int("min_steps", spec.min_steps or 1, 1)
  p.eta = int("reduction_factor", spec.reduction_factor or 3, 2)
  if p.min_steps > p.max_steps then
    raise(("sweep: %s.min_steps (%d) must not exceed max_steps (%d)"):format(kind, p.min_steps,
      p.max_steps))
  end
  p.brackets = 1
  if kind == "hyperband" then p.brackets = math.max(1, #prune.rungs(p.min_steps, p.max_steps, p.eta)) end
  return p
end

function prune.rungs(min_steps, max_steps, eta)
  local r, x = {}, min_steps
  while x < max_steps do r[#r + 1] = x; x = x * eta end
  return r
end

function prune.bracket(p, id) return (id - 1) % p.brackets end

local function rungs_of(p, id)
  local m = p.min_steps
  for _ = 1, prune.bracket(p, id) do m = m * p.eta end
  return prune.rungs(m, p.max_steps, p.eta)
end

-- The value at the first report at or past step r, from a list sorted by step.
local function value_at(reports, r)
  for _, rep in ipairs(reports) do
    if rep.step >= r then return rep.value, rep.step end
  end
end

--- Is the latest report of trial `id` (its own reports, sorted by step)
--- the crossing of a rung? Returns the rung or nil.
function prune.crossing(p, id, mine)
  local last = mine[#mine]
  if not last then return nil end
  local rungs, hit = rungs_of(p, id), nil
  for _, r in ipairs(rungs) do
    if r <= last.step then hit = r end
  end
  if not hit then return nil end
  local _, step = value_at(mine, hit)
  if step == last.step then return hit end
  return nil
end

local function better(mode, a, b)   -- NaN is worse than everything
  if a ~= a then return false end
  if b ~= b then return true end
  if mode == "min" then return a < b end
  return a > b
end

--- Decides at rung r for trial id with value v: true means prune.
--- reports: id -> list of {step, value} sorted by step (the latest attempt).
function prune.decide(p, mode, id, r, v, reports)
  local vals, mine_in = {}, false
  for j, list in pairs(reports) do
    if prune.bracket(p, j) == prune.bracket(p, id) then
      local x = value_at(list, r)
      if j == id then x = v; mine_in = true end
      if x ~= nil then vals[#vals + 1] = x end
    end
  end
  if not mine_in then vals[#vals + 1] = v end
  table.sort(vals, function(a, b) return better(mode, a, b) end)
  local keep = math.max(1, #vals // p.eta)
  local threshold = vals[keep]
  return better(mode, threshold, v)
end

return prune
