-- ml.model_selection: splitters against scikit-learn, cross-validation and searches.
local ml = require "ml"
local json = dofile("tests/spec/support/json.lua")
local tiny = dofile("tests/spec/support/tiny.lua")
local fx = json.load("tests/fixtures/tabular.json")
local S = ml.model_selection

-- two Gaussian blobs, labels 0/1 (reproducible)
local function blobs(n, seed)
  ml.seed(seed or 1)
  local X = ml.randn(n, 3)
  local y = ml.zeros(n)
  for i = 1, n do
    if i % 2 == 0 then y[i] = 1 end
  end
  X = X + ml.stack({y * 1.5, y * 1.0, y * 0}, 2)
  return X, y
end

describe("KFold and StratifiedKFold", function()
  it("KFold without shuffle gives scikit-learn's folds", function()
    local got = {}
    for tr, te in S.KFold{n_splits = 5}:split(ml.zeros(23, 1)) do
      got[#got + 1] = te:totable()
      assert.equal("int64", tr.dtype)
      assert.equal(23, tr:numel() + te:numel())
    end
    assert.same(fx.kfold, got)
  end)
  it("StratifiedKFold without shuffle gives scikit-learn's folds", function()
    local got = {}
    for _, te in S.StratifiedKFold{n_splits = 4}:split(ml.zeros(#fx.skf_y, 1), fx.skf_y) do
      got[#got + 1] = te:totable()
    end
    assert.same(fx.skf, got)
  end)
  it("shuffles reproducibly and covers every row once", function()
    local function folds(seed)
      local out, seen = {}, {}
      for _, te in S.KFold{n_splits = 4, shuffle = true, random_state = seed}:split(ml.zeros(20, 1)) do
        out[#out + 1] = te:totable()
        for _, i in ipairs(te:totable()) do seen[i] = (seen[i] or 0) + 1 end
      end
      for i = 1, 20 do assert.equal(1, seen[i]) end
      return out
    end
    assert.same(folds(3), folds(3))
    assert.are_not.same(folds(3), folds(4))
    assert.are_not.same(fx.kfold, folds(3))
  end)
  it("rejects bad settings", function()
    assert.has_error(function() S.KFold{n_splits = 1} end)
    assert.has_error(function() S.KFold{n_splits = 3}:split(ml.zeros(2, 1))() end)
    assert.has_error(function() S.StratifiedKFold{n_splits = 5}:split(ml.zeros(4, 1), {0, 0, 1, 1})() end)
    assert.has_error(function() S.KFold{n_split = 3} end)
  end)
end)

describe("train_test_split", function()
  it("keeps class proportions like scikit-learn's stratified split", function()
    local y = ml.tensor(fx.tts.y)
    local ytr, yte = S.train_test_split(y, {test_size = 0.25, stratify = y, random_state = 0})
    local function counts(t)
      local c = {0, 0, 0}
      for _, v in ipairs(t:totable()) do c[v + 1] = c[v + 1] + 1 end
      return c
    end
    assert.same(fx.tts.train_counts, counts(ytr))
    assert.same(fx.tts.test_counts, counts(yte))
  end)
  it("splits X and y with the same rows, reproducibly", function()
    local X = ml.arange(1, 21):reshape(20, 1)
    local y = ml.arange(1, 21)
    local Xtr, Xte, ytr, yte = S.train_test_split(X, y, {test_size = 0.2, random_state = 42})
    assert.same({16, 1}, Xtr.shape)
    assert.same({4}, yte.shape)
    assert.same(Xtr:reshape(-1):totable(), ytr:totable())
    assert.same(Xte:reshape(-1):totable(), yte:totable())
    local Xtr2 = S.train_test_split(X, y, {test_size = 0.2, random_state = 42})
    assert.same(Xtr:totable(), Xtr2:totable())
    local a, b = S.train_test_split(X, {shuffle = false, test_size = 5})
    assert.same({1, 2, 3}, {a[1][1], a[2][1], a[3][1]})
    assert.equal(16, b[1][1])
  end)
  it("splits DataFrames and Lua lists", function()
    local df = ml.read_csv("data/classic/iris.csv")
    local tr, te = S.train_test_split(df, {test_size = 0.3, random_state = 1,
      stratify = df["species"]})
    assert.equal(105, (tr:shape()))
    assert.equal(45, (te:shape()))
    assert.equal(15, te["species"]:eq(0):sum())
    local a, b = S.train_test_split({"a", "b", "c", "d"}, {test_size = 0.5, random_state = 0})
    assert.equal(2, #a); assert.equal(2, #b)
  end)
  it("rejects bad sizes and mismatched rows", function()
    assert.has_error(function() S.train_test_split(ml.zeros(10, 2), ml.zeros(9)) end,
      "train_test_split: array 1 has 10 rows but array 2 has 9")
    assert.has_error(function() S.train_test_split(ml.zeros(10, 2), {test_size = 1.5}) end)
    assert.has_error(function() S.train_test_split(ml.zeros(4), {stratify = {0, 0, 0, 1}}) end)
  end)
end)

describe("cross_val_score", function()
  local X, y = blobs(120)
  it("scores each fold, the same with 1 and 2 jobs", function()
    local s1 = S.cross_val_score(tiny.NearestCentroid(), X, y, {cv = 5})
    local s2 = S.cross_val_score(tiny.NearestCentroid(), X, y, {cv = 5, n_jobs = 2})
    assert.equal(5, s1:numel())
    assert.same(s1:totable(), s2:totable())
    assert.is_true(s1:mean() > 0.7)
    -- by hand on the first stratified fold
    local tr, te = S.StratifiedKFold{n_splits = 5}:split(X, y)()
    local m = tiny.NearestCentroid():fit(X:index_select(1, tr), y:index_select(1, tr))
    assert.is_true(math.abs(m:score(X:index_select(1, te), y:index_select(1, te)) - s1[1]) < 1e-6)
  end)
  it("takes scoring names, functions and splitters", function()
    local f1 = S.cross_val_score(tiny.NearestCentroid(), X, y, {cv = 3, scoring = "f1"})
    assert.equal(3, f1:numel())
    local auc = S.cross_val_score(tiny.NearestCentroid(), X, y, {cv = 3, scoring = "roc_auc"})
    assert.is_true(auc:min() > 0.5)
    local const = S.cross_val_score(tiny.NearestCentroid(), X, y,
      {cv = S.KFold{n_splits = 4, shuffle = true, random_state = 0},
       scoring = function() return 0.25 end})
    assert.same({0.25, 0.25, 0.25, 0.25}, const:totable())
    local r2 = S.cross_val_score(tiny.Mean(), X, y, {cv = 4, scoring = "neg_mean_squared_error"})
    assert.is_true(r2:max() < 0)
    assert.has_error(function() S.cross_val_score(tiny.NearestCentroid(), X, y, {scoring = "nope"}) end)
  end)
  it("names the failing fold", function()
    local ok, e = pcall(S.cross_val_score, tiny.NearestCentroid(), X, y,
      {cv = 3, scoring = function() error("bad scorer") end, n_jobs = 2})
    assert.is_false(ok)
    assert.matches("item %d+ failed: .*bad scorer", e)
  end)
end)

describe("GridSearchCV and RandomizedSearchCV", function()
  local X, y = blobs(90, 2)
  it("searches a grid in scikit-learn's order and refits the best", function()
    local gs = S.GridSearchCV(tiny.NearestCentroid(), {shrink = {0, 0.3, 0.6}}, {cv = 3, n_jobs = 2})
    gs:fit(X, y)
    local r = gs.cv_results_
    assert.same({0, 0.3, 0.6}, {r.params[1].shrink, r.params[2].shrink, r.params[3].shrink})
    assert.equal(3, #r.mean_test_score)
    for c = 1, 3 do
      local scores = S.cross_val_score(tiny.NearestCentroid{shrink = r.params[c].shrink}, X, y, {cv = 3})
      assert.is_true(math.abs(scores:mean() - r.mean_test_score[c]) < 1e-6)
      assert.is_true(r.std_test_score[c] >= 0)
    end
    local best = gs.best_index_
    assert.equal(1, r.rank_test_score[best])
    assert.equal(r.mean_test_score[best], gs.best_score_)
    assert.equal(r.params[best].shrink, gs.best_params_.shrink)
    assert.equal(gs.best_params_.shrink, gs.best_estimator_.shrink)
    assert.same(gs.best_estimator_:predict(X):totable(), gs:predict(X):totable())
    assert.matches("rank", gs:report())
  end)
  it("orders multi-parameter grids with sorted names, last fastest", function()
    local g = S.parameter_grid({b = {1, 2}, a = {"x", "y"}})
    assert.same({{a = "x", b = 1}, {a = "x", b = 2}, {a = "y", b = 1}, {a = "y", b = 2}}, g)
  end)
  it("works through a Pipeline with step__param names", function()
    local p = ml.Pipeline{{"scale", ml.StandardScaler()}, {"clf", tiny.NearestCentroid()}}
    local gs = S.GridSearchCV(p, {clf__shrink = {0, 0.5}}, {cv = 3}):fit(X, y)
    assert.is_not_nil(gs.best_params_.clf__shrink)
    assert.has_error(function() S.GridSearchCV(p, {clf__nope = {1}}, {cv = 3}):fit(X, y) end)
  end)
  it("samples distributions reproducibly", function()
    local space = {shrink = ml.uniform(0, 0.5)}
    local a = S.RandomizedSearchCV(tiny.NearestCentroid(), space, {n_iter = 4, random_state = 7, cv = 3})
    local b = S.RandomizedSearchCV(tiny.NearestCentroid(), space, {n_iter = 4, random_state = 7, cv = 3,
      n_jobs = 2})
    a:fit(X, y); b:fit(X, y)
    assert.equal(4, #a.cv_results_.params)
    for c = 1, 4 do
      local s = a.cv_results_.params[c].shrink
      assert.is_true(s >= 0 and s < 0.5)
      assert.equal(s, b.cv_results_.params[c].shrink)
      assert.is_true(math.abs(a.cv_results_.mean_test_score[c] - b.cv_results_.mean_test_score[c]) < 1e-9)
    end
  end)
  it("has distributions with the documented bounds", function()
    local D = require "ml.distributions"
    local rng = D.rng(1)
    local ri, lu = ml.randint(2, 5), ml.loguniform(1e-3, 1e2)
    local seen = {}
    for _ = 1, 500 do
      local v = ri:rvs(rng)
      assert.is_true(v >= 2 and v <= 4 and math.type(v) == "integer")
      seen[v] = true
      local l = lu:rvs(rng)
      assert.is_true(l >= 1e-3 and l < 1e2)
    end
    assert.is_true(seen[2] and seen[3] and seen[4])
    assert.equal("b", ml.choice{"b"}:rvs(rng))
    assert.has_error(function() ml.uniform(2, 1) end)
    assert.has_error(function() ml.loguniform(0, 1) end)
  end)
end)
