-- ml.naive_bayes: GaussianNB as scikit-learn's (per-class means and
-- variances, var_smoothing * largest feature variance added to every
-- variance; log-likelihoods and the log-sum-exp in double precision in C).
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local NB = {}

local GaussianNB = base.estimator("GaussianNB", "ml.naive_bayes", {
  {"priors", nil, "table|tensor|nil"},
  {"var_smoothing", 1e-9, "number"},
}, "classifier")
NB.GaussianNB = GaussianNB

function GaussianNB:fit(X, y)
  local who = "GaussianNB:fit"
  X, y = base.check_Xy_labels(who, X, y)
  if self.var_smoothing < 0 then
    raise(who .. ": var_smoothing must be >= 0, got " .. self.var_smoothing)
  end
  local classes, ids = base.encode_classes(y)
  local K = base.n_classes(classes)
  local theta, var, counts, eps = core.estim_bayes.gnb_fit(X, ids, K, self.var_smoothing)
  local prior
  if self.priors ~= nil then
    prior = ml.is_tensor(self.priors) and self.priors:float()
      or ml.tensor(self.priors)
    prior = prior:reshape(-1)
    if prior.shape[1] ~= K then
      raise(string.format("%s: number of priors (%d) must match the number of classes (%d)",
        who, prior.shape[1], K))
    end
    if math.abs(prior:sum() - 1) > 1e-8 * K + 1e-6 then
      raise(who .. ": the sum of the priors should be 1, got " .. prior:sum())
    end
    if prior:lt(0):sum() > 0 then raise(who .. ": priors must be non-negative") end
  else
    prior = counts / counts:sum()
  end
  self.classes_ = classes
  self.theta_ = theta
  self.var_ = var
  self.class_count_ = counts
  self.class_prior_ = prior
  self.epsilon_ = eps
  self.n_features_in_ = X.shape[2]
  return self
end

local function jll(self, who, X, want_log_proba)
  self:check_fitted(who, "theta_")
  X = base.check_X("GaussianNB:" .. who, X, self.n_features_in_)
  return core.estim_bayes.gnb_jll(X, self.theta_, self.var_, self.class_prior_:log(), want_log_proba)
end

function GaussianNB:predict_joint_log_proba(X)
  return (jll(self, "predict_joint_log_proba", X))
end

function GaussianNB:predict(X)
  local j = jll(self, "predict", X)
  return base.take_classes(self.classes_, j:argmax(2):reshape(-1))
end

function GaussianNB:predict_log_proba(X)
  local _, lp = jll(self, "predict_log_proba", X, true)
  return lp
end

function GaussianNB:predict_proba(X)
  local _, lp = jll(self, "predict_proba", X, true)
  return lp:exp()
end

return NB
