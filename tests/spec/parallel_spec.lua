-- ml.parallel.map: forked workers, ordered results, errors, no zombies.
local ml = require "ml"
local core = require "ml.core"
local P = ml.parallel

local function children()
  local f = io.popen("ps -o pid= --ppid " .. core.sys.getpid() .. " 2>/dev/null")
  local n = 0
  for line in f:lines() do if line:match("%d") then n = n + 1 end end
  f:close()
  return n - 1   -- the ps (and its shell) itself
end

describe("parallel.map", function()
  it("returns results in item order with 1, 2 and 3 jobs", function()
    local items = {}
    for i = 1, 17 do items[i] = i end
    local want = {}
    for i = 1, 17 do want[i] = i * i end
    for _, j in ipairs{1, 2, 3} do
      assert.same(want, P.map(function(x) return x * x end, items, {n_jobs = j}))
    end
  end)
  it("sends tables, strings, booleans, tensors and estimators back", function()
    local r = P.map(function(x, i)
      return {i = i, s = "s" .. x, b = x > 1, t = ml.ones(2, 2) * x, l = ml.tensor({x}, "int64"),
              nested = {{1}, {2, {3}}}, est = ml.StandardScaler():fit(ml.tensor{{x}, {x + 2}})}
    end, {1, 2}, {n_jobs = 2})
    assert.equal(2, r[2].i)
    assert.equal("s2", r[2].s)
    assert.is_true(r[2].b); assert.is_false(r[1].b)
    assert.same({{2, 2}, {2, 2}}, r[2].t:totable())
    assert.equal("int64", r[1].l.dtype)
    assert.same({{1}, {2, {3}}}, r[1].nested)
    assert.same({3}, r[2].est.mean_:totable())
  end)
  it("runs the children on their own copy of the state", function()
    local counter = 0
    P.map(function() counter = counter + 1; return counter end, {1, 2, 3, 4}, {n_jobs = 2})
    assert.equal(0, counter)
  end)
  it("propagates an error naming the item", function()
    local ok, e = pcall(P.map, function(x) if x == "b" then error("no b here") end return x end,
      {"a", "b", "c"}, {n_jobs = 2})
    assert.is_false(ok)
    assert.matches("item 2 %(b%) failed: .*no b here", e)
    local ok1, e1 = pcall(P.map, function(x) if x == 2 then error("two") end end, {1, 2}, {n_jobs = 1})
    assert.is_false(ok1)
    assert.matches("item 2 %(2%) failed", e1)
  end)
  it("reports a worker that dies", function()
    local ok, e = pcall(P.map, function(x)
      if x == 3 then core.sys.kill(core.sys.getpid(), 9) end
      return x
    end, {1, 2, 3, 4}, {n_jobs = 2})
    assert.is_false(ok)
    assert.matches("the worker running item 3 %(3%) died %(signal 9%)", e)
  end)
  it("reports results that cannot be sent", function()
    local ok, e = pcall(P.map, function() return function() end end, {1, 2}, {n_jobs = 2})
    assert.is_false(ok)
    assert.matches("cannot send the result back", e)
  end)
  it("leaves no zombies or stray workers", function()
    pcall(P.map, function(x) if x == 1 then error("x") end return x end, {1, 2, 3}, {n_jobs = 2})
    P.map(function(x) return x end, {1, 2, 3}, {n_jobs = 3})
    assert.equal(0, children())
  end)
  it("runs two jobs at the same time in two processes", function()
    -- timing ratios are unreliable on a shared machine; overlap is not
    local r = P.map(function()
      local t0 = P.now()
      local s = 0
      for i = 1, 3e6 do s = s + i % 7 end
      return {t0, P.now(), core.sys.getpid(), ml.get_num_threads()}
    end, {1, 2}, {n_jobs = 2})
    assert.are_not.equal(r[1][3], r[2][3])
    assert.are_not.equal(core.sys.getpid(), r[1][3])
    assert.is_true(r[1][1] < r[2][2] and r[2][1] < r[1][2], "the two jobs overlap in time")
    assert.equal(1, r[1][4])     -- one thread per worker
  end)
  it("serializes and deserializes round trip", function()
    local v = {1, 2.5, "x", true, {a = {b = math.huge}}, ml.tensor{{1, 2}}}
    local w = P.deserialize(P.serialize(v))
    assert.same({1, 2.5, "x", true, {a = {b = math.huge}}}, {w[1], w[2], w[3], w[4], w[5]})
    assert.same({{1, 2}}, w[6]:totable())
    assert.equal("integer", math.type(w[1]))
    assert.has_error(function() P.serialize(print) end)
  end)
end)
