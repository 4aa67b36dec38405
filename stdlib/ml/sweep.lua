-- ml.sweep: hyperparameter sweeps. Trials run in forked worker processes
-- (each with its own copy of the Lua state), are logged the moment they
-- finish, and a rerun skips what the log already holds. Under `mpirun -np K`
-- the ranks share the trials; rank 0 logs and prints.
-- A worker runs with one thread: GNU OpenMP cannot start a thread team in a
-- forked child once the parent has used one (the child hangs), so the cores
-- are filled by running several workers instead.
local ml = require "ml"
local base = require "ml.base"
local json = require "ml.json"
local core = require "ml.core"
local space = require "ml.sweep.space"
local slog = require "ml.sweep.log"
local tpe = require "ml.sweep.tpe"
local prune = require "ml.sweep.prune"
local trial = require "ml.trial"
local raise = require("ml.errors").raise

local sweep = {}

local TAG = 7301        -- MPI tag of results (and requests for trials) sent to rank 0
local TAG_GIVE = 7302   -- MPI tag of trials rank 0 hands out (adaptive searches)
local NAN = {allow_nan = true}   -- logs and messages keep NaN/Inf metrics

-- ---------------------------------------------------------------------------
-- Trials

--- Canonical text of a config: the identity of a trial in logs and reruns.
local function config_key(cfg) return json.encode(cfg) end

--- 64-bit FNV-1a of s mixed with the sweep seed: the trial's own seed, so a
--- trial re-run alone (ml.seed(trial.seed); run(cfg)) gives the same result.
local function trial_seed(seed, key)
  local h = 0xcbf29ce484222325 ~ seed
  for i = 1, #key do h = (h ~ key:byte(i)) * 0x100000001b3 end
  return h & 0x7fffffffffff
end

-- splitmix64: a generator private to the sweep, so sampling configs never
-- disturbs ml.seed or math.random.
local function make_rng(seed)
  local x = seed
  return function()
    x = x + 0x9e3779b97f4a7c15
    local z = x
    z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
    z = (z ~ (z >> 27)) * 0x94d049bb133111eb
    z = z ~ (z >> 31)
    return (z >> 11) * 2.0^-53
  end
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then raise("sweep: parameter names must be strings") end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

--- The trial configs of a sweep spec, in a fixed order.
function sweep.configs(spec)
  local out = {}
  if spec.grid then
    local keys = sorted_keys(spec.grid)
    for _, k in ipairs(keys) do
      local v = spec.grid[k]
      if type(v) ~= "table" or #v == 0 then
        raise(("sweep: grid entry '%s' must be a non-empty list of values"):format(k))
      end
    end
    local idx = {}
    for i = 1, #keys do idx[i] = 1 end
    repeat
      local cfg = {}
      for i, k in ipairs(keys) do cfg[k] = spec.grid[k][idx[i]] end
      out[#out + 1] = cfg
      local d = #keys
      while d >= 1 do
        idx[d] = idx[d] + 1
        if idx[d] <= #spec.grid[keys[d]] then break end
        idx[d] = 1
        d = d - 1
      end
    until d < 1
  end
  if spec.random then
    local r = spec.random
    local n, sp = r.n, r.space
    if math.type(n) ~= "integer" or n < 1 then
      raise("sweep: random.n must be a positive integer")
    end
    if type(sp) ~= "table" then raise("sweep: random.space must be a table") end
    local u = make_rng(spec.seed or 0)
    local pick = function(name, s) return space.sample(name, s, u) end
    for _ = 1, n do out[#out + 1] = space.draw(sp, pick) end
  end
  for _, cfg in ipairs(spec.trials or {}) do out[#out + 1] = cfg end
  return out
end

-- ---------------------------------------------------------------------------
-- The log (stdlib/ml/sweep/log.lua)

--- Finished trials recorded in a log file, keyed by config key.
function sweep.read_log(path)
  local done = {}
  for _, rec in ipairs(slog.records(path)) do
    if rec.status ~= "report" and rec.status ~= "running" then done[config_key(rec.config)] = rec end
  end
  return done
end

-- ---------------------------------------------------------------------------
-- Results

local Result = base.class("SweepResult")

local function fmt_value(v)
  if type(v) == "number" then
    if v ~= v then return "nan" end
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.4g", v)
  end
  return tostring(v)
end

-- A finished trial whose ranking metric is not a finite number (NaN, Inf, or
-- null in an old log) diverged: it is kept, ranked after every finite one.
local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end
local function settle(t, metric)
  if t.status == "ok" and metric and not finite(t.metrics and t.metrics[metric]) then
    t.status = "diverged"
  end
  return t
end

--- Trials ordered best first: finished ones by metric, then the pruned (by
--- their last value), then the diverged (NaN/Inf metric), then failures.
function Result:ranked()
  local ok, pruned, diverged, bad = {}, {}, {}, {}
  for _, t in ipairs(self.trials) do
    if t.status == "ok" and finite(t.metrics and t.metrics[self.metric]) then ok[#ok + 1] = t
    elseif t.status == "pruned" then pruned[#pruned + 1] = t
    elseif t.status == "ok" or t.status == "diverged" then diverged[#diverged + 1] = t
    else bad[#bad + 1] = t end
  end
  local m, sign = self.metric, self.mode == "min" and 1 or -1
  local function by_metric(a, b)
    local x, y = a.metrics[m], b.metrics[m]
    x = finite(x) and x * sign or math.huge
    y = finite(y) and y * sign or math.huge
    if x ~= y then return x < y end
    return a.id < b.id
  end
  table.sort(ok, by_metric)
  table.sort(pruned, by_metric)
  local by_id = function(a, b) return a.id < b.id end
  table.sort(diverged, by_id)
  table.sort(bad, by_id)
  for _, t in ipairs(pruned) do ok[#ok + 1] = t end
  for _, t in ipairs(diverged) do ok[#ok + 1] = t end
  for _, t in ipairs(bad) do ok[#ok + 1] = t end
  return ok
end

function Result:__repr()
  local params = {}
  for _, t in ipairs(self.trials) do
    for k in pairs(t.config) do params[k] = true end
  end
  params = sorted_keys(params)
  local head = {"#", "trial", "status", self.metric or "metric"}
  for _, p in ipairs(params) do head[#head + 1] = p end
  head[#head + 1] = "seconds"
  local rows = {head}
  for i, t in ipairs(self:ranked()) do
    local r = {tostring(i), tostring(t.id), t.status,
               t.metrics and t.metrics[self.metric] and fmt_value(t.metrics[self.metric]) or "-"}
    for _, p in ipairs(params) do r[#r + 1] = fmt_value(t.config[p] == nil and "-" or t.config[p]) end
    r[#r + 1] = string.format("%.2f", t.seconds or 0)
    if t.error then r[#r + 1] = "  " .. (t.error:match("[^\n]*"):sub(1, 60)) end
    rows[#rows + 1] = r
  end
  local width = {}
  for _, r in ipairs(rows) do
    for i = 1, #head do width[i] = math.max(width[i] or 0, #(r[i] or "")) end
  end
  local lines = {}
  for _, r in ipairs(rows) do
    local cells = {}
    for i = 1, #head do
      local c = r[i] or ""
      cells[i] = i <= 2 and string.rep(" ", width[i] - #c) .. c or c .. string.rep(" ", width[i] - #c)
    end
    lines[#lines + 1] = table.concat(cells, "  ") .. (r[#head + 1] or "")
  end
  return table.concat(lines, "\n")
end

--- res:plot(what, path): "history" (each trial's metric and the best so
--- far), "importance" (fANOVA-lite, see res:importance()), "parallel"
--- (parallel coordinates), or a parameter name: the metric against it.
--- SVG, or PNG for a ".png" path (stdlib/ml/sweep/plots.lua).
function Result:plot(param, path)
  local kind = require("ml.sweep.plots").kinds[param]
  if kind then return kind(self, path) end
  if type(param) ~= "string" then
    raise("sweep plot: expected \"history\", \"importance\", \"parallel\" or a parameter name, got "
      .. type(param))
  end
  local xs, ys = {}, {}
  for _, t in ipairs(self.trials) do
    if t.status == "ok" and type(t.config[param]) == "number" then
      xs[#xs + 1], ys[#ys + 1] = t.config[param], t.metrics[self.metric]
    end
  end
  return ml.plot.scatter{x = ml.tensor(xs), y = ml.tensor(ys), path = path,
                         xlabel = param, ylabel = self.metric,
                         title = self.metric .. " against " .. param}
end

--- Each parameter's share of the metric's variance (fANOVA-lite main
--- effects): a list of {name =, value =}, largest first.
function Result:importance() return require("ml.sweep.plots").importance(self) end

-- ---------------------------------------------------------------------------
-- Running

local SPEC = {
  {"grid", nil, "table|nil"}, {"random", nil, "table|nil"}, {"trials", nil, "table|nil"},
  {"tpe", nil, "table|nil"}, {"custom", nil, "table|nil"}, {"asha", nil, "table|nil"},
  {"hyperband", nil, "table|nil"},
  {"run", nil, "function"}, {"metric", nil, "string|nil"}, {"mode", "max", {"max", "min"}},
  {"workers", 1, "integer"}, {"log", nil, "string|nil"}, {"seed", 0, "integer"},
  {"timeout", nil, "number|nil"}, {"verbose", 1, "integer"}, {"retries", 0, "integer"},
}

local ADAPTIVE = {"tpe", "custom", "asha", "hyperband"}
local SUB_SPEC = {
  tpe = {{"n"}, {"space"}, {"n_startup", 10, "integer"}, {"n_candidates", 24, "integer"},
         {"gamma", nil, "function|nil"}, {"prior_weight", 1, "number"}},
  custom = {{"n"}, {"sample", nil, "function"}},
  asha = {{"n"}, {"space"}, {"max_steps"}, {"min_steps"}, {"reduction_factor"},
          {"sampler", "random", {"random", "tpe"}}},
}
SUB_SPEC.hyperband = SUB_SPEC.asha

-- The adaptive search of a spec (tpe, custom, asha, hyperband) or nil:
-- {kind, n, sample(history, u) -> config, pruner}.
local function adaptive_plan(o)
  local kinds = {}
  for _, k in ipairs(ADAPTIVE) do if o[k] then kinds[#kinds + 1] = k end end
  if #kinds == 0 then return nil end
  if #kinds > 1 or o.grid or o.random then
    local given = {}
    for _, k in ipairs{"grid", "random", "tpe", "custom", "asha", "hyperband"} do
      if o[k] then given[#given + 1] = k end
    end
    raise("sweep: give one search (grid and/or random, or one of tpe, custom, asha, " ..
      "hyperband), got " .. table.concat(given, " and "))
  end
  local kind = kinds[1]
  local s = base.options("sweep: " .. kind, o[kind], SUB_SPEC[kind])
  if math.type(s.n) ~= "integer" or s.n < 0 or (s.n == 0 and not (o.trials and #o.trials > 0)) then
    raise(("sweep: %s.n must be a positive integer (or 0 with trials = {...}), got %s")
      :format(kind, tostring(s.n)))
  end
  local plan = {kind = kind, n = s.n, space = s.space}
  if kind == "custom" then
    if not s.sample then raise("sweep: custom.sample (a function of history, rng) is required") end
    plan.sample = function(history, u)
      local cfg = s.sample(history, u)
      if type(cfg) ~= "table" then
        raise("sweep: custom.sample must return a config table, got " .. type(cfg))
      end
      for k in pairs(cfg) do
        if type(k) ~= "string" then raise("sweep: custom.sample returned a non-string parameter name") end
      end
      return cfg
    end
    return plan
  end
  space.check(kind, s.space)
  if kind == "tpe" or s.sampler == "tpe" then
    if kind == "tpe" and (s.n_startup < 1 or s.n_candidates < 1) then
      raise("sweep: tpe.n_startup and tpe.n_candidates must be >= 1")
    end
    plan.sample = tpe.sampler(s.space, kind == "tpe" and s or {})
  else
    plan.sample = function(_, u)
      return space.draw(s.space, function(name, e) return space.sample(name, e, u) end)
    end
  end
  if kind == "asha" or kind == "hyperband" then plan.pruner = prune.new(kind, s) end
  return plan
end

local function check_metrics(m, metric)
  if type(m) == "number" then return {[metric or "score"] = m} end
  if type(m) ~= "table" then
    raise("run(cfg) must return a table of metrics, got " .. type(m))
  end
  for k, v in pairs(m) do
    if type(k) ~= "string" or (type(v) ~= "number" and type(v) ~= "string" and
                               type(v) ~= "boolean") then
      raise("run(cfg) must return a table of named numbers, strings or booleans")
    end
  end
  if metric and type(m[metric]) ~= "number" then
    raise(("run(cfg) returned no number for the metric '%s'"):format(metric))
  end
  return m
end

-- The work of one trial, as run in a worker: seed, run, encode. A trial
-- the pruner stopped is "pruned" whatever run returned, with its last
-- reported value as the metric and that report's step.
local function trial_body(o, t)
  return function()
    ml.seed(t.seed)
    trial._begin{id = t.id, attempt = t.attempt or 1, config = t.config, log = o.log,
                 pruner = o.pruner, mode = o.mode, metric = o.metric}
    local ok, m = xpcall(o.run, function(e)
      -- the user's frames only: cut where the sweep machinery begins
      local tb = debug.traceback(tostring(e), 2)
      return (tb:gsub("\n%s*%[C%]: in function 'xpcall'.*$", ""))
    end, t.config)
    local c = trial._end()
    if not ok then error(m, 0) end
    if c.pruned then
      local last = c.reports[#c.reports]
      return json.encode({status = "pruned", metrics = {[o.metric] = last.value, step = last.step}}, NAN)
    end
    return json.encode({status = "ok", metrics = check_metrics(m, o.metric)}, NAN)
  end
end

local function finish(t, status, payload, t0)
  t.seconds = core.term.clock() - t0
  if status == "ok" then
    local r = json.decode(payload)
    t.status, t.metrics, t.error = r.status, r.metrics, nil
  else
    t.status, t.error = "failed", payload
  end
  return t
end

-- Starts one trial in a forked worker (runtime/sys primitives, shared with
-- ml.parallel). The worker sends one message: "O" + result or "E" + error.
local function spawn(o, t)
  local r, w = core.sys.pipe()
  local pid = core.sys.fork()
  if pid == 0 then
    core.sys.close(r)
    core.tensor.set_num_threads(1)   -- see the top of this file: no OpenMP team after fork
    local ok, payload = pcall(trial_body(o, t))
    core.sys.send(w, (ok and "O" or "E") .. tostring(payload))
    core.sys.exit(0)
  end
  core.sys.close(w)
  return {pid = pid, fd = r, t = t, t0 = core.term.clock()}
end

local function reap(w)
  core.sys.close(w.fd)
  local how, code = core.sys.wait(w.pid)
  return how == "signaled" and ("signal " .. code) or ("exit " .. tostring(code))
end

-- Runs trials on this process's workers, taking them from next_trial()
-- until it returns nil. on_done(t) is called as each ends (a failed trial
-- with retries left goes back to the queue first); between events
-- poll_extra() lets the MPI root serve the other ranks.
local function run_local(o, next_trial, on_done, poll_extra)
  local again = {}
  local function take()
    if #again > 0 then return table.remove(again, 1) end
    return next_trial()
  end
  local function done(t)
    if t.status == "failed" and (t.attempt or 1) <= o.retries then
      if o.verbose > 0 and ml.dist.rank() == 0 then
        print(("[sweep] trial %d attempt %d failed (%s); retrying"):format(t.id, t.attempt or 1,
          (t.error or ""):match("[^\n]*")))
      end
      t.attempt = (t.attempt or 1) + 1
      t.status, t.error, t.metrics = nil, nil, nil
      again[#again + 1] = t
      return
    end
    t.attempts = t.attempt or 1
    on_done(t)
  end
  if o.workers == 0 then
    while true do
      local t = take()
      if not t then break end
      local t0 = core.term.clock()
      local ok, payload = pcall(trial_body(o, t))
      done(finish(t, ok and "ok" or "failed", payload, t0))
      if poll_extra then poll_extra(0) end
    end
    return
  end
  local running = {}
  local ok, err = pcall(function()
    while true do
      while #running < o.workers do
        local t = take()
        if not t then break end
        running[#running + 1] = spawn(o, t)
      end
      if #running == 0 then break end
      local fds, wait = {}, 0.5
      local now = core.term.clock()
      for i, w in ipairs(running) do
        fds[i] = w.fd
        if o.timeout then wait = math.min(wait, math.max(0, w.t0 + o.timeout - now)) end
      end
      if poll_extra then wait = math.min(wait, 0.05) end
      local ready = core.sys.poll(fds, wait)
      if ready then
        local w = table.remove(running, ready)
        local msg = core.sys.recv(w.fd)
        local how = reap(w)
        local tag, payload = msg and msg:sub(1, 1), msg and msg:sub(2)
        if tag == "O" then done(finish(w.t, "ok", payload, w.t0))
        elseif tag == "E" then done(finish(w.t, "failed", payload, w.t0))
        else done(finish(w.t, "failed", "worker died without a result (" .. how .. ")", w.t0)) end
      end
      if o.timeout then
        local still = {}
        for _, w in ipairs(running) do
          if core.term.clock() - w.t0 > o.timeout then
            core.sys.kill(w.pid)
            reap(w)
            done(finish(w.t, "failed", ("timeout after %g s"):format(o.timeout), w.t0))
          else
            still[#still + 1] = w
          end
        end
        running = still
      end
      if poll_extra then poll_extra(0) end
    end
  end)
  if not ok then
    for _, w in ipairs(running) do core.sys.kill(w.pid); reap(w) end
    error(err, 0)
  end
end

local function progress_line(o, st)
  local best = st.best and ("best %s %s"):format(o.metric, fmt_value(st.best.metrics[o.metric]))
    or "no result yet"
  local elapsed = core.term.clock() - st.t0
  local eta = ""
  if st.done > 0 and st.done < st.total then
    eta = (" ETA %ds"):format(math.floor(elapsed / st.done * (st.total - st.done) + 0.5))
  end
  local div = st.diverged > 0 and (", %d diverged"):format(st.diverged) or ""
  local pr = st.pruned > 0 and (", %d pruned"):format(st.pruned) or ""
  return ("[sweep] %d/%d done, %d failed%s%s, %d running | %s | %ds%s"):format(st.done + st.skipped,
    st.total + st.skipped, st.failed, div, pr, st.running, best, math.floor(elapsed + 0.5), eta)
end

local TERMINAL = {ok = true, failed = true, diverged = true, pruned = true}

local function copy_result(t, rec)
  t.status, t.metrics, t.error, t.seconds = rec.status, rec.metrics, rec.error, rec.seconds
  t.attempts = math.tointeger(rec.attempts) or t.attempts
  if t.error == json.null then t.error = nil end
  if t.metrics == json.null then t.metrics = nil end
  return t
end

-- The sampler's view of the trials so far, in id order: {id, config,
-- status, metrics, value (the metric, or nil), loss (lower is better: the
-- metric for mode "min", its negative for "max"; math.huge for pruned and
-- diverged trials; nil for failed ones)}.
local function history_of(results, o)
  local ids = {}
  for id in pairs(results) do ids[#ids + 1] = id end
  table.sort(ids)
  local out = {}
  for _, id in ipairs(ids) do
    local t = results[id]
    local v = o.metric and t.metrics and t.metrics[o.metric]
    local loss
    if t.status == "ok" and finite(v) then loss = o.mode == "min" and v or -v
    elseif t.status == "pruned" or t.status == "diverged" or t.status == "ok" then loss = math.huge end
    out[#out + 1] = {id = id, config = t.config, status = t.status, metrics = t.metrics,
                     value = type(v) == "number" and v or nil, loss = loss}
  end
  return out
end

--- ml.sweep{grid | random | trials | tpe | custom | asha | hyperband, run, metric,
--- mode, workers, log, seed, timeout, retries, verbose}
function sweep.sweep(opts)
  local o = base.options("sweep", opts, SPEC)
  if not o.run then raise("sweep: option 'run' (a function of the config) is required") end
  local plan = adaptive_plan(o)
  if not (o.grid or o.random or o.trials or plan) then
    raise("sweep: give a search space: grid = {...}, random = {n = , space = {...}}, " ..
      "tpe = {n = , space = {...}}, asha = {...}, hyperband = {...}, custom = {...} " ..
      "or trials = {...}")
  end
  if o.workers < 0 then raise("sweep: workers must be >= 0, got " .. o.workers) end
  if o.retries < 0 then raise("sweep: retries must be >= 0, got " .. o.retries) end
  if o.timeout ~= nil and not (o.timeout > 0 and o.timeout < math.huge) then
    raise("sweep: timeout must be a positive number of seconds, got " .. fmt_value(o.timeout))
  end
  if o.verbose < 0 then raise("sweep: verbose must be >= 0, got " .. o.verbose) end
  if o.log == "" then raise("sweep: log must be a file path, got an empty string") end
  if o.metric == "" then raise("sweep: metric must be a name, got an empty string") end
  local rank, size = ml.dist.rank(), ml.dist.size()
  local root = rank == 0
  local tmp_log
  if plan and plan.pruner then
    if not o.metric then raise("sweep: " .. plan.kind .. " needs metric = '...' (the value trials report)") end
    if not o.log then
      if size > 1 then
        raise("sweep: " .. plan.kind .. " under MPI needs log = a path every rank can append to")
      end
      tmp_log = os.tmpname()
      o.log = tmp_log .. ".jsonl"
      os.remove(tmp_log)
    end
    o.pruner = plan.pruner
  end
  local ok, res = pcall(sweep._run, o, plan, rank, size, root)
  if tmp_log then os.remove(o.log) end
  if not ok then error(res, 0) end
  return res
end

function sweep._run(o, plan, rank, size, root)
  local all, results, queue = {}, {}, {}
  local total_new, free_ids = 0, {}
  local function new_trial(id, cfg, seed)
    local key = config_key(cfg)
    local t = {id = id, config = cfg, key = key, seed = seed or trial_seed(o.seed, key), attempt = 1}
    all[id] = t
    return t
  end
  if not plan then
    -- grid, random, trials: known in advance; a trial's identity is its config
    for i, cfg in ipairs(sweep.configs(o)) do new_trial(i, cfg) end
    local done = {}
    if o.log then
      if size > 1 then
        local text = ml.dist.broadcast_string(root and json.encode(sweep.read_log(o.log), NAN) or nil, 0)
        done = json.decode(text)
      else
        done = sweep.read_log(o.log)
      end
    end
    for _, t in ipairs(all) do
      local rec = done[t.key]
      if rec and (rec.status == "ok" or rec.status == "failed" or rec.status == "diverged") then
        copy_result(t, rec)
        t.resumed = true
        results[t.id] = t
      else
        queue[#queue + 1] = t
      end
    end
  elseif root then
    -- adaptive: trials are made as workers free up; a trial's identity is
    -- its id, and the log (finished trials, handed-out configs, reports) is
    -- the sampler's and the pruner's whole state
    local fixed = sweep.configs{trials = o.trials}
    local n_all = #fixed + plan.n
    local by_id, attempts = {}, {}
    for _, rec in ipairs(o.log and slog.records(o.log) or {}) do
      local id = rec.trial
      if id and id >= 1 and id <= n_all then
        local a = rec.status == "report" and rec.attempt
          or rec.status == "running" and type(rec.metrics) == "table" and math.tointeger(rec.metrics.attempt)
        if a then attempts[id] = math.max(attempts[id] or 0, a) end
        if rec.status ~= "report" and not (TERMINAL[by_id[id] and by_id[id].status]
            and rec.status == "running") then
          by_id[id] = rec
        end
      end
    end
    for id = 1, n_all do
      local rec = by_id[id]
      if rec and TERMINAL[rec.status] then
        local t = new_trial(id, rec.config, rec.seed)
        copy_result(t, rec)
        t.resumed = true
        results[id] = t
      elseif rec then   -- handed out, never finished: the same config again
        local t = new_trial(id, rec.config, rec.seed)
        t.attempt = (attempts[id] or 0) + 1
        queue[#queue + 1] = t
      elseif id <= #fixed then
        queue[#queue + 1] = new_trial(id, fixed[id])
      else
        free_ids[#free_ids + 1] = id
      end
    end
    total_new = #queue + #free_ids
  end
  local st = {done = 0, failed = 0, diverged = 0, pruned = 0, running = 0, skipped = 0,
              t0 = core.term.clock()}
  for _ in pairs(results) do st.skipped = st.skipped + 1 end
  st.total = plan and total_new or #queue
  local tty = core.term.isatty(1) and o.verbose > 0 and root
  local metric_of = function(t)
    if not o.metric and t.status == "ok" then
      local keys = sorted_keys(t.metrics)
      if #keys ~= 1 then
        raise("sweep: run returned several metrics (" .. table.concat(keys, ", ") ..
          "); say which one ranks the trials with metric = '...'")
      end
      o.metric = keys[1]
    end
  end
  for _, t in pairs(results) do metric_of(t); settle(t, o.metric) end
  -- a torn last line (a crash mid-write) is cut, so the next record starts
  -- a line of its own instead of being glued to the fragment and lost
  if root and o.log then core.sys.log_repair(o.log); slog.header(o.log) end

  -- the trials this process runs next
  local next_trial
  if not plan then
    local mine, i = {}, 0
    for j, t in ipairs(queue) do
      if (j - 1) % size == rank then mine[#mine + 1] = t end
    end
    next_trial = function() i = i + 1; return mine[i] end
  elseif root then
    next_trial = function()
      local t = table.remove(queue, 1)
      if not t then
        local id = table.remove(free_ids, 1)
        if not id then return nil end
        local u = make_rng(trial_seed(o.seed, "#" .. id))
        t = new_trial(id, plan.sample(history_of(results, o), u))
      end
      if o.log then
        slog.append(o.log, {id = t.id, status = "running", seed = t.seed, config = t.config,
                            metrics = {attempt = t.attempt}})
      end
      return t
    end
  else
    -- other ranks ask rank 0 for each trial
    local over = false
    next_trial = function()
      if over then return nil end
      ml.dist.send(json.encode({ask = true}), 0, TAG)
      local msg = ml.dist.recv(0, TAG_GIVE, true)
      local rec = json.decode(msg)
      if rec.stop then over = true; return nil end
      return {id = rec.id, config = rec.config, key = config_key(rec.config), seed = rec.seed,
              attempt = rec.attempt}
    end
  end

  local fmt = o.log and slog.format(o.log)
  local function record(t)   -- rank 0: log, remember, report
    metric_of(t)
    settle(t, o.metric)
    results[t.id] = t
    all[t.id] = all[t.id] or t
    st.done = st.done + 1
    if t.status == "diverged" then st.diverged = st.diverged + 1
    elseif t.status == "pruned" then st.pruned = st.pruned + 1
    elseif t.status ~= "ok" then st.failed = st.failed + 1
    elseif o.metric and type(t.metrics[o.metric]) == "number" then
      local v = t.metrics[o.metric]
      if not st.best or (o.mode == "max" and v > st.best.metrics[o.metric]) or
         (o.mode == "min" and v < st.best.metrics[o.metric]) then st.best = t end
    end
    if o.log then core.sys.append_line(o.log, slog.line(fmt, t)) end
    if tty then
      io.stdout:write("\r", progress_line(o, st), "\27[K")
      io.stdout:flush()
    elseif o.verbose > 0 then
      local parts = {}
      for _, k in ipairs(sorted_keys(t.config)) do parts[#parts + 1] = k .. "=" .. fmt_value(t.config[k]) end
      local what = t.status == "ok" and o.metric and (o.metric .. "=" .. fmt_value(t.metrics[o.metric]))
        or t.status == "ok" and "ok"
        or t.status == "pruned" and ("pruned at step " .. fmt_value(t.metrics.step) .. ": " ..
          o.metric .. "=" .. fmt_value(t.metrics[o.metric]))
        or t.status == "diverged" and ("diverged: " .. tostring(o.metric) .. "=" ..
          fmt_value(t.metrics and t.metrics[o.metric]))
        or ("failed: " .. (t.error or ""):match("[^\n]*"))
      print(("[sweep] trial %d (%d/%d) %s  %s  (%.1f s)"):format(t.id, st.done, st.total, what,
        table.concat(parts, " "), t.seconds or 0))
    end
  end
  if size == 1 then
    run_local(o, next_trial, record)
  elseif root then
    local finished_ranks = 0
    local function collect(block)
      while true do
        local msg, src = ml.dist.recv(nil, TAG, block)
        if not msg then return end
        local rec = json.decode(msg)
        if rec.done then finished_ranks = finished_ranks + 1
        elseif rec.ask then
          local t = next_trial()
          ml.dist.send(json.encode(t and {id = t.id, config = t.config, seed = t.seed,
                                          attempt = t.attempt} or {stop = true}), src, TAG_GIVE)
        else
          local t = all[rec.id]
          copy_result(t, rec)
          record(t)
        end
        if block then return end
      end
    end
    run_local(o, next_trial, record, function() collect(false) end)
    while finished_ranks < size - 1 do collect(true) end
  else
    run_local(o, next_trial, function(t)
      ml.dist.send(json.encode({id = t.id, status = t.status, metrics = t.metrics,
                                error = t.error, seconds = t.seconds, attempts = t.attempts}, NAN),
                   0, TAG)
    end)
    ml.dist.send(json.encode({done = true}), 0, TAG)
  end
  if size > 1 then
    -- every rank returns the same result table
    local list = {}
    for _, t in pairs(results) do list[#list + 1] = t end
    local text = ml.dist.broadcast_string(root and json.encode(list, NAN) or nil, 0)
    local shared = json.decode(text)
    results = {}
    for _, rec in pairs(shared) do
      local t = all[rec.id] or {id = rec.id, config = rec.config, key = config_key(rec.config),
                                seed = rec.seed}
      t.resumed = rec.resumed or nil
      copy_result(t, rec)
      all[t.id] = t
      results[t.id] = t
      metric_of(t)
      settle(t, o.metric)
    end
  end
  if tty then io.stdout:write("\r", progress_line(o, st), "\27[K\n") end
  local res = setmetatable({trials = {}, metric = o.metric, mode = o.mode, search = plan and plan.kind
                            or "grid"}, Result)
  local ids = {}
  for id in pairs(results) do ids[#ids + 1] = id end
  table.sort(ids)
  for _, id in ipairs(ids) do
    local t = results[id]
    res.trials[#res.trials + 1] = {id = t.id, config = t.config, seed = t.seed, status = t.status,
      metrics = t.metrics, error = t.error, seconds = t.seconds, resumed = t.resumed,
      attempts = t.attempts}
  end
  -- which numeric parameters are drawn on a log scale (for the plots)
  local sp = plan and plan.space or o.random and o.random.space
  if type(sp) == "table" then
    res.log_scale = {}
    for k, v in pairs(sp) do
      if type(v) ~= "function" then res.log_scale[k] = space.kind(v) == "loguniform" end
    end
  end
  local ranked = res:ranked()
  if ranked[1] and ranked[1].status == "ok" then res.best = ranked[1] end
  return res
end

--- Re-runs one trial alone in this process (same seed as in the sweep).
function sweep.run_trial(run, trial)
  ml.seed(trial.seed)
  return run(trial.config)
end

-- ---------------------------------------------------------------------------
-- `mlrun sweep script.lua --set k=v1,v2 ... [--workers N] [--log F]
--  [--metric M] [--mode max|min] [--timeout S] [--seed N] [-- script args]`

local function parse_value(s)
  if s == "true" then return true elseif s == "false" then return false end
  local n = tonumber(s)
  if n then return math.tointeger(n) or n end
  return s
end

function sweep.cli(argv)
  local usage = "usage: mlrun sweep script.lua --set name=v1,v2 [--set ...] [--workers N] " ..
    "[--log FILE] [--metric NAME] [--mode max|min] [--timeout SECONDS] [--seed N] [-- args]"
  local script = argv[1]
  if not script or script:sub(1, 1) == "-" then raise(usage) end
  local grid, opts, args = {}, {}, {}
  local i = 2
  while i <= #argv do
    local a = argv[i]
    local function value()
      i = i + 1
      if argv[i] == nil then raise(("mlrun sweep: %s needs a value\n%s"):format(a, usage)) end
      return argv[i]
    end
    if a == "--set" then
      local name, list = value():match("^([%w_]+)=(.+)$")
      if not name then raise("mlrun sweep: --set expects name=v1,v2,..., got " .. argv[i]) end
      local vals = {}
      for v in list:gmatch("[^,]+") do vals[#vals + 1] = parse_value(v) end
      grid[name] = vals
    elseif a == "--workers" or a == "--seed" then
      local v = math.tointeger(tonumber(value()))
      if not v then raise(("mlrun sweep: %s expects an integer, got %s"):format(a, argv[i])) end
      opts[a:sub(3)] = v
    elseif a == "--timeout" then
      opts.timeout = tonumber(value()) or raise("mlrun sweep: --timeout expects seconds")
    elseif a == "--log" or a == "--metric" or a == "--mode" then
      opts[a:sub(3)] = value()
    elseif a == "--" then
      table.move(argv, i + 1, #argv, 1, args)
      break
    else
      raise(("mlrun sweep: unknown option '%s'\n%s"):format(a, usage))
    end
    i = i + 1
  end
  if next(grid) == nil then raise("mlrun sweep: give at least one --set name=values\n" .. usage) end
  local chunk, err = loadfile(script)
  if not chunk then error(err, 0) end
  opts.grid = grid
  opts.run = function(cfg)
    ml.config = cfg
    _G.arg = {[0] = script, table.unpack(args)}
    return chunk(table.unpack(args))
  end
  local res = sweep.sweep(opts)
  if ml.dist.rank() == 0 then print(res) end
  return res
end

return sweep
