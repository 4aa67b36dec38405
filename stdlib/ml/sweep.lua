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
local raise = require("ml.errors").raise

local sweep = {}

local TAG = 7301   -- MPI tag of trial results sent to rank 0
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

local function sample(name, spec, u)
  if type(spec) == "table" and getmetatable(spec) == nil then
    if #spec == 0 then raise(("sweep: space entry '%s' is an empty list"):format(name)) end
    return spec[math.floor(u() * #spec) + 1]
  end
  if type(spec) == "table" and spec.sample then return spec:sample(u) end
  if type(spec) == "table" and spec.rvs then return spec:rvs(u) end
  if type(spec) == "number" or type(spec) == "string" or type(spec) == "boolean" then
    return spec
  end
  raise(("sweep: space entry '%s' must be a list of values or a distribution " ..
    "(ml.uniform, ml.loguniform, ml.randint, ml.choice), got %s"):format(name, type(spec)))
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
    local n, space = r.n, r.space
    if math.type(n) ~= "integer" or n < 1 then
      raise("sweep: random.n must be a positive integer")
    end
    if type(space) ~= "table" then raise("sweep: random.space must be a table") end
    local u = make_rng(spec.seed or 0)
    local keys = sorted_keys(space)
    for _ = 1, n do
      local cfg = {}
      for _, k in ipairs(keys) do cfg[k] = sample(k, space[k], u) end
      out[#out + 1] = cfg
    end
  end
  for _, cfg in ipairs(spec.trials or {}) do out[#out + 1] = cfg end
  return out
end

-- ---------------------------------------------------------------------------
-- The log: CSV (path ends in .csv) or JSON lines. Every line is one finished
-- trial, written whole with fsync; a torn last line (a crash mid-write) is
-- ignored on reading.

local function csv_field(s)
  s = tostring(s)
  if s:find('[,"\n\r]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function csv_split(line)
  local fields, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then buf[#buf + 1] = '"'; j = q + 2
        else i = q + 1; break end
      end
      fields[#fields + 1] = table.concat(buf)
      if line:sub(i, i) == "," then i = i + 1 elseif i <= n then return nil else break end
    else
      local c = line:find(",", i, true) or n + 1
      fields[#fields + 1] = line:sub(i, c - 1)
      i = c + 1
      if c > n then break end
    end
  end
  return fields
end

local CSV_COLUMNS = {"trial", "status", "seconds", "seed", "config", "metrics", "error"}

local function log_format(path)
  return path:match("%.csv$") and "csv" or "jsonl"
end

local function record_line(fmt, t)
  if fmt == "jsonl" then
    return json.encode({trial = t.id, status = t.status, seconds = t.seconds, seed = t.seed,
                        config = t.config, metrics = t.metrics, error = t.error}, NAN) .. "\n"
  end
  local row = {t.id, t.status, string.format("%.3f", t.seconds or 0), t.seed,
               json.encode(t.config), json.encode(t.metrics or {}, NAN), t.error or ""}
  for i, v in ipairs(row) do row[i] = csv_field(v) end
  return table.concat(row, ",") .. "\n"
end

--- Finished trials recorded in a log file, keyed by config key.
function sweep.read_log(path)
  if core.sys.log_kind(path) ~= "file" then return {} end   -- /dev/null, a pipe: nothing logged
  local f = io.open(path, "rb")
  if not f then return {} end
  local text = f:read("a")
  f:close()
  local fmt, done = log_format(path), {}
  local header = fmt == "csv"
  for line in text:gmatch("([^\n]*)\n") do   -- complete lines only
    if header then header = false
    elseif line ~= "" then
      local ok, rec = pcall(function()
        if fmt == "jsonl" then return json.decode(line) end
        local f2 = csv_split(line)
        if not f2 or #f2 ~= #CSV_COLUMNS then return nil end
        return {trial = tonumber(f2[1]), status = f2[2], seconds = tonumber(f2[3]),
                seed = math.tointeger(tonumber(f2[4])), config = json.decode(f2[5]),
                metrics = json.decode(f2[6]), error = f2[7] ~= "" and f2[7] or nil}
      end)
      if ok and rec and type(rec.config) == "table" then
        if rec.error == json.null then rec.error = nil end
        done[config_key(rec.config)] = rec
      end
    end
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

--- Trials ordered best first: finished ones by metric, then the diverged
--- (NaN/Inf metric), then failures, each group by trial id.
function Result:ranked()
  local ok, diverged, bad = {}, {}, {}
  for _, t in ipairs(self.trials) do
    if t.status == "ok" and finite(t.metrics and t.metrics[self.metric]) then ok[#ok + 1] = t
    elseif t.status == "ok" or t.status == "diverged" then diverged[#diverged + 1] = t
    else bad[#bad + 1] = t end
  end
  local m, sign = self.metric, self.mode == "min" and 1 or -1
  table.sort(ok, function(a, b)
    local x, y = a.metrics[m] * sign, b.metrics[m] * sign
    if x ~= y then return x < y end
    return a.id < b.id
  end)
  local by_id = function(a, b) return a.id < b.id end
  table.sort(diverged, by_id)
  table.sort(bad, by_id)
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

--- Draws the metric against one parameter (SVG through ml.plot).
function Result:plot(param, path)
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

-- ---------------------------------------------------------------------------
-- Running

local SPEC = {
  {"grid", nil, "table|nil"}, {"random", nil, "table|nil"}, {"trials", nil, "table|nil"},
  {"run", nil, "function"}, {"metric", nil, "string|nil"}, {"mode", "max", {"max", "min"}},
  {"workers", 1, "integer"}, {"log", nil, "string|nil"}, {"seed", 0, "integer"},
  {"timeout", nil, "number|nil"}, {"verbose", 1, "integer"},
}

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

-- The work of one trial, as run in a worker: seed, run, encode.
local function trial_body(o, t)
  return function()
    ml.seed(t.seed)
    local ok, m = xpcall(o.run, function(e)
      -- the user's frames only: cut where the sweep machinery begins
      local tb = debug.traceback(tostring(e), 2)
      return (tb:gsub("\n%s*%[C%]: in function 'xpcall'.*$", ""))
    end, t.config)
    if not ok then error(m, 0) end
    return json.encode(check_metrics(m, o.metric), NAN)
  end
end

local function finish(t, status, payload, t0)
  t.seconds = core.term.clock() - t0
  if status == "ok" then
    t.status, t.metrics = "ok", json.decode(payload)
  else
    t.status, t.error = "failed", payload
  end
  return t
end

-- Starts one trial in a forked worker (runtime/sys primitives, shared with
-- ml.parallel). The worker sends one message: "O" + metrics or "E" + error.
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

-- Runs trials on this process's workers. on_done(t) is called as each ends;
-- between events poll_extra() lets the MPI root collect remote results.
local function run_local(o, todo, on_done, poll_extra)
  if o.workers == 0 then
    for _, t in ipairs(todo) do
      local t0 = core.term.clock()
      local ok, payload = pcall(trial_body(o, t))
      on_done(finish(t, ok and "ok" or "failed", payload, t0))
      if poll_extra then poll_extra(0) end
    end
    return
  end
  local running, next_i = {}, 1
  local ok, err = pcall(function()
    while next_i <= #todo or #running > 0 do
      while #running < o.workers and next_i <= #todo do
        running[#running + 1] = spawn(o, todo[next_i])
        next_i = next_i + 1
      end
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
        if tag == "O" then on_done(finish(w.t, "ok", payload, w.t0))
        elseif tag == "E" then on_done(finish(w.t, "failed", payload, w.t0))
        else on_done(finish(w.t, "failed", "worker died without a result (" .. how .. ")", w.t0)) end
      end
      if o.timeout then
        local still = {}
        for _, w in ipairs(running) do
          if core.term.clock() - w.t0 > o.timeout then
            core.sys.kill(w.pid)
            reap(w)
            on_done(finish(w.t, "failed", ("timeout after %g s"):format(o.timeout), w.t0))
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
  return ("[sweep] %d/%d done, %d failed%s, %d running | %s | %ds%s"):format(st.done + st.skipped,
    st.total + st.skipped, st.failed, div, st.running, best, math.floor(elapsed + 0.5), eta)
end

--- ml.sweep{grid | random | trials, run, metric, mode, workers, log, seed, timeout, verbose}
function sweep.sweep(opts)
  local o = base.options("sweep", opts, SPEC)
  if not o.run then raise("sweep: option 'run' (a function of the config) is required") end
  if not (o.grid or o.random or o.trials) then
    raise("sweep: give a search space: grid = {...}, random = {n = , space = {...}} " ..
      "or trials = {...}")
  end
  if o.workers < 0 then raise("sweep: workers must be >= 0, got " .. o.workers) end
  if o.timeout ~= nil and not (o.timeout > 0 and o.timeout < math.huge) then
    raise("sweep: timeout must be a positive number of seconds, got " .. fmt_value(o.timeout))
  end
  if o.verbose < 0 then raise("sweep: verbose must be >= 0, got " .. o.verbose) end
  if o.log == "" then raise("sweep: log must be a file path, got an empty string") end
  if o.metric == "" then raise("sweep: metric must be a name, got an empty string") end
  local rank, size = ml.dist.rank(), ml.dist.size()
  local root = rank == 0
  local all = {}
  for i, cfg in ipairs(sweep.configs(o)) do
    local key = config_key(cfg)
    all[i] = {id = i, config = cfg, key = key, seed = trial_seed(o.seed, key)}
  end
  -- what the log already holds (read by rank 0, shared with the others)
  local done = {}
  if o.log then
    if size > 1 then
      local text = ml.dist.broadcast_string(root and json.encode(sweep.read_log(o.log), NAN) or nil, 0)
      done = json.decode(text)
    else
      done = sweep.read_log(o.log)
    end
  end
  local results, todo = {}, {}
  for _, t in ipairs(all) do
    local rec = done[t.key]
    if rec and (rec.status == "ok" or rec.status == "failed" or rec.status == "diverged") then
      t.status, t.metrics, t.error, t.seconds = rec.status, rec.metrics, rec.error, rec.seconds
      if t.metrics == json.null then t.metrics = nil end
      t.resumed = true
      results[t.id] = t
    else
      todo[#todo + 1] = t
    end
  end
  local st = {done = 0, failed = 0, diverged = 0, running = 0, total = #todo, skipped = #all - #todo,
              t0 = core.term.clock()}
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
  local fmt = o.log and log_format(o.log)
  -- a torn last line (a crash mid-write) is cut, so the next record starts
  -- a line of its own instead of being glued to the fragment and lost
  if root and o.log then core.sys.log_repair(o.log) end
  if root and o.log and fmt == "csv" and core.sys.log_kind(o.log) ~= "other" then
    local f = io.open(o.log, "rb")
    local empty = not f or f:read(1) == nil
    if f then f:close() end
    if empty then core.sys.append_line(o.log, table.concat(CSV_COLUMNS, ",") .. "\n") end
  end
  local function record(t)   -- rank 0: log, remember, report
    metric_of(t)
    settle(t, o.metric)
    results[t.id] = t
    st.done = st.done + 1
    if t.status == "diverged" then st.diverged = st.diverged + 1
    elseif t.status ~= "ok" then st.failed = st.failed + 1
    elseif o.metric and type(t.metrics[o.metric]) == "number" then
      local v = t.metrics[o.metric]
      if not st.best or (o.mode == "max" and v > st.best.metrics[o.metric]) or
         (o.mode == "min" and v < st.best.metrics[o.metric]) then st.best = t end
    end
    if o.log then core.sys.append_line(o.log, record_line(fmt, t)) end
    if tty then
      io.stdout:write("\r", progress_line(o, st), "\27[K")
      io.stdout:flush()
    elseif o.verbose > 0 then
      local parts = {}
      for _, k in ipairs(sorted_keys(t.config)) do parts[#parts + 1] = k .. "=" .. fmt_value(t.config[k]) end
      local what = t.status == "ok" and o.metric and (o.metric .. "=" .. fmt_value(t.metrics[o.metric]))
        or t.status == "ok" and "ok"
        or t.status == "diverged" and ("diverged: " .. tostring(o.metric) .. "=" ..
          fmt_value(t.metrics and t.metrics[o.metric]))
        or ("failed: " .. (t.error or ""):match("[^\n]*"))
      print(("[sweep] trial %d (%d/%d) %s  %s  (%.1f s)"):format(t.id, st.done, st.total, what,
        table.concat(parts, " "), t.seconds or 0))
    end
  end
  if size == 1 then
    run_local(o, todo, record)
  else
    -- ranks share the pending trials round-robin; results go to rank 0
    local mine = {}
    for i, t in ipairs(todo) do
      if (i - 1) % size == rank then mine[#mine + 1] = t end
    end
    if root then
      local finished_ranks = 0
      local function collect(block)
        while true do
          local msg = ml.dist.recv(nil, TAG, block)
          if not msg then return end
          local rec = json.decode(msg)
          if rec.done then finished_ranks = finished_ranks + 1
          else
            local t = all[rec.id]
            t.status, t.metrics, t.error, t.seconds = rec.status, rec.metrics, rec.error, rec.seconds
            if t.error == json.null then t.error = nil end
            if t.metrics == json.null then t.metrics = nil end
            record(t)
          end
          if block then return end
        end
      end
      run_local(o, mine, record, function() collect(false) end)
      while finished_ranks < size - 1 do collect(true) end
    else
      run_local(o, mine, function(t)
        ml.dist.send(json.encode({id = t.id, status = t.status, metrics = t.metrics,
                                  error = t.error, seconds = t.seconds}, NAN), 0, TAG)
      end)
      ml.dist.send(json.encode({done = true}), 0, TAG)
    end
    -- every rank returns the same result table
    local text = ml.dist.broadcast_string(root and json.encode(results, NAN) or nil, 0)
    local shared = json.decode(text)
    results = {}
    for _, rec in pairs(shared) do
      local t = all[rec.id]
      t.status, t.metrics, t.error, t.seconds = rec.status, rec.metrics, rec.error, rec.seconds
      if t.error == json.null then t.error = nil end
      if t.metrics == json.null then t.metrics = nil end
      results[t.id] = t
      metric_of(t)
      settle(t, o.metric)
    end
  end
  if tty then io.stdout:write("\r", progress_line(o, st), "\27[K\n") end
  local res = setmetatable({trials = {}, metric = o.metric, mode = o.mode}, Result)
  for i = 1, #all do
    local t = results[i]
    if t then
      res.trials[#res.trials + 1] = {id = t.id, config = t.config, seed = t.seed, status = t.status,
        metrics = t.metrics, error = t.error, seconds = t.seconds, resumed = t.resumed}
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
