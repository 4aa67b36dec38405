-- KNeighborsClassifier / KNeighborsRegressor against scikit-learn 1.2
-- (tests/fixtures/cluster_ref.json, made by tests/fixtures/make_cluster.py).
local ml = require "ml"

local function load_ref()
  local f = assert(io.open("tests/fixtures/cluster_ref.json"))
  local ref = require("ml").json.decode(f:read("a"))
  f:close()
  return ref
end
local REF = load_ref()

-- rows whose 0-based number is not / is divisible by 4 (the fixture's split)
local function split(X, y)
  local Xtr, ytr, Xte, yte = {}, {}, {}, {}
  for i = 1, #X do
    if (i - 1) % 4 == 0 then Xte[#Xte + 1] = X[i]; yte[#yte + 1] = y[i]
    else Xtr[#Xtr + 1] = X[i]; ytr[#ytr + 1] = y[i] end
  end
  return ml.tensor(Xtr), ml.tensor(ytr), ml.tensor(Xte), ml.tensor(yte)
end

local function maxdiff(a, b)
  local m = 0
  local ta = type(a) == "table" and a or a:totable()
  local function walk(x, y)
    if type(x) == "table" then for i = 1, #x do walk(x[i], y[i]) end
    else m = math.max(m, math.abs(x - y)) end
  end
  walk(ta, b)
  return m
end

local function opts_of(kw)
  local o = {}
  for k, v in pairs(kw) do o[k] = v end
  return o
end

describe("KNeighborsClassifier matches scikit-learn", function()
  for _, name in ipairs{"iris", "bc", "digits"} do
    for _, tag in ipairs{"uniform", "distance", "manhattan", "p3", "k1"} do
      local r = REF.knn[name .. "_" .. tag]
      it(name .. " " .. tag .. ": predictions, probabilities, neighbours", function()
        local Xtr, ytr, Xte = split(REF.data[name].X, REF.data[name].y)
        local clf = ml.KNeighborsClassifier(opts_of(r.kw)):fit(Xtr, ytr)
        assert.same(r.predict, clf:predict(Xte):totable())
        -- probabilities: identical, except where a distance tie crosses the
        -- k-th place (integer pixels under L1), where either pick is right
        local P, off = clf:predict_proba(Xte):totable(), 0
        for a = 1, #P do if maxdiff(P[a], r.proba[a]) > 1e-6 then off = off + 1 end end
        assert.is_true(off <= (tag == "manhattan" and name == "digits" and 0.03 * #P or 0),
          off .. " rows differ")
        local d, i = clf:kneighbors(Xte:narrow(1, 1, 10))
        assert.equal("int64", i.dtype)
        assert.is_true(maxdiff(d, r.dist10) < 1e-5 * (1 + d:max()))
        -- the same neighbours; among exactly tied distances scikit-learn's
        -- order is arbitrary (mlrun takes the lower row first), so compare
        -- each group of equal distances as a set
        local it_, dt = i:totable(), d:totable()
        for a = 1, #it_ do
          local mine, theirs = {}, {}
          for b = 1, #it_[a] do
            local key = string.format("%.5g", dt[a][b])
            mine[key] = (mine[key] or 0) + it_[a][b]
            theirs[key] = (theirs[key] or 0) + r.idx10[a][b] + 1
          end
          local last = string.format("%.5g", dt[a][#dt[a]])
          mine[last], theirs[last] = nil, nil   -- a tie may cross the k-th place
          assert.same(theirs, mine)
        end
      end)
    end
  end
end)

describe("KNeighborsRegressor matches scikit-learn", function()
  for _, tag in ipairs{"reg_uniform", "reg_distance"} do
    it("iris " .. tag, function()
      local r = REF.knn["iris_" .. tag]
      local X, y = {}, {}
      for i, row in ipairs(REF.data.iris.X) do X[i] = {row[1], row[2], row[3]}; y[i] = row[4] end
      local Xtr, ytr, Xte = split(X, y)
      local reg = ml.KNeighborsRegressor(opts_of(r.kw)):fit(Xtr, ytr)
      assert.is_true(maxdiff(reg:predict(Xte), r.predict) < 1e-5)
      assert.is_true(reg:score(Xtr, ytr) > 0.9)
    end)
  end
end)

describe("KNeighbors behaviour", function()
  local X = ml.tensor{{0, 0}, {0, 1}, {5, 5}, {5, 6}, {10, 0}, {10, 1}}
  local y = ml.tensor{3, 3, 7, 7, 9, 9}
  it("keeps class values and gives probabilities in classes_ order", function()
    local clf = ml.KNeighborsClassifier{n_neighbors = 2}:fit(X, y)
    assert.same({3, 7, 9}, clf.classes_:totable())
    assert.same({3, 9}, clf:predict(ml.tensor{{0.1, 0.2}, {9, 1}}):totable())
    assert.same({{1, 0, 0}}, clf:predict_proba(ml.tensor{{0, 0.4}}):totable())
    assert.equal(1, clf:score(X, y))
  end)
  it("breaks distance ties by the lower training row", function()
    local T = ml.tensor{{1, 0}, {-1, 0}, {0, 1}, {0, -1}}
    local clf = ml.KNeighborsClassifier{n_neighbors = 2}:fit(T, ml.tensor{1, 2, 3, 4})
    local d, i = clf:kneighbors(ml.tensor{{0, 0}})
    assert.same({{1, 2}}, i:totable())
    assert.same({{1, 1}}, d:totable())
  end)
  it("excludes each training row from its own neighbours when X is nil", function()
    local clf = ml.KNeighborsClassifier{n_neighbors = 1}:fit(X, y)
    local _, i = clf:kneighbors()
    assert.same({{2}, {1}, {4}, {3}, {6}, {5}}, i:totable())
  end)
  it("gives all the weight to exact matches with weights = distance", function()
    local clf = ml.KNeighborsClassifier{n_neighbors = 3, weights = "distance"}:fit(X, y)
    assert.same({{0, 1, 0}}, clf:predict_proba(ml.tensor{{5, 5}}):totable())
  end)
  it("runs with n_jobs and on many queries in blocks", function()
    ml.seed(3)
    local T, Q = ml.rand(3000, 20), ml.rand(700, 20)
    local lab = (ml.rand(3000) * 4):floor()
    local a = ml.KNeighborsClassifier{n_jobs = 1}:fit(T, lab):predict(Q)
    local b = ml.KNeighborsClassifier{n_jobs = 2}:fit(T, lab):predict(Q)
    assert.same(a:totable(), b:totable())
    -- brute-force check of one query's nearest row
    local q = Q[7]
    local best, bi = math.huge, 0
    for r = 1, 3000 do
      local dd = ((T[r] - q) ^ 2):sum()
      if dd < best then best, bi = dd, r end
    end
    local _, i = ml.KNeighborsClassifier{n_neighbors = 1}:fit(T, lab):kneighbors(Q:narrow(1, 7, 1))
    assert.equal(bi, i[1][1])
  end)
  it("raises clear errors", function()
    local clf = ml.KNeighborsClassifier()
    assert.has_error(function() clf:predict(X) end,
      "KNeighborsClassifier:predict: this KNeighborsClassifier is not fitted yet; call fit first")
    assert.has_error(function() ml.KNeighborsClassifier{weights = "far"} end)
    assert.has_error(function() ml.KNeighborsClassifier{n_neigbors = 3} end)
    clf:fit(X, y)
    assert.has_error(function() clf:predict(ml.ones(2, 3)) end,
      "KNeighborsClassifier:predict: X has 3 features, but the estimator was fitted with 2")
    local ok, err = pcall(function() ml.KNeighborsClassifier{n_neighbors = 10}:fit(X, y):predict(X) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("n_neighbors"))
    local bad = X:clone(); bad[1][1] = 0 / 0
    assert.has_error(function() ml.KNeighborsClassifier():fit(bad, y) end)
    assert.has_error(function() ml.KNeighborsClassifier{metric = "minkowski", p = 0}:fit(X, y) end)
  end)
  it("round-trips through ml.save / ml.load", function()
    local path = os.tmpname()
    local reg = ml.KNeighborsRegressor{weights = "distance", n_neighbors = 2}:fit(X, y)
    ml.save(path, reg)
    local back = ml.load(path)
    os.remove(path)
    assert.equal("KNeighborsRegressor", back.__name)
    assert.same(reg:predict(X):totable(), back:predict(X):totable())
  end)
  it("survives state()/from_state() and clone", function()
    local clf = ml.KNeighborsClassifier{n_neighbors = 3}:fit(X, y)
    local st = clf:state()
    local back = ml.KNeighborsClassifier.from_state(ml.KNeighborsClassifier, st)
    assert.same(clf:predict(X):totable(), back:predict(X):totable())
    local c = ml.clone(clf)
    assert.equal(3, c.n_neighbors)
    assert.is_nil(rawget(c, "classes_"))
  end)
end)
