-- The estimator contract, checked on every estimator and transformer mlrun
-- ships (scikit-learn's check_estimator, in spirit): clone, get/set_params
-- round trip (parameters whose value is nil included), not-fitted errors,
-- output shapes, classes_ keeping y's dtype, save/load giving identical
-- outputs, fitting twice giving the same result, bad input raising.
-- A new estimator joins by adding one line to `cases`.
local ml = require "ml"

local N, P = 60, 4

-- Three separable classes (int64 ids 0..2), and a regression target.
local function data()
  ml.seed(7)
  local X = ml.randn(N, P)
  local ids = {}
  for i = 1, N do ids[i] = (i - 1) % 3 end
  local y = ml.tensor(ids, "int64")
  for i = 1, N do X[i][1] = X[i][1] + 3 * ids[i] end
  local yr = X:narrow(2, 1, 1):reshape(N) * 2 + 1
  return X, y, yr
end

local X, Y, YR = data()
local XPOS = X:abs()   -- NMF wants non-negative input

-- kind: "classifier", "regressor", "transformer", "clusterer", "outlier";
-- out: the method whose output is compared; x: the input (X by default).
local cases = {
  {"LinearRegression", function() return ml.LinearRegression() end, "regressor"},
  {"Ridge", function() return ml.Ridge{alpha = 0.5} end, "regressor"},
  {"LogisticRegression", function() return ml.LogisticRegression{max_iter = 50} end,
   "classifier"},
  {"SVC", function() return ml.SVC{C = 1, random_state = 0} end, "classifier"},
  {"LinearSVC", function() return ml.LinearSVC{max_iter = 200} end, "classifier"},
  {"DecisionTreeClassifier", function() return ml.DecisionTreeClassifier{random_state = 0} end,
   "classifier"},
  {"DecisionTreeRegressor", function() return ml.DecisionTreeRegressor{random_state = 0} end,
   "regressor"},
  {"RandomForestClassifier",
   function() return ml.RandomForestClassifier{n_estimators = 5, random_state = 0} end,
   "classifier"},
  {"RandomForestRegressor",
   function() return ml.RandomForestRegressor{n_estimators = 5, random_state = 0} end,
   "regressor"},
  {"GradientBoostingClassifier",
   function() return ml.GradientBoostingClassifier{n_estimators = 5, random_state = 0} end,
   "classifier"},
  {"KNeighborsClassifier", function() return ml.KNeighborsClassifier{n_neighbors = 3} end,
   "classifier"},
  {"KNeighborsRegressor", function() return ml.KNeighborsRegressor{n_neighbors = 3} end,
   "regressor"},
  {"GaussianNB", function() return ml.GaussianNB() end, "classifier"},
  {"KMeans", function() return ml.KMeans{n_clusters = 3, random_state = 0, n_init = 2} end,
   "clusterer"},
  {"IsolationForest", function() return ml.IsolationForest{n_estimators = 10, random_state = 0} end,
   "outlier"},
  {"PCA", function() return ml.PCA{n_components = 2} end, "transformer"},
  {"NMF", function() return ml.NMF{n_components = 2, random_state = 0, max_iter = 50} end,
   "transformer", x = XPOS},
  {"StandardScaler", function() return ml.StandardScaler() end, "transformer"},
  {"MinMaxScaler", function() return ml.MinMaxScaler() end, "transformer"},
  {"SelectKBest", function() return ml.SelectKBest{k = 2} end, "transformer", supervised = true},
}

local function output(est, kind, x)
  if kind == "transformer" then return est:transform(x) end
  return est:predict(x)
end

local function fit(est, c)
  local x = c.x or X
  if c[3] == "classifier" or c.supervised then return est:fit(x, Y) end
  if c[3] == "regressor" then return est:fit(x, YR) end
  return est:fit(x)
end

local function same_tensor(a, b, what)
  assert.same(a.shape, b.shape, what .. ": shapes")
  assert.equal(a.dtype, b.dtype, what .. ": dtypes")
  local fa, fb = a:reshape(-1):totable(), b:reshape(-1):totable()
  for i = 1, #fa do
    if fa[i] ~= fb[i] then
      error(string.format("%s: element %d differs: %s vs %s", what, i, tostring(fa[i]),
        tostring(fb[i])), 2)
    end
  end
end

local function fitted_keys(est)
  local ks = {}
  for k in pairs(est) do
    if type(k) == "string" and k:sub(-1) == "_" and k:sub(1, 1) ~= "_" then ks[#ks + 1] = k end
  end
  table.sort(ks)
  return ks
end

for _, c in ipairs(cases) do
  local name, make, kind = c[1], c[2], c[3]
  local x = c.x or X
  describe("estimator contract: " .. name, function()
    it("clones to an unfitted estimator with the same parameters", function()
      local est = fit(make(), c)
      local cl = ml.clone(est)
      assert.equal(getmetatable(est), getmetatable(cl))
      assert.same(est:get_params(), cl:get_params())
      assert.same({}, fitted_keys(cl))
    end)

    it("round-trips get_params / set_params, nil-valued parameters included", function()
      local est = make()
      local p, names = est:get_params()
      assert.is_table(names, "get_params returns the parameter names second")
      assert.equal(#est._spec, #names)
      local again = make():set_params(p)
      assert.same(p, again:get_params())
      -- a parameter set to nil stays nil through get_params and clone
      for _, s in ipairs(est._spec) do
        if s[2] ~= nil then
          local e2 = make()
          e2[s[1]] = nil
          local p2, n2 = e2:get_params()
          local listed = false
          for _, k in ipairs(n2) do if k == s[1] then listed = true end end
          assert.is_true(listed, s[1] .. " is listed")
          assert.is_nil(p2[s[1]])
          assert.is_nil(ml.clone(e2)[s[1]], s[1] .. " stays nil through clone")
          break
        end
      end
    end)

    it("raises a not-fitted error before fit", function()
      local est = make()
      local ok, err = pcall(output, est, kind, x)
      assert.is_false(ok)
      assert.matches("not fitted", tostring(err))
    end)

    it("gives outputs of the expected shape", function()
      local est = fit(make(), c)
      local out = output(est, kind, x)
      assert.equal(x.shape[1], out.shape[1])
      if kind == "transformer" then
        assert.equal(2, out:dim())
      else
        assert.equal(1, out:dim())
      end
    end)

    if kind == "classifier" then
      it("keeps y's dtype in classes_ and in predictions", function()
        local est = fit(make(), c)
        assert.equal(Y.dtype, est.classes_.dtype)
        assert.equal(Y.dtype, est:predict(x).dtype)
        local yf = Y:float()
        local ef = make():fit(x, yf)
        assert.equal("float32", ef.classes_.dtype)
        assert.equal("float32", ef:predict(x).dtype)
      end)
    end

    it("gives identical outputs after ml.save / ml.load", function()
      local est = fit(make(), c)
      local path = os.tmpname()
      ml.save(path, est)
      local back = ml.load(path)
      os.remove(path)
      same_tensor(output(est, kind, x), output(back, kind, x), name .. " after load")
    end)

    it("gives the same result when fitted twice", function()
      local est = make()
      fit(est, c)
      local a = output(est, kind, x)
      fit(est, c)
      same_tensor(a, output(est, kind, x), name .. " refitted")
    end)

    it("rejects bad input with an error naming the problem", function()
      local bad = x:clone()
      bad[2][2] = 0 / 0
      local ok, err = pcall(fit, make(), setmetatable({x = bad}, {__index = c}))
      assert.is_false(ok, "NaN in X")
      assert.matches("NaN", tostring(err))
      local est = fit(make(), c)
      ok, err = pcall(output, est, kind, ml.randn(3, P + 1))
      assert.is_false(ok, "wrong number of features")
      assert.matches("feature", tostring(err))
      if kind == "classifier" or kind == "regressor" or c.supervised then
        local yy = kind == "regressor" and YR or Y
        ok = pcall(function() make():fit(x, yy:narrow(1, 1, N - 1)) end)
        assert.is_false(ok, "y shorter than X")
      end
    end)
  end)
end
