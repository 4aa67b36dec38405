-- ml.cluster: KMeans as scikit-learn's (algorithm "lloyd"): greedy
-- k-means++ seeding, Lloyd iterations in C (runtime/estim/kmeans.c) with SGEMM
-- distances (compressed rows for mostly-zero data such as images), best of
-- n_init runs by inertia. labels_ and predict give cluster
-- ids 0..n_clusters-1 (values, as scikit-learn), as float32 tensors.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local C = {}

local KMeans = base.estimator("KMeans", "ml.cluster", {
  {"n_clusters", 8, "integer"},
  {"init", "k-means++", "tensor|table|string"},
  {"n_init", 10, "integer|string"},          -- scikit-learn 1.2's default; "auto" accepted
  {"max_iter", 300, "integer"},
  {"tol", 1e-4, "number"},
  {"verbose", 0, "integer|boolean"},
  {"random_state", nil, "integer|nil"},
  {"copy_x", true, "boolean"},
  {"algorithm", "lloyd", {"lloyd", "auto", "full"}},   -- "auto"/"full": 1.2's aliases of lloyd
  {"n_jobs", nil, "integer|nil"},
}, "clusterer")
C.KMeans = KMeans

local function seed_of(rs)
  if rs ~= nil then return math.tointeger(rs) end
  return math.floor(ml.rand(1):item() * 2 ^ 31)
end

local function check_params(self, n)
  local who = "KMeans:fit"
  if self.n_clusters < 1 then
    raise(string.format("%s: n_clusters must be >= 1, got %d", who, self.n_clusters))
  end
  if n < self.n_clusters then
    raise(string.format("%s: n_samples=%d should be >= n_clusters=%d", who, n, self.n_clusters))
  end
  if self.max_iter < 1 then raise(who .. ": max_iter must be >= 1, got " .. self.max_iter) end
  if self.tol < 0 then raise(who .. ": tol must be >= 0, got " .. self.tol) end
  local init = self.init
  if type(init) == "string" and init ~= "k-means++" and init ~= "random" then
    raise(string.format("%s: init must be \"k-means++\", \"random\" or a tensor of centres, got %q",
      who, init))
  end
  local n_init = self.n_init
  if n_init == "auto" then
    n_init = (init == "random") and 10 or 1
  elseif type(n_init) == "string" then
    raise(string.format("%s: n_init must be an integer or \"auto\", got %q", who, n_init))
  elseif n_init < 1 then
    raise(who .. ": n_init must be >= 1, got " .. n_init)
  end
  return math.tointeger(n_init)
end

function KMeans:fit(X, y, opts)
  base.no_options("KMeans:fit", opts)
  X = base.check_X("KMeans:fit", X)
  local n, d = X.shape[1], X.shape[2]
  local n_init = check_params(self, n)
  local init_t
  if type(self.init) ~= "string" then
    init_t = base.check_X("KMeans:fit (init)", self.init)
    if init_t.shape[1] ~= self.n_clusters or init_t.shape[2] ~= d then
      raise(string.format("KMeans:fit: init centres must be %dx%d, got %s", self.n_clusters, d,
        table.concat(init_t.shape, "x")))
    end
    n_init = 1
  end
  local o = {n_clusters = self.n_clusters, n_init = n_init, max_iter = self.max_iter,
             tol = self.tol, seed = seed_of(self.random_state),
             init = type(self.init) == "string" and self.init or nil}
  local with_threads = require("ml.neighbors")._with_threads
  local centers, labels, inertia, n_iter = with_threads(self.n_jobs, core.estim_cluster.kmeans_fit, X, o, init_t)
  self.cluster_centers_ = centers
  self.labels_ = labels:float()
  self.inertia_ = inertia
  self.n_iter_ = n_iter
  self.n_features_in_ = d
  return self
end

function KMeans:predict(X)
  self:check_fitted("predict", "cluster_centers_")
  X = base.check_X("KMeans:predict", X, self.n_features_in_)
  local labels = core.estim_cluster.kmeans_assign(X, self.cluster_centers_)
  return labels:float()
end

--- Distances (not squared) of every row to every centre: n x n_clusters.
function KMeans:transform(X)
  self:check_fitted("transform", "cluster_centers_")
  X = base.check_X("KMeans:transform", X, self.n_features_in_)
  return core.estim_cluster.sqdist(X, self.cluster_centers_):sqrt()
end

function KMeans:fit_transform(X, y)
  return self:fit(X, y):transform(X)
end

function KMeans:fit_predict(X, y)
  return self:fit(X, y).labels_
end

--- Opposite of the inertia of X on the fitted centres (higher is better).
function KMeans:score(X)
  self:check_fitted("score", "cluster_centers_")
  X = base.check_X("KMeans:score", X, self.n_features_in_)
  local _, d2 = core.estim_cluster.kmeans_assign(X, self.cluster_centers_)
  return -d2:sum()
end

return C
