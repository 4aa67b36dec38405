-- PCA and NMF against scikit-learn 1.2 (tests/fixtures/cluster_ref.json).
local ml = require "ml"

local f = assert(io.open("tests/fixtures/cluster_ref.json"))
local REF = require("ml").json.decode(f:read("a"))
f:close()

local function maxdiff(a, b)
  local m = 0
  local function walk(x, y)
    if type(x) == "table" then for i = 1, #x do walk(x[i], y[i]) end
    else m = math.max(m, math.abs(x - y)) end
  end
  walk(type(a) == "table" and a or a:totable(), b)
  return m
end

local function maxrel(a, b)
  local m = 0
  local ta = a:totable()
  for i = 1, #ta do m = math.max(m, math.abs(ta[i] - b[i]) / math.max(math.abs(b[i]), 1e-12)) end
  return m
end

describe("PCA matches scikit-learn", function()
  for _, name in ipairs{"iris", "bc", "digits", "iris_whiten"} do
    for _, solver in ipairs{"auto", "full"} do
      it(name .. " (" .. solver .. "): components, variances, transform", function()
        local r = REF.pca[name]
        local data = REF.data[name == "iris_whiten" and "iris" or name]
        local X = ml.tensor(data.X)
        local pca = ml.PCA{n_components = r.n_components ~= ml.json.null and r.n_components or nil, whiten = r.whiten, svd_solver = solver}
        local Z = pca:fit_transform(X)
        assert.equal(r.n_components_, pca.n_components_)
        assert.is_true(maxrel(pca.explained_variance_, r.ev) < 1e-4)
        assert.is_true(maxrel(pca.explained_variance_ratio_, r.evr) < 1e-4)
        assert.is_true(maxrel(pca.singular_values_, r.sv) < 1e-4)
        assert.is_true(maxdiff(pca.mean_, r.mean) < 1e-4)
        -- svd_flip: the very same signs as scikit-learn
        assert.is_true(maxdiff(pca.components_, r.components) < 1e-4,
          "components differ by " .. maxdiff(pca.components_, r.components))
        local scale = math.max(1, math.abs(Z:max()), math.abs(Z:min()))
        assert.is_true(maxdiff(Z:narrow(1, 1, 5), r.transform5) < 1e-4 * scale)
        assert.is_true(maxdiff(pca:inverse_transform(Z:narrow(1, 1, 5)), r.inverse5)
          < 1e-4 * math.max(1, X:max()))
        assert.is_true(math.abs(pca.noise_variance_ - r.noise_variance)
          <= 1e-4 * math.max(1, r.noise_variance))
      end)
    end
  end
end)

describe("PCA behaviour", function()
  it("handles wide data (more features than samples)", function()
    ml.seed(1)
    local X = ml.randn(6, 20)
    local a = ml.PCA{svd_solver = "full"}:fit(X)
    local b = ml.PCA{svd_solver = "auto"}:fit(X)
    assert.equal(6, a.n_components_)
    assert.is_true(maxdiff(a.components_:narrow(1, 1, 5), b.components_:narrow(1, 1, 5):totable()) < 1e-4)
    -- a full-rank reconstruction gives X back
    assert.is_true(maxdiff(a:inverse_transform(a:transform(X)), X:totable()) < 1e-4)
  end)
  it("agrees between the float32 Gram route (large data) and a full SVD", function()
    ml.seed(5)
    -- 3000 x 150 with decaying column scales: n * p^2 is above the float threshold
    local X = ml.randn(3000, 150) * ml.linspace(3, 0.1, 150) + ml.rand(1, 150)
    local a = ml.PCA{n_components = 10, svd_solver = "auto"}:fit(X)
    local b = ml.PCA{n_components = 10, svd_solver = "full"}:fit(X)
    assert.is_true(maxrel(a.explained_variance_, b.explained_variance_:totable()) < 1e-4)
    assert.is_true(maxdiff(a.components_, b.components_:totable()) < 1e-3)
  end)
  it("keeps enough components for a variance fraction", function()
    local X = ml.tensor(REF.data.iris.X)
    local pca = ml.PCA{n_components = 0.95}:fit(X)
    assert.equal(2, pca.n_components_)
    assert.is_true(pca.explained_variance_ratio_:sum() >= 0.95)
  end)
  it("raises clear errors", function()
    local X = ml.tensor(REF.data.iris.X)
    assert.has_error(function() ml.PCA{n_components = 5}:fit(X) end,
      "PCA:fit: n_components=5 must be between 0 and min(n_samples, n_features)=4")
    assert.has_error(function() ml.PCA{svd_solver = "lobpcg"} end)
    assert.has_error(function() ml.PCA():transform(X) end,
      "PCA:transform: this PCA is not fitted yet; call fit first")
    local pca = ml.PCA{n_components = 2}:fit(X)
    assert.has_error(function() pca:transform(ml.ones(3, 5)) end,
      "PCA:transform: X has 5 features, but the estimator was fitted with 4")
    assert.has_error(function() pca:inverse_transform(ml.ones(3, 3)) end)
    local bad = X:clone(); bad[3][2] = 0 / 0
    assert.has_error(function() ml.PCA():fit(bad) end, "PCA:fit: X contains NaN")
    assert.has_error(function() pca:transform(bad) end, "PCA:transform: X contains NaN")
  end)
  it("survives state()/from_state()", function()
    local X = ml.tensor(REF.data.iris.X)
    local pca = ml.PCA{n_components = 2, whiten = true}:fit(X)
    local back = ml.PCA.from_state(ml.PCA, pca:state())
    assert.is_true(maxdiff(back:transform(X), pca:transform(X):totable()) < 1e-6)
  end)
end)

describe("NMF matches scikit-learn", function()
  for _, name in ipairs{"digits_cd", "digits_mu", "iris_nndsvd", "digits_reg"} do
    it(name .. ": reconstruction error within 3%", function()
      local r = REF.nmf[name]
      local X = ml.tensor(REF.data[name:match("^(%a+)_")].X)
      local o = {max_iter = 400, random_state = 0}
      for k, v in pairs(r.kw) do o[k] = v end
      local nmf = ml.NMF(o)
      local W = nmf:fit_transform(X)
      assert.is_true(nmf.reconstruction_err_ <= r.err * 1.03,
        nmf.reconstruction_err_ .. " vs " .. r.err)
      assert.is_true(nmf.reconstruction_err_ >= r.err * 0.9)
      assert.is_true(W:min() >= 0 and nmf.components_:min() >= 0)
      local back = nmf:inverse_transform(nmf:transform(X))
      local terr = ((X - back) ^ 2):sum() ^ 0.5
      assert.is_true(terr <= r.transform_err * 1.03, terr .. " vs " .. r.transform_err)
    end)
  end
end)

describe("NMF behaviour", function()
  local X = ml.tensor{{1, 0, 2}, {2, 1, 4}, {0, 3, 1}, {1, 1, 1}, {4, 0, 8}}
  it("factorises with every init, error from W H", function()
    for _, init in ipairs{"random", "nndsvd", "nndsvda", "nndsvdar"} do
      local nmf = ml.NMF{n_components = 2, init = init, random_state = 0, max_iter = 500}
      local W = nmf:fit_transform(X)
      assert.same({5, 2}, W.shape)
      assert.same({2, 3}, nmf.components_.shape)
      local err = ((X - W:matmul(nmf.components_)) ^ 2):sum() ^ 0.5
      assert.is_true(math.abs(err - nmf.reconstruction_err_) < 1e-3)
      assert.is_true(err < 1.0, init .. " " .. err)
    end
  end)
  it("rejects negative input and unsupported options", function()
    local bad = X:clone(); bad[2][3] = -1
    local ok, err = pcall(function() ml.NMF{n_components = 2}:fit(bad) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("negative values in X"))
    assert.has_error(function() ml.NMF{beta_loss = "kullback-leibler"}:fit(X) end)
    assert.has_error(function() ml.NMF{solver = "als"} end)
    assert.has_error(function() ml.NMF{n_components = 4, init = "nndsvd"}:fit(X) end)
    assert.has_error(function() ml.NMF():transform(X) end,
      "NMF:transform: this NMF is not fitted yet; call fit first")
  end)
  it("PCA and NMF round-trip through ml.save / ml.load", function()
    local path = os.tmpname()
    local nmf = ml.NMF{n_components = 2, solver = "mu", random_state = 0}
    nmf:fit(X)
    ml.save(path, nmf)
    local back = ml.load(path)
    assert.equal("mu", back.solver)
    assert.is_true(maxdiff(back.components_, nmf.components_:totable()) == 0)
    local pca = ml.PCA{n_components = 2}:fit(X)
    ml.save(path, pca)
    local pb = ml.load(path)
    os.remove(path)
    assert.is_true(maxdiff(pb:transform(X), pca:transform(X):totable()) < 1e-6)
  end)
  it("survives state()/from_state() and clone", function()
    local nmf = ml.NMF{n_components = 2, random_state = 0}
    nmf:fit(X)
    local back = ml.NMF.from_state(ml.NMF, nmf:state())
    assert.is_true(maxdiff(back:transform(X), nmf:transform(X):totable()) < 1e-6)
    local c = ml.clone(nmf)
    assert.equal(2, c.n_components)
    assert.is_nil(rawget(c, "init"))
  end)
end)
