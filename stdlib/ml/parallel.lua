-- ml.parallel: run a function over items in worker processes (n_jobs).
--
--   local res = ml.parallel.map(function(item, i) return fit_and_score(item) end,
--                               items, {n_jobs = 2})
--
-- Each worker is a fork of the calling process, so it starts with a copy of
-- the whole Lua state (data, estimators, upvalues) and shares nothing after.
-- Workers run with one thread each (2 jobs x 1 thread keep 2 cores busy),
-- take item numbers from the parent one at a time (the slow items do not
-- hold up the rest), and send results back over pipes, serialized with
-- ml.io.serialize (numbers, strings, booleans, tables, tensors, estimators).
-- Results keep the items' order. An error in fn(item) becomes an error in
-- the parent naming the item; a worker that dies (a crash, a kill) does too.
-- Every child is waited for, whatever happens: no zombies. n_jobs = 1 (or a
-- single item) runs in-process; n_jobs = -1 uses every core.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local parallel = {}

-- ---------------------------------------------------------------------------
-- Messages: ml.io's encoding (uncompressed), the value wrapped so nil and
-- plain numbers travel too.

--- value -> string (ml.io.serialize at zlib level 0).
function parallel.serialize(v)
  return require("ml.io").serialize({v = v}, {level = 0})
end

function parallel.deserialize(s)
  return require("ml.io").deserialize(s).v
end

-- ---------------------------------------------------------------------------
-- map

local function item_name(items, i)
  local v = items[i]
  local shown = ""
  if type(v) == "number" or type(v) == "string" or type(v) == "boolean" then
    shown = " (" .. tostring(v) .. ")"
  end
  return string.format("item %d%s", i, shown)
end

local function run_child(fn, items, task_r, result_w)
  core.tensor.set_num_threads(1)
  while true do
    local msg = core.sys.recv(task_r)
    if msg == nil or msg == "" then break end
    local i = string.unpack("<j", msg)
    local ok, res = xpcall(fn, function(e)
      return type(e) == "string" and e or tostring(e)
    end, items[i], i)
    local payload
    if ok then
      local sok, s = pcall(parallel.serialize, res)
      payload = sok and ("R" .. s) or ("E" .. "cannot send the result back: " .. tostring(s))
    else
      payload = "E" .. tostring(res)
    end
    if not core.sys.send(result_w, string.pack("<j", i) .. payload) then break end
  end
  io.stdout:flush()
  core.sys.exit(0)
end

--- Monotonic wall-clock seconds.
parallel.now = core.term.clock

--- Number of worker processes for n_jobs (-1: every core).
function parallel.effective_jobs(n_jobs, n_items)
  n_jobs = n_jobs or 1
  if n_jobs < 0 then n_jobs = core.sys.ncpu() + 1 + n_jobs end
  if n_jobs < 1 then n_jobs = 1 end
  if n_items then n_jobs = math.min(n_jobs, n_items) end
  return n_jobs
end

--- results = ml.parallel.map(fn, items, {n_jobs = 2}); results[i] = fn(items[i], i).
function parallel.map(fn, items, opts)
  base.check_arg("parallel.map", 1, fn, "function")
  base.check_arg("parallel.map", 2, items, "table")
  opts = base.options("parallel.map", opts, {{"n_jobs", 1, "integer"}})
  local n = #items
  local jobs = parallel.effective_jobs(opts.n_jobs, n)
  local results = {}
  if jobs <= 1 then
    for i = 1, n do
      local ok, res = pcall(fn, items[i], i)
      if not ok then
        raise(string.format("parallel.map: %s failed: %s", item_name(items, i), tostring(res)))
      end
      results[i] = res
    end
    return results
  end

  local workers = {}   -- {pid, task_w, result_r, item}
  core.sys.sigpipe(true)
  local function cleanup(kill)
    for _, w in ipairs(workers) do
      if w.task_w then core.sys.close(w.task_w); w.task_w = nil end
      if w.result_r then core.sys.close(w.result_r); w.result_r = nil end
      if kill and w.pid and not w.reaped then core.sys.kill(w.pid) end
    end
    for _, w in ipairs(workers) do
      if w.pid and not w.reaped then core.sys.wait(w.pid); w.reaped = true end
    end
    core.sys.sigpipe(false)
  end

  local ok, err = pcall(function()
    for k = 1, jobs do
      local task_r, task_w = core.sys.pipe()
      local result_r, result_w = core.sys.pipe()
      local pid = core.sys.fork()
      if pid == 0 then
        -- the child: drop the parent's ends (and other workers' pipes)
        core.sys.close(task_w)
        core.sys.close(result_r)
        for _, w in ipairs(workers) do
          core.sys.close(w.task_w); core.sys.close(w.result_r)
        end
        local cok, cerr = pcall(run_child, fn, items, task_r, result_w)
        io.stderr:write("parallel worker: ", tostring(cerr), "\n")
        core.sys.exit(cok and 0 or 1)
      end
      core.sys.close(task_r)
      core.sys.close(result_w)
      workers[k] = {pid = pid, task_w = task_w, result_r = result_r}
    end
    local next_item, done = 1, 0
    local function dispatch(w)
      if next_item <= n then
        w.item = next_item
        next_item = next_item + 1
        core.sys.send(w.task_w, string.pack("<j", w.item))
      else
        w.item = nil
        core.sys.send(w.task_w, "")
        core.sys.close(w.task_w)
        w.task_w = nil
      end
    end
    for _, w in ipairs(workers) do dispatch(w) end
    while done < n do
      local busy, fds = {}, {}
      for _, w in ipairs(workers) do
        if w.item then busy[#busy + 1] = w; fds[#fds + 1] = w.result_r end
      end
      local w = busy[core.sys.poll(fds)]
      local msg = core.sys.recv(w.result_r)
      if msg == nil then
        local how, code = core.sys.wait(w.pid)
        w.reaped = true
        raise(string.format("parallel.map: the worker running %s died (%s)",
          item_name(items, w.item), how == "signaled" and ("signal " .. code) or
          ("exit status " .. tostring(code))))
      end
      local i, pos = string.unpack("<j", msg)
      local kind = msg:sub(pos, pos)
      if kind == "E" then
        raise(string.format("parallel.map: %s failed: %s", item_name(items, i), msg:sub(pos + 1)))
      end
      results[i] = parallel.deserialize(msg:sub(pos + 1))
      done = done + 1
      dispatch(w)
    end
  end)
  cleanup(not ok)
  if not ok then error(err, 0) end
  return results
end

return parallel
