-- core_fuzz.lua SEED SECONDS [LOG] - calls every function of ml.core (and of
-- its subtables) with random arguments for a bounded time: zero, huge,
-- negative, NaN and infinite numbers; empty, scalar, int64, non-contiguous,
-- expanded and closed tensors; wrong types. Only clean Lua errors are allowed:
-- a crash or a sanitizer report ends the process, and LOG (flushed before
-- each call) names the call that did it. Prints "calls N errors N ok N".
local ml = require "ml"
local core = require "ml.core"
local seed, seconds, logpath = tonumber(arg[1]) or 1, tonumber(arg[2]) or 10, arg[3]
math.randomseed(seed)
local log = logpath and assert(io.open(logpath, "w"))

-- Functions that touch the process, the file system or other processes, or
-- change engine-wide settings, are left out; everything else is fair game.
local skip = {
  io_save = true, io_save_npy = true, io_write_atomic = true, append_line = true,
  image_save = true, set_memory_limit = true, set_num_threads = true, csv_write = true,
}
local function skipped(name)
  return skip[name] or name:match("^dist_") or name:match("^workers_") or name:match("^proc_")
      or name:match("^sys_") or name:match("exit") or name:match("fork") or name:match("kill")
      or name:match("save") or name:match("write") or name:match("repl")
end

local fns = {}
local function collect(tbl, prefix, depth)
  local keys = {}
  for k in pairs(tbl) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v, name = tbl[k], prefix .. k
    if type(v) == "function" and not skipped(k) then fns[#fns + 1] = {name, v}
    elseif type(v) == "table" and depth < 2 and k ~= "__index" and not skipped(k)
        and k ~= "sys" and k ~= "dist" and k ~= "serve" and k ~= "workers" then
      collect(v, name .. ".", depth + 1)   -- process, network and I/O-to-fd tables left out
    end
  end
end
collect(core, "", 0)

local nan, inf = 0 / 0, math.huge
local numbers = {0, 1, 2, 3, -1, -2, 0.5, 2^31, 2^53, 2^62, 1e30, -1e30, nan, inf, -inf,
                 math.maxinteger, math.mininteger, 1 << 30, 7, 64}

-- A fresh set of tensors each round: calls may modify them in place.
local function tensors()
  local t = {
    ml.zeros(0), ml.zeros(0, 3), ml.zeros(3, 0), ml.ones(3), ml.ones(2, 3), ml.ones(3, 3),
    ml.ones(1, 4, 4, 1), ml.rand(2, 5, 5, 3), ml.ones(2, 2, 2), ml.tensor(1.5),
    ml.tensor({1, 2, 3}, "int64"), ml.tensor({{0, 1}, {1, 0}}, "int64"), ml.tensor({-1, 5}, "int64"),
    ml.rand(3, 2):t(), ml.ones(1, 3):expand(4, 3), ml.tensor({nan, inf, -inf}),
    ml.zeros(0, 1 << 20, 1 << 20), ml.rand(4, 2), ml.ones(8), ml.zeros(2, 2, 2, 0),
  }
  local closed = ml.ones(2, 2)
  getmetatable(closed).__close(closed)
  t[#t + 1] = closed
  return t
end

local strings = {"", "x", "max", "avg", "relu", "softmax", "float32", "int64", "mse", "same",
                 "valid", "gini", "rbf", "linear", "/nonexistent/x", "\0"}

local function value(ts)
  local r = math.random(100)
  if r <= 40 then return ts[math.random(#ts)]
  elseif r <= 65 then return numbers[math.random(#numbers)]
  elseif r <= 72 then return strings[math.random(#strings)]
  elseif r <= 80 then return {}
  elseif r <= 85 then return {numbers[math.random(#numbers)], numbers[math.random(#numbers)]}
  elseif r <= 90 then return math.random(2) == 1
  elseif r <= 93 then return print
  else return nil end
end

local function show(v)
  if ml.is_tensor and ml.is_tensor(v) or (type(v) == "userdata") then
    local ok, s = pcall(function() return "tensor(" .. table.concat(v:size(), "x") .. "," .. v:type() .. ")" end)
    return ok and s or "tensor(closed)"
  elseif type(v) == "string" then return string.format("%q", v)
  elseif type(v) == "table" then return "{" .. table.concat((function()
      local p = {} for i, x in ipairs(v) do p[i] = tostring(x) end return p end)(), ",") .. "}"
  end
  return tostring(v)
end

-- a bound on what one call may allocate: "ml.rand(2^30)" is an error, not 4 GB
ml.set_memory_limit(256 << 20)
local calls, errors, oks = 0, 0, 0
local t0, w0 = os.clock(), os.time()
local ts = tensors()
-- SECONDS of CPU time, and never more than twice that of wall time (a loaded machine)
while os.clock() - t0 < seconds and os.time() - w0 < 2 * seconds + 1 do
  if calls % 50 == 0 then ts = tensors(); collectgarbage() end
  local f = fns[math.random(#fns)]
  local n = math.random(0, 10)
  local args = {}
  for i = 1, n do args[i] = value(ts) end
  if log then
    local shown = {}
    for i = 1, n do shown[i] = show(args[i]) end
    log:write(f[1], "(", table.concat(shown, ", "), ")\n")
    log:flush()
  end
  calls = calls + 1
  local ok, err = pcall(f[2], table.unpack(args, 1, n))
  if ok then oks = oks + 1
  else
    errors = errors + 1
    if type(err) ~= "string" and type(err) ~= "table" then
      error("non-string error from " .. f[1] .. ": " .. tostring(err))
    end
  end
end
ml.set_memory_limit(0)
print(string.format("functions %d calls %d errors %d ok %d", #fns, calls, errors, oks))
