-- ml.neighbors: KNeighborsClassifier and KNeighborsRegressor (scikit-learn
-- names and defaults). Exact brute-force search in C (runtime/estim/knn.c):
-- Euclidean distances through SGEMM over query blocks, exact re-ranking,
-- ties between equally distant training rows broken by the lower row.
-- algorithm = "ball_tree"/"kd_tree" are accepted and give the same (exact)
-- neighbours as "brute".
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local N = {}

local spec = {
  {"n_neighbors", 5, "integer"},
  {"weights", "uniform", {"uniform", "distance"}},
  {"algorithm", "auto", {"auto", "brute", "ball_tree", "kd_tree"}},
  {"leaf_size", 30, "integer"},
  {"p", 2, "number"},
  {"metric", "minkowski", {"minkowski", "euclidean", "l2", "manhattan", "l1", "cityblock",
                           "chebyshev"}},
  {"metric_params", nil, "table|nil"},
  {"n_jobs", nil, "integer|nil"},
}

-- Runs f with the engine's thread count set to n_jobs (-1: every core).
local function with_threads(n_jobs, f, ...)
  if n_jobs == nil then return f(...) end
  local old = ml.get_num_threads()
  local n = n_jobs
  if n < 0 then
    local h = io.popen and io.popen("nproc 2>/dev/null")
    n = h and tonumber(h:read("l") or "") or old
    if h then h:close() end
  end
  ml.set_num_threads(math.max(1, n))
  local res = table.pack(pcall(f, ...))
  ml.set_num_threads(old)
  if not res[1] then error(res[2], 0) end   -- the error of the function run, unchanged
  return table.unpack(res, 2, res.n)
end
N._with_threads = with_threads

local function metric_of(self)
  local m, p = self.metric, self.p
  if m == "l2" then return "euclidean", 2 end
  if m == "l1" or m == "cityblock" then return "manhattan", 1 end
  if m == "minkowski" then
    if not (p > 0) then
      raise(string.format("%s: p must be > 0 for the minkowski metric, got %s", self.__name,
        tostring(p)))
    end
    if p == math.huge then return "chebyshev", p end
    return "minkowski", p
  end
  return m, p
end

local function check_params(self, who)
  if self.n_neighbors < 1 then
    raise(string.format("%s:%s: n_neighbors must be >= 1, got %d", self.__name, who,
      self.n_neighbors))
  end
  metric_of(self)
end

local function fit_X(self, X, y, labels)
  check_params(self, "fit")
  X, y = (labels and base.check_Xy_labels or base.check_Xy)(self.__name .. ":fit", X, y)
  base.check_finite(self.__name .. ":fit", X)
  self._fit_X = X:contiguous():clone()
  self.n_features_in_ = X.shape[2]
  self.n_samples_fit_ = X.shape[1]
  return X, y
end

--- kneighbors(X, n_neighbors, return_distance): distances and 1-based row
--- numbers (int64) of the nearest training rows, nearest first. With X nil,
--- the neighbours of each training row excluding itself.
local function kneighbors(self, X, n_neighbors, return_distance)
  local who = self.__name .. ":kneighbors"
  self:check_fitted("kneighbors", "n_features_in_")
  local k = n_neighbors or self.n_neighbors
  if math.type(k) ~= "integer" and not (type(k) == "number" and k == math.floor(k)) then
    raise(who .. ": n_neighbors must be an integer")
  end
  k = math.tointeger(k)
  local self_query = X == nil
  if self_query then X = self._fit_X; k = k + 1
  else X = base.check_X(who, X, self.n_features_in_) end
  if k < 1 or k > self.n_samples_fit_ then
    raise(string.format("%s: expected n_neighbors <= n_samples_fit (%d), got %d", who,
      self.n_samples_fit_, self_query and k - 1 or k))
  end
  if X:ne(X):sum() > 0 then raise(who .. ": X contains NaN") end
  local metric, p = metric_of(self)
  local dist, idx = with_threads(self.n_jobs, core.estim_cluster.knn_kneighbors, self._fit_X, X, k, metric, p)
  if self_query then
    -- drop each row's own entry (or its farthest one when a duplicate hid it)
    local D, I = dist:totable(), idx:totable()
    local n = #I
    local nd, ni = {}, {}
    for r = 1, n do
      local skip = k
      for c = 1, k do if I[r][c] == r - 1 then skip = c; break end end
      local dr, ir = {}, {}
      for c = 1, k do
        if c ~= skip then dr[#dr + 1] = D[r][c]; ir[#ir + 1] = I[r][c] end
      end
      nd[r], ni[r] = dr, ir
    end
    dist, idx = ml.tensor(nd), ml.tensor(ni, "int64")
  end
  if return_distance == false then return idx + 1 end
  return dist, idx + 1
end

local function state(self)
  local s = base.Estimator.state(self)
  s.fitted._fit_X = self._fit_X
  s.fitted._y = self._y
  return s
end

local function raw_neighbors(self, who, X)
  self:check_fitted(who, "n_features_in_")
  X = base.check_X(self.__name .. ":" .. who, X, self.n_features_in_)
  if self.n_neighbors > self.n_samples_fit_ then
    raise(string.format("%s:%s: n_neighbors=%d is larger than the %d training rows",
      self.__name, who, self.n_neighbors, self.n_samples_fit_))
  end
  base.check_finite(self.__name .. ":" .. who, X)
  local metric, p = metric_of(self)
  return with_threads(self.n_jobs, core.estim_cluster.knn_kneighbors, self._fit_X, X, self.n_neighbors,
    metric, p)
end

-- ---------------------------------------------------------------------------
local KNC = base.estimator("KNeighborsClassifier", "ml.neighbors", spec, "classifier")
N.KNeighborsClassifier = KNC

function KNC:fit(X, y)
  local _
  X, y = fit_X(self, X, y, true)
  self.classes_, self._y = base.encode_classes(y)
  return self
end

function KNC:predict_proba(X)
  local dist, idx = raw_neighbors(self, "predict_proba", X)
  return core.estim_cluster.knn_vote(dist, idx, self._y, base.n_classes(self.classes_), self.weights == "distance")
end

function KNC:predict(X)
  local dist, idx = raw_neighbors(self, "predict", X)
  local proba = core.estim_cluster.knn_vote(dist, idx, self._y, base.n_classes(self.classes_),
    self.weights == "distance")
  return base.take_classes(self.classes_, proba:argmax(2):reshape(-1))
end

KNC.kneighbors = kneighbors
KNC.state = state

-- ---------------------------------------------------------------------------
local KNR = base.estimator("KNeighborsRegressor", "ml.neighbors", spec, "regressor")
N.KNeighborsRegressor = KNR

function KNR:fit(X, y)
  X, y = fit_X(self, X, y)
  self._y = y:float():contiguous():clone()
  return self
end

function KNR:predict(X)
  local dist, idx = raw_neighbors(self, "predict", X)
  return core.estim_cluster.knn_regress(dist, idx, self._y, self.weights == "distance")
end

KNR.kneighbors = kneighbors
KNR.state = state

return N
