-- Silent wrong results (issue 9): every case either gives the right answer
-- or raises a clear error; none returns something plausible but wrong.
local ml = require "ml"

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

describe("in-place ops on overlapping views", function()
  it("refuse to write through an expanded view (as PyTorch)", function()
    local x = ml.zeros(3)
    assert.matches("single memory location", err_of(function() x:expand(4, 3):add_(1) end))
    assert.matches("single memory location", err_of(function() x:expand(4, 3):exp_() end))
    assert.matches("single memory location", err_of(function() x:expand(2, 3):mul_(ml.ones(2, 3)) end))
    assert.matches("single memory location",
      err_of(function() x:expand(4, 3):copy_(ml.ones(4, 3)) end))
    assert.same({0, 0, 0}, x:totable())
  end)
  it("read an operand overlapping the target before writing (as NumPy)", function()
    local x = ml.arange(1, 6)
    x[{{2, 5}}]:add_(x[{{1, 4}}])
    assert.same({1, 3, 5, 7, 9}, x:totable())
    local y = ml.arange(1, 6)
    y[{{2, 5}}] = y[{{1, 4}}]
    assert.same({1, 1, 2, 3, 4}, y:totable())
    local z = ml.arange(1, 6)
    z[{{1, 4}}] = z[{{2, 5}}]
    assert.same({2, 3, 4, 5, 5}, z:totable())
    local m = ml.tensor{{1, 2}, {3, 4}}
    m:t():add_(m)
    assert.same({{2, 5}, {5, 8}}, m:totable())
  end)
  it("keep working on the same view and on plain tensors", function()
    local x = ml.ones(3)
    x:add_(x)
    assert.same({2, 2, 2}, x:totable())
    local m = ml.ones(2, 3)
    m:add_(ml.ones(3))
    assert.same({{2, 2, 2}, {2, 2, 2}}, m:totable())
    x:expand(4, 3):fill(7)     -- one value everywhere is well defined
    assert.same({7, 7, 7}, x:totable())
  end)
end)

describe("int64 conversion", function()
  it("refuses NaN and values outside int64's range", function()
    assert.matches("NaN", err_of(ml.tensor, {0 / 0}, "int64"))
    assert.matches("out of range", err_of(ml.tensor, {1e300}, "int64"))
    assert.matches("out of range", err_of(ml.tensor, {-1e300}, "int64"))
    assert.matches("NaN", err_of(function() return ml.tensor{1, 0 / 0}:long() end))
    assert.matches("element 2", err_of(function() return ml.tensor{1, 0 / 0}:long() end))
    assert.matches("out of range", err_of(function() return ml.tensor{1e30}:long() end))
    local i = ml.ones(3):long()
    assert.matches("NaN", err_of(function() i:fill(0 / 0) end))
    assert.matches("NaN", err_of(function() i[1] = 0 / 0 end))
    assert.matches("out of range", err_of(function() i[i:gt(0)] = 1e300 end))
    assert.matches("NaN", err_of(function() i:add_(0 / 0) end))
    assert.same({1, 1, 1}, i:totable())
  end)
  it("truncates finite values toward zero as NumPy's astype", function()
    assert.same({3, -2, 2^62}, ml.tensor{3.7, -2.5, 2^62}:long():totable())
    assert.equal(math.mininteger, ml.tensor({-2^63}, "int64")[1])
  end)
  it("refuses table keys that are not positions instead of dropping them", function()
    assert.matches("key 1000000000", err_of(ml.tensor, {[1e9] = 2}))
    assert.matches("key x", err_of(ml.tensor, {1, 2, x = 3}))
    assert.matches("key 0", err_of(ml.tensor, {[0] = 1, 2}))
    assert.matches("depth 2", err_of(ml.tensor, {{1, 2}, {3, 4, y = 1}}))
    assert.same({}, ml.tensor({}):totable())
  end)
  it("reports the real index", function()
    local x = ml.zeros(3)
    assert.matches("index %-9223372036854775808 out of range",
      err_of(function() return x[math.mininteger] end))
    assert.matches("index 9223372036854775807 out of range",
      err_of(function() return x[math.maxinteger] end))
    assert.matches("index 4294967297 out of range", err_of(function() return x[(1 << 32) + 1] end))
  end)
end)

describe("class labels keep their dtype", function()
  local LM, SVM, T, E = require "ml.linear_model", require "ml.svm", require "ml.tree", require "ml.ensemble"
  local KN, NB = require "ml.neighbors", require "ml.naive_bayes"
  local P, S, M = require "ml.preprocessing", require "ml.model_selection", require "ml.metrics"
  local X = ml.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 0.5}, {0.5, 0},
                      {2, 2}, {2, 3}, {3, 2}, {3, 3}, {3, 2.5}, {2.5, 3}}
  local big = (1 << 24) + 1          -- float32 rounds it to 2^24
  local huge = (1 << 62) + 3         -- past 2^53: even doubles lose it
  local yi = ml.tensor({big, big, big, big, big, big, big + 2, big + 2, big + 2, big + 2,
                        big + 2, big + 2}, "int64")
  local yh = {huge, huge, huge, huge, huge, huge, -huge, -huge, -huge, -huge, -huge, -huge}
  local ys = {"cat", "cat", "cat", "cat", "cat", "cat", "dog", "dog", "dog", "dog", "dog", "dog"}
  local classifiers = {
    {"LogisticRegression", function() return LM.LogisticRegression() end},
    {"SVC", function() return SVM.SVC() end},
    {"LinearSVC", function() return SVM.LinearSVC() end},
    {"DecisionTreeClassifier", function() return T.DecisionTreeClassifier() end},
    {"RandomForestClassifier", function() return E.RandomForestClassifier{n_estimators = 5, random_state = 1} end},
    {"GradientBoostingClassifier", function() return E.GradientBoostingClassifier{n_estimators = 5} end},
    {"KNeighborsClassifier", function() return KN.KNeighborsClassifier{n_neighbors = 3} end},
    {"GaussianNB", function() return NB.GaussianNB() end},
    {"Pipeline", function() return P.Pipeline{{"sc", P.StandardScaler()}, {"lr", LM.LogisticRegression()}} end},
    {"GridSearchCV", function() return S.GridSearchCV(LM.LogisticRegression(), {C = {0.1, 1}}, {cv = 3}) end},
  }
  local function same_labels(want, got)
    if ml.is_tensor(want) then
      assert.equal(want.dtype, got.dtype)
      want, got = want:totable(), got:totable()
    end
    assert.same(want, got)
  end
  for _, c in ipairs(classifiers) do
    it(c[1] .. ": int64 labels past 2^24 and 2^53 stay exact", function()
      local e = c[2]():fit(X, yi)
      assert.equal("int64", e.classes_.dtype)
      assert.same({big, big + 2}, e.classes_:totable())
      same_labels(yi, e:predict(X))
      assert.equal(1, e:score(X, yi))
      local e2 = c[2]():fit(X, yh)        -- a Lua list of integers: int64
      assert.same({-huge, huge}, e2.classes_:totable())
      assert.same(yh, e2:predict(X):totable())
    end)
    it(c[1] .. ": string labels are kept and predicted", function()
      local e = c[2]():fit(X, ys)
      assert.same({"cat", "dog"}, e.classes_)
      assert.same(ys, e:predict(X))
      assert.equal(1, e:score(X, ys))
      assert.equal(1, M.accuracy_score(ys, e:predict(X)))
    end)
  end
  it("saved classifiers keep int64 and string classes_", function()
    local path = os.tmpname()
    for _, y in ipairs{yi, ys} do
      ml.save(path, LM.LogisticRegression():fit(X, y))
      local e = ml.load(path)
      same_labels(y, e:predict(X))
    end
    os.remove(path)
  end)
  it("mixed strings and numbers are refused", function()
    assert.matches("mixes strings and numbers",
      err_of(function() LM.LogisticRegression():fit(ml.tensor{{0}, {1}}, {"a", 1}) end))
  end)
  it("LabelEncoder keeps int64 labels exact and returns int64 codes", function()
    local le = P.LabelEncoder():fit(yi)
    assert.equal("int64", le.classes_.dtype)
    assert.same({big, big + 2}, le.classes_:totable())
    local codes = le:transform(yi)
    assert.equal("int64", codes.dtype)
    assert.equal(0, codes[1]); assert.equal(1, codes[12])
    same_labels(yi, le:inverse_transform(codes))
    local lh = P.LabelEncoder():fit(yh)
    assert.same(yh, lh:inverse_transform(lh:transform(yh)):totable())
    local ls = P.LabelEncoder():fit(ys)
    assert.same(ys, ls:inverse_transform(ls:transform(ys)))
  end)
  it("OneHotEncoder keeps int64 categories apart", function()
    local Xi = ml.tensor({{big}, {big + 1}, {big}}, "int64")
    local enc = P.OneHotEncoder():fit(Xi)
    assert.same({big, big + 1}, enc.categories_[1]:totable())
    assert.same({{1, 0}, {0, 1}, {1, 0}}, enc:transform(Xi):totable())
  end)
  it("metrics compare int64 and string labels exactly", function()
    local p = yi:clone()
    p[1] = big + 2
    assert.near(11 / 12, M.accuracy_score(yi, p), 1e-12)
    local cm, labs = M.confusion_matrix(yi, p)
    assert.same({big, big + 2}, labs)
    assert.same({{5, 1}, {0, 6}}, cm:totable())
    local cm2, labs2 = M.confusion_matrix(ys, ys)
    assert.same({"cat", "dog"}, labs2)
    assert.same({{6, 0}, {0, 6}}, cm2:totable())
    assert.equal(1, M.f1_score(ys, ys, {average = "macro"}))
    assert.matches("16777219", M.classification_report(yi, p))
  end)
end)

describe("numeric edges", function()
  local P = require "ml.preprocessing"
  local KN = require "ml.neighbors"
  it("StandardScaler near float32's limit (3e38) scales instead of returning zeros", function()
    local X = ml.tensor{{3e38, 1}, {-3e38, 2}, {3e38, 3}, {3.2e38, 4}}
    local s = P.StandardScaler():fit(X)
    -- reference (float64): mean 1.55e38, std 2.62821e38
    assert.near(2.62821e38, s.scale_[1], 1e33)
    assert.near(1.11803, s.scale_[2], 1e-5)
    local Z = s:transform(X)
    assert.near(-1.73122, Z[2][1], 1e-4)
    assert.near(0.55172, Z[1][1], 1e-4)
    assert.equal(0, Z:ne(Z):sum())
    -- ordinary data keeps the exact (X - mean) path
    local s2 = P.StandardScaler():fit(ml.tensor{{1e6 + 1}, {1e6 - 1}})
    assert.near(1, s2.scale_[1], 1e-6)
  end)
  it("KNN rejects Inf (and NaN) in fit and predict, naming row and column", function()
    local k = KN.KNeighborsClassifier{n_neighbors = 1}
    assert.matches("row 3, column 2", err_of(function()
      k:fit(ml.tensor{{0, 0}, {1, 1}, {2, 1 / 0}}, {0, 1, 1}) end))
    local r = KN.KNeighborsRegressor{n_neighbors = 1}:fit(ml.tensor{{0, 0}, {1, 1}}, ml.tensor{0, 1})
    assert.matches("row 2, column 1", err_of(function() r:predict(ml.tensor{{0, 0}, {-1 / 0, 0}}) end))
    assert.matches("NaN or infinity", err_of(function() r:predict(ml.tensor{{0 / 0, 0}}) end))
  end)
  it("predict on 0 rows returns an empty result of the right shape and dtype", function()
    local nn = ml.nn
    local m = nn.Sequential{nn.Input{3}, nn.Dense(2, {activation = "softmax"})}
    m:compile{loss = "categorical_crossentropy", optimizer = "sgd"}
    assert.same({0, 2}, m:predict(ml.zeros(0, 3)).shape)
    local c = m:predict_classes(ml.zeros(0, 3))
    assert.same({0}, c.shape); assert.equal("int64", c.dtype)
    local cnn = nn.Sequential{nn.Input{4, 4, 1}, nn.Conv2D(2, 3), nn.Flatten(), nn.Dense(5)}
    assert.same({0, 5}, cnn:predict(ml.zeros(0, 4, 4, 1)).shape)
    assert.matches("no rows", err_of(function() m:evaluate(ml.zeros(0, 3), ml.zeros(0, 2)) end))
    local LM = require "ml.linear_model"
    local e = LM.LogisticRegression():fit(ml.tensor{{0}, {1}, {2}, {3}}, ml.tensor({5, 5, 7, 7}, "int64"))
    local p = e:predict(ml.zeros(0, 1))
    assert.same({0}, p.shape); assert.equal("int64", p.dtype)
    assert.same({0, 2}, e:predict_proba(ml.zeros(0, 1)).shape)
    local es = LM.LogisticRegression():fit(ml.tensor{{0}, {1}, {2}, {3}}, {"a", "a", "b", "b"})
    assert.same({}, es:predict(ml.zeros(0, 1)))
  end)
  it("npy uint64 values past 2^63 are refused, not wrapped negative", function()
    local path = os.tmpname()
    local function npy(descr, bytes)
      local head = "{'descr': '" .. descr .. "', 'fortran_order': False, 'shape': (2,), }"
      head = head .. string.rep(" ", 63 - (10 + #head) % 64) .. "\n"
      local f = assert(io.open(path, "wb"))
      f:write("\x93NUMPY\x01\x00", string.pack("<I2", #head), head, bytes)
      f:close()
    end
    npy("<u8", string.pack("<I8<I8", 1, 0x8000000000000005))
    assert.matches("element 2 is 9223372036854775813, past int64's range", err_of(ml.load_npy, path))
    npy(">u8", string.pack(">I8>I8", 7, 0xffffffffffffffff))
    assert.matches("element 2 is 18446744073709551615", err_of(ml.load_npy, path))
    npy("<u8", string.pack("<I8<I8", 1, math.maxinteger))
    assert.same({1, math.maxinteger}, ml.load_npy(path):totable())
    os.remove(path)
  end)
  it("gzip readers reject trailing garbage (zero padding is allowed, as gzip does)", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local function gz(name, text, tail)
      local raw = dir .. "/" .. name
      local f = assert(io.open(raw, "wb")); f:write(text); f:close()
      assert(os.execute("gzip -n -f '" .. raw .. "'"))
      f = assert(io.open(raw .. ".gz", "ab")); f:write(tail); f:close()
      return raw .. ".gz"
    end
    local csv = "a,b\n1,2\n3,4\n"
    assert.same({2, 2}, {ml.read_csv(gz("ok.csv", csv, "")):shape()})
    assert.same({2, 2}, {ml.read_csv(gz("pad.csv", csv, string.rep("\0", 9))):shape()})
    assert.matches("trailing garbage", err_of(ml.read_csv, gz("bad.csv", csv, "GARBAGE!")))
    assert.matches("trailing garbage", err_of(ml.read_csv, gz("bad2.csv", csv, "\0\0x")))
    local idx = string.pack(">I4>I4", 0x0801, 2) .. "\1\2"
    assert.same({1, 2}, ml.io.read_idx(gz("ok.idx", idx, "\0\0")):totable())
    assert.matches("trailing garbage", err_of(ml.io.read_idx, gz("bad.idx", idx, "JUNK")))
    assert.equal("hello", ml.io.read_file(gz("ok.txt", "hello", "\0")))
    assert.matches("trailing garbage", err_of(ml.io.read_file, gz("bad.txt", "hello", "JUNK")))
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("fit checks its data once for NaN/Inf", function()
  local nn = ml.nn
  local function mlp()
    ml.seed(1)
    local m = nn.Sequential{nn.Input{3}, nn.Dense(4, {activation = "relu"}),
      nn.Dense(2, {activation = "softmax"})}
    m:compile{loss = "sparse_categorical_crossentropy", optimizer = "sgd"}
    return m
  end
  local y = ml.tensor({0, 1, 0, 1, 0, 1, 0, 1}, "int64")
  it("names the row and column of the first NaN or Inf in x", function()
    local x = ml.rand(8, 3)
    x[5][2] = 0 / 0
    local m = mlp()
    local before = m:get_weights()[1]:clone()
    assert.matches("fit: x contains NaN or infinity %(row 5, column 2%)",
      err_of(function() m:fit(x, y, {verbose = 0}) end))
    assert.same(before:totable(), m:get_weights()[1]:totable())   -- nothing trained
    x[5][2] = 1 / 0
    assert.matches("row 5, column 2", err_of(function() m:fit(x, y, {verbose = 0}) end))
    assert.matches("allow_nan = true", err_of(function() m:fit(x, y, {verbose = 0}) end))
  end)
  it("checks images (row and position), targets and validation data", function()
    local c = nn.Sequential{nn.Input{4, 4, 1}, nn.Flatten(), nn.Dense(2, {activation = "softmax"})}
    c:compile{loss = "sparse_categorical_crossentropy", optimizer = "sgd"}
    local xi = ml.rand(8, 4, 4, 1)
    xi[3][2][4][1] = 0 / 0
    assert.matches("x contains NaN or infinity %(row 3, position %(2, 4, 1%)%)",
      err_of(function() c:fit(xi, y, {verbose = 0}) end))
    local m = mlp()
    local yf = ml.zeros(8, 2)
    yf[7][1] = 1 / 0
    m:compile{loss = "mse", optimizer = "sgd"}
    assert.matches("y contains NaN or infinity %(row 7, column 1%)",
      err_of(function() m:fit(ml.rand(8, 3), yf, {verbose = 0}) end))
    local xv = ml.rand(2, 3)
    xv[2][3] = 0 / 0
    local m2 = mlp()
    assert.matches("validation x contains NaN or infinity %(row 2, column 3%)",
      err_of(function() m2:fit(ml.rand(8, 3), y, {verbose = 0,
        validation_data = {xv, ml.tensor({0, 1}, "int64")}}) end))
  end)
  it("allow_nan = true trains anyway (the user's choice)", function()
    local x = ml.rand(8, 3)
    x[5][2] = 0 / 0
    local m = mlp()
    -- either it trains, or the NaN-loss guard stops it: never the data check
    local ok, e = pcall(m.fit, m, x, y, {verbose = 0, allow_nan = true})
    assert.is_true(ok or not tostring(e):match("contains NaN or infinity"), tostring(e))
  end)
  it("validation_split outside [0, 1) or NaN is refused", function()
    local m = mlp()
    for _, v in ipairs{-0.5, 0 / 0, 1, 1.5, math.huge} do
      assert.matches("validation_split must be in %[0, 1%)",
        err_of(function() m:fit(ml.rand(8, 3), y, {verbose = 0, validation_split = v}) end))
    end
    assert.matches("got nan", err_of(function()
      m:fit(ml.rand(8, 3), y, {verbose = 0, validation_split = 0 / 0}) end))
  end)
end)
