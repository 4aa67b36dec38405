-- The four dtypes end to end (docs/tensor.md, "dtypes"): every tensor op on
-- float32, float64, int64 and uint8 where it makes sense, the promotion
-- table, and clear errors where an op does not apply.
local ml = require "ml"

local DTYPES = {"float32", "float64", "int64", "uint8"}
local FLOAT = {float32 = true, float64 = true}

local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

-- The promotion table of docs/tensor.md, row by row.
local PROMOTE = {
  uint8 = {uint8 = "uint8", int64 = "int64", float32 = "float32", float64 = "float64"},
  int64 = {uint8 = "int64", int64 = "int64", float32 = "float32", float64 = "float64"},
  float32 = {uint8 = "float32", int64 = "float32", float32 = "float32", float64 = "float64"},
  float64 = {uint8 = "float64", int64 = "float64", float32 = "float64", float64 = "float64"},
}
-- float results of unary ops and integer division
local function float_of(a, b)
  return (a == "float64" or b == "float64") and "float64" or "float32"
end

local function close(a, b, tol)
  if a ~= a then return b ~= b end
  return math.abs(a - b) <= tol * math.max(1, math.abs(b))
end

local function flat(x)
  local t = x:reshape(-1):totable()
  return t
end

-- 2 x 3 values every dtype holds exactly
local A = {{1, 2, 3}, {4, 5, 6}}
local B = {{6, 5, 4}, {3, 2, 1}}

describe("dtypes: creation and conversion", function()
  for _, d in ipairs(DTYPES) do
    it("creates " .. d .. " tensors", function()
      assert.equal(d, ml.tensor(A, {dtype = d}).dtype)
      assert.equal(d, ml.tensor(A, d).dtype)
      assert.same(A, ml.tensor(A, d):totable())
      assert.equal(d, ml.zeros(2, 3, {dtype = d}).dtype)
      assert.equal(d, ml.zeros({2, 3}, {dtype = d}).dtype)
      assert.same({1, 1}, ml.ones(2, {dtype = d}):totable())
      assert.equal(d, ml.empty(4, {dtype = d}).dtype)
      assert.same({7, 7}, ml.full({2}, 7, d):totable())
      assert.same({{1, 0}, {0, 1}}, ml.eye(2, d):totable())
      assert.equal(d, ml.eye(2, 3, {dtype = d}).dtype)
      assert.same({0, 1, 2}, ml.arange(0, 3, d):totable())
      assert.equal(d, ml.arange(0, 3, {dtype = d}).dtype)
      assert.equal(d, ml.tensor(5, d).dtype)
      assert.equal(5, ml.tensor(5, d):item())
    end)
    for _, e in ipairs(DTYPES) do
      it("converts " .. d .. " to " .. e, function()
        local x = ml.tensor(A, d)
        local y = x:to(e)
        assert.equal(e, y.dtype)
        assert.same(A, y:totable())
        assert.equal(e, x:to{dtype = e}.dtype)
        -- a converted transposed view keeps its values
        assert.same({{1, 4}, {2, 5}, {3, 6}}, x:t():to(e):totable())
      end)
    end
  end
  it("has the Torch method names", function()
    local x = ml.tensor(A)
    assert.equal("float64", x:double().dtype)
    assert.equal("uint8", x:byte().dtype)
    assert.equal("float32", x:double():float().dtype)
    assert.equal("int64", x:byte():long().dtype)
    assert.equal("float64", x:to("double").dtype)
    assert.equal("uint8", x:to("byte").dtype)
  end)
  it("random and linspace tensors come in both float dtypes", function()
    ml.seed(3)
    local a = ml.rand(1000, {dtype = "float64"})
    ml.seed(3)
    local b = ml.rand(1000)
    assert.equal("float64", a.dtype)
    -- the same draws, float32 rounds them
    assert.is_true((a:float() - b):abs():max() == 0)
    assert.is_true((a - b:double()):abs():max() > 0)
    assert.equal("float64", ml.randn(3, 2, {dtype = "float64"}).dtype)
    local l = ml.linspace(0, 1, 11, "float64")
    assert.equal("float64", l.dtype)
    assert.equal(0.1, l[2])
    assert.matches("float32 or float64", errmsg(ml.rand, 3, {dtype = "uint8"}))
    assert.matches("float32 or float64", errmsg(ml.linspace, 0, 1, 3, "int64"))
  end)
  it("refuses unknown dtypes, naming the known ones", function()
    local e = errmsg(ml.zeros, 2, {dtype = "float16"})
    assert.matches("unknown dtype 'float16'", e)
    assert.matches("float64", e)
    assert.matches("unknown dtype", errmsg(function() return ml.tensor(A):to("complex") end))
    assert.matches("unknown option", errmsg(ml.zeros, 2, {dtyp = "float64"}))
  end)
  it("refuses values a uint8 or int64 tensor cannot hold", function()
    assert.matches("cannot convert 300 %(element 2%) to uint8: outside 0..255",
      errmsg(function() return ml.tensor({1, 300}):byte() end))
    assert.matches("cannot convert %-1 %(element 1%) to uint8",
      errmsg(function() return ml.tensor({-1, 3}, "int64"):byte() end))
    assert.matches("NaN", errmsg(function() return ml.tensor({0 / 0}, "float64"):byte() end))
    assert.matches("NaN", errmsg(function() return ml.tensor({0 / 0}, "float64"):long() end))
    assert.matches("uint8", errmsg(ml.tensor, {256}, "uint8"))
    assert.matches("uint8", errmsg(ml.tensor, 256, "uint8"))
    assert.matches("uint8", errmsg(ml.full, {2}, 256, "uint8"))
    assert.matches("uint8", errmsg(ml.arange, 250, 260, "uint8"))
    local u = ml.zeros(3, {dtype = "uint8"})
    assert.matches("uint8", errmsg(function() u:fill(-2) end))
    assert.matches("uint8", errmsg(function() u[1] = 999 end))
    assert.matches("uint8", errmsg(function() u[u:eq(0)] = 999 end))
    assert.same({0, 0, 0}, u:totable())
    -- fractions truncate toward zero, as NumPy's astype
    assert.same({2, 255, 0}, ml.tensor({2.7, 255.9, -0.5}):byte():totable())
  end)
end)

describe("dtypes: exact float64 values", function()
  local EXACT = {2^53 - 1, 1e-300, 0.1, 12345678901234, 16777217, 1700000000123}
  it("keeps every digit from Lua numbers and back", function()
    local x = ml.tensor(EXACT, "float64")
    for i, v in ipairs(EXACT) do assert.equal(v, x[i]) end
    assert.same(EXACT, x:totable())
    -- float32 would not: the reason the dtype exists
    assert.are_not.equal(16777217, ml.tensor(EXACT)[5])
  end)
  it("keeps them through arithmetic, reductions and matmul", function()
    local x = ml.tensor({0.1, 0.2, 0.3}, "float64")
    assert.equal(0.1 + 0.2, (x[{{1, 1}}] + x[{{2, 2}}])[1])
    assert.equal(0.1 * 3, (x * 3)[1])
    assert.equal(0.1 + 0.2 + 0.3, x:sum())
    local big = ml.tensor({2^53 - 1, 1}, "float64")
    assert.equal(2^53 - 1, big:max())
    local m = ml.tensor({{0.1, 0.2}, {0.3, 0.4}}, "float64")
    local p = ml.matmul(m, m)
    assert.equal("float64", p.dtype)
    assert.equal(0.1 * 0.1 + 0.2 * 0.3, p[1][1])
    assert.equal(0.3 * 0.2 + 0.4 * 0.4, p[2][2])
  end)
  it("prints exactly", function()
    local s = tostring(ml.tensor(EXACT, "float64"))
    for _, v in ipairs{"9007199254740991.", "1e-300", "0.1", "12345678901234.", "16777217."} do
      assert.truthy(s:find(v, 1, true), v .. " in " .. s)
    end
    assert.matches("dtype=float64", s)
    assert.equal("tensor(0.1, shape=scalar, dtype=float64)", tostring(ml.tensor(0.1, "float64")))
    assert.equal("tensor([  1, 255], shape=2, dtype=uint8)", tostring(ml.tensor({1, 255}, "uint8")))
  end)
  it("round-trips through .mlt and .npy files", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local x = ml.tensor(EXACT, "float64")
    ml.save(dir .. "/x.mlt", x)
    local y = ml.load(dir .. "/x.mlt")
    assert.equal("float64", y.dtype)
    assert.same(EXACT, y:totable())
    ml.save_npy(dir .. "/x.npy", x)
    y = ml.load_npy(dir .. "/x.npy")
    assert.equal("float64", y.dtype)
    assert.same(EXACT, y:totable())
    local u = ml.tensor({{0, 7, 255}}, "uint8")
    ml.save(dir .. "/u.mlt", u)
    assert.equal("uint8", ml.load(dir .. "/u.mlt").dtype)
    assert.same({{0, 7, 255}}, ml.load(dir .. "/u.mlt"):totable())
    ml.save_npy(dir .. "/u.npy", u)
    assert.equal("uint8", ml.load_npy(dir .. "/u.npy").dtype)
    assert.same({{0, 7, 255}}, ml.load_npy(dir .. "/u.npy"):totable())
    local f = assert(io.open(dir .. "/u.npy", "rb"))
    assert.truthy(f:read("a"):find("'descr': '|u1'", 1, true))
    f:close()
    os.execute("rm -rf " .. dir)
  end)
end)

describe("dtypes: binary ops follow the promotion table", function()
  local ARITH = {
    add = function(x, y) return x + y end, sub = function(x, y) return x - y end,
    mul = function(x, y) return x * y end, maximum = math.max, minimum = math.min,
  }
  local CMP = {
    eq = function(x, y) return x == y end, ne = function(x, y) return x ~= y end,
    gt = function(x, y) return x > y end, ge = function(x, y) return x >= y end,
    lt = function(x, y) return x < y end, le = function(x, y) return x <= y end,
  }
  for _, da in ipairs(DTYPES) do
    for _, db in ipairs(DTYPES) do
      it(da .. " op " .. db, function()
        local a, b = ml.tensor(A, da), ml.tensor(B, db)
        local fa, fb = flat(ml.tensor(A)), flat(ml.tensor(B))
        for name, f in pairs(ARITH) do
          local r = a[name](a, b)
          assert.equal(PROMOTE[da][db], r.dtype, name)
          local got = flat(r)
          for i = 1, #fa do
            local want = f(fa[i], fb[i])
            if r.dtype == "uint8" then want = want % 256 end
            assert.equal(want, got[i], name .. " element " .. i)
          end
        end
        for name, f in pairs(CMP) do
          local r = a[name](a, b)
          assert.equal("float32", r.dtype, name)
          local got = flat(r)
          for i = 1, #fa do assert.equal(f(fa[i], fb[i]) and 1 or 0, got[i], name) end
        end
        local q = a:div(b)
        assert.equal(float_of(da, db), q.dtype)
        local p = a:pow(b:double():float():clamp(0, 2):to(db))
        assert.equal(float_of(da, db), p.dtype)
        for i, v in ipairs(flat(q)) do assert.is_true(close(v, fa[i] / fb[i], 1e-6)) end
        -- broadcasting: a row of b against every row of a
        local row = b[{{1, 1}}]
        assert.same({2, 3}, (a + row).shape)
        assert.equal(PROMOTE[da][db], (a + row).dtype)
        assert.equal(PROMOTE[da][db], ml.where(a:gt(2), a, b).dtype)
        assert.equal(PROMOTE[da][db], ml.cat({a, b}).dtype)
        assert.equal(PROMOTE[da][db], ml.stack({a, b}).dtype)
        assert.same({4, 3}, ml.cat({a, b}).shape)
      end)
    end
  end
  it("wraps uint8 arithmetic modulo 256, as NumPy", function()
    local u = ml.tensor({250, 3}, "uint8")
    assert.same({244, 6}, (u + u):totable())
    assert.same({4, 13}, (u + 10):totable())
    assert.same({0, 9}, (u - 250):totable())
    assert.equal("uint8", (u * 2).dtype)
    assert.same({244, 6}, u:clone():add_(u):totable())
  end)
  it("takes Lua numbers in the tensor's dtype", function()
    local x = ml.tensor({1, 2}, "float64")
    assert.equal("float64", (x * 0.1).dtype)
    assert.equal(2 * 0.1, (x * 0.1)[2])              -- the double 0.1, not float32's
    assert.equal("float64", (0.1 - x).dtype)
    assert.equal("float32", (ml.tensor({1, 2}) * 0.1).dtype)
    assert.equal("int64", (ml.tensor({1, 2}, "int64") * 3).dtype)
    assert.equal("float32", (ml.tensor({1, 2}, "int64") * 0.5).dtype)
    assert.equal("float32", (ml.tensor({1, 2}, "uint8") * 0.5).dtype)
    assert.equal("float32", (ml.tensor({1, 2}, "uint8") / 300).dtype)
    assert.same({0, 1}, ml.tensor({1, 2}, "uint8"):gt(1.5):totable())
    assert.same({0, 0}, ml.tensor({1, 2}, "uint8"):gt(300):totable())
    assert.matches("add: 300 does not fit a uint8 tensor %(0..255%)",
      errmsg(function() return ml.tensor({1}, "uint8") + 300 end))
    assert.matches("does not fit a uint8", errmsg(function() return ml.tensor({1}, "uint8") * -1 end))
  end)
  it("keeps the target's dtype in place, refusing float results into uint8", function()
    local x = ml.tensor({1, 2}, "float64")
    x:add_(ml.tensor({0.5, 0.5}))
    assert.equal("float64", x.dtype)
    assert.same({1.5, 2.5}, x:totable())
    local f = ml.tensor({1, 2})
    f:add_(ml.tensor({0.1, 0.1}, "float64"))
    assert.equal("float32", f.dtype)
    local u = ml.tensor({1, 2}, "uint8")
    u:add_(ml.tensor({1, 1}, "int64"))
    assert.same({2, 3}, u:totable())
    assert.matches("uint8 tensor in place", errmsg(function() u:add_(ml.tensor({1, 1})) end))
    assert.matches("uint8 tensor in place", errmsg(function() u:div_(ml.tensor({1, 1}, "uint8")) end))
    assert.matches("integers in 0..255", errmsg(function() u:mul_(0.5) end))
    assert.matches("integers in 0..255", errmsg(function() u:add_(256) end))
    assert.same({2, 3}, u:totable())
  end)
end)

describe("dtypes: unary ops", function()
  local UNARY = {
    neg = function(v) return -v end, exp = math.exp, log = math.log, sqrt = math.sqrt,
    abs = math.abs, sigmoid = function(v) return 1 / (1 + math.exp(-v)) end,
    tanh = function(v) return (math.exp(2 * v) - 1) / (math.exp(2 * v) + 1) end,
    relu = function(v) return math.max(v, 0) end,
    sign = function(v) return v > 0 and 1 or v < 0 and -1 or 0 end,
    floor = math.floor, ceil = math.ceil, round = function(v) return math.floor(v + 0.5) end,
    square = function(v) return v * v end, reciprocal = function(v) return 1 / v end,
    log1p = function(v) return math.log(1 + v) end, expm1 = function(v) return math.exp(v) - 1 end,
    sin = math.sin, cos = math.cos,
  }
  for _, d in ipairs(DTYPES) do
    it("runs every unary op on " .. d, function()
      local x = ml.tensor(A, d)
      local want_dtype = d == "float64" and "float64" or "float32"
      local tol = d == "float64" and 1e-14 or 1e-6
      local fa = flat(ml.tensor(A))
      for name, f in pairs(UNARY) do
        local r = x[name](x)
        assert.equal(want_dtype, r.dtype, name)
        local got = flat(r)
        for i = 1, #fa do assert.is_true(close(got[i], f(fa[i]), tol), name .. " " .. fa[i]) end
        if FLOAT[d] then
          local y = x:clone()
          y[name .. "_"](y)
          assert.equal(d, y.dtype)
          assert.same(got, flat(y), name .. "_")
        else
          assert.matches("in%-place needs a float32 or float64 tensor, got " .. d,
            errmsg(function() local y = x:clone(); y[name .. "_"](y) end))
        end
      end
      assert.equal(want_dtype, x:clamp(2, 4).dtype)
      assert.same({2, 2, 3, 4, 4, 4}, flat(x:clamp(2, 4)))
      assert.equal(want_dtype, x:softmax().dtype)
      assert.equal(want_dtype, x:log_softmax(1).dtype)
      for _, v in ipairs(flat(x:softmax():sum(2))) do assert.is_true(close(v, 1, tol)) end
    end)
  end
  it("computes float64 functions in double", function()
    local x = ml.tensor({1e-10, 2}, "float64")
    local want = 1e-10 - 0.5e-20   -- log1p, to double precision (log(1 + x) loses digits)
    assert.is_true(math.abs(x:log1p()[1] - want) / want < 1e-15)
    assert.equal(math.sqrt(2), x:sqrt()[2])
    assert.equal(math.exp(2), x:exp()[2])
  end)
end)

describe("dtypes: reductions", function()
  local REDUCE = {"sum", "mean", "prod", "max", "min", "var", "std", "norm"}
  local WANT = {sum = 21, mean = 3.5, prod = 720, max = 6, min = 1, var = 3.5,
                std = math.sqrt(3.5), norm = math.sqrt(91)}
  for _, d in ipairs(DTYPES) do
    it("reduces " .. d, function()
      local x = ml.tensor(A, d)
      local want_dtype = d == "float64" and "float64" or "float32"
      local tol = d == "float64" and 1e-15 or 1e-6
      for _, name in ipairs(REDUCE) do
        assert.is_true(close(x[name](x), WANT[name], tol), name)
        local r = x[name](x, 1)
        assert.equal(want_dtype, r.dtype, name)
        assert.same({3}, r.shape)
        assert.same({1, 3}, x[name](x, 1, true).shape)
        assert.equal(want_dtype, x[name](x, 2).dtype)
      end
      assert.same({5, 7, 9}, flat(x:sum(1)))
      assert.same({6, 15}, flat(x:sum(2)))
      local v, i = x:max(2)
      assert.same({3, 6}, flat(v))
      assert.same({3, 3}, flat(i))
      assert.equal("int64", i.dtype)
      assert.equal(6, x:argmax())
      assert.equal(1, x:argmin())
      assert.same({2, 2, 2}, flat(x:argmax(1)))
      local c = x:cumsum(2)
      assert.equal(d == "uint8" and "int64" or d, c.dtype)
      assert.same({1, 3, 6, 4, 9, 15}, flat(c))
    end)
  end
  it("sums float64 in float64 (float32 would round)", function()
    local x = ml.tensor({2^53 - 2, 1}, "float64")
    assert.equal(2^53 - 1, x:sum())
    assert.equal(2^53 - 1, x:sum(1):item())
    assert.equal("float64", x:mean(1, true).dtype)
  end)
end)

describe("dtypes: indexing, views and joins", function()
  for _, d in ipairs(DTYPES) do
    it("indexes and views " .. d, function()
      local x = ml.tensor(A, d)
      assert.equal(d, x[1].dtype)
      assert.equal(2, x[1][2])
      assert.equal(math.type(x[1][2]), FLOAT[d] and "float" or "integer")
      assert.equal(6, x[{2, 3}])
      assert.same({{2, 3}, {5, 6}}, x[{{}, {2, 3}}]:totable())
      assert.equal(d, x[{{}, {2, 3}}].dtype)
      assert.same({{1, 4}, {2, 5}, {3, 6}}, x:t():totable())
      assert.same({{1, 4}, {2, 5}, {3, 6}}, x:t():contiguous():totable())
      assert.same({6}, x:reshape(-1).shape)
      assert.same({{1, 2}, {3, 4}, {5, 6}}, x:view(3, 2):totable())
      assert.same({2, 5}, x:select(2, 2):totable())
      assert.same({{2}, {5}}, x:narrow(2, 2, 1):totable())
      assert.same({1, 2, 3}, x:narrow(1, 1, 1):squeeze():totable())
      assert.same({1, 2, 3}, x:unsqueeze(1).shape)
      assert.same({3, 2}, x:permute(2, 1).shape)
      assert.same({{1, 2, 3}, {1, 2, 3}}, x[1]:expand(2, 3):totable())
      assert.equal(d, x:clone().dtype)
      -- masks of any dtype select; the selection keeps x's dtype
      for _, md in ipairs(DTYPES) do
        local m = x:gt(3):to(md)
        assert.same({4, 5, 6}, x[m]:totable())
        assert.same({4, 5, 6}, x:masked_select(m):totable())
        assert.equal(d, x[m].dtype)
        assert.same({{4, 5, 6}}, x[ml.tensor({0, 1}, md)]:totable())   -- row mask
        assert.same({{4, 5, 6}, {1, 2, 3}}, x:index_select(1, ml.tensor({2, 1}, md)):totable())
      end
      assert.equal(d, x:index_select(2, ml.tensor({3, 1}, "int64")).dtype)
      local g = x:gather(2, ml.tensor({{3}, {1}}, "int64"))
      assert.same({{3}, {4}}, g:totable())
      assert.equal(d, g.dtype)
      local s, i = ml.tensor({3, 1, 2}, d):sort()
      assert.same({1, 2, 3}, s:totable())
      assert.equal(d, s.dtype)
      assert.same({2, 3, 1}, i:totable())
      assert.same({3, 2, 1}, ml.tensor({3, 1, 2}, d):sort({descending = true}):totable())
      local tv = ml.tensor({3, 1, 2}, d):topk(2)
      assert.same({3, 2}, tv:totable())
      local u = ml.tensor({2, 1, 2}, d):unique()
      assert.same({1, 2}, u:totable())
      assert.equal(d, u.dtype)
      -- assignment into a view keeps the dtype
      local y = x:clone()
      y[{1, {}}] = 0
      y[2][3] = 9
      y[y:eq(9)] = 8
      assert.same({{0, 0, 0}, {4, 5, 8}}, y:totable())
      y:copy_(ml.tensor(B))
      assert.same(B, y:totable())
      assert.equal(d, y.dtype)
      y:fill(3)
      assert.same({3, 3, 3, 3, 3, 3}, flat(y))
      y:zero_()
      assert.equal(0, y:sum())
    end)
  end
end)

describe("dtypes: matmul", function()
  for _, da in ipairs(DTYPES) do
    for _, db in ipairs(DTYPES) do
      it(da .. " @ " .. db, function()
        local a, b = ml.tensor(A, da), ml.tensor(B, db):t()
        local r = ml.matmul(a, b)
        assert.equal(float_of(da, db), r.dtype)
        assert.same({{28, 10}, {73, 28}}, r:totable())
        assert.same({28, 73}, ml.matmul(a, ml.tensor({6, 5, 4}, db)):totable())
        local bat = ml.matmul(ml.stack({a, a}), b)
        assert.same({2, 2, 2}, bat.shape)
        assert.equal(float_of(da, db), bat.dtype)
      end)
    end
  end
  it("runs DGEMM: float64 products agree with a double loop to 1e-15", function()
    ml.seed(7)
    local n = 40
    local a, b = ml.randn(n, n, {dtype = "float64"}), ml.randn(n, n, {dtype = "float64"})
    local c = ml.matmul(a, b:t())   -- a transposed operand goes to BLAS without a copy
    local at, bt = a:totable(), b:totable()
    local worst = 0
    for i = 1, n, 7 do
      for j = 1, n, 5 do
        local s = 0
        for k = 1, n do s = s + at[i][k] * bt[j][k] end
        worst = math.max(worst, math.abs(c[i][j] - s) / math.max(1, math.abs(s)))
      end
    end
    assert.is_true(worst < 1e-13, "relative error " .. worst)
    -- float32 would be ~1e-7 off: the test can tell the two apart
    local c32 = ml.matmul(a:float(), b:t():float()):double()
    assert.is_true((c32 - c):abs():max() > 1e-9)
  end)
end)
