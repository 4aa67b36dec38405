-- GaussianNB against scikit-learn 1.2 (tests/fixtures/cluster_ref.json):
-- deterministic, so the numbers agree closely.
local ml = require "ml"

local f = assert(io.open("tests/fixtures/cluster_ref.json"))
local REF = require("ml").json.decode(f:read("a"))
f:close()

local function split(X, y)
  local Xtr, ytr, Xte, yte = {}, {}, {}, {}
  for i = 1, #X do
    if (i - 1) % 4 == 0 then Xte[#Xte + 1] = X[i]; yte[#yte + 1] = y[i]
    else Xtr[#Xtr + 1] = X[i]; ytr[#ytr + 1] = y[i] end
  end
  return ml.tensor(Xtr), ml.tensor(ytr), ml.tensor(Xte), ml.tensor(yte)
end

local function maxrel(a, b, floor)
  local m = 0
  local function walk(x, y)
    if type(x) == "table" then for i = 1, #x do walk(x[i], y[i]) end
    else m = math.max(m, math.abs(x - y) / math.max(math.abs(y), floor)) end
  end
  walk(type(a) == "table" and a or a:totable(), b)
  return m
end

describe("GaussianNB matches scikit-learn", function()
  for _, name in ipairs{"iris", "bc", "digits"} do
    it(name .. ": parameters, predictions, probabilities", function()
      local r = REF.nb[name]
      local Xtr, ytr, Xte = split(REF.data[name].X, REF.data[name].y)
      local nb = ml.GaussianNB():fit(Xtr, ytr)
      assert.is_true(maxrel(nb.theta_, r.theta, 1e-3) < 1e-5)
      assert.is_true(maxrel(nb.var_, r.var, 1e-12) < 1e-5)
      assert.is_true(maxrel(nb.class_prior_, r.prior, 1e-12) < 1e-6)
      assert.is_true(math.abs(nb.epsilon_ - r.epsilon) <= 1e-6 * r.epsilon)
      assert.same(r.predict, nb:predict(Xte):totable())
      local P = nb:predict_proba(Xte)
      assert.is_true(maxrel(P, r.proba, 1) < 1e-5, "proba off by " .. maxrel(P, r.proba, 1))
      -- log probabilities: relative where they are large, absolute near 0
      local LP = nb:predict_log_proba(Xte)
      assert.is_true(maxrel(LP, r.log_proba, 1) < 1e-4, "log proba off by " .. maxrel(LP, r.log_proba, 1))
      local rows = P:sum(2):totable()
      for i = 1, #rows do assert.is_true(math.abs(rows[i] - 1) < 1e-5) end
    end)
  end
  it("iris with given priors", function()
    local Xtr, ytr, Xte = split(REF.data.iris.X, REF.data.iris.y)
    local nb = ml.GaussianNB{priors = {0.5, 0.3, 0.2}}:fit(Xtr, ytr)
    assert.is_true(maxrel(nb:predict_proba(Xte), REF.nb.iris_priors.proba, 1) < 1e-5)
    assert.is_true(maxrel(nb.class_prior_, {0.5, 0.3, 0.2}, 1) < 1e-6)
  end)
end)

describe("GaussianNB behaviour", function()
  local X = ml.tensor{{0, 0}, {0, 1}, {5, 5}, {5, 6}, {10, 0}, {10, 1}}
  local y = ml.tensor{3, 3, 7, 7, 9, 9}
  it("keeps class values, stays finite far from the data", function()
    local nb = ml.GaussianNB():fit(X, y)
    assert.same({3, 7, 9}, nb.classes_:totable())
    assert.same({3, 9}, nb:predict(ml.tensor{{0.2, 0.5}, {9, 0.3}}):totable())
    local P = nb:predict_proba(ml.tensor{{1e4, -1e4}})
    assert.is_true(P:sum() > 0.999 and P:sum() < 1.001)
    assert.equal(0, P:ne(P):sum())
    assert.equal(1, nb:score(X, y))
  end)
  it("raises clear errors", function()
    assert.has_error(function() ml.GaussianNB():predict(X) end,
      "GaussianNB:predict: this GaussianNB is not fitted yet; call fit first")
    assert.has_error(function() ml.GaussianNB{priors = {0.5, 0.5}}:fit(X, y) end,
      "GaussianNB:fit: number of priors (2) must match the number of classes (3)")
    assert.has_error(function() ml.GaussianNB{priors = {0.5, 0.3, 0.3}}:fit(X, y) end)
    assert.has_error(function() ml.GaussianNB{var_smoothing = -1}:fit(X, y) end)
    assert.has_error(function() ml.GaussianNB{alpha = 1} end)
    local nb = ml.GaussianNB():fit(X, y)
    assert.has_error(function() nb:predict(ml.ones(2, 3)) end,
      "GaussianNB:predict: X has 3 features, but the estimator was fitted with 2")
    local bad = X:clone(); bad[1][2] = 0 / 0
    assert.has_error(function() ml.GaussianNB():fit(bad, y) end)
    assert.has_error(function() nb:predict(bad) end)
  end)
  it("round-trips through ml.save / ml.load", function()
    local path = os.tmpname()
    local nb = ml.GaussianNB{priors = {0.2, 0.3, 0.5}}:fit(X, y)
    ml.save(path, nb)
    local back = ml.load(path)
    os.remove(path)
    assert.same(nb:predict_proba(X):totable(), back:predict_proba(X):totable())
    assert.same({0.2, 0.3, 0.5}, back.priors)
  end)
  it("survives state()/from_state()", function()
    local nb = ml.GaussianNB():fit(X, y)
    local back = ml.GaussianNB.from_state(ml.GaussianNB, nb:state())
    assert.same(nb:predict_proba(X):totable(), back:predict_proba(X):totable())
  end)
end)
