-- Run by tests/spec/sweep_search_spec.lua under `mpirun -np 2`: rank 0 hands
-- out the trials of adaptive searches (ASHA, TPE); the ranks' workers report
-- to the one log, and ASHA decides from the trials of both ranks.
local log, marker = arg[1], arg[2]
local res = ml.sweep{
  asha = {n = 12, space = {q = ml.uniform(0, 1)}, max_steps = 9},
  run = function(cfg)
    local f = assert(io.open(marker, "a")); f:write(ml.dist.rank(), "\n"); f:close()
    for s = 1, 9 do
      os.execute("sleep 0.02")
      ml.trial.report(s, cfg.q * (1 - 0.5 / s))
      if ml.trial.should_prune() then return end
    end
    return {score = cfg.q}
  end,
  metric = "score", workers = 1, log = log .. ".asha.jsonl", verbose = 0, seed = 1,
}
local n, best_q = {}, 0
for _, t in ipairs(res.trials) do
  n[t.status] = (n[t.status] or 0) + 1
  best_q = math.max(best_q, t.config.q)
end
print(("rank %d asha: %d trials, %d ok, %d pruned, best is the largest q: %s"):format(ml.dist.rank(),
  #res.trials, n.ok or 0, n.pruned or 0, tostring(res.best.config.q == best_q)))
local r2 = ml.sweep{tpe = {n = 8, space = {x = ml.uniform(-1, 1)}, n_startup = 3},
  run = function(cfg) return {loss = cfg.x ^ 2} end, mode = "min", workers = 1,
  log = log .. ".tpe.jsonl", verbose = 0, seed = 2}
local xs = {}
for i, t in ipairs(r2.trials) do xs[i] = string.format("%.6f", t.config.x) end
print(("rank %d tpe: %s"):format(ml.dist.rank(), table.concat(xs, " ")))
