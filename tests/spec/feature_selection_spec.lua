-- ml.feature_selection against scikit-learn (chi2, f_classif, f_regression
-- scores and p-values on the shipped tables), SelectKBest, RFE, SFS.
local ml = require "ml"
local json = dofile("tests/spec/support/json.lua")
local tiny = dofile("tests/spec/support/tiny.lua")
local fx = json.load("tests/fixtures/tabular.json")
local F = ml.feature_selection

local digits = ml.read_csv("data/classic/digits.csv.gz")
local Xd = digits:drop{"digit"}:to_tensor()
local yd = digits["digit"]:to_tensor()
local bc = ml.read_csv("data/classic/breast_cancer.csv")
local Xb = bc:drop{bc.columns[#bc.columns]}:to_tensor()
local yb = bc[bc.columns[#bc.columns]]:to_tensor()

local function compare(got, ref, tol, what)
  assert.equal(#ref, #got)
  for i = 1, #ref do
    local a, b = got[i], ref[i]
    if b ~= b then
      assert.is_true(a ~= a, what .. " " .. i .. ": expected NaN, got " .. tostring(a))
    elseif b > 1e-300 or a > 1e-300 then
      local rel = math.abs(a - b) / math.max(math.abs(b), 1e-300)
      assert.is_true(rel <= tol, string.format("%s %d: %.17g vs %.17g", what, i, a, b))
    end
  end
end

describe("univariate scores", function()
  it("chi2 matches scikit-learn on digits and breast cancer", function()
    local _, _, s, p = F.chi2(Xd, yd)
    compare(s, fx.digits.chi2, 1e-9, "chi2")
    compare(p, fx.digits.chi2_p, 1e-6, "chi2 p")
    _, _, s, p = F.chi2(Xb, yb)
    compare(s, fx.breast_cancer.chi2, 1e-5, "chi2 bc")   -- float32 storage of the table
    compare(p, fx.breast_cancer.chi2_p, 1e-5, "chi2 bc p")
  end)
  it("f_classif matches scikit-learn (constant features give NaN)", function()
    local _, _, s, p = F.f_classif(Xd, yd)
    compare(s, fx.digits.f, 1e-7, "F")
    compare(p, fx.digits.f_p, 1e-5, "F p")
    _, _, s, p = F.f_classif(Xb, yb)
    compare(s, fx.breast_cancer.f, 1e-5, "F bc")
    compare(p, fx.breast_cancer.f_p, 1e-4, "F bc p")
  end)
  it("f_regression matches scikit-learn on linnerud", function()
    local ln = ml.read_csv("data/classic/linnerud.csv")
    local _, _, s, p = F.f_regression(ln:select{"Chins", "Situps", "Jumps"}:to_tensor(), ln["Weight"]:to_tensor())
    compare(s, fx.linnerud.f, 1e-6, "Freg")
    compare(p, fx.linnerud.f_p, 1e-6, "Freg p")
  end)
  it("has correct survival functions at known points", function()
    assert.is_true(math.abs(F.chi2_sf(3.841458820694124, 1) - 0.05) < 1e-12)
    assert.is_true(math.abs(F.chi2_sf(18.307038053275146, 10) - 0.05) < 1e-12)
    assert.is_true(math.abs(F.f_sf(4.964602743730711, 1, 10) - 0.05) < 1e-12)
    assert.is_true(math.abs(F._lgamma(0.5) - math.log(math.sqrt(math.pi))) < 1e-14)
  end)
  it("chi2 refuses negative X", function()
    assert.has_error(function() F.chi2(ml.tensor{{-1}, {1}}, ml.tensor{0, 1}) end,
      "chi2: X must be non-negative (counts or frequencies)")
  end)
end)

describe("SelectKBest", function()
  it("keeps the k best chi2 features", function()
    local sel = F.SelectKBest{score_func = "chi2", k = 5}:fit(Xd, yd)
    local s = sel.scores_:totable()
    local idx = sel:get_support(true):totable()
    assert.equal(5, #idx)
    local min_kept = math.huge
    for _, j in ipairs(idx) do min_kept = math.min(min_kept, s[j]) end
    local better = 0
    for j = 1, #s do if s[j] == s[j] and s[j] > min_kept then better = better + 1 end end
    assert.equal(4, better)
    assert.same({Xd.shape[1], 5}, sel:transform(Xd).shape)
    assert.equal(5, sel:get_support():sum())
    assert.same(Xd:select(2, idx[1]):totable(), sel:transform(Xd):select(2, 1):totable())
    assert.equal(64, F.SelectKBest{k = "all"}:fit(Xd, yd):get_support():sum())
    assert.has_error(function() F.SelectKBest{k = 100}:fit(Xd, yd) end)
    assert.has_error(function() F.SelectKBest{score_func = "nope"}:fit(Xd, yd) end)
  end)
  it("takes a score function", function()
    local sel = F.SelectKBest{score_func = function(X) return ml.arange(1, X.shape[2] + 1) end, k = 2}
    sel:fit(Xb, yb)
    assert.same({29, 30}, sel:get_support(true):totable())
  end)
end)

describe("RFE", function()
  -- y depends on features 2 and 4 only
  ml.seed(5)
  local X = ml.randn(200, 6)
  local y = (X:select(2, 2) * 2 + X:select(2, 4) * 1.5 + ml.randn(200) * 0.1):gt(0)
  it("ranks informative features first using coef_", function()
    local rfe = F.RFE(tiny.CovScorer(), {n_features_to_select = 2}):fit(X, y)
    assert.same({0, 1, 0, 1, 0, 0}, rfe.support_:totable())
    local r = rfe.ranking_:totable()
    assert.equal(1, r[2]); assert.equal(1, r[4])
    local seen = {}
    for _, v in ipairs(r) do seen[v] = (seen[v] or 0) + 1 end
    assert.same({[1] = 2, [2] = 1, [3] = 1, [4] = 1, [5] = 1}, seen)
    assert.same({200, 2}, rfe:transform(X).shape)
    assert.is_true(rfe:score(X, y) > 0.9)
    local two = F.RFE(tiny.CovScorer(), {n_features_to_select = 2, step = 2}):fit(X, y)
    assert.same({0, 1, 0, 1, 0, 0}, two.support_:totable())
  end)
  it("names an estimator without coef_ or feature_importances_", function()
    local ok, e = pcall(function() F.RFE(tiny.Plain(), {n_features_to_select = 2}):fit(X, y) end)
    assert.is_false(ok)
    assert.matches("PlainClassifier has neither coef_ nor feature_importances_", e)
  end)
end)

describe("SequentialFeatureSelector", function()
  ml.seed(6)
  local X = ml.randn(120, 5)
  local y = (X:select(2, 3) * 2 + X:select(2, 5)):gt(0)
  it("adds the informative features forward, the same with 2 jobs", function()
    local sfs = F.SequentialFeatureSelector(tiny.NearestCentroid(),
      {n_features_to_select = 2, direction = "forward", cv = 3}):fit(X, y)
    assert.same({0, 0, 1, 0, 1}, sfs.support_:totable())
    local par = F.SequentialFeatureSelector(tiny.NearestCentroid(),
      {n_features_to_select = 2, cv = 3, n_jobs = 2}):fit(X, y)
    assert.same(sfs.support_:totable(), par.support_:totable())
    assert.same({120, 2}, sfs:transform(X).shape)
  end)
  it("removes features backward", function()
    local sfs = F.SequentialFeatureSelector(tiny.NearestCentroid(),
      {n_features_to_select = 2, direction = "backward", cv = 3}):fit(X, y)
    assert.equal(2, sfs.support_:sum())
    assert.equal(1, sfs.support_[3])
    assert.has_error(function()
      F.SequentialFeatureSelector(tiny.NearestCentroid(), {direction = "sideways"})
    end)
  end)
end)
