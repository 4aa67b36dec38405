local ml = require "ml"
local sweep = require "ml.sweep"

local mlrun = os.getenv("MLRUN") or "build/mlrun"

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a"); f:close(); return s
end

local function lines(path)
  local out = {}
  for l in (read(path) or ""):gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("ml.sweep search spaces", function()
  it("expands a grid in a fixed order", function()
    local c = sweep.configs{grid = {b = {1, 2}, a = {"x", "y"}}}
    assert.same({{a = "x", b = 1}, {a = "x", b = 2}, {a = "y", b = 1}, {a = "y", b = 2}}, c)
  end)
  it("samples a random space reproducibly from the seed", function()
    local space = {lr = {0.1, 0.01, 0.001}, layers = {1, 2, 3}}
    local a = sweep.configs{random = {n = 8, space = space}, seed = 3}
    local b = sweep.configs{random = {n = 8, space = space}, seed = 3}
    local c = sweep.configs{random = {n = 8, space = space}, seed = 4}
    assert.same(a, b)
    assert.are_not.same(a, c)
    assert.equal(8, #a)
  end)
  it("rejects bad specs with clear messages", function()
    assert.has_error(function() ml.sweep{grid = {a = {1}}} end,
      "sweep: option 'run' (a function of the config) is required")
    assert.has_error(function() ml.sweep{run = print} end)
    assert.has_error(function() ml.sweep{grid = {a = {1}}, run = print, wrkers = 2} end)
    assert.has_error(function() ml.sweep{grid = {a = {}}, run = print, verbose = 0} end)
  end)
end)

describe("ml.sweep running", function()
  local log = os.tmpname()
  after_each(function() os.remove(log) end)

  it("runs trials in workers, ranks them and records failures", function()
    os.remove(log)
    local res = ml.sweep{
      grid = {lr = {0.1, 0.01, 0.001}, bs = {32, 64}},
      run = function(cfg)
        if cfg.lr == 0.001 and cfg.bs == 64 then error("diverged") end
        if cfg.lr == 0.01 and cfg.bs == 64 then os.exit(3) end   -- a crashing trial
        return {acc = 1 - cfg.lr + cfg.bs / 1000}
      end,
      metric = "acc", workers = 2, log = log .. ".csv", verbose = 0,
    }
    os.remove(log .. ".csv")
    assert.equal(6, #res.trials)
    assert.same({lr = 0.001, bs = 32}, res.best.config)
    local failed = {}
    for _, t in ipairs(res.trials) do
      if t.status == "failed" then failed[#failed + 1] = t.error:match("[^\n]*") end
    end
    table.sort(failed)
    assert.equal(2, #failed)
    assert.matches("diverged", failed[1])
    assert.matches("worker died without a result %(exit 3%)", failed[2])
    assert.matches("acc", tostring(res))
  end)

  it("gives each trial a seed so it can be re-run alone", function()
    local run = function() return {v = ml.rand(1)[1]} end
    local res = ml.sweep{grid = {k = {1, 2, 3}}, run = run, workers = 2, verbose = 0}
    for _, t in ipairs(res.trials) do
      assert.equal(t.metrics.v, sweep.run_trial(run, t).v)
    end
    assert.are_not.equal(res.trials[1].metrics.v, res.trials[2].metrics.v)
    local again = ml.sweep{grid = {k = {1, 2, 3}}, run = run, workers = 1, verbose = 0}
    for i, t in ipairs(again.trials) do assert.equal(res.trials[i].metrics.v, t.metrics.v) end
  end)

  it("stops a trial at its timeout and goes on", function()
    local res = ml.sweep{
      grid = {s = {0, 30}},
      run = function(cfg) os.execute("sleep " .. cfg.s); return {score = -cfg.s} end,
      timeout = 1, workers = 2, verbose = 0,
    }
    assert.equal("ok", res.trials[1].status)
    assert.equal("failed", res.trials[2].status)
    assert.matches("timeout after 1 s", res.trials[2].error)
    assert.is_true(res.trials[2].seconds < 10)
  end)

  it("skips trials already in the log", function()
    local run = function(cfg) return {score = cfg.x} end
    ml.sweep{grid = {x = {1, 2, 3}}, run = run, log = log, verbose = 0}
    local res = ml.sweep{grid = {x = {1, 2, 3, 4}},
      run = function(cfg)
        if cfg.x ~= 4 then error("trial " .. cfg.x .. " ran again") end
        return {score = 4}
      end, log = log, verbose = 0}
    assert.equal(4, #res.trials)
    for _, t in ipairs(res.trials) do assert.equal("ok", t.status, t.error) end
    assert.equal(4, #lines(log))
    assert.equal(4, res.best.config.x)
  end)

  it("survives SIGKILL of the whole sweep: nothing finished is lost or re-run", function()
    local marker = os.tmpname()
    os.remove(log); os.remove(marker)
    -- trials 3.. sleep; kill the sweep while trial 3 sleeps
    local cmd = ("SWEEP_SLEEP=30 %s tests/sweep/kill_me.lua %s %s & echo $!"):format(mlrun, log, marker)
    local h = io.popen(cmd)
    local pid = h:read("l")
    h:close()   -- reap the shell, or it lingers as a zombie child
    local deadline = os.time() + 20
    while #lines(log) < 2 and os.time() < deadline do os.execute("sleep 0.1") end
    os.execute("sleep 0.3")
    os.execute("kill -9 " .. pid)
    os.execute("sleep 0.3")
    assert.equal(2, #lines(log))
    assert.same({"1", "2", "3"}, lines(marker))
    assert.is_true(os.execute(("SWEEP_SLEEP=0 %s tests/sweep/kill_me.lua %s %s"):format(mlrun, log, marker)))
    assert.equal(6, #lines(log))
    -- 1 and 2 did not run again; 3 ran again (it never finished), then 4..6
    assert.same({"1", "2", "3", "3", "4", "5", "6"}, lines(marker))
    os.remove(marker)
  end)

  it("draws the metric against a parameter", function()
    local res = ml.sweep{grid = {lr = {0.1, 0.03, 0.01}}, workers = 0, verbose = 0,
      run = function(c) return {acc = 1 - c.lr} end}
    local path = os.tmpname() .. ".svg"
    res:plot("lr", path)
    local f = assert(io.open(path))
    local svg = f:read("a")
    f:close()
    os.remove(path)
    assert.matches("^%s*<svg", svg)
    assert.matches("acc against lr", svg)
  end)

  it("ignores a torn last line in the log", function()
    local f = io.open(log, "w")
    f:write('{"config":{"x":1},"metrics":{"score":1},"seconds":0,"status":"ok","trial":1}\n')
    f:write('{"config":{"x":2},"metr')
    f:close()
    local ran = {}
    local res = ml.sweep{grid = {x = {1, 2}}, log = log, verbose = 0, workers = 0,
      run = function(cfg) ran[#ran + 1] = cfg.x; return {score = cfg.x} end}
    assert.same({2}, ran)
    assert.equal(2, res.best.config.x)
  end)
end)

describe("mlrun sweep", function()
  it("sweeps a script over --set values", function()
    local out = io.popen(mlrun .. " sweep tests/sweep/script_trial.lua --set lr=0.1,0.05 " ..
      "--set batch_size=32,128 --workers 2 --mode min 2>&1")
    local text = out:read("a")
    assert.is_true(out:close(), text)
    local first = text:match("\n(%s*1%s+%d+%s+ok[^\n]*)")
    assert.is_truthy(first, text)
    assert.matches("32%s+0.05", first)
  end)
  it("explains its usage on a bad option", function()
    local out = io.popen(mlrun .. " sweep tests/sweep/script_trial.lua --sett x=1 2>&1")
    local text = out:read("a")
    assert.is_falsy(out:close())
    assert.matches("unknown option '%-%-sett'", text)
    assert.matches("usage: mlrun sweep", text)
  end)
end)
