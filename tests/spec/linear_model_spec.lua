-- ml.linear_model against scikit-learn 1.2 (fixtures from
-- tests/fixtures/make_linear_svm.py): LinearRegression and Ridge to 1e-5
-- relative, LogisticRegression to 1e-3 of the optimum, plus errors and state.
local ml = require "ml"
package.path = "tests/spec/?.lua;" .. package.path
local F = require "linear_svm_fixture"
local D, T, R = F.data.data, F.tensor, F.data.regression

local Xi, yi, Xis = T(D.iris_X), T(D.iris_y), T(D.iris_Xs)
local Xbs, yb, Xk, yk = T(D.cancer_Xs), T(D.cancer_y), T(D.bank_X), T(D.bank_y)
local Xr, yr = Xi:narrow(2, 1, 3), Xi:select(2, 4)

local function within(err) assert.is_true(err <= 1, "relative error " .. err .. " over tolerance") end

describe("LinearRegression", function()
  it("matches scikit-learn's coef_ and intercept_ to 1e-5", function()
    local m = ml.LinearRegression():fit(Xr, yr)
    within(F.rel_err(m.coef_, R.ols.coef, 1e-5, 1e-7))
    within(F.rel_err(m.intercept_, R.ols.intercept, 1e-5, 1e-7))
    within(F.rel_err(m:predict(Xr:narrow(1, 1, 5)), R.ols.pred, 1e-5, 1e-6))
    assert.equal(3, m.rank_)
  end)
  it("fits without an intercept", function()
    local m = ml.LinearRegression{fit_intercept = false}:fit(Xr, yr)
    within(F.rel_err(m.coef_, R.ols_noint.coef, 1e-5, 1e-7))
    assert.equal(0, m.intercept_)
  end)
  it("fits several targets at once", function()
    local m = ml.LinearRegression():fit(Xi:narrow(2, 1, 2), Xi:narrow(2, 3, 2))
    assert.same({2, 2}, m.coef_.shape)
    within(F.rel_err(m.coef_, R.ols_multi.coef, 1e-5, 1e-7))
    within(F.rel_err(m.intercept_, R.ols_multi.intercept, 1e-5, 1e-7))
    assert.same({150, 2}, m:predict(Xi:narrow(2, 1, 2)).shape)
  end)
  it("gives the minimum-norm solution on rank-deficient X, as lstsq", function()
    local m = ml.LinearRegression():fit(Xi:narrow(1, 1, 3), ml.tensor{1, 2, 4})
    within(F.rel_err(m.coef_, R.ols_rankdef.coef, 1e-5, 1e-6))
    within(F.rel_err(m.intercept_, R.ols_rankdef.intercept, 1e-5, 1e-6))
    assert.equal(R.ols_rankdef.rank, m.rank_)
  end)
  it("scores R^2 and reports bad input clearly", function()
    local m = ml.LinearRegression():fit(Xr, yr)
    assert.is_true(m:score(Xr, yr) > 0.9)
    assert.has_error(function() ml.LinearRegression():predict(Xr) end,
      "LinearRegression:predict: this LinearRegression is not fitted yet; call fit first")
    assert.has_error(function() m:predict(Xi) end,
      "LinearRegression:predict: X has 4 features, but the estimator was fitted with 3")
    assert.has_error(function() ml.LinearRegression{fit_intercept = 1} end)
    assert.has_error(function() ml.LinearRegression{bogus = true} end)
    local bad = Xr:clone(); bad[2][2] = 0 / 0
    assert.has_error(function() ml.LinearRegression():fit(bad, yr) end,
      "LinearRegression: X contains NaN or infinity (row 2, column 2); remove or impute "
        .. "missing values first")
    assert.has_error(function() ml.LinearRegression():fit(Xr, yr:narrow(1, 1, 10)) end)
  end)
end)

describe("Ridge", function()
  it("matches scikit-learn for alpha 1 and 10", function()
    for _, a in ipairs{1, 10} do
      local m = ml.Ridge{alpha = a}:fit(Xr, yr)
      within(F.rel_err(m.coef_, R["ridge_" .. a].coef, 1e-5, 1e-7))
      within(F.rel_err(m.intercept_, R["ridge_" .. a].intercept, 1e-5, 1e-7))
    end
  end)
  it("handles several targets and more features than samples", function()
    local m = ml.Ridge{alpha = 2}:fit(Xi:narrow(2, 1, 2), Xi:narrow(2, 3, 2))
    within(F.rel_err(m.coef_, R.ridge_multi.coef, 1e-5, 1e-7))
    within(F.rel_err(m.intercept_, R.ridge_multi.intercept, 1e-5, 1e-7))
    local w = ml.Ridge{alpha = 0.5}:fit(Xi:narrow(1, 1, 5), yr:narrow(1, 1, 5))
    within(F.rel_err(w.coef_, R.ridge_wide.coef, 1e-5, 1e-7))
    within(F.rel_err(w.intercept_, R.ridge_wide.intercept, 1e-5, 1e-7))
  end)
  it("rejects a negative alpha and equals least squares at alpha 0", function()
    assert.has_error(function() ml.Ridge{alpha = -1}:fit(Xr, yr) end,
      "Ridge:fit: alpha must be >= 0, got -1")
    local m = ml.Ridge{alpha = 0}:fit(Xr, yr)
    within(F.rel_err(m.coef_, R.ols.coef, 1e-4, 1e-6))
  end)
end)

describe("LogisticRegression", function()
  local sets = {iris = {Xis, yi}, cancer = {Xbs, yb}, bank = {Xk, yk},
                banknum = {Xk:narrow(2, 1, 7), yk}}
  for name, r in pairs(F.data.logistic) do
    it("reaches scikit-learn's optimum to 1e-3 on " .. name, function()
      local X, y = table.unpack(sets[name:match("^(%a+)")])
      local m = ml.LogisticRegression(r.params):fit(X, y)
      -- the default fit (tol 1e-4, max_iter 100) is already within 1e-3
      within(F.rel_err(m.coef_, r.coef, 1e-3, 1e-4))
      within(F.rel_err(m.intercept_, r.intercept, 1e-3, 1e-4))
      local o = {}
      for k, v in pairs(r.params) do o[k] = v end
      o.tol, o.max_iter = 1e-8, 10000
      local t = ml.LogisticRegression(o):fit(X, y)
      within(F.rel_err(t.coef_, r.coef, 1e-3, 1e-5))
      within(F.rel_err(t.intercept_, r.intercept, 1e-3, 1e-5))
      within(F.rel_err(t:predict_proba(X:narrow(1, 1, 10)), r.proba, 1e-3, 1e-6))
      assert.near(r.accuracy, t:score(X, y), 1e-6)
    end)
  end
  it("has scikit-learn's attribute shapes", function()
    local b = ml.LogisticRegression():fit(Xbs, yb)
    assert.same({1, 30}, b.coef_.shape)
    assert.same({1}, b.intercept_.shape)
    assert.same({569}, b:decision_function(Xbs).shape)
    local m = ml.LogisticRegression():fit(Xis, yi)
    assert.same({3, 4}, m.coef_.shape)
    assert.same({0, 1, 2}, m.classes_:totable())
    local p = m:predict_proba(Xis)
    assert.same({150, 3}, p.shape)
    assert.near(150, p:sum(), 1e-3)
    -- predict is the most probable class, in classes_ values
    local am = p:argmax(2):totable()
    local pr = m:predict(Xis):totable()
    for i = 1, 150 do assert.equal(am[i] - 1, pr[i]) end
    assert.is_true(m.n_iter_[1] >= 1 and m.n_iter_[1] <= 100)
  end)
  it("weights samples: doubling every weight equals doubling C, zero drops a sample", function()
    local o = {tol = 1e-8, max_iter = 1000}
    local a = ml.LogisticRegression(o):fit(Xis, yi, ml.full({150}, 2))
    local b = ml.LogisticRegression{C = 2, tol = 1e-8, max_iter = 1000}:fit(Xis, yi)
    within(F.rel_err(a.coef_, b.coef_, 1e-4, 1e-5))
    local w = ml.ones(150); w[1] = 0
    local c = ml.LogisticRegression(o):fit(Xis, yi, w)
    local d = ml.LogisticRegression(o):fit(Xis:narrow(1, 2, 149), yi:narrow(1, 2, 149))
    within(F.rel_err(c.coef_, d.coef_, 1e-4, 1e-5))
    local ovr = ml.LogisticRegression{multi_class = "ovr", tol = 1e-8}:fit(Xis, yi, w)
    local ovr2 = ml.LogisticRegression{multi_class = "ovr", tol = 1e-8}:fit(Xis:narrow(1, 2, 149),
      yi:narrow(1, 2, 149))
    within(F.rel_err(ovr.coef_, ovr2.coef_, 1e-4, 1e-5))
    assert.has_error(function() ml.LogisticRegression():fit(Xis, yi, ml.ones(3)) end,
      "LogisticRegression:fit: sample_weight has 3 entries, X has 150 rows")
  end)
  it("keeps class labels as given", function()
    local y2 = yb * 5 + 3   -- classes 3 and 8
    local m = ml.LogisticRegression():fit(Xbs, y2)
    assert.same({3, 8}, m.classes_:totable())
    local p = m:predict(Xbs):totable()
    for i = 1, #p do assert.is_true(p[i] == 3 or p[i] == 8) end
  end)
  it("raises clear errors", function()
    assert.has_error(function() ml.LogisticRegression{penalty = "l1"} end)
    assert.has_error(function() ml.LogisticRegression{C = -1}:fit(Xis, yi) end,
      "LogisticRegression:fit: C must be positive, got -1")
    assert.has_error(function() ml.LogisticRegression():predict(Xis) end,
      "LogisticRegression:decision_function: this LogisticRegression is not fitted yet; call fit first")
    assert.has_error(function() ml.LogisticRegression():fit(Xis, ml.zeros(150)) end,
      "LogisticRegression:fit: y has a single class (0.0); a classifier needs at least 2")
    local m = ml.LogisticRegression():fit(Xis, yi)
    assert.has_error(function() m:predict(Xbs) end,
      "LogisticRegression:decision_function: X has 30 features, but the estimator was fitted with 4")
    local bad = Xis:clone(); bad[3][1] = 1 / 0
    assert.has_error(function() ml.LogisticRegression():fit(bad, yi) end,
      "LogisticRegression: X contains NaN or infinity (row 3, column 1); remove or impute "
        .. "missing values first")
    assert.has_error(function() ml.LogisticRegression{class_weight = {[7] = 2}}:fit(Xis, yi) end,
      "LogisticRegression:fit: class_weight names class 7, which is not in y")
  end)
  it("round-trips through state()/from_state() and clone", function()
    local m = ml.LogisticRegression{C = 0.5}:fit(Xis, yi)
    local s = m:state()
    local LR = require("ml.linear_model").LogisticRegression
    local m2 = LR.from_state(LR, s)
    assert.same(m:predict_proba(Xis):totable(), m2:predict_proba(Xis):totable())
    assert.equal(0.5, m2.C)
    local c = ml.clone(m)
    assert.is_nil(c.coef_)
    assert.equal(0.5, c:get_params().C)
    local r = ml.Ridge{alpha = 3}:fit(Xr, yr)
    local Rg = require("ml.linear_model").Ridge
    assert.same(r:predict(Xr):totable(), Rg.from_state(Rg, r:state()):predict(Xr):totable())
    if ml.save and ml.load then
      local path = os.tmpname()
      ml.save(path, m)
      local m3 = ml.load(path)
      os.remove(path)
      assert.same(m:predict(Xis):totable(), m3:predict(Xis):totable())
    end
  end)
end)
