-- A sweep that tests/spec/sweep_spec.lua kills with SIGKILL and reruns.
local log, marker = arg[1], arg[2]
ml.sweep{
  grid = {i = {1, 2, 3, 4, 5, 6}},
  run = function(cfg)
    local f = io.open(marker, "a"); f:write(cfg.i, "\n"); f:close()   -- who really ran
    if cfg.i >= 3 then os.execute("sleep " .. (os.getenv("SWEEP_SLEEP") or "0")) end
    return {score = cfg.i}
  end,
  workers = 1, log = log, verbose = 0,
}
