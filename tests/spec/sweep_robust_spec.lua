-- Sweeps that meet NaN/Inf metrics, torn logs and invalid options (issue 9,
-- "Saves and sweeps"): results are kept, resumes work, bad options are
-- refused before any trial runs.
local ml = require "ml"
local json = require "ml.json"
local mlrun = os.getenv("MLRUN") or "build/mlrun"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end
local function lines(path)
  local out = {}
  for l in slurp(path):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

-- loss = x, except NaN for x = 2 and +Inf for x = 3
local calls
local function run(c)
  calls[#calls + 1] = c.x
  if c.x == 2 then return {loss = 0 / 0} elseif c.x == 3 then return {loss = 1 / 0} end
  return {loss = c.x}
end

describe("sweep with NaN or Inf metrics", function()
  for _, ext in ipairs{"jsonl", "csv"} do
    it("records them as diverged, ranks them last and resumes (" .. ext .. " log)", function()
      local log = dir .. "/div." .. ext
      calls = {}
      local r = ml.sweep{grid = {x = {1, 2, 3, 4}}, run = run, mode = "min", log = log,
                         verbose = 0, workers = 0}
      local order, status = {}, {}
      for i, t in ipairs(r:ranked()) do order[i] = t.config.x; status[i] = t.status end
      assert.same({1, 4, 2, 3}, order)
      assert.same({"ok", "ok", "diverged", "diverged"}, status)
      assert.equal(1, r.best.config.x)
      assert.matches("diverged", tostring(r))
      -- the log keeps the values (as Python's json writes them)
      local text = slurp(log)
      assert.matches("NaN", text)
      assert.matches("Infinity", text)
      -- resume: nothing re-runs, the same ranking comes back
      calls = {}
      local r2 = ml.sweep{grid = {x = {1, 2, 3, 4, 5}}, run = run, mode = "min", log = log,
                          verbose = 0, workers = 0}
      assert.same({5}, calls)
      local order2 = {}
      for i, t in ipairs(r2:ranked()) do order2[i] = t.config.x end
      assert.same({1, 4, 5, 2, 3}, order2)
      assert.equal("diverged", r2.trials[2].status)
      assert.is_true(r2.trials[2].metrics.loss ~= r2.trials[2].metrics.loss)
      assert.equal(math.huge, r2.trials[3].metrics.loss)
    end)
  end
  it("ranks max-mode sweeps with -Inf diverged too, in forked workers", function()
    local r = ml.sweep{grid = {x = {1, 2, 3}}, mode = "max", verbose = 0, workers = 2,
      run = function(c) return {acc = c.x == 2 and -1 / 0 or c.x} end}
    local order = {}
    for i, t in ipairs(r:ranked()) do order[i] = t.config.x end
    assert.same({3, 1, 2}, order)
    assert.equal("diverged", r.trials[2].status)
  end)
  it("treats an old log's null metric as diverged instead of failing after the run", function()
    local log = dir .. "/old.jsonl"
    local f = assert(io.open(log, "wb"))
    f:write('{"config":{"x":2},"metrics":{"loss":null},"seconds":0.1,"seed":1,"status":"ok","trial":2}\n')
    f:close()
    calls = {}
    local r = ml.sweep{grid = {x = {1, 2}}, run = run, mode = "min", log = log, verbose = 0,
                       workers = 0}
    assert.same({1}, calls)
    assert.equal("diverged", r:ranked()[2].status)
    assert.equal(1, r.best.config.x)
  end)
end)

describe("sweep log cut in the middle of a line", function()
  for _, ext in ipairs{"jsonl", "csv"} do
    it("is truncated to its last whole line before appending (" .. ext .. ")", function()
      local log = dir .. "/torn." .. ext
      calls = {}
      ml.sweep{grid = {x = {1, 4}}, run = run, mode = "min", log = log, verbose = 0, workers = 0}
      local whole = slurp(log)
      -- cut the last record in the middle
      local f = assert(io.open(log, "wb"))
      f:write(whole:sub(1, #whole - 20))
      f:close()
      calls = {}
      local r = ml.sweep{grid = {x = {1, 4, 5}}, run = run, mode = "min", log = log,
                         verbose = 0, workers = 0}
      assert.same({4, 5}, calls)                 -- the torn trial re-ran, once
      assert.equal(3, #r.trials)
      -- every line of the log is whole and parses; nothing was glued
      local recs = lines(log)
      local n = 0
      for i, l in ipairs(recs) do
        if not (ext == "csv" and i == 1) then
          n = n + 1
          if ext == "jsonl" then assert.is_table(json.decode(l)) end
        end
      end
      assert.equal(3, n)
      -- a third run finds everything done
      calls = {}
      ml.sweep{grid = {x = {1, 4, 5}}, run = run, mode = "min", log = log, verbose = 0, workers = 0}
      assert.same({}, calls)
    end)
  end
  it("a log that is one torn fragment starts over", function()
    local log = dir .. "/fragment.jsonl"
    local f = assert(io.open(log, "wb"))
    f:write('{"config":{"x":1},"met')
    f:close()
    calls = {}
    ml.sweep{grid = {x = {1}}, run = run, mode = "min", log = log, verbose = 0, workers = 0}
    assert.same({1}, calls)
    assert.equal(1, #lines(log))
    assert.is_table(json.decode(lines(log)[1]))
  end)
end)

describe("invalid sweep options", function()
  local bad = {
    {{timeout = -5}, "timeout must be a positive number"},
    {{timeout = 0}, "timeout must be a positive number"},
    {{timeout = 0 / 0}, "timeout must be a positive number of seconds, got nan"},
    {{timeout = 1 / 0}, "timeout must be a positive number"},
    {{workers = -1}, "workers must be >= 0"},
    {{workers = 1.5}, "workers"},
    {{verbose = -1}, "verbose must be >= 0"},
    {{log = ""}, "log must be a file path"},
    {{metric = ""}, "metric must be a name"},
    {{mode = "best"}, "mode"},
    {{seed = 0.5}, "seed"},
    {{random = {n = 0, space = {x = {1}}}}, "random.n must be a positive integer"},
    {{grid = {x = {}}}, "non%-empty list"},
    {{nope = 1}, "unknown option 'nope'"},
  }
  for _, case in ipairs(bad) do
    local opts, msg = case[1], case[2]
    it("refuses " .. json.encode(opts, {allow_nan = true}), function()
      local o = {grid = {x = {1}}, run = function() error("a trial ran") end, verbose = 0}
      for k, v in pairs(opts) do o[k] = v end
      local ok, err = pcall(ml.sweep, o)
      assert.is_false(ok)
      assert.matches(msg, tostring(err))
      assert.not_matches("a trial ran", tostring(err))
    end)
  end
  it("mlrun sweep --timeout -5 is refused", function()
    local p = io.popen(mlrun .. " sweep tests/sweep/script_trial.lua --set lr=0.1 --timeout -5 2>&1")
    local text = p:read("a")
    assert.is_falsy(p:close())
    assert.matches("timeout must be a positive number", text)
    p = io.popen(mlrun .. " sweep tests/sweep/script_trial.lua --set lr=0.1 --workers -2 2>&1")
    text = p:read("a")
    assert.is_falsy(p:close())
    assert.matches("workers must be >= 0", text)
  end)
end)
