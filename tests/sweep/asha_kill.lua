-- Run by tests/spec/sweep_search_spec.lua: an ASHA sweep whose trials sleep
-- between reports (SWEEP_SLEEP seconds), to be killed with SIGKILL mid-sweep
-- and resumed. Every trial start is appended to the marker file as
-- "id:attempt".
local log, marker = arg[1], arg[2]
local sleep = tonumber(os.getenv("SWEEP_SLEEP") or "0")
local res = ml.sweep{
  asha = {n = 9, space = {q = ml.uniform(0, 1)}, max_steps = 9, reduction_factor = 3},
  run = function(cfg)
    local f = assert(io.open(marker, "a"))
    f:write(ml.trial.id(), "\n")
    f:close()
    for step = 1, 9 do
      if sleep > 0 and ml.trial.id() >= 4 then os.execute("sleep " .. sleep) end
      ml.trial.report(step, cfg.q * (1 - 0.5 / step))
      if ml.trial.should_prune() then return end
    end
    return {score = cfg.q}
  end,
  metric = "score", mode = "max", workers = 1, log = log, verbose = 0, seed = 5,
}
local st = {}
for _, t in ipairs(res.trials) do st[#st + 1] = t.id .. "=" .. t.status end
print(table.concat(st, " "))
