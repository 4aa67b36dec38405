-- ml.tree against scikit-learn 1.2 (tests/fixtures/make_trees.py): the same
-- data, options and random_state must give the same tree.
package.path = "tests/spec/?.lua;" .. package.path
local ml = require "ml"
local F = require "trees_fixtures"

local iris_X, iris_y = F.csv("data/classic/iris.csv")
local Xtr, Xte, ytr, yte = F.split(iris_X, iris_y)

describe("DecisionTreeClassifier matches scikit-learn", function()
  local fx = F.json("iris")
  for i, c in ipairs(fx.cases) do
    local label = string.format("iris case %d: %s, max_depth %s, min_samples_leaf %d, max_features %s",
      i, c.criterion, tostring(c.max_depth), c.min_samples_leaf, tostring(c.max_features))
    it(label, function()
      local m = ml.DecisionTreeClassifier{criterion = c.criterion, max_depth = c.max_depth,
        min_samples_leaf = c.min_samples_leaf, max_features = c.max_features,
        random_state = c.random_state}
      assert.equal(m, m:fit(Xtr, ytr))
      assert.equal(0, F.maxdiff(m:predict(Xte), c.pred))
      assert.is_true(F.maxdiff(m:predict_proba(Xte), c.proba) < 1e-6)
      assert.is_true(F.maxdiff(m.feature_importances_, c.importances) < 1e-6)
      assert.equal(c.node_count, m.tree_.node_count)
      assert.equal(c.depth, m:get_depth())
      assert.equal(c.n_leaves, m:get_n_leaves())
    end)
  end

  it("breast cancer, full depth, gini / entropy / max_features sqrt", function()
    local X, y = F.csv("data/classic/breast_cancer.csv")
    local a, b, c_, _ = F.split(X, y)
    for _, c in ipairs(F.json("breast_cancer_tree")) do
      local m = ml.DecisionTreeClassifier{criterion = c.criterion, max_features = c.max_features,
        random_state = c.random_state or 0}:fit(a, c_)
      assert.equal(0, F.maxdiff(m:predict(b), c.pred))
      assert.is_true(F.maxdiff(m.feature_importances_, c.importances) < 1e-6)
      assert.equal(c.node_count, m.tree_.node_count)
    end
  end)

  it("class_weight balanced and as a table", function()
    local fx2 = fx.balanced_first80
    local idx = {}
    for i = 1, 80 do idx[i] = i end
    local it_ = ml.tensor(idx, "int64")
    local m = ml.DecisionTreeClassifier{max_depth = 3, class_weight = "balanced", random_state = 0}
    m:fit(Xtr:index_select(1, it_), ytr:index_select(1, it_))
    assert.equal(0, F.maxdiff(m:predict(Xte), fx2.pred))
    assert.is_true(F.maxdiff(m.feature_importances_, fx2.importances) < 1e-6)
    assert.is_true(F.maxdiff(m:predict_proba(Xte), fx2.proba) < 1e-6)
    local w = fx.weighted_1_5
    m = ml.DecisionTreeClassifier{max_depth = 3, class_weight = {[0] = 1.0, [1] = 5.0, [2] = 1.0},
      random_state = 0}:fit(Xtr, ytr)
    assert.equal(0, F.maxdiff(m:predict(Xte), w.pred))
    assert.is_true(F.maxdiff(m.feature_importances_, w.importances) < 1e-6)
  end)
end)

describe("DecisionTreeRegressor matches scikit-learn", function()
  it("predicts petal width like sklearn (full depth and max_depth 4)", function()
    local Xr = iris_X:narrow(2, 1, 3):contiguous()
    local yr = iris_X:select(2, 4):contiguous()
    local a, b, c_, d = F.split(Xr, yr)
    for _, c in ipairs(F.json("iris_regression")) do
      local r = ml.DecisionTreeRegressor{max_depth = c.max_depth, random_state = 0}:fit(a, c_)
      assert.is_true(F.maxdiff(r:predict(b), c.pred) < 1e-5)
      assert.is_true(F.maxdiff(r.feature_importances_, c.importances) < 1e-6)
      assert.equal(c.node_count, r.tree_.node_count)
      assert.is_true(r:score(b, d) > 0.85)
    end
  end)
  it("fits a step function exactly and honours min_samples_leaf", function()
    local X = ml.arange(0, 20):reshape(20, 1)
    local y = X:gt(9.5):reshape(-1)
    local r = ml.DecisionTreeRegressor():fit(X, y)
    assert.equal(0, (r:predict(X) - y):abs():sum())
    assert.equal(3, r.tree_.node_count)
    local r2 = ml.DecisionTreeRegressor{min_samples_leaf = 15}:fit(X, y)
    assert.equal(1, r2.tree_.node_count)
  end)
end)

describe("decision tree behaviour", function()
  it("keeps the labels y gives (strings of numbers, negative, unsorted)", function()
    local X = ml.tensor{{1}, {2}, {3}, {10}, {11}, {12}}
    local y = ml.tensor{30, 30, 30, -5, -5, -5}
    local m = ml.DecisionTreeClassifier():fit(X, y)
    assert.same({-5, 30}, m.classes_:totable())
    assert.same({30, 30, 30, -5, -5, -5}, m:predict(X):totable())
    assert.same({0, 1}, m:predict_proba(ml.tensor{{0}}):totable()[1])
    assert.equal(2, m.n_classes_)
    assert.equal(1, m.n_features_in_)
    assert.equal(1.0, m:score(X, y))
  end)

  it("thresholds sit midway between values", function()
    local X = ml.tensor{{1}, {2}, {4}, {8}}
    local m = ml.DecisionTreeClassifier():fit(X, ml.tensor{0, 0, 1, 1})
    -- threshold 3: 2.99 goes left, 3.01 right
    assert.same({0, 0, 1}, m:predict(ml.tensor{{2.99}, {3}, {3.01}}):totable())
  end)

  it("sample_weight counts like repeated samples", function()
    local X = ml.tensor{{1, 0}, {2, 1}, {3, 0}, {4, 1}, {5, 0}, {6, 1}}
    local y = ml.tensor{0, 1, 0, 1, 1, 1}
    local w = ml.tensor{3, 1, 1, 2, 1, 1}
    local Xr, yr = {}, {}
    local Xt, yt, wt = X:totable(), y:totable(), w:totable()
    for i = 1, 6 do for _ = 1, wt[i] do Xr[#Xr + 1] = Xt[i]; yr[#yr + 1] = yt[i] end end
    local a = ml.DecisionTreeClassifier{random_state = 1}:fit(X, y, w)
    local b = ml.DecisionTreeClassifier{random_state = 1}:fit(ml.tensor(Xr), ml.tensor(yr))
    assert.equal(0, (a:predict_proba(X) - b:predict_proba(X)):abs():max())
    assert.is_true(F.maxdiff(a.feature_importances_, b.feature_importances_:totable()) < 1e-6)
  end)

  it("is reproducible with random_state and varies without it", function()
    local X, y = F.csv("data/classic/breast_cancer.csv")
    local p = ml.DecisionTreeClassifier{max_features = 1, random_state = 5}:fit(X, y):predict(X)
    local q = ml.DecisionTreeClassifier{max_features = 1, random_state = 5}:fit(X, y):predict(X)
    assert.equal(0, (p - q):abs():sum())
    local a = ml.DecisionTreeClassifier{max_features = 1, random_state = 1}:fit(X, y)
    local b = ml.DecisionTreeClassifier{max_features = 1, random_state = 2}:fit(X, y)
    assert.is_true(F.maxdiff(a.feature_importances_, b.feature_importances_:totable()) > 1e-3)
  end)

  it("min_impurity_decrease prunes weak splits; importances sum to 1", function()
    local full = ml.DecisionTreeClassifier{random_state = 0}:fit(Xtr, ytr)
    local pruned = ml.DecisionTreeClassifier{min_impurity_decrease = 0.02, random_state = 0}:fit(Xtr, ytr)
    assert.is_true(pruned.tree_.node_count < full.tree_.node_count)
    assert.is_true(math.abs(full.feature_importances_:sum() - 1) < 1e-5)
  end)

  it("accepts max_features as sqrt, log2, int and float", function()
    for _, mf in ipairs{"sqrt", "log2", 2, 0.5, 1.0} do
      local m = ml.DecisionTreeClassifier{max_features = mf, random_state = 0}:fit(Xtr, ytr)
      assert.is_true(m:score(Xte, yte) > 0.8)
    end
  end)

  it("apply gives 1-based leaves", function()
    local m = ml.DecisionTreeClassifier{max_depth = 2, random_state = 0}:fit(Xtr, ytr)
    local leaves = m:apply(Xte):totable()
    for _, l in ipairs(leaves) do assert.is_true(l >= 2 and l <= m.tree_.node_count) end
  end)

  it("params, clone and repr follow the estimator protocol", function()
    local m = ml.DecisionTreeClassifier{max_depth = 3, criterion = "entropy"}
    assert.equal(3, m:get_params().max_depth)
    m:set_params{max_depth = 5}
    assert.equal(5, m.max_depth)
    local c = ml.clone(m)
    assert.equal(5, c.max_depth)
    assert.equal("entropy", c.criterion)
    assert.is_nil(c.tree_)
    assert.truthy(tostring(m):find("max_depth = 5", 1, true))
  end)
end)

describe("decision tree errors", function()
  it("names a bad option", function()
    assert.has_error(function() ml.DecisionTreeClassifier{max_dept = 3} end)
    local ok, err = pcall(ml.DecisionTreeClassifier, {max_dept = 3})
    assert.is_false(ok)
    assert.truthy(err:find("max_dept", 1, true))
    ok, err = pcall(function() ml.DecisionTreeClassifier{criterion = "mse"}:fit(Xtr, ytr) end)
    assert.truthy(err:find("criterion", 1, true))
    ok, err = pcall(function() ml.DecisionTreeRegressor{criterion = "gini"}:fit(Xtr, ytr) end)
    assert.truthy(err:find("criterion", 1, true))
    ok, err = pcall(function() ml.DecisionTreeClassifier{min_samples_leaf = 0}:fit(Xtr, ytr) end)
    assert.truthy(err:find("min_samples_leaf", 1, true))
    ok, err = pcall(function() ml.DecisionTreeClassifier{min_samples_split = 1}:fit(Xtr, ytr) end)
    assert.truthy(err:find("min_samples_split", 1, true))
    ok, err = pcall(function() ml.DecisionTreeClassifier{max_features = 9}:fit(Xtr, ytr) end)
    assert.truthy(err:find("max_features", 1, true))
    ok, err = pcall(function() ml.DecisionTreeClassifier{max_features = "cube"}:fit(Xtr, ytr) end)
    assert.truthy(err:find("max_features", 1, true))
    ok, err = pcall(function() ml.DecisionTreeClassifier{max_depth = 0}:fit(Xtr, ytr) end)
    assert.truthy(err:find("max_depth", 1, true))
  end)
  it("refuses predict before fit and a wrong feature count", function()
    local ok, err = pcall(function() ml.DecisionTreeClassifier():predict(Xte) end)
    assert.truthy(err:find("not fitted", 1, true))
    local m = ml.DecisionTreeClassifier():fit(Xtr, ytr)
    ok, err = pcall(function() m:predict(Xte:narrow(2, 1, 3)) end)
    assert.truthy(err:find("3 features", 1, true))
    ok, err = pcall(function() m:fit(Xtr, yte) end)
    assert.is_false(ok)
  end)
  it("refuses NaN in X, naming where", function()
    local X = Xtr:clone()
    X[5][2] = 0 / 0
    local ok, err = pcall(function() ml.DecisionTreeClassifier():fit(X, ytr) end)
    assert.truthy(err:find("NaN", 1, true))
    assert.truthy(err:find("row 5, column 2", 1, true))
    local m = ml.DecisionTreeClassifier():fit(Xtr, ytr)
    ok, err = pcall(function() m:predict(X) end)
    assert.truthy(err:find("NaN", 1, true))
  end)
  it("refuses class_weight naming an unknown class", function()
    local ok, err = pcall(function()
      ml.DecisionTreeClassifier{class_weight = {[7] = 2.0}}:fit(Xtr, ytr)
    end)
    assert.is_false(ok)
    assert.truthy(err:find("class_weight", 1, true))
    assert.truthy(err:find("7", 1, true))
  end)
end)

describe("decision tree save/load", function()
  it("round-trips through state() with identical predictions", function()
    for _, m in ipairs{ml.DecisionTreeClassifier{random_state = 0}:fit(Xtr, ytr),
                       ml.DecisionTreeRegressor{max_depth = 4}:fit(Xtr, Xtr:select(2, 4))} do
      local s = m:state()
      local cls = getmetatable(m)
      local m2 = cls.from_state(cls, s)
      assert.equal(0, (m:predict(Xte) - m2:predict(Xte)):abs():max())
      assert.equal(m.tree_.node_count, m2.tree_.node_count)
      assert.equal(m:get_depth(), m2:get_depth())
    end
  end)
  it("round-trips through ml.save / ml.load when available", function()
    if not ml.save then return end
    local m = ml.DecisionTreeClassifier{max_depth = 3, random_state = 0}:fit(Xtr, ytr)
    local path = os.tmpname()
    ml.save(path, m)
    local m2 = ml.load(path)
    os.remove(path)
    assert.equal("DecisionTreeClassifier", m2.__name)
    assert.equal(0, (m:predict_proba(Xte) - m2:predict_proba(Xte)):abs():max())
    assert.same(m.classes_:totable(), m2.classes_:totable())
  end)
  it("rejects damaged node arrays", function()
    local m = ml.DecisionTreeClassifier{random_state = 0}:fit(Xtr, ytr)
    local s = m:state()
    s.trees.trees[1].children_left[1] = 0    -- the root pointing at itself
    local cls = getmetatable(m)
    local ok, err = pcall(cls.from_state, cls, s)
    assert.is_false(ok)
    assert.truthy(err:find("inconsistent", 1, true))
  end)
end)
