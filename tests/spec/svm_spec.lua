-- ml.svm against scikit-learn 1.2 (fixtures from
-- tests/fixtures/make_linear_svm.py): SVC's support vectors, dual_coef_,
-- intercept_ and decision values; LinearSVC's coefficients at a tight tol.
local ml = require "ml"
package.path = "tests/spec/?.lua;" .. package.path
local F = require "linear_svm_fixture"
local D, T = F.data.data, F.tensor

local Xi, yi, Xis = T(D.iris_X), T(D.iris_y), T(D.iris_Xs)
local Xbs, yb, Xk, yk = T(D.cancer_Xs), T(D.cancer_y), T(D.bank_X), T(D.bank_y)
local sets = {iris = {Xis, yi}, cancer = {Xbs, yb}, bank = {Xk, yk}}

local function within(err, what)
  assert.is_true(err <= 1, (what or "") .. " relative error " .. err .. " over tolerance")
end

describe("SVC", function()
  for name, r in pairs(F.data.svc) do
    if r.params then
      it("agrees with scikit-learn on " .. name, function()
        local X, y = table.unpack(sets[name:match("^(%a+)")])
        if name == "iris_raw_ovo" then X = Xi end
        local m = ml.SVC(r.params):fit(X, y)
        -- the same support vectors, in the same order, per class
        assert.same(r.support, m.support_:totable())
        assert.same(r.n_support, m.n_support_:totable())
        -- libsvm keeps kernel rows in float32 as we do, but computes them
        -- in double: small differences in the SMO path are expected.
        -- Unscaled data (iris_raw) loses more in float32 dot products.
        local tol = name == "iris_raw_ovo" and 5e-3 or 2e-3
        within(F.rel_err(m.dual_coef_, r.dual_coef, tol, tol), "dual_coef_")
        within(F.rel_err(m.intercept_, r.intercept, tol, tol), "intercept_")
        within(F.rel_err(m:decision_function(X), r.decision, tol, tol), "decision")
        assert.same(r.predict, m:predict(X):totable())
        if r.coef then within(F.rel_err(m.coef_, r.coef, tol, tol), "coef_") end
      end)
    end
  end
  it("has scikit-learn's shapes and the ovr decision shape", function()
    local m = ml.SVC():fit(Xis, yi)
    assert.same({3}, m.n_support_.shape)
    local nsv = m.support_:numel()
    assert.same({2, nsv}, m.dual_coef_.shape)
    assert.same({nsv, 4}, m.support_vectors_.shape)
    assert.same({3}, m.intercept_.shape)
    assert.same({150, 3}, m:decision_function(Xis).shape)
    m.decision_function_shape = "ovo"
    assert.same({150, 3}, m:decision_function(Xis).shape)
    local b = ml.SVC():fit(Xbs, yb)
    assert.same({569}, b:decision_function(Xbs).shape)
    assert.same({1, b.support_:numel()}, b.dual_coef_.shape)
    assert.near(1 / (30 * 1.0), b.gamma_, 1e-5)   -- "scale" on standardised data
  end)
  it("estimates probabilities by Platt scaling and pairwise coupling", function()
    local m = ml.SVC{probability = true, random_state = 0}:fit(Xis, yi)
    local p = m:predict_proba(Xis)
    assert.same({150, 3}, p.shape)
    local rows = p:sum(2):totable()
    for i = 1, 150 do assert.near(1, rows[i], 1e-4) end
    -- scikit-learn draws other folds: close, not equal
    within(F.rel_err(p, F.data.svc.iris_proba.proba, 0, 0.1), "proba")
    assert.equal(3, m.probA_:numel())
    local b = ml.SVC{probability = true, random_state = 1}:fit(Xbs, yb)
    local pb = b:predict_proba(Xbs)
    local right = 0
    local pt, yt = pb:totable(), yb:totable()
    for i = 1, #pt do if (pt[i][2] > 0.5 and 1 or 0) == yt[i] then right = right + 1 end end
    assert.is_true(right / #pt > 0.97)
    assert.has_error(function() ml.SVC():fit(Xis, yi):predict_proba(Xis) end,
      "SVC:predict_proba: not available when probability = false; fit with SVC{probability = true}")
  end)
  it("raises clear errors", function()
    assert.has_error(function() ml.SVC{kernel = "cubic"} end)
    assert.has_error(function() ml.SVC{gamma = "wide"}:fit(Xis, yi) end,
      "SVC:fit: gamma must be \"scale\", \"auto\" or a positive number, got \"wide\"")
    assert.has_error(function() ml.SVC{C = 0}:fit(Xis, yi) end, "SVC:fit: C must be positive, got 0")
    assert.has_error(function() ml.SVC():predict(Xis) end,
      "SVC:predict: this SVC is not fitted yet; call fit first")
    assert.has_error(function() ml.SVC():fit(Xis, ml.ones(150)) end,
      "SVC:fit: y has a single class (1.0); a classifier needs at least 2")
    local m = ml.SVC():fit(Xis, yi)
    assert.has_error(function() m:predict(Xbs) end,
      "SVC:predict: X has 30 features, but the estimator was fitted with 4")
    local bad = Xis:clone(); bad[1][1] = 0 / 0
    assert.has_error(function() ml.SVC():fit(bad, yi) end, "SVC:fit: X contains NaN or infinity")
    assert.has_error(function() ml.SVC{gamma = 0.5}:fit(bad, yi) end,
      "SVC: X contains NaN or infinity (row 1, column 1); remove or impute missing values first")
    assert.has_error(function() m:predict(bad) end,
      "SVC: X contains NaN or infinity (row 1, column 1); remove or impute missing values first")
  end)
  it("round-trips through state()/from_state()", function()
    local m = ml.SVC{kernel = "poly", degree = 2, C = 3}:fit(Xis, yi)
    local S = require("ml.svm").SVC
    local m2 = S.from_state(S, m:state())
    assert.same(m:decision_function(Xis):totable(), m2:decision_function(Xis):totable())
    assert.same(m:predict(Xis):totable(), m2:predict(Xis):totable())
    if ml.save and ml.load then
      local path = os.tmpname()
      ml.save(path, m)
      local m3 = ml.load(path)
      os.remove(path)
      assert.same(m:predict(Xis):totable(), m3:predict(Xis):totable())
    end
  end)
end)

describe("LinearSVC", function()
  for name, r in pairs(F.data.linear_svc) do
    it("converges to scikit-learn's solution on " .. name, function()
      local X, y = table.unpack(sets[name:match("^(%a+)")])
      local o = {random_state = 0, max_iter = 100000, tol = 1e-6}
      for k, v in pairs(r.params) do o[k] = v end
      local m = ml.LinearSVC(o):fit(X, y)
      within(F.rel_err(m.coef_, r.coef, 1e-3, 1e-4), "coef_")
      within(F.rel_err(m.intercept_, r.intercept, 1e-3, 1e-4), "intercept_")
      assert.near(r.accuracy, m:score(X, y), 0.0051)
    end)
  end
  it("with defaults predicts as well as scikit-learn", function()
    local m = ml.LinearSVC{random_state = 3}:fit(Xis, yi)
    assert.same({3, 4}, m.coef_.shape)
    assert.near(F.data.linear_svc.iris.accuracy, m:score(Xis, yi), 0.02)
    local b = ml.LinearSVC():fit(Xbs, yb)
    assert.same({1, 30}, b.coef_.shape)
    assert.same({569}, b:decision_function(Xbs).shape)
  end)
  it("raises clear errors and round-trips its state", function()
    assert.has_error(function() ml.LinearSVC{dual = false}:fit(Xis, yi) end,
      "LinearSVC:fit: only dual = true (liblinear's dual coordinate descent) is implemented")
    assert.has_error(function() ml.LinearSVC{loss = "log"} end)
    assert.has_error(function() ml.LinearSVC():predict(Xis) end,
      "LinearSVC:decision_function: this LinearSVC is not fitted yet; call fit first")
    assert.has_error(function() ml.LinearSVC():fit(Xis, ml.zeros(150)) end)
    local m = ml.LinearSVC{random_state = 1}:fit(Xbs, yb)
    local S = require("ml.svm").LinearSVC
    assert.same(m:predict(Xbs):totable(), S.from_state(S, m:state()):predict(Xbs):totable())
  end)
end)
