-- Run by tests/spec/dist_spec.lua under `mpirun -np 2`: the ranks share the
-- trials; rank 0 logs them and every rank gets the same result.
local log = arg[1]
local res = ml.sweep{
  grid = {x = {1, 2, 3, 4, 5, 6}},
  run = function(cfg) return {score = cfg.x * 10, rank = ml.dist.rank()} end,
  metric = "score", workers = 1, log = log, verbose = 0,
}
local ranks = {}
for _, t in ipairs(res.trials) do ranks[#ranks + 1] = t.metrics.rank end
print(("rank %d sees %d trials, best %d, ran on %s"):format(ml.dist.rank(), #res.trials,
  res.best.config.x, table.concat(ranks, "")))
