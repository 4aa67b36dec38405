-- ml.ensemble: RandomForestClassifier, RandomForestRegressor,
-- GradientBoostingClassifier (histogram-based) and IsolationForest with
-- scikit-learn's options, defaults and fitted attributes. The trees are grown
-- in C in parallel (runtime/estim/forest.c, boosting.c, iforest.c).
local ml = require "ml"
local base = require "ml.base"
local tree = require "ml.tree"
local core = require "ml.core"
local raise = require("ml.errors").raise
local H = tree._helpers

local M = {}

local function threads(n_jobs)
  if n_jobs == nil or n_jobs < 0 then return 0 end   -- 0: every engine thread
  if n_jobs == 0 then raise("n_jobs: 0 is not a valid number of jobs") end
  return math.tointeger(n_jobs)
end

local function check_n_estimators(who, v)
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) or v < 1 then
    raise(string.format("%s: option 'n_estimators' must be an integer >= 1, got %s", who,
      tostring(v)))
  end
end

local EnsembleBase = base.class("EnsembleBase", base.Estimator)
EnsembleBase.state = H.state
EnsembleBase.from_state = H.from_state

--- Number of fitted trees.
function EnsembleBase:n_trees()
  self:check_fitted("n_trees", "n_features_in_")
  return self._ens:n_trees()
end

-- ---------------------------------------------------------------------------
-- Random forests

local forest_spec = {
  {"n_estimators", 100, "integer"},
  {"criterion", "gini", "string"},
  {"max_depth", nil, "integer|nil"},
  {"min_samples_split", 2, "number"},
  {"min_samples_leaf", 1, "number"},
  {"max_features", "sqrt", "number|string|nil"},
  {"min_impurity_decrease", 0.0, "number"},
  {"bootstrap", true, "boolean"},
  {"oob_score", false, "boolean"},
  {"n_jobs", nil, "integer|nil"},
  {"random_state", nil, "integer|nil"},
  {"class_weight", nil, "string|table|nil"},
  {"max_samples", nil, "number|nil"},
}
local forest_reg_spec = {}
for _, s in ipairs(forest_spec) do
  if s[1] == "criterion" then forest_reg_spec[#forest_reg_spec + 1] = {"criterion", "squared_error", "string"}
  elseif s[1] == "max_features" then forest_reg_spec[#forest_reg_spec + 1] = {"max_features", 1.0, "number|string|nil"}
  elseif s[1] ~= "class_weight" then forest_reg_spec[#forest_reg_spec + 1] = s end
end

local ForestBase = base.class("ForestBase", EnsembleBase)

function ForestBase:_fit(X, y, ids, n_classes, sample_weight)
  local who = self.__name .. ":fit"
  check_n_estimators(who, self.n_estimators)
  H.check_tree_options(who, self, n_classes == 0)
  local n = X.shape[1]
  local o = H.tree_opts(self, who, n, X.shape[2], n_classes)
  o.n_estimators = math.tointeger(self.n_estimators)
  o.bootstrap = self.bootstrap
  o.random_state = H.seed(self.random_state)
  o.n_jobs = threads(self.n_jobs)
  local ms = self.max_samples
  if ms ~= nil then
    if not self.bootstrap then
      raise(who .. ": max_samples requires bootstrap = true")
    end
    if math.type(ms) == "integer" then
      if ms < 1 or ms > n then
        raise(string.format("%s: option 'max_samples' must be in [1, %d], got %d", who, n, ms))
      end
      o.n_bootstrap = ms
    else
      if not (ms > 0 and ms <= 1) then
        raise(string.format("%s: option 'max_samples' as a fraction must be in (0, 1], got %s",
          who, tostring(ms)))
      end
      o.n_bootstrap = math.max(1, math.floor(n * ms + 0.5))
    end
  end
  if self.oob_score and not self.bootstrap then
    raise(who .. ": oob_score requires bootstrap = true")
  end
  o.oob = self.oob_score
  if self.class_weight == "balanced_subsample" then
    raise(who .. ': class_weight "balanced_subsample" is not supported; use "balanced"')
  end
  o.sample_weight = H.sample_weights(who, self.class_weight, self.classes_, ids or y, sample_weight)
  local ens, oob, oob_count = core.estim_tree.forest_fit(X, ids or y, o)
  self._ens = ens
  self.n_features_in_ = X.shape[2]
  self.feature_importances_ = ens:importances()
  if oob then self:_oob(oob, oob_count:gt(0), y) end
  return self
end

local RandomForestClassifier = base.estimator("RandomForestClassifier", "ml.ensemble",
  forest_spec, "classifier", ForestBase)
M.RandomForestClassifier = RandomForestClassifier

function RandomForestClassifier:fit(X, y, sample_weight)
  X, y = base.check_Xy_labels(self.__name .. ":fit", X, y)
  local classes, ids = base.encode_classes(y)
  self.classes_ = classes
  self.n_classes_ = base.n_classes(classes)
  return self:_fit(X, y, ids, self.n_classes_, sample_weight)
end

-- ok: 1 for samples some tree left out (the others are not scored)
function RandomForestClassifier:_oob(oob, ok, y)
  self.oob_decision_function_ = oob
  local pred = H.predict_classes(self.classes_, oob)
  self.oob_score_ = (pred:eq(y:float()) * ok):sum() / math.max(1, ok:sum())
end

RandomForestClassifier.predict_proba = H.predict_proba

function RandomForestClassifier:predict(X)
  return H.predict_classes(self.classes_, self:predict_proba(X))
end

local RandomForestRegressor = base.estimator("RandomForestRegressor", "ml.ensemble",
  forest_reg_spec, "regressor", ForestBase)
M.RandomForestRegressor = RandomForestRegressor

function RandomForestRegressor:fit(X, y, sample_weight)
  X, y = base.check_Xy(self.__name .. ":fit", X, y)
  return self:_fit(X, y:float(), nil, 0, sample_weight)
end

function RandomForestRegressor:_oob(oob, ok, y)
  local p = oob:reshape(-1)
  self.oob_prediction_ = p
  local yy, pp = {}, {}
  local pt, yt, okt = p:totable(), y:float():totable(), ok:totable()
  for i = 1, #pt do if okt[i] == 1 then yy[#yy + 1] = yt[i]; pp[#pp + 1] = pt[i] end end
  self.oob_score_ = #yy > 1 and require("ml.metrics").r2_score(ml.tensor(yy), ml.tensor(pp)) or 0 / 0
end

function RandomForestRegressor:predict(X)
  self:check_fitted("predict", "n_features_in_")
  local who = self.__name .. ":predict"
  X = base.check_X(who, X, self.n_features_in_)
  return self._ens:predict(X, {who = who}):reshape(-1)
end

-- ---------------------------------------------------------------------------
-- Gradient boosting (histogram-based, log loss)

local gb_spec = {
  {"loss", "log_loss", {"log_loss", "deviance"}},
  {"learning_rate", 0.1, "number"},
  {"n_estimators", 100, "integer"},
  {"subsample", 1.0, "number"},
  {"max_depth", 3, "integer"},
  {"min_samples_leaf", 1, "integer"},
  {"l2_regularization", 0.0, "number"},
  {"max_bins", 255, "integer"},
  {"random_state", nil, "integer|nil"},
}

local GradientBoostingClassifier = base.estimator("GradientBoostingClassifier", "ml.ensemble",
  gb_spec, "classifier", EnsembleBase)
M.GradientBoostingClassifier = GradientBoostingClassifier

function GradientBoostingClassifier:fit(X, y)
  local who = self.__name .. ":fit"
  X, y = base.check_Xy_labels(who, X, y)
  check_n_estimators(who, self.n_estimators)
  local function bad(opt, what)
    raise(string.format("%s: option '%s' %s, got %s", who, opt, what, tostring(self[opt])))
  end
  if not (self.learning_rate > 0) then bad("learning_rate", "must be > 0") end
  if not (self.subsample > 0 and self.subsample <= 1) then bad("subsample", "must be in (0, 1]") end
  if self.max_depth < 1 or self.max_depth > 12 then bad("max_depth", "must be in [1, 12]") end
  if self.min_samples_leaf < 1 then bad("min_samples_leaf", "must be >= 1") end
  if not (self.l2_regularization >= 0) then bad("l2_regularization", "must be >= 0") end
  if self.max_bins < 2 or self.max_bins > 255 then bad("max_bins", "must be in [2, 255]") end
  local classes, ids = base.encode_classes(y)
  if base.n_classes(classes) < 2 then
    raise(who .. ": y has a single class; a classifier needs at least 2")
  end
  self.classes_ = classes
  self.n_classes_ = base.n_classes(classes)
  local ens, baseline = core.estim_tree.gbm_fit(X, ids, {
    who = who, n_classes = self.n_classes_, n_estimators = math.tointeger(self.n_estimators),
    learning_rate = self.learning_rate, max_depth = math.tointeger(self.max_depth),
    min_samples_leaf = math.tointeger(self.min_samples_leaf),
    l2_regularization = self.l2_regularization, subsample = self.subsample,
    max_bins = math.tointeger(self.max_bins), seed = H.seed(self.random_state)})
  self._ens = ens
  self.init_ = baseline
  self.n_features_in_ = X.shape[2]
  self.n_estimators_ = math.tointeger(self.n_estimators)
  self.feature_importances_ = ens:importances()
  return self
end

--- Raw scores: n (binary, log-odds of classes_[2]) or n x K.
function GradientBoostingClassifier:decision_function(X)
  self:check_fitted("decision_function", "n_features_in_")
  local who = self.__name .. ":decision_function"
  X = base.check_X(who, X, self.n_features_in_)
  local K = self.n_classes_
  if K == 2 then
    return self._ens:predict(X, {who = who, sum = true}):reshape(-1) + self.init_[1]
  end
  local cols = {}
  for k = 1, K do
    cols[k] = self._ens:predict(X, {who = who, first = k, step = K, sum = true}) + self.init_[k]
  end
  return ml.cat(cols, 2)
end

function GradientBoostingClassifier:predict_proba(X)
  local raw = self:decision_function(X)
  if self.n_classes_ == 2 then
    local p1 = raw:sigmoid():reshape(-1, 1)
    return ml.cat({1 - p1, p1}, 2)
  end
  return raw:softmax(2)
end

function GradientBoostingClassifier:predict(X)
  return H.predict_classes(self.classes_, self:predict_proba(X))
end

-- ---------------------------------------------------------------------------
-- Isolation forest

local iso_spec = {
  {"n_estimators", 100, "integer"},
  {"max_samples", "auto", "number|string"},
  {"contamination", "auto", "number|string"},
  {"max_features", 1.0, "number"},
  {"n_jobs", nil, "integer|nil"},
  {"random_state", nil, "integer|nil"},
}

local IsolationForest = base.estimator("IsolationForest", "ml.ensemble", iso_spec, "outlier",
  EnsembleBase)
M.IsolationForest = IsolationForest

local function c_factor(n)
  if n <= 1 then return 0.0 end
  if n <= 2 then return 1.0 end
  return 2.0 * (math.log(n - 1.0) + 0.5772156649015329) - 2.0 * (n - 1.0) / n
end

--- Linear-interpolation percentile (numpy's default) of a Lua list.
local function percentile(vals, q)
  table.sort(vals)
  local pos = (#vals - 1) * q / 100
  local lo = math.floor(pos)
  local frac = pos - lo
  local a = vals[lo + 1]
  local b = vals[math.min(lo + 2, #vals)]
  return a + (b - a) * frac
end

function IsolationForest:fit(X)
  local who = self.__name .. ":fit"
  X = base.check_X(who, X)
  local n = X.shape[1]
  if n < 1 then raise(who .. ": X is empty") end
  check_n_estimators(who, self.n_estimators)
  local ms = self.max_samples
  if ms == "auto" then ms = math.min(256, n)
  elseif math.type(ms) == "integer" then
    if ms < 1 then raise(string.format("%s: option 'max_samples' must be >= 1, got %d", who, ms)) end
    ms = math.min(ms, n)
  elseif type(ms) == "number" then
    if not (ms > 0 and ms <= 1) then
      raise(string.format("%s: option 'max_samples' as a fraction must be in (0, 1], got %s", who,
        tostring(ms)))
    end
    ms = math.max(1, math.floor(ms * n))
  else
    raise(string.format('%s: option \'max_samples\' expected "auto", an integer or a float, got %q',
      who, tostring(ms)))
  end
  local c = self.contamination
  if c ~= "auto" and not (type(c) == "number" and c > 0 and c <= 0.5) then
    raise(string.format('%s: option \'contamination\' must be "auto" or a number in (0, 0.5], got %s',
      who, tostring(c)))
  end
  if not (self.max_features > 0 and self.max_features <= 1) then
    raise(string.format("%s: option 'max_features' must be in (0, 1], got %s", who,
      tostring(self.max_features)))
  end
  self._ens = core.estim_tree.iforest_fit(X, {who = who, n_estimators = math.tointeger(self.n_estimators),
    max_samples = math.tointeger(ms), max_features = self.max_features,
    seed = H.seed(self.random_state)})
  self.max_samples_ = math.tointeger(ms)
  self.n_features_in_ = X.shape[2]
  if c == "auto" then
    self.offset_ = -0.5
  else
    self.offset_ = percentile(self:score_samples(X):totable(), 100 * c)
  end
  return self
end

--- The opposite of the anomaly score of the paper: lower is more abnormal.
function IsolationForest:score_samples(X)
  self:check_fitted("score_samples", "n_features_in_")
  local who = self.__name .. ":score_samples"
  X = base.check_X(who, X, self.n_features_in_)
  local depth = self._ens:predict(X, {who = who}):reshape(-1)
  -- -2^(-depth / c(max_samples))
  return -((depth * (-math.log(2) / c_factor(self.max_samples_))):exp())
end

function IsolationForest:decision_function(X)
  return self:score_samples(X) - self.offset_
end

--- 1 for inliers, -1 for outliers.
function IsolationForest:predict(X)
  local d = self:decision_function(X)
  return d:ge(0) * 2 - 1
end

function IsolationForest:fit_predict(X)
  return self:fit(X):predict(X)
end

return M
