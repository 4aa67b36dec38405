-- ml.svm: SVC (libsvm's SMO, one-vs-one) and LinearSVC (liblinear's dual
-- coordinate descent, one-vs-rest) with scikit-learn's names, defaults and
-- fitted attributes. Solvers: runtime/estim/svm*.c, linear_svc.c.
local ml = require "ml"
local base = require "ml.base"
local lm = require "ml.linear_model"
local core = require "ml.core"
local raise = require("ml.errors").raise

local M = {}
local MOD = "ml.svm"

local function warn(msg) io.stderr:write("warning: ", msg, "\n") end

-- ---------------------------------------------------------------------------
local SVC = base.estimator("SVC", MOD, {
  {"C", 1.0, "number"},
  {"kernel", "rbf", {"linear", "poly", "rbf", "sigmoid"}},
  {"degree", 3, "integer"},
  {"gamma", "scale", "number|string"},
  {"coef0", 0.0, "number"},
  {"shrinking", true, "boolean"},
  {"probability", false, "boolean"},
  {"tol", 1e-3, "number"},
  {"cache_size", 200, "number"},
  {"class_weight", nil, "string|table|nil"},
  {"max_iter", -1, "integer"},
  {"decision_function_shape", "ovr", {"ovr", "ovo"}},
  {"break_ties", false, "boolean"},
  {"random_state", nil, "integer|nil"},
}, "classifier")
M.SVC = SVC

local function kernel_opts(self)
  return {kernel = self.kernel, degree = self.degree, gamma = self._gamma, coef0 = self.coef0}
end

function SVC:fit(X, y)
  local who = "SVC:fit"
  if not (self.C > 0) then raise(who .. ": C must be positive, got " .. tostring(self.C)) end
  if not (self.tol > 0) then raise(who .. ": tol must be positive") end
  if not (self.cache_size > 0) then raise(who .. ": cache_size must be positive") end
  if self.degree < 0 then raise(who .. ": degree must be >= 0") end
  if self.max_iter == 0 or self.max_iter < -1 then
    raise(who .. ": max_iter must be -1 (no limit) or positive")
  end
  local classes, ids
  X, classes, ids = lm._check_classes(who, X, y)
  local F = X.shape[2]
  local g = self.gamma
  if g == "scale" then
    local var = ((X - X:mean()) ^ 2):mean()
    if var ~= var or var == math.huge then raise(who .. ": X contains NaN or infinity") end
    g = var ~= 0 and 1.0 / (F * var) or 1.0
  elseif g == "auto" then
    g = 1.0 / F
  elseif type(g) ~= "number" then
    raise(who .. ": gamma must be \"scale\", \"auto\" or a positive number, got \"" ..
      tostring(g) .. "\"")
  elseif not (g > 0) then
    raise(who .. ": gamma must be positive, got " .. tostring(g))
  end
  self._gamma = g
  local K = base.n_classes(classes)
  local cw = lm._class_weights(who, self.class_weight, classes, ids)
  local opts = kernel_opts(self)
  opts.C, opts.tol, opts.cache_size = self.C, self.tol, self.cache_size
  opts.shrinking, opts.probability, opts.max_iter = self.shrinking, self.probability, self.max_iter
  opts.seed = self.random_state or 0
  if self.class_weight ~= nil then opts.class_weight = ml.tensor(cw) end
  local m = core.estim_svm.svc_fit(X, ids, K, opts)
  if m.hit_max then warn("SVC: the solver stopped at max_iter before converging") end
  self.classes_ = classes
  self.class_weight_ = ml.tensor(cw)
  self.support_ = m.support
  self.support_vectors_ = m.support_vectors
  self.n_support_ = m.n_support
  self.n_iter_ = m.n_iter
  self.gamma_ = g              -- the value used ("scale"/"auto" resolved)
  self.fit_status_ = 0
  self.shape_fit_ = {X.shape[1], F}
  self.n_features_in_ = F
  if K == 2 then              -- scikit-learn flips the binary model's sign
    self.dual_coef_, self.intercept_ = -m.dual_coef, -m.intercept
  else
    self.dual_coef_, self.intercept_ = m.dual_coef, m.intercept
  end
  self.probA_, self.probB_ = m.probA, m.probB
  if self.kernel == "linear" then self.coef_ = self:_linear_coef() end
  return self
end

-- scikit-learn's coef_ for the linear kernel: one row per pair (i, j),
-- dual_coef_[j - 1] over class i's support vectors plus dual_coef_[i] over
-- class j's, times the support vectors; X coef_^T + intercept_ is the
-- pair's decision value.
function SVC:_linear_coef()
  local K, sv, dc = base.n_classes(self.classes_), self.support_vectors_, self.dual_coef_
  if K == 2 then return dc:matmul(sv) end
  local ns = self.n_support_:totable()
  local start = {0}
  for k = 1, K do start[k + 1] = start[k] + ns[k] end
  local rows = {}
  for i = 1, K do
    for j = i + 1, K do
      local r = ml.zeros(sv.shape[2])
      if ns[i] > 0 then
        r = r + dc:select(1, j - 1):narrow(1, start[i] + 1, ns[i]):matmul(sv:narrow(1, start[i] + 1, ns[i]))
      end
      if ns[j] > 0 then
        r = r + dc:select(1, i):narrow(1, start[j] + 1, ns[j]):matmul(sv:narrow(1, start[j] + 1, ns[j]))
      end
      rows[#rows + 1] = r:reshape(1, -1)
    end
  end
  return ml.cat(rows, 1)
end

-- Pairwise decision values, libsvm's sign (positive: the pair's first class).
function SVC:_ovo(X, who)
  self:check_fitted(who, "support_vectors_")
  X = base.check_X("SVC:" .. who, X, self.n_features_in_)
  self._gamma = self._gamma or self.gamma_
  local dc, ic = self.dual_coef_, self.intercept_
  if base.n_classes(self.classes_) == 2 then dc, ic = -dc, -ic end
  return core.estim_svm.svc_decision(X, self.support_vectors_, self.n_support_, dc, ic, kernel_opts(self))
end

--- n (binary) or n x K ("ovr": votes plus scaled confidences) or n x P ("ovo").
function SVC:decision_function(X)
  local d = self:_ovo(X, "decision_function")
  local K = base.n_classes(self.classes_)
  if K == 2 then return -d:reshape(-1) end
  if self.decision_function_shape == "ovo" then return d end
  -- scikit-learn's _ovr_decision_function(dec < 0, -dec, K)
  local n = d.shape[1]
  local votes, conf = ml.zeros(n, K), ml.zeros(n, K)
  local p = 1
  for i = 1, K do
    for j = i + 1, K do
      local col = d:select(2, p)
      local pos = col:gt(0)
      votes:select(2, i):add_(pos)
      votes:select(2, j):add_(1 - pos)
      conf:select(2, i):add_(col)
      conf:select(2, j):sub_(col)
      p = p + 1
    end
  end
  return votes + conf / ((conf:abs() + 1) * 3)
end

function SVC:predict(X)
  local d = self:_ovo(X, "predict")
  local K, n = base.n_classes(self.classes_), d.shape[1]
  if K == 2 then
    return lm._class_values(self.classes_, d:reshape(-1):le(0):long() + 1)
  end
  if self.break_ties and self.decision_function_shape == "ovr" then
    return lm._class_values(self.classes_, self:decision_function(X):argmax(2))
  end
  -- libsvm's one-vs-one vote; ties go to the lower class
  local votes = ml.zeros(n, K)
  local p = 1
  for i = 1, K do
    for j = i + 1, K do
      local pos = d:select(2, p):gt(0)
      votes:select(2, i):add_(pos)
      votes:select(2, j):add_(1 - pos)
      p = p + 1
    end
  end
  -- argmax returns the first maximum
  return lm._class_values(self.classes_, votes:argmax(2))
end

function SVC:predict_proba(X)
  if not self.probability then
    raise("SVC:predict_proba: not available when probability = false; " ..
      "fit with SVC{probability = true}")
  end
  local d = self:_ovo(X, "predict_proba")
  if not self.probA_ then raise("SVC:predict_proba: the model has no probability state") end
  return core.estim_svm.svc_proba(d, base.n_classes(self.classes_), self.probA_, self.probB_)
end

function SVC:predict_log_proba(X) return self:predict_proba(X):log() end

-- ---------------------------------------------------------------------------
local LinearSVC = base.estimator("LinearSVC", MOD, {
  {"penalty", "l2", {"l2"}},
  {"loss", "squared_hinge", {"hinge", "squared_hinge"}},
  {"dual", true, "boolean"},
  {"tol", 1e-4, "number"},
  {"C", 1.0, "number"},
  {"multi_class", "ovr", {"ovr"}},
  {"fit_intercept", true, "boolean"},
  {"intercept_scaling", 1, "number"},
  {"class_weight", nil, "string|table|nil"},
  {"random_state", nil, "integer|nil"},
  {"max_iter", 1000, "integer"},
}, "classifier")
M.LinearSVC = LinearSVC

function LinearSVC:fit(X, y)
  local who = "LinearSVC:fit"
  if not self.dual then
    raise(who .. ": only dual = true (liblinear's dual coordinate descent) is implemented")
  end
  if not (self.C > 0) then raise(who .. ": C must be positive, got " .. tostring(self.C)) end
  if not (self.tol > 0) then raise(who .. ": tol must be positive") end
  if self.max_iter < 1 then raise(who .. ": max_iter must be >= 1") end
  if self.fit_intercept and not (self.intercept_scaling > 0) then
    raise(who .. ": intercept_scaling must be positive")
  end
  local classes, ids
  X, classes, ids = lm._check_classes(who, X, y)
  local K = base.n_classes(classes)
  local cw = lm._class_weights(who, self.class_weight, classes, ids)
  local opts = {C = self.C, tol = self.tol, loss = self.loss, fit_intercept = self.fit_intercept,
                intercept_scaling = self.intercept_scaling, max_iter = self.max_iter,
                seed = self.random_state or 0}
  if self.class_weight ~= nil then opts.class_weight = ml.tensor(cw) end
  local coef, b, it, hit = core.estim_svm.linsvc_fit(X, ids, K, opts)
  if hit then warn("LinearSVC: liblinear failed to converge, increase the number of iterations") end
  self.coef_, self.intercept_, self.n_iter_ = coef, b, it
  self.classes_ = classes
  self.n_features_in_ = X.shape[2]
  return self
end

function LinearSVC:decision_function(X)
  self:check_fitted("decision_function", "coef_")
  X = base.check_X("LinearSVC:decision_function", X, self.n_features_in_)
  local s = X:matmul(self.coef_:t()) + self.intercept_
  if self.coef_.shape[1] == 1 then return s:reshape(-1) end
  return s
end

function LinearSVC:predict(X)
  local d = self:decision_function(X)
  if d:dim() == 1 then return lm._class_values(self.classes_, d:gt(0):long() + 1) end
  return lm._class_values(self.classes_, d:argmax(2))
end

return M
