-- ml.ensemble against scikit-learn 1.2 (tests/fixtures/make_trees.py). Random
-- forests draw seeds and bootstraps as sklearn does, so an integer
-- random_state gives sklearn's forest; boosting and isolation forests are
-- compared on quality.
package.path = "tests/spec/?.lua;" .. package.path
local ml = require "ml"
local F = require "trees_fixtures"

local data = {
  iris = {F.csv("data/classic/iris.csv")},
  breast_cancer = {F.csv("data/classic/breast_cancer.csv")},
  digits = {F.csv("tests/fixtures/trees_digits.csv")},
}

describe("RandomForestClassifier matches scikit-learn", function()
  for _, name in ipairs{"iris", "breast_cancer", "digits"} do
    it("is sklearn's forest on " .. name .. " (random_state 0)", function()
      local fx = F.json("ens_" .. name)
      local Xtr, Xte, ytr, yte = F.split(data[name][1], data[name][2])
      local rf = ml.RandomForestClassifier{random_state = 0, n_jobs = 2}:fit(Xtr, ytr)
      assert.equal(100, rf:n_trees())
      assert.equal(0, F.maxdiff(rf:predict(Xte), fx.rf_pred))
      assert.is_true(F.maxdiff(rf:predict_proba(Xte), fx.rf_proba) < 1e-5)
      assert.is_true(F.maxdiff(rf.feature_importances_, fx.rf_importances) < 1e-5)
      assert.is_true(math.abs(rf:score(Xte, yte) - fx.rf_acc) < 1e-6)
    end)
  end

  it("does not depend on the number of threads", function()
    local X, y = table.unpack(data.breast_cancer)
    local a = ml.RandomForestClassifier{n_estimators = 20, random_state = 3, n_jobs = 1}:fit(X, y)
    local b = ml.RandomForestClassifier{n_estimators = 20, random_state = 3, n_jobs = 2}:fit(X, y)
    assert.equal(0, (a:predict_proba(X) - b:predict_proba(X)):abs():max())
    local c = ml.RandomForestClassifier{n_estimators = 20, random_state = 4, n_jobs = 2}:fit(X, y)
    assert.is_true((a:predict_proba(X) - c:predict_proba(X)):abs():max() > 0)
  end)

  it("computes an out-of-bag score close to the test accuracy", function()
    local Xtr, Xte, ytr, yte = F.split(table.unpack(data.breast_cancer))
    local rf = ml.RandomForestClassifier{n_estimators = 50, oob_score = true, random_state = 0}
    rf:fit(Xtr, ytr)
    assert.is_true(math.abs(rf.oob_score_ - rf:score(Xte, yte)) < 0.05)
    assert.same({Xtr.shape[1], 2}, rf.oob_decision_function_.shape)
  end)

  it("supports bootstrap = false, max_samples, max_features and class_weight", function()
    local Xtr, Xte, ytr, yte = F.split(table.unpack(data.breast_cancer))
    for _, o in ipairs{{bootstrap = false}, {max_samples = 0.5}, {max_samples = 100},
                       {max_features = 0.3}, {max_features = "log2"}, {class_weight = "balanced"},
                       {max_depth = 4, min_samples_leaf = 3}, {criterion = "entropy"}} do
      o.n_estimators = 30
      o.random_state = 1
      local rf = ml.RandomForestClassifier(o):fit(Xtr, ytr)
      assert.is_true(rf:score(Xte, yte) > 0.9)
    end
    -- without bootstrap every tree sees all samples and fits them exactly
    local full = ml.RandomForestClassifier{n_estimators = 5, bootstrap = false, max_features = 1.0,
      random_state = 0}:fit(Xtr, ytr)
    assert.equal(1.0, full:score(Xtr, ytr))
  end)
end)

describe("RandomForestRegressor", function()
  it("is sklearn's forest on iris petal width", function()
    local X = data.iris[1]
    local Xr, yr = X:narrow(2, 1, 3):contiguous(), X:select(2, 4):contiguous()
    local a, b, c, d = F.split(Xr, yr)
    local fx = F.json("rf_regression")
    local rf = ml.RandomForestRegressor{n_estimators = 50, random_state = 0, oob_score = true}:fit(a, c)
    assert.is_true(F.maxdiff(rf:predict(b), fx.pred) < 1e-5)
    assert.is_true(math.abs(rf:score(b, d) - fx.r2) < 1e-5)
    assert.is_true(rf.oob_score_ > 0.8)
    assert.equal(1.0, rf.max_features)
  end)
end)

describe("GradientBoostingClassifier (histogram-based)", function()
  for _, name in ipairs{"iris", "breast_cancer", "digits"} do
    it("reaches sklearn's accuracy on " .. name, function()
      local fx = F.json("ens_" .. name)
      local Xtr, Xte, ytr, yte = F.split(data[name][1], data[name][2])
      local gb = ml.GradientBoostingClassifier{random_state = 0}:fit(Xtr, ytr)
      local acc = gb:score(Xte, yte)
      assert.is_true(acc >= fx.gb_acc - 0.02, string.format("%s: %.4f vs sklearn %.4f", name, acc,
        fx.gb_acc))
      local p = gb:predict_proba(Xte)
      assert.is_true((p:sum(2) - 1):abs():max() < 1e-5)
      assert.equal(0, (gb:predict(Xte) - gb.classes_:index_select(1, p:argmax(2))):abs():sum())
      assert.is_true(math.abs(gb.feature_importances_:sum() - 1) < 1e-5)
    end)
  end

  it("fits training data better with more rounds and is reproducible", function()
    local X, y = table.unpack(data.breast_cancer)
    local few = ml.GradientBoostingClassifier{n_estimators = 5}:fit(X, y)
    local many = ml.GradientBoostingClassifier{n_estimators = 200, max_depth = 4}:fit(X, y)
    assert.is_true(many:score(X, y) > few:score(X, y))
    assert.equal(1.0, many:score(X, y))
    local s1 = ml.GradientBoostingClassifier{n_estimators = 20, subsample = 0.5, random_state = 7}:fit(X, y)
    local s2 = ml.GradientBoostingClassifier{n_estimators = 20, subsample = 0.5, random_state = 7}:fit(X, y)
    assert.equal(0, (s1:decision_function(X) - s2:decision_function(X)):abs():max())
  end)

  it("binary decision_function is the log-odds of classes_[2]", function()
    local X, y = table.unpack(data.breast_cancer)
    local gb = ml.GradientBoostingClassifier{n_estimators = 10}:fit(X, y)
    local raw = gb:decision_function(X)
    assert.same({X.shape[1]}, raw.shape)
    local p = gb:predict_proba(X):select(2, 2)
    assert.is_true((raw:sigmoid() - p):abs():max() < 1e-5)
  end)

  it("names bad options", function()
    local X, y = table.unpack(data.iris)
    for opt, v in pairs{learning_rate = 0, subsample = 1.5, max_depth = 0, max_bins = 300,
                        n_estimators = 0, min_samples_leaf = 0} do
      local ok, err = pcall(function() ml.GradientBoostingClassifier{[opt] = v}:fit(X, y) end)
      assert.is_false(ok)
      assert.truthy(err:find(opt, 1, true), err)
    end
    local ok, err = pcall(function() ml.GradientBoostingClassifier{loss = "exponential"} end)
    assert.truthy(err:find("loss", 1, true))
    ok, err = pcall(function() ml.GradientBoostingClassifier():fit(X, ml.zeros(150)) end)
    assert.truthy(err:find("single class", 1, true))
  end)
end)

describe("IsolationForest", function()
  local fx = F.json("iforest")
  local rows = {}
  for i = 1, fx.n do rows[i] = {fx.X[2 * i - 1], fx.X[2 * i]} end
  local X = ml.tensor(rows)

  it("scores like sklearn and finds the planted outliers", function()
    local iso = ml.IsolationForest{random_state = 0}:fit(X)
    assert.equal(256 > fx.n and fx.n or 256, iso.max_samples_)
    assert.equal(-0.5, iso.offset_)
    assert.is_true(F.maxdiff(iso:score_samples(X), fx.scores) < 0.05)
    local p, agree = iso:predict(X):totable(), 0
    for i = 1, #p do if p[i] == fx.pred[i] then agree = agree + 1 end end
    assert.is_true(agree / #p >= 0.97)
    -- the 20 planted outliers (last rows) score lower than the blob
    local s = iso:score_samples(X)
    assert.is_true(s:narrow(1, 201, 20):mean() < s:narrow(1, 1, 200):mean() - 0.1)
    assert.is_true((iso:decision_function(X) - (s + 0.5)):abs():max() < 1e-6)
  end)

  it("contamination sets offset_ to that quantile of the training scores", function()
    local iso = ml.IsolationForest{contamination = 0.1, random_state = 0}:fit(X)
    assert.is_true(math.abs(iso.offset_ - fx.offset_c) < 0.03)
    local p, agree, outliers = iso:predict(X):totable(), 0, 0
    for i = 1, #p do
      if p[i] == fx.pred_c[i] then agree = agree + 1 end
      if p[i] == -1 then outliers = outliers + 1 end
    end
    assert.equal(22, outliers)
    assert.is_true(agree / #p >= 0.97)
  end)

  it("names bad options", function()
    for opt, v in pairs{contamination = 0.7, max_samples = 0, max_features = 1.5, n_estimators = 0} do
      local ok, err = pcall(function() ml.IsolationForest{[opt] = v}:fit(X) end)
      assert.is_false(ok)
      assert.truthy(err:find(opt, 1, true), err)
    end
    local ok, err = pcall(function() ml.IsolationForest():predict(X) end)
    assert.truthy(err:find("not fitted", 1, true))
  end)
end)

describe("ensemble errors and save/load", function()
  local Xtr, Xte, ytr = F.split(table.unpack(data.iris))

  it("names bad forest options and refuses misuse", function()
    for opt, v in pairs{n_estimators = 0, max_samples = 2.0, max_features = 0} do
      local ok, err = pcall(function() ml.RandomForestClassifier{[opt] = v}:fit(Xtr, ytr) end)
      assert.is_false(ok)
      assert.truthy(err:find(opt, 1, true), err)
    end
    local ok, err = pcall(function() ml.RandomForestClassifier{bootstrap = false, oob_score = true}:fit(Xtr, ytr) end)
    assert.truthy(err:find("oob_score", 1, true))
    ok, err = pcall(function() ml.RandomForestClassifier():predict(Xte) end)
    assert.truthy(err:find("not fitted", 1, true))
    local rf = ml.RandomForestClassifier{n_estimators = 5}:fit(Xtr, ytr)
    ok, err = pcall(function() rf:predict(Xte:narrow(2, 1, 2)) end)
    assert.truthy(err:find("2 features", 1, true))
    local Xn = Xte:clone()
    Xn[1][1] = 0 / 0
    ok, err = pcall(function() rf:predict(Xn) end)
    assert.truthy(err:find("NaN", 1, true))
    ok, err = pcall(function() ml.RandomForestClassifier{class_weight = {[5] = 1}}:fit(Xtr, ytr) end)
    assert.truthy(err:find("class_weight", 1, true))
  end)

  it("round-trips every ensemble through state() and ml.save", function()
    local models = {
      ml.RandomForestClassifier{n_estimators = 10, random_state = 0}:fit(Xtr, ytr),
      ml.RandomForestRegressor{n_estimators = 10, random_state = 0}:fit(Xtr, Xtr:select(2, 1)),
      ml.GradientBoostingClassifier{n_estimators = 10}:fit(Xtr, ytr),
      ml.IsolationForest{n_estimators = 10, random_state = 0}:fit(Xtr),
    }
    for _, m in ipairs(models) do
      local cls = getmetatable(m)
      local m2 = cls.from_state(cls, m:state())
      assert.equal(0, (m:predict(Xte) - m2:predict(Xte)):abs():max())
      if ml.save then
        local path = os.tmpname()
        ml.save(path, m)
        local m3 = ml.load(path)
        os.remove(path)
        assert.equal(m.__name, m3.__name)
        assert.equal(0, (m:predict(Xte) - m3:predict(Xte)):abs():max())
        if m.predict_proba then
          assert.equal(0, (m:predict_proba(Xte) - m3:predict_proba(Xte)):abs():max())
        end
      end
    end
  end)
end)
