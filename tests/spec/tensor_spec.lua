-- The tensor API of API.md "Tensors". Runs in mlrun and in stock lua5.4.
local ml = require "ml"

local function close(a, b, tol)
  return math.abs(a - b) <= (tol or 1e-5)
end

describe("tensor creation", function()
  it("builds from nested tables with a shape", function()
    local x = ml.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}
    assert.same({4, 2}, x.shape)
    assert.equal(2, x:dim())
    assert.equal(8, x:numel())
    assert.equal(4, #x)
    assert.equal("float32", x.dtype)
  end)
  it("rejects ragged tables and non-numbers", function()
    assert.has_error(function() ml.tensor{{1, 2}, {3}} end)
    assert.has_error(function() ml.tensor{{1, "a"}} end)
  end)
  it("has the usual constructors", function()
    assert.same({2, 3}, ml.zeros(2, 3).shape)
    assert.same({2, 3}, ml.ones{2, 3}.shape)
    assert.equal(7, ml.full({2, 3}, 7)[2][3])
    assert.equal(6, ml.ones(2, 3):sum())
    assert.equal(3, ml.eye(3):sum())
    assert.same({0, 2, 4, 6, 8}, ml.arange(0, 10, 2):totable())
    assert.equal(11, ml.linspace(0, 1, 11):numel())
    assert.is_true(close(ml.linspace(0, 1, 11)[11], 1))
    assert.equal("int64", ml.tensor({1, 2}, "int64").dtype)
  end)
  it("gives the same random numbers for the same seed", function()
    ml.seed(42); local a = ml.randn(5)
    ml.seed(42); local b = ml.randn(5)
    assert.same(a:totable(), b:totable())
    ml.seed(43); local c = ml.randn(5)
    assert.are_not.same(a:totable(), c:totable())
  end)
  it("randperm is a permutation of 1..n", function()
    ml.seed(1)
    local p = ml.randperm(10):totable()
    table.sort(p)
    assert.same({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, p)
  end)
  it("rejects negative sizes and absurd shapes with a message", function()
    assert.has_error(function() ml.zeros(-1, 2) end)
    local ok, err = pcall(ml.zeros, 2^40, 2^40)
    assert.is_false(ok)
    assert.matches("too large", err)
  end)
end)

describe("indexing", function()
  it("selects rows as views and assigns through them", function()
    local x = ml.zeros(3, 2)
    x[2][1] = 5
    assert.equal(5, x[2][1])
    local row = x[3]
    row:fill(9)
    assert.equal(18, x:sum(2)[3])
  end)
  it("slices Torch7-style with inclusive ranges", function()
    local x = ml.arange(1, 13):reshape(3, 4)
    local v = x[{{1, 2}, {}}]
    assert.same({2, 4}, v.shape)
    assert.same({{1, 2, 3, 4}, {5, 6, 7, 8}}, v:totable())
    assert.same({3, 7, 11}, x[{{}, 3}]:totable())
    assert.same({12}, x[{-1, {-1, -1}}]:totable())
    assert.equal(12, x[{3, 4}])
    x[{{}, 1}] = 0
    assert.equal(0, x[{{}, 1}]:sum())
  end)
  it("reports out-of-range indices", function()
    local x = ml.zeros(3, 2)
    local ok, err = pcall(function() return x[4] end)
    assert.is_false(ok)
    assert.matches("out of range", err)
  end)
  it("masks select and assign", function()
    local x = ml.tensor{1, -2, 3, -4}
    assert.same({1, 3}, x:masked_select(x:gt(0)):totable())
    x[x:lt(0)] = 0
    assert.same({1, 0, 3, 0}, x:totable())
  end)
end)

describe("views and layout", function()
  it("reshape, transpose and permute are views", function()
    local x = ml.arange(0, 6):reshape(2, 3)
    local t = x:t()
    assert.same({3, 2}, t.shape)
    t[1][2] = 100
    assert.equal(100, x[2][1])
    local p = ml.zeros(2, 3, 4):permute(3, 1, 2)
    assert.same({4, 2, 3}, p.shape)
    assert.same({6}, x:reshape(-1).shape)
    assert.same({6}, x:flatten().shape)
  end)
  it("refuses a reshape that does not fit", function()
    local ok, err = pcall(function() return ml.zeros(2, 3):reshape(4, 2) end)
    assert.is_false(ok)
    assert.matches("2x3", err)
  end)
end)

describe("arithmetic", function()
  it("broadcasts as NumPy", function()
    local a = ml.ones(2, 3)
    local b = ml.tensor{1, 2, 3}
    assert.same({{2, 3, 4}, {2, 3, 4}}, (a + b):totable())
    assert.same({{0, -1, -2}, {0, -1, -2}}, (a - b):totable())
    assert.same({2, 4, 6}, (b * 2):totable())
    assert.same({1, 0.5}, (1 / ml.tensor{1, 2}):totable())
    assert.same({1, 4, 9}, (b ^ 2):totable())
    assert.same({-1, -2, -3}, (-b):totable())
    local col = ml.tensor{{1}, {2}}
    assert.same({{2, 3, 4}, {3, 4, 5}}, (col + b):totable())
  end)
  it("names both shapes when broadcasting fails", function()
    local ok, err = pcall(function() return ml.ones(2, 3) + ml.ones(4) end)
    assert.is_false(ok)
    assert.matches("2x3 and 4", err)
  end)
  it("has in-place forms", function()
    local x = ml.ones(3)
    x:add_(1):mul_(3)
    assert.same({6, 6, 6}, x:totable())
  end)
  it("computes unary functions", function()
    local x = ml.tensor{-1, 0, 1}
    assert.same({0, 0, 1}, x:relu():totable())
    assert.same({1, 0, 1}, x:abs():totable())
    assert.is_true(close(x:sigmoid()[3], 1 / (1 + math.exp(-1))))
    assert.is_true(close(x:exp()[3], math.exp(1)))
    assert.same({0, 0, 0.5}, x:clamp(0, 0.5):totable())
    local s = ml.tensor{{1, 2, 3}}:softmax(2)
    assert.is_true(close(s:sum(), 1))
  end)
  it("compares into 0/1 masks", function()
    local x = ml.tensor{1, 2, 3}
    assert.same({0, 1, 0}, x:eq(2):totable())
    assert.same({0, 0, 1}, x:gt(2):totable())
    assert.same({1, 1, 0}, x:le(2):totable())
    assert.same({1, 0, 1}, x:ne(ml.tensor{2, 2, 2}):totable())
    assert.same({10, 2, 30}, ml.where(x:ne(2), x * 10, x):totable())
  end)
end)

describe("reductions", function()
  local x = ml.tensor{{1, 5, 3}, {4, 2, 6}}
  it("reduce everything to numbers", function()
    assert.equal(21, x:sum())
    assert.equal(3.5, x:mean())
    assert.equal(6, x:max())
    assert.equal(1, x:min())
    assert.equal(6, x:argmax())
    assert.is_true(close(x:var(), 3.5))
    assert.is_true(close(x:std(), math.sqrt(3.5)))
    assert.is_true(close(x:norm(), math.sqrt(91)))
  end)
  it("reduce along a dimension with 1-based positions", function()
    assert.same({5, 7, 9}, x:sum(1):totable())
    assert.same({3, 4}, x:mean(2):totable())
    local v, p = x:max(2)
    assert.same({5, 6}, v:totable())
    assert.same({2, 3}, p:totable())
    assert.same({2, 3}, x:argmax(2):totable())
    assert.same({1, 2}, x:argmin(2):totable())
    assert.same({2, 1}, x:sum(2, true).shape)
  end)
end)

describe("matmul", function()
  it("multiplies matrices, vectors and transposed views", function()
    local a = ml.tensor{{1, 2}, {3, 4}}
    local b = ml.tensor{{5, 6}, {7, 8}}
    assert.same({{19, 22}, {43, 50}}, a:matmul(b):totable())
    assert.same({{26, 30}, {38, 44}}, ml.matmul(a:t(), b):totable())
    assert.same({17, 39}, a:matmul(ml.tensor{5, 6}):totable())
  end)
  it("names shapes that do not match", function()
    local ok, err = pcall(ml.matmul, ml.ones(3, 4), ml.ones(5, 2))
    assert.is_false(ok)
    assert.matches("matmul: shapes 3x4 and 5x2 do not match", err, 1, true)
  end)
end)

describe("joining", function()
  it("concatenates and stacks", function()
    local a, b = ml.ones(2, 3), ml.zeros(2, 3)
    assert.same({4, 3}, ml.cat({a, b}, 1).shape)
    assert.same({2, 6}, ml.cat({a, b}, 2).shape)
    assert.same({2, 2, 3}, ml.stack({a, b}).shape)
    assert.same({4, 3}, ml.vstack{a, b}.shape)
    assert.same({2, 6}, ml.hstack{a, b}.shape)
    assert.same({3, 3}, ml.eye(3):index_select(1, ml.tensor{3, 2, 1}).shape)
    assert.same({0, 0, 1}, ml.eye(3):index_select(1, ml.tensor{3, 2, 1})[1]:totable())
  end)
end)

describe("printing", function()
  it("shows values and the shape", function()
    local s = tostring(ml.tensor{{1, 2}, {3, 4}})
    assert.matches("shape=2x2", s)
    assert.matches("%[%[1%., 2%.%]", s)
  end)
  it("summarises big tensors", function()
    local s = tostring(ml.zeros(100, 100))
    assert.matches("%.%.%.", s)
    assert.is_true(#s < 2000)
  end)
end)

describe("API.md, the remaining lines", function()
  it("random constructors give the asked shape and range", function()
    ml.seed(3)
    local u = ml.rand(200, 3)
    assert.same({200, 3}, u.shape)
    assert.is_true(u:min() >= 0 and u:max() < 1)
    local n = ml.randn{1000}
    assert.same({1000}, n.shape)
    assert.is_true(math.abs(n:mean()) < 0.15 and math.abs(n:std() - 1) < 0.15)
    assert.equal("int64", ml.randperm(5).dtype)
  end)
  it("sets and reads the thread count", function()
    local before = ml.get_num_threads()
    ml.set_num_threads(1)
    assert.equal(1, ml.get_num_threads())
    ml.set_num_threads(2)
    assert.equal(2, ml.get_num_threads())
    assert.has_error(function() ml.set_num_threads(0) end)
    ml.set_num_threads(before)
  end)
  it("item, clone, contiguous, fill", function()
    assert.equal(7, ml.full({1, 1}, 7):item())
    assert.has_error(function() ml.ones(2):item() end, nil)
    local x = ml.arange(6):reshape(2, 3)
    local c = x:clone()
    c[1][1] = 99
    assert.equal(0, x[1][1])
    local t = x:t()
    assert.is_false(t:is_contiguous())
    local tc = t:contiguous()
    assert.is_true(tc:is_contiguous())
    assert.same(t:totable(), tc:totable())
    x[2]:fill(0)
    assert.same({{0, 1, 2}, {0, 0, 0}}, x:totable())
  end)
  it("min, argmin, var and std along dimensions", function()
    local x = ml.tensor{{1, 5, 3}, {4, 2, 6}}
    local v, p = x:min(1)
    assert.same({1, 2, 3}, v:totable())
    assert.same({1, 2, 1}, p:totable())
    assert.equal(1, x:argmin())
    assert.is_true(close(x:var(2)[1], 4))
    assert.is_true(close(x:std(1)[1], math.sqrt(4.5)))
    assert.is_true(close(x:norm(), math.sqrt(91)))
    assert.is_true(close(x:tanh()[1][1], math.tanh(1)))
    assert.is_true(close(x:log()[2][1], math.log(4)))
    assert.is_true(close(x:sqrt()[2][1], 2))
  end)
  it("softmax along a dimension sums to one there", function()
    local s = ml.tensor{{1, 2}, {3, 4}}:softmax(1)
    assert.is_true(close(s[1][1] + s[2][1], 1))
    assert.is_true(close(s[1][1], 1 / (1 + math.exp(2))))
  end)
  it("compares tensor with tensor and broadcasts masks", function()
    local x, y = ml.tensor{1, 2, 3}, ml.tensor{3, 2, 1}
    assert.same({0, 1, 1}, x:ge(y):totable())
    assert.same({1, 0, 0}, x:lt(y):totable())
    assert.same({{1, 0, 0}, {1, 1, 0}}, x:le(ml.tensor{{1}, {2}}):totable())
    assert.same({5, 2, -1}, ml.where(x:ne(2), 5 * x:eq(1) - x:eq(3), x):totable())
    assert.same({7, 2, 7}, ml.where(x:ne(2), 7, x):totable())
  end)
  it("stacks 1-D tensors as NumPy does", function()
    local a, b = ml.tensor{1, 2}, ml.tensor{3, 4}
    assert.same({1, 2, 3, 4}, ml.hstack{a, b}:totable())
    assert.same({{1, 2}, {3, 4}}, ml.vstack{a, b}:totable())
    assert.same({{1, 3}, {2, 4}}, ml.stack({a, b}, 2):totable())
    assert.same({{1, 2}, {3, 4}}, ml.cat({a:reshape(1, 2), b:reshape(1, 2)}, 1):totable())
  end)
  it("in-place ops broadcast the right operand", function()
    local x = ml.ones(2, 3)
    x:mul_(ml.tensor{1, 2, 3}):add_(ml.tensor{{10}, {20}})
    assert.same({{11, 12, 13}, {21, 22, 23}}, x:totable())
    assert.has_error(function() ml.ones(3):add_(ml.ones(2, 3)) end)
  end)
  it("caps tensor memory with set_memory_limit", function()
    ml.set_memory_limit(ml.memory_info().in_use + 1024 * 1024)
    local ok, err = pcall(ml.zeros, 1024, 1024, 4)
    ml.set_memory_limit(0)
    assert.is_false(ok)
    assert.matches("memory limit", err)
    assert.equal(4, ml.zeros(2, 2):numel())
  end)
end)

describe("int64 tensors", function()
  local a = ml.tensor({{1, 2}, {3, 4}}, "int64")
  it("stay integers through integer arithmetic, exactly", function()
    assert.equal("int64", (a + a).dtype)
    assert.equal("int64", (a * 3 - 1).dtype)
    local big = ml.tensor({math.tointeger(2^53) + 1}, "int64")
    assert.equal(math.tointeger(2^53) + 2, (big + ml.tensor({1}, "int64"))[1])
    assert.equal("float32", (a / 2).dtype)
    assert.same({{0.5, 1}, {1.5, 2}}, (a / 2):totable())
  end)
  it("work in reductions, math, matmul, comparisons and joins", function()
    assert.equal(10, a:sum())
    assert.same({4, 6}, a:sum(1):totable())
    assert.equal(4, a:max())
    assert.same({2, 2}, a:argmax(2):totable())
    assert.same({{7, 10}, {15, 22}}, a:matmul(a):totable())
    assert.same({{0, 1}, {1, 1}}, a:gt(1):totable())
    assert.equal("int64", ml.cat({a, a}, 1).dtype)
    assert.is_true(close(a:exp()[1][1], math.exp(1)))
    assert.same({2, 3, 4}, a:masked_select(a:gt(1)):totable())
    assert.same({{3, 4}, {1, 2}}, a:index_select(1, ml.tensor({2, 1}, "int64")):totable())
    assert.same({{1, 2}, {3, 4}}, a:float():totable())
    assert.equal("int64", a:float():long().dtype)
  end)
  it("refuse NaN and out-of-range floats instead of saturating them", function()
    assert.has_error(function() ml.tensor({0 / 0}, "int64") end)
    assert.has_error(function() ml.tensor({1e300}, "int64") end)
    assert.has_error(function() ml.tensor({-1e300}, "int64") end)
    assert.same({2}, ml.tensor({2.9}, "int64"):totable())
    assert.has_error(function() ml.ones(3):index_select(1, ml.tensor{0 / 0}) end)
  end)
end)

describe("determinism across thread counts", function()
  it("gives bit-identical reductions and elementwise results with 1 or 2 threads", function()
    local before = ml.get_num_threads()
    ml.seed(11)
    local x = ml.randn(300, 1000)
    local results = {}
    for _, th in ipairs{1, 2} do
      ml.set_num_threads(th)
      results[th] = {x:sum(), x:mean(), x:sum(1):totable(), x:sum(2):totable(),
                     x:std(), (x * 2 + 1):sum(), x:norm(), x:softmax(2)[7][9]}
    end
    ml.set_num_threads(before)
    assert.same(results[1], results[2])
  end)
end)

-- Every engine function and method, called with wrong types, wrong arities,
-- absurd sizes, NaN, closed, empty, 0-d, int64 and strided tensors: each call
-- either works or raises a Lua error with a message; none may crash.
describe("robustness", function()
  local funcs = {"tensor", "zeros", "ones", "empty", "full", "rand", "randn", "eye", "arange",
    "linspace", "randperm", "matmul", "cat", "stack", "vstack", "hstack", "where", "maximum",
    "minimum", "set_num_threads", "set_memory_limit"}
  local methods = {"totable", "item", "size", "dim", "numel", "is_contiguous", "add", "sub",
    "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "gt", "ge", "lt", "le", "add_", "sub_",
    "mul_", "div_", "pow_", "copy_", "fill", "zero_", "neg", "exp", "log", "sqrt", "abs",
    "sigmoid", "tanh", "relu", "sign", "floor", "round", "clamp", "sum", "mean", "prod", "max",
    "min", "var", "std", "norm", "argmax", "argmin", "softmax", "log_softmax", "matmul",
    "reshape", "flatten", "t", "transpose", "permute", "narrow", "select", "squeeze",
    "unsqueeze", "expand", "clone", "contiguous", "float", "long", "to", "index_select",
    "masked_select", "exp_", "relu_", "sigmoid_", "all", "any", "allclose"}
  local function closed() local c = ml.ones(2); getmetatable(c).__close(c); return c end
  local function selves()
    return {ml.ones(2, 3), ml.tensor({{1, 2}, {3, 4}}, "int64"), ml.tensor(5), ml.zeros(0),
            ml.arange(6):reshape(2, 3):t(), ml.zeros(3, 0, 2), closed()}
  end
  local bad = {{}, {"x"}, {{}}, {-1}, {0}, {2^62}, {1e15}, {0 / 0}, {math.huge}, {true},
    {print}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {{1, {2}}}, {{"a"}}, {ml.ones(3)},
    {ml.tensor({1}, "int64")}, {ml.zeros(0)}, {1, "x"}, {{1, 2}, -5}, {-1, -1},
    {math.mininteger}, {math.maxinteger, 1}}
  local function try(f, ...)
    local ok, err = pcall(f, ...)
    if not ok then assert.is_string(err) end
  end
  it("module functions", function()
    local limit = ml.memory_info().limit
    local threads = ml.get_num_threads()
    for _, name in ipairs(funcs) do
      for _, args in ipairs(bad) do try(ml[name], table.unpack(args)) end
      for _, s in ipairs(selves()) do
        try(ml[name], s); try(ml[name], s, s); try(ml[name], {s, s}); try(ml[name], s, 2)
      end
    end
    ml.set_memory_limit(limit)
    ml.set_num_threads(threads)
  end)
  it("tensor methods", function()
    for _, name in ipairs(methods) do
      for _, s in ipairs(selves()) do
        local f = ml.Tensor[name]
        assert.is_function(f, name)
        for _, args in ipairs(bad) do try(f, s, table.unpack(args)) end
        for _, o in ipairs(selves()) do try(f, s, o); try(f, s, 1, o) end
      end
    end
  end)
  it("indexing and assignment", function()
    for _, s in ipairs(selves()) do
      for _, k in ipairs{0, 1, -1, 99, 1.5, "shape", "nosuch", true, {1, {1, 2}}, {{2, 1}},
                         {{1, 99}}, {1, 1, 1, 1}, {"a"}, ml.ones(2, 3):gt(0)} do
        try(function() return s[k] end)
        try(function() s[k] = 1 end)
        try(function() s[k] = ml.ones(2) end)
        try(function() s[k] = "x" end)
      end
      try(function() return #s end)
      try(function() return tostring(s) end)
      try(function() return s + s, s - 1, 2 * s, s / s, s ^ s, -s end)
    end
  end)
end)
