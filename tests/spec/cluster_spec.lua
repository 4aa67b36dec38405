-- KMeans against scikit-learn 1.2 (tests/fixtures/cluster_ref.json): inertia
-- within 1%, the same partition up to a renaming of the clusters.
local ml = require "ml"

local f = assert(io.open("tests/fixtures/cluster_ref.json"))
local REF = require("ml").json.decode(f:read("a"))
f:close()

-- true when a and b (lists of labels) define the same partition
local function same_partition(a, b)
  local ab, ba = {}, {}
  for i = 1, #a do
    local x, y = a[i], b[i]
    if ab[x] == nil then ab[x] = y elseif ab[x] ~= y then return false end
    if ba[y] == nil then ba[y] = x elseif ba[y] ~= x then return false end
  end
  return true
end

describe("KMeans matches scikit-learn", function()
  for _, name in ipairs{"iris", "blobs", "digits"} do
    it(name .. ": inertia within 1%", function()
      local r = REF.kmeans[name]
      local X = ml.tensor(REF.data[name].X)
      local km = ml.KMeans{n_clusters = r.k, random_state = 0}:fit(X)
      assert.is_true(km.inertia_ <= r.inertia * 1.01, km.inertia_ .. " vs " .. r.inertia)
      assert.is_true(km.inertia_ >= r.inertia * 0.97, km.inertia_ .. " vs " .. r.inertia)
      assert.same({r.k, X.shape[2]}, km.cluster_centers_.shape)
      assert.equal(X.shape[1], km.labels_:numel())
      if name ~= "digits" then
        assert.is_true(same_partition(km.labels_:totable(), r.labels))
      end
      -- labels_ are the nearest centres, and inertia_ their squared distances
      assert.same(km.labels_:totable(), km:predict(X):totable())
      assert.is_true(math.abs(-km:score(X) - km.inertia_) <= 1e-4 * km.inertia_)
    end)
  end
  it("blobs from given centres: same centres, labels and iterations", function()
    local r = REF.kmeans.blobs_init
    local X = ml.tensor(REF.data.blobs.X)
    local km = ml.KMeans{n_clusters = 4, init = ml.tensor(r.init), n_init = 1}:fit(X)
    assert.same(r.labels, km.labels_:totable())
    assert.is_true(math.abs(km.inertia_ - r.inertia) <= 1e-4 * r.inertia)
    local c = km.cluster_centers_:totable()
    for i = 1, 4 do for j = 1, 2 do
      assert.is_true(math.abs(c[i][j] - r.centers[i][j]) < 1e-4)
    end end
    assert.equal(r.n_iter, km.n_iter_)
  end)
end)

describe("KMeans behaviour", function()
  local X = ml.tensor{{0, 0}, {0, 1}, {1, 0}, {10, 10}, {10, 11}, {11, 10}}
  it("finds well-separated groups with either init", function()
    for _, init in ipairs{"k-means++", "random"} do
      local km = ml.KMeans{n_clusters = 2, init = init, random_state = 1}:fit(X)
      local l = km.labels_:totable()
      assert.is_true(l[1] == l[2] and l[2] == l[3] and l[4] == l[5] and l[5] == l[6])
      assert.is_true(l[1] ~= l[4])
      assert.is_true(math.abs(km.inertia_ - 8 / 3) < 1e-4)
    end
  end)
  it("is reproducible with random_state and honours n_init = 'auto'", function()
    ml.seed(0)
    local Z = ml.randn(500, 5)
    local a = ml.KMeans{n_clusters = 6, random_state = 7}:fit(Z)
    local b = ml.KMeans{n_clusters = 6, random_state = 7}:fit(Z)
    assert.same(a.labels_:totable(), b.labels_:totable())
    assert.equal(a.inertia_, b.inertia_)
    local c = ml.KMeans{n_clusters = 6, random_state = 7, n_init = "auto"}:fit(Z)
    assert.is_true(c.inertia_ >= a.inertia_ - 1e-3)
  end)
  it("transform gives distances to centres, fit_predict the labels", function()
    local km = ml.KMeans{n_clusters = 2, random_state = 0}
    local l = km:fit_predict(X)
    assert.same(l:totable(), km.labels_:totable())
    local D = km:transform(ml.tensor{{0, 0}})
    assert.same({1, 2}, D.shape)
    local c = km.cluster_centers_
    local want = ((c[1] - ml.tensor{0, 0}) ^ 2):sum() ^ 0.5
    assert.is_true(math.abs(D[1][1] - want) < 1e-4)
    assert.same({6, 2}, ml.KMeans{n_clusters = 2}:fit_transform(X).shape)
  end)
  it("relocates empty clusters and stops at max_iter", function()
    -- every starting centre at one point: the others must move to far points
    local init = ml.tensor{{0, 0}, {0, 0}, {0, 0}}
    local km = ml.KMeans{n_clusters = 3, init = init, n_init = 1}:fit(X)
    local seen = {}
    for _, v in ipairs(km.labels_:totable()) do seen[v] = true end
    assert.is_true(seen[0] and seen[1] and seen[2])
    local one = ml.KMeans{n_clusters = 2, max_iter = 1, random_state = 0}:fit(X)
    assert.equal(1, one.n_iter_)
  end)
  it("raises clear errors", function()
    assert.has_error(function() ml.KMeans{n_clusters = 7}:fit(X) end,
      "KMeans:fit: n_samples=6 should be >= n_clusters=7")
    assert.has_error(function() ml.KMeans{init = "kmeans"}:fit(X) end)
    assert.has_error(function() ml.KMeans{algorithm = "elkan"} end)
    assert.has_error(function() ml.KMeans{n_clusters = 2}:predict(X) end,
      "KMeans:predict: this KMeans is not fitted yet; call fit first")
    local km = ml.KMeans{n_clusters = 2}:fit(X)
    assert.has_error(function() km:predict(ml.ones(2, 3)) end,
      "KMeans:predict: X has 3 features, but the estimator was fitted with 2")
    assert.has_error(function() ml.KMeans{n_clusters = 2, init = ml.ones(3, 2)}:fit(X) end)
    local bad = X:clone(); bad[2][2] = 0 / 0
    assert.has_error(function() ml.KMeans{n_clusters = 2}:fit(bad) end,
      "KMeans: X contains NaN or infinity")
    assert.has_error(function() km:predict(bad) end,
      "KMeans: X contains NaN or infinity (row 2, column 2); remove or impute missing values "
        .. "first")
  end)
  it("round-trips through ml.save / ml.load", function()
    local path = os.tmpname()
    local km = ml.KMeans{n_clusters = 2, random_state = 4}:fit(X)
    ml.save(path, km)
    local back = ml.load(path)
    os.remove(path)
    assert.equal("KMeans", back.__name)
    assert.same(km:predict(X):totable(), back:predict(X):totable())
    assert.equal(km.n_iter_, back.n_iter_)
  end)
  it("survives state()/from_state()", function()
    local km = ml.KMeans{n_clusters = 2, random_state = 3}:fit(X)
    local back = ml.KMeans.from_state(ml.KMeans, km:state())
    assert.same(km:predict(X):totable(), back:predict(X):totable())
    assert.equal(km.inertia_, back.inertia_)
  end)
end)
