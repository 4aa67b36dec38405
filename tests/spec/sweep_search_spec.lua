-- Sweeps that search (issue 18): TPE and custom samplers, ASHA and
-- Hyperband pruning through ml.trial, retries, and resumes from the log.
local ml = require "ml"
local sweep = require "ml.sweep"
local tpe = require "ml.sweep.tpe"
local slog = require "ml.sweep.log"

local mlrun = os.getenv("MLRUN") or "build/mlrun"
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local function slurp(path)
  local f = io.open(path, "rb"); if not f then return "" end
  local s = f:read("a"); f:close(); return s
end
local function lines(path)
  local out = {}
  for l in slurp(path):gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end
local function configs(res)
  local out = {}
  for i, t in ipairs(res.trials) do out[i] = t.config end
  return out
end

-- a noisy-free bowl with a categorical and a conditional parameter
local SPACE = {x = ml.uniform(-2, 2), lr = ml.loguniform(1e-4, 1), k = {"a", "b", "c"},
               n = ml.randint(1, 10),
               m = function(c) if c.k == "b" then return ml.uniform(0, 1) end end}
local function bowl(c)
  return (c.x - 0.3) ^ 2 + 0.1 * (math.log(c.lr) - math.log(0.01)) ^ 2 +
    (c.k == "b" and (c.m - 0.5) ^ 2 or 0.5) + 0.01 * (c.n - 4) ^ 2
end
local function run_bowl(c) return {loss = bowl(c)} end

describe("tpe", function()
  it("gives the same trials for the same seed, others for another", function()
    local a = ml.sweep{tpe = {n = 14, space = SPACE, n_startup = 5}, run = run_bowl, mode = "min",
                       workers = 0, verbose = 0, seed = 3}
    local b = ml.sweep{tpe = {n = 14, space = SPACE, n_startup = 5}, run = run_bowl, mode = "min",
                       workers = 1, verbose = 0, seed = 3}
    local c = ml.sweep{tpe = {n = 14, space = SPACE, n_startup = 5}, run = run_bowl, mode = "min",
                       workers = 0, verbose = 0, seed = 4}
    assert.same(configs(a), configs(b))
    assert.are_not.same(configs(a), configs(c))
    assert.equal(14, #a.trials)
  end)

  it("draws conditional parameters only when their condition holds", function()
    local r = ml.sweep{tpe = {n = 25, space = SPACE, n_startup = 5}, run = run_bowl, mode = "min",
                       workers = 0, verbose = 0, seed = 1}
    local with, without = 0, 0
    for _, t in ipairs(r.trials) do
      if t.config.k == "b" then
        assert.is_number(t.config.m); with = with + 1
        assert.is_true(t.config.m >= 0 and t.config.m < 1)
      else
        assert.is_nil(t.config.m); without = without + 1
      end
      assert.is_true(t.config.lr >= 1e-4 and t.config.lr < 1)
      assert.equal("integer", math.type(t.config.n))
      assert.is_true(t.config.n >= 1 and t.config.n <= 9)
    end
    assert.is_true(with > 0 and without > 0)
  end)

  it("finds a better value than random search with the same budget (median of 7 seeds)", function()
    local function median_best(kind)
      local best = {}
      for seed = 1, 7 do
        local r = ml.sweep{[kind] = {n = 40, space = SPACE}, run = run_bowl, mode = "min",
                           workers = 0, verbose = 0, seed = seed}
        best[seed] = r.best.metrics.loss
      end
      table.sort(best)
      return best[4]
    end
    local t, r = median_best("tpe"), median_best("random")
    assert.is_true(t < r, ("tpe %g, random %g"):format(t, r))
  end)

  it("resumes from the log: the trials are those of an uninterrupted run", function()
    local log = dir .. "/tpe.jsonl"
    local ran = 0
    local run = function(c) ran = ran + 1; return run_bowl(c) end
    local whole = ml.sweep{tpe = {n = 14, space = SPACE, n_startup = 4}, run = run, mode = "min",
                           workers = 0, verbose = 0, seed = 7}
    ml.sweep{tpe = {n = 8, space = SPACE, n_startup = 4}, run = run, mode = "min", workers = 0,
             verbose = 0, seed = 7, log = log}
    ran = 0
    local resumed = ml.sweep{tpe = {n = 14, space = SPACE, n_startup = 4}, run = run, mode = "min",
                             workers = 0, verbose = 0, seed = 7, log = log}
    assert.equal(6, ran)
    assert.same(configs(whole), configs(resumed))
    assert.is_true(resumed.trials[1].resumed)
  end)

  it("uses only the best gamma(n) trials as the good group", function()
    assert.equal(1, tpe.gamma(5))
    assert.equal(3, tpe.gamma(30))
    assert.equal(25, tpe.gamma(1000))
    -- the good trials are at x = 0.9, the bad at -0.9: the sampler goes near 0.9
    local hist = {}
    for i = 1, 20 do
      local good = i % 4 == 0
      hist[i] = {id = i, config = {x = good and 0.9 or -0.9}, loss = good and 0 or 1}
    end
    local sample = tpe.sampler({x = ml.uniform(-1, 1)},
      {n_startup = 5, gamma = function() return 5 end})
    local u = require("ml.distributions").rng(1)
    local near = 0
    for _ = 1, 20 do
      if math.abs(sample(hist, function() return u:random() end).x - 0.9) < 0.3 then near = near + 1 end
    end
    assert.is_true(near >= 15, "near 0.9: " .. near)
  end)
end)

describe("custom samplers", function()
  it("are called with the history so far and a seeded generator", function()
    local seen = {}
    local r = ml.sweep{
      custom = {n = 5, sample = function(history, u)
        seen[#seen + 1] = #history
        local best = history[1] and history[#history].value or 0
        return {x = best + 1, r = u()}
      end},
      run = function(c) return {score = c.x} end, workers = 0, verbose = 0, seed = 2}
    assert.same({0, 1, 2, 3, 4}, seen)
    assert.equal(5, r.best.config.x)
    local again = ml.sweep{custom = {n = 5, sample = function(h, u) return {x = #h, r = u()} end},
      run = function(c) return {score = c.x} end, workers = 0, verbose = 0, seed = 2}
    assert.equal(r.trials[3].config.r, again.trials[3].config.r)
  end)
  it("must return a config table", function()
    assert.has_error(function()
      ml.sweep{custom = {n = 2, sample = function() return 3 end}, run = print, verbose = 0, workers = 0}
    end, "sweep: custom.sample must return a config table, got number")
  end)
end)

describe("sweep options of the searches", function()
  it("refuses mixed or malformed searches before any trial runs", function()
    local run = function() error("ran") end
    assert.has_error(function() ml.sweep{tpe = {n = 3, space = SPACE}, grid = {a = {1}}, run = run} end,
      "sweep: give one search (grid and/or random, or one of tpe, custom, asha, hyperband), got grid and tpe")
    assert.has_error(function() ml.sweep{tpe = {space = SPACE}, run = run} end,
      "sweep: tpe.n must be a positive integer (or 0 with trials = {...}), got nil")
    assert.has_error(function() ml.sweep{tpe = {n = 3, space = {a = {}}}, run = run} end,
      "sweep: space entry 'a' is an empty list")
    assert.has_error(function() ml.sweep{tpe = {n = 3, space = {a = io.stdout}}, run = run} end)
    assert.has_error(function() ml.sweep{tpe = {n = 3, space = SPACE, gama = 2}, run = run} end)
    assert.has_error(function()
      ml.sweep{asha = {n = 3, space = SPACE, max_steps = 9}, run = run, verbose = 0}
    end, "sweep: asha needs metric = '...' (the value trials report)")
    assert.has_error(function()
      ml.sweep{asha = {n = 3, space = SPACE}, run = run, metric = "a", verbose = 0}
    end, "sweep: asha.max_steps must be an integer >= 1, got nil")
    assert.has_error(function()
      ml.sweep{asha = {n = 3, space = SPACE, max_steps = 9, reduction_factor = 1}, run = run,
               metric = "a", verbose = 0}
    end, "sweep: asha.reduction_factor must be an integer >= 2, got 1")
    assert.has_error(function() ml.sweep{grid = {a = {1}}, run = run, retries = -1} end,
      "sweep: retries must be >= 0, got -1")
  end)
end)

-- a learning curve: trial q's value at step s is q * (1 - 0.5 / s) (max mode)
local function curve(steps)
  return function(cfg)
    for s = 1, steps do
      ml.trial.report(s, cfg.q * (1 - 0.5 / s))
      if ml.trial.should_prune() then return end
    end
    return {score = cfg.q}
  end
end

describe("asha", function()
  it("prunes trials below the top 1/eta at each rung and keeps the best to the end", function()
    local log = dir .. "/asha.csv"
    local r = ml.sweep{asha = {n = 27, space = {q = ml.uniform(0, 1)}, max_steps = 9},
      run = curve(9), metric = "score", mode = "max", workers = 0, verbose = 0, seed = 1, log = log}
    local best_q, pruned, steps = 0, 0, 0
    for _, t in ipairs(r.trials) do
      best_q = math.max(best_q, t.config.q)
      if t.status == "pruned" then
        pruned = pruned + 1
        assert.is_true(t.metrics.step == 1 or t.metrics.step == 3, tostring(t.metrics.step))
        -- its last value, not what run returned
        assert.near(t.config.q * (1 - 0.5 / t.metrics.step), t.metrics.score, 1e-12)
        steps = steps + t.metrics.step
      else
        assert.equal("ok", t.status)
        steps = steps + 9
      end
    end
    assert.equal(best_q, r.best.config.q)
    assert.is_true(pruned >= 14, "pruned " .. pruned)
    assert.is_true(steps < 0.5 * 27 * 9, "steps " .. steps)
    -- the log holds the reports and the pruned records
    local recs = slog.records(log)
    local kinds = {}
    for _, rec in ipairs(recs) do kinds[rec.status] = (kinds[rec.status] or 0) + 1 end
    assert.equal(pruned, kinds.pruned)
    assert.equal(27, kinds.running)
    assert.equal(steps, kinds.report)
    assert.matches("pruned", tostring(r))
  end)

  it("decides from the trials of every worker (through the log)", function()
    local r = ml.sweep{asha = {n = 12, space = {q = ml.uniform(0, 1)}, max_steps = 9},
      run = curve(9), metric = "score", mode = "max", workers = 2, verbose = 0, seed = 2}
    local n = {}
    for _, t in ipairs(r.trials) do n[t.status] = (n[t.status] or 0) + 1 end
    assert.equal(12, (n.ok or 0) + (n.pruned or 0))
    assert.is_true((n.pruned or 0) >= 4)
  end)

  it("runs hyperband brackets that start at different rungs", function()
    local r = ml.sweep{hyperband = {n = 18, space = {q = ml.uniform(0, 1)}, max_steps = 9},
      run = curve(9), metric = "score", mode = "max", workers = 0, verbose = 0, seed = 3}
    local first = {}   -- smallest step at which each bracket pruned
    for _, t in ipairs(r.trials) do
      if t.status == "pruned" then
        local b = (t.id - 1) % 2
        first[b] = math.min(first[b] or 99, t.metrics.step)
      end
    end
    assert.equal(1, first[0])
    assert.equal(3, first[1])
  end)

  it("stops a network through the SweepReporter callback", function()
    local x = ml.randn(64, 4)
    local y = (x:select(2, 1) + x:select(2, 2)):gt(0):float()
    local r = ml.sweep{
      asha = {n = 6, space = {lr = {1e-6, 1e-5, 0.1, 0.2, 0.3, 0.05}}, max_steps = 6},
      run = function(cfg)
        ml.seed(1)
        local m = ml.nn.Sequential{ml.nn.Input{4}, ml.nn.Dense(8, {activation = "relu"}), ml.nn.Dense(1)}
        m:compile{optimizer = ml.optim.SGD{lr = cfg.lr}, loss = "mse"}
        local h = m:fit(x, y:reshape(64, 1), {epochs = 6, batch_size = 16, verbose = 0,
          validation_split = 0.25, callbacks = {ml.callbacks.SweepReporter()}})
        return {val_loss = h.history.val_loss[#h.history.val_loss]}
      end,
      metric = "val_loss", mode = "min", workers = 0, verbose = 0}
    local pruned = 0
    for _, t in ipairs(r.trials) do
      if t.status == "pruned" then pruned = pruned + 1; assert.is_true(t.metrics.step < 6) end
    end
    assert.is_true(pruned >= 2, "pruned " .. pruned)
    assert.is_true(r.best.config.lr >= 0.05)
  end)

  it("survives SIGKILL mid-sweep: finished trials stay, the pruner resumes from the log", function()
    local log, marker = dir .. "/kill.jsonl", dir .. "/kill.marker"
    os.remove(log); os.remove(marker)
    local h = io.popen(("SWEEP_SLEEP=30 %s tests/sweep/asha_kill.lua %s %s >/dev/null & echo $!")
      :format(mlrun, log, marker))
    local pid = h:read("l")
    h:close()
    local deadline = os.time() + 30
    while #lines(marker) < 4 and os.time() < deadline do os.execute("sleep 0.1") end
    os.execute("sleep 0.3")
    os.execute("kill -9 " .. pid)
    os.execute("sleep 0.3")
    local before = {}
    for _, rec in ipairs(slog.records(log)) do
      if rec.status ~= "report" and rec.status ~= "running" then before[rec.trial] = rec end
    end
    for id = 1, 3 do assert.is_table(before[id], "trial " .. id .. " finished before the kill") end
    assert.is_nil(before[4])
    local p = io.popen(("SWEEP_SLEEP=0 %s tests/sweep/asha_kill.lua %s %s"):format(mlrun, log, marker))
    local out = p:read("a")
    assert.is_true(p:close(), out)
    -- 1..3 did not run again; 4 ran again (it never finished), then 5..9
    assert.same({"1", "2", "3", "4", "4", "5", "6", "7", "8", "9"}, lines(marker))
    -- the same run without a kill gives the same statuses (the pruner's state came from the log)
    local log2, marker2 = dir .. "/nokill.jsonl", dir .. "/nokill.marker"
    local q = io.popen(("%s tests/sweep/asha_kill.lua %s %s"):format(mlrun, log2, marker2))
    local out2 = q:read("a")
    assert.is_true(q:close(), out2)
    assert.equal(out2, out)
    assert.matches("pruned", out)
  end)
end)

describe("retries", function()
  it("re-runs a trial whose worker died, then logs it failed when retries run out", function()
    local marker = dir .. "/retry.marker"
    os.remove(marker)
    local r = ml.sweep{grid = {x = {1, 2, 3}}, retries = 2, workers = 1, verbose = 0,
      log = dir .. "/retry.jsonl",
      run = function(c)
        local f = assert(io.open(marker, "a")); f:write(c.x, "\n"); f:close()
        local n = 0
        for l in slurp(marker):gmatch("[^\n]+") do if l == tostring(c.x) then n = n + 1 end end
        if c.x == 2 and n == 1 then os.exit(9) end   -- dies once
        if c.x == 3 then os.exit(9) end              -- always dies
        return {score = c.x}
      end}
    assert.same({"1", "2", "2", "3", "3", "3"}, lines(marker))
    assert.equal("ok", r.trials[2].status)
    assert.equal(2, r.trials[2].attempts)
    assert.equal("failed", r.trials[3].status)
    assert.equal(3, r.trials[3].attempts)
    assert.matches("exit 9", r.trials[3].error)
    assert.matches('"attempts":3', slurp(dir .. "/retry.jsonl"))
  end)
end)

describe("ml.trial outside a sweep", function()
  it("records nothing and never prunes; bad arguments are named", function()
    ml.trial.report(1, 0.5)
    assert.is_false(ml.trial.should_prune())
    assert.is_nil(ml.trial.id())
    assert.has_error(function() ml.trial.report("a", 1) end,
      "trial.report: step must be a number >= 0, got a")
    assert.has_error(function() ml.trial.report(1, "x") end,
      "trial.report: value must be a number, got string")
  end)
end)

describe("the result", function()
  it("ranks pruned trials after finished ones", function()
    local r = ml.sweep{asha = {n = 9, space = {q = ml.uniform(0, 1)}, max_steps = 9},
      run = curve(9), metric = "score", mode = "max", workers = 0, verbose = 0}
    local seen_pruned = false
    for _, t in ipairs(r:ranked()) do
      if t.status == "pruned" then seen_pruned = true else assert.is_false(seen_pruned) end
    end
    assert.is_true(seen_pruned)
  end)
end)

describe("adaptive searches under mpirun -np 2", function()
  local has_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
  it("rank 0 hands out trials; ASHA decides from both ranks' reports", function()
    if not has_mpirun then pending("mpirun is not installed") return end
    local base_, marker, out = dir .. "/mpi", dir .. "/mpi.marker", dir .. "/mpi.out"
    os.remove(marker)
    local cmd = ("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader " ..
      "timeout 120 mpirun --oversubscribe -np 2 %s tests/mpi/sweep_search.lua %s %s > %s 2>&1")
      :format(mlrun, base_, marker, out)
    local ok = os.execute(cmd)
    local text = slurp(out)
    assert.is_true(ok, text)
    local r0 = text:match("rank 0 asha: ([^\n]*)")
    assert.is_truthy(r0, text)
    assert.equal(r0, text:match("rank 1 asha: ([^\n]*)"))
    assert.matches("12 trials, %d+ ok, %d+ pruned, best is the largest q: true", r0)
    assert.is_truthy(tonumber(r0:match("(%d+) pruned")) >= 4, r0)
    local ranks = {}
    for _, l in ipairs(lines(marker)) do ranks[l] = true end
    assert.is_true(ranks["0"] and ranks["1"], "both ranks ran trials")
    local t0 = text:match("rank 0 tpe: ([^\n]*)")
    assert.is_truthy(t0, text)
    assert.equal(t0, text:match("rank 1 tpe: ([^\n]*)"))
    local n = 0
    for _ in t0:gmatch("%S+") do n = n + 1 end
    assert.equal(8, n)
    local kinds = {}
    for _, rec in ipairs(slog.records(base_ .. ".asha.jsonl")) do
      kinds[rec.status] = (kinds[rec.status] or 0) + 1
    end
    assert.equal(12, kinds.running)
    assert.equal(12, (kinds.ok or 0) + (kinds.pruned or 0))
  end)
end)

describe("pictures of a sweep", function()
  local r = ml.sweep{tpe = {n = 30, space = SPACE, n_startup = 8}, run = run_bowl, mode = "min",
                     workers = 0, verbose = 0, seed = 1}
  it("draws the history: every trial and the best so far", function()
    local path = dir .. "/h.svg"
    r:plot("history", path)
    local svg = slurp(path)
    assert.matches("^<svg", svg)
    assert.matches("Best loss over trials", svg)
    local dots = 0
    for _ in svg:gmatch("<circle") do dots = dots + 1 end
    assert.equal(30, dots)
    assert.matches('class="best"', svg)
  end)
  it("estimates importance: the parameter that matters most comes first", function()
    -- y depends on a alone; b is noise
    local rr = ml.sweep{random = {n = 60, space = {a = ml.uniform(0, 1), b = ml.uniform(0, 1)}},
      run = function(c) return {y = c.a * 10 + 0.01 * c.b} end, workers = 0, verbose = 0, seed = 3}
    local imp = rr:importance()
    assert.equal("a", imp[1].name)
    assert.is_true(imp[1].value > 0.8, tostring(imp[1].value))
    assert.is_true(imp[2].value < 0.1, tostring(imp[2].value))
    local path = dir .. "/i.svg"
    rr:plot("importance", path)
    assert.matches("fANOVA%-lite", slurp(path))
  end)
  it("draws parallel coordinates with a log axis for loguniform entries, as PNG too", function()
    local path = dir .. "/p.svg"
    r:plot("parallel", path)
    local svg = slurp(path)
    local lines_ = 0
    for _ in svg:gmatch('class="trial"') do lines_ = lines_ + 1 end
    assert.equal(30, lines_)
    assert.matches(">log<", svg)
    if os.execute("command -v rsvg-convert >/dev/null 2>&1") then
      r:plot("parallel", dir .. "/p.png")
      assert.equal("\137PNG", slurp(dir .. "/p.png"):sub(1, 4))
    end
  end)
  it("refuses a picture without finished trials", function()
    local bad = ml.sweep{grid = {x = {1}}, run = function() error("no") end, workers = 0, verbose = 0}
    assert.has_error(function() bad:plot("history", dir .. "/x.svg") end,
      "sweep plot history: needs at least 1 finished trials with a finite metric, got 0")
  end)
end)
