-- ml.linear_model: LinearRegression, Ridge and LogisticRegression with
-- scikit-learn's names, defaults and optima. The solvers are in C
-- (runtime/estim/linear.c, logistic.c): least squares by LAPACK's SVD solver,
-- ridge by Cholesky, logistic regression by L-BFGS with the loss and gradient
-- through GEMM.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local M = {}
local MOD = "ml.linear_model"

-- X and y for regression: y is 1-D (one target) or N x T.
local function check_reg(who, X, y)
  X = base.check_X(who, X)
  if not ml.is_tensor(y) then
    if type(y) ~= "table" then raise(who .. ": y expected a tensor, got " .. type(y)) end
    y = ml.tensor(y)
  end
  if y:dim() ~= 1 and y:dim() ~= 2 then
    raise(string.format("%s: y must be 1- or 2-dimensional, got shape %s", who,
      table.concat(y.shape, "x")))
  end
  if y.shape[1] ~= X.shape[1] then
    raise(string.format("%s: X has %d rows but y has %d", who, X.shape[1], y.shape[1]))
  end
  if X.shape[1] == 0 then raise(who .. ": X and y are empty") end
  return X, y:float()
end

-- Shared by the regressors: coef_ is F (one target) or T x F, as scikit-learn.
local function set_linear(self, coef, b, y)
  if y:dim() == 1 then
    self.coef_ = coef:reshape(-1)
    self.intercept_ = b[1]
  else
    self.coef_ = coef
    self.intercept_ = b
  end
end

local function linear_predict(self, who, X)
  self:check_fitted(who, "coef_")
  X = base.check_X(self.__name .. ":" .. who, X, self.n_features_in_)
  if self.coef_:dim() == 1 then
    return X:matmul(self.coef_) + self.intercept_
  end
  return X:matmul(self.coef_:t()) + self.intercept_
end

-- ---------------------------------------------------------------------------
local LinearRegression = base.estimator("LinearRegression", MOD, {
  {"fit_intercept", true, "boolean"},
}, "regressor")
M.LinearRegression = LinearRegression

function LinearRegression:fit(X, y)
  X, y = check_reg("LinearRegression:fit", X, y)
  local coef, b, rank = core.estim_linear.linear_fit(X, y, self.fit_intercept)
  set_linear(self, coef, b, y)
  self.rank_ = rank
  self.n_features_in_ = X.shape[2]
  return self
end

function LinearRegression:predict(X) return linear_predict(self, "predict", X) end

-- ---------------------------------------------------------------------------
local Ridge = base.estimator("Ridge", MOD, {
  {"alpha", 1.0, "number"},
  {"fit_intercept", true, "boolean"},
  {"solver", "auto", {"auto", "cholesky"}},
}, "regressor")
M.Ridge = Ridge

function Ridge:fit(X, y)
  if not (self.alpha >= 0) then
    raise("Ridge:fit: alpha must be >= 0, got " .. tostring(self.alpha))
  end
  X, y = check_reg("Ridge:fit", X, y)
  local coef, b = core.estim_linear.ridge_fit(X, y, self.alpha, self.fit_intercept)
  set_linear(self, coef, b, y)
  self.n_features_in_ = X.shape[2]
  return self
end

function Ridge:predict(X) return linear_predict(self, "predict", X) end

-- ---------------------------------------------------------------------------
-- Classification helpers shared with ml.svm.

--- Checks X, y for a classifier: classes_ (sorted, y's dtype or strings),
--- 0-based ids, and an error for fewer than two classes.
function M._check_classes(who, X, y)
  X, y = base.check_Xy_labels(who, X, y)
  local classes, ids = base.encode_classes(y)
  if base.n_classes(classes) < 2 then
    raise(string.format("%s: y has a single class (%s); a classifier needs at least 2",
      who, tostring(base.class_list(classes)[1])))
  end
  return X, classes, ids
end

--- Per-class weights (a list of K numbers) from class_weight: nil (all 1),
--- "balanced" (n / (K * count)), or a table {[class value] = weight}.
function M._class_weights(who, cw, classes, ids)
  local K, w = base.n_classes(classes), {}
  for k = 1, K do w[k] = 1 end
  if cw == nil then return w end
  if cw == "balanced" then
    local counts = {}
    for k = 1, K do counts[k] = 0 end
    for _, v in ipairs(ids:totable()) do counts[v + 1] = counts[v + 1] + 1 end
    local n = ids:numel()
    for k = 1, K do w[k] = n / (K * counts[k]) end
    return w
  end
  if type(cw) ~= "table" then
    raise(who .. ": class_weight must be nil, \"balanced\" or a table {[class] = weight}")
  end
  local pos = {}
  for k, v in ipairs(base.class_list(classes)) do pos[v] = k end
  for c, v in pairs(cw) do
    if type(v) ~= "number" or not (v > 0) then
      raise(string.format("%s: class_weight[%s] must be a positive number", who, tostring(c)))
    end
    local k = pos[c] or pos[tonumber(c)]
    if not k then
      raise(string.format("%s: class_weight names class %s, which is not in y", who,
        tostring(c)))
    end
    w[k] = v
  end
  return w
end

--- Class values for 1-based positions (int64 tensor).
function M._class_values(classes, pos)
  return base.take_classes(classes, pos)
end

-- scikit-learn's ConvergenceWarning, on stderr.
function M._warn_lbfgs(max_iter, it)
  if it >= max_iter then
    io.stderr:write(string.format("warning: LogisticRegression: lbfgs stopped at max_iter = %d " ..
      "before the gradient reached tol; increase max_iter or scale the data\n", max_iter))
  end
end

local LogisticRegression = base.estimator("LogisticRegression", MOD, {
  {"penalty", "l2", {"l2", "none"}},
  {"C", 1.0, "number"},
  {"fit_intercept", true, "boolean"},
  {"max_iter", 100, "integer"},
  {"tol", 1e-4, "number"},
  {"class_weight", nil, "string|table|nil"},
  {"multi_class", "auto", {"auto", "ovr", "multinomial"}},
  {"solver", "lbfgs", {"lbfgs"}},
  {"random_state", nil, "integer|nil"},
}, "classifier")
M.LogisticRegression = LogisticRegression

--- fit(X, y [, sample_weight]): sample_weight (n) multiplies each sample's
--- loss, on top of class_weight.
function LogisticRegression:fit(X, y, sample_weight)
  local who = "LogisticRegression:fit"
  if self.penalty == "l2" and not (self.C > 0) then
    raise(who .. ": C must be positive, got " .. tostring(self.C))
  end
  if self.max_iter < 1 then raise(who .. ": max_iter must be >= 1") end
  if not (self.tol >= 0) then raise(who .. ": tol must be >= 0") end
  local classes, ids
  X, classes, ids = M._check_classes(who, X, y)
  local K, n = base.n_classes(classes), X.shape[1]
  local opts = {C = self.C, penalty = self.penalty == "l2", fit_intercept = self.fit_intercept,
                max_iter = self.max_iter, tol = self.tol}
  local multinomial = K > 2 and self.multi_class ~= "ovr"
  local sw_user
  if sample_weight ~= nil then
    sw_user = base.check_arg(who, 3, sample_weight, "tensor|table")
    if not ml.is_tensor(sw_user) then sw_user = ml.tensor(sw_user) end
    sw_user = sw_user:float():reshape(-1)
    if sw_user:numel() ~= n then
      raise(string.format("%s: sample_weight has %d entries, X has %d rows", who,
        sw_user:numel(), n))
    end
    if sw_user:lt(0):sum() > 0 or sw_user:ne(sw_user):sum() > 0 then
      raise(who .. ": sample_weight must be non-negative numbers")
    end
  end
  local function sample_weights(w, idv)
    if self.class_weight == nil then return sw_user end
    local t = {}
    for i, v in ipairs(idv) do t[i] = w[v + 1] end
    local cw = ml.tensor(t)
    return sw_user and cw * sw_user or cw
  end
  local idv = ids:totable()
  if K == 2 or multinomial then
    local w = M._class_weights(who, self.class_weight, classes, ids)
    local coef, b, it, conv = core.estim_linear.logreg_fit(X, ids, K, opts, sample_weights(w, idv))
    if not conv then M._warn_lbfgs(self.max_iter, it) end
    self.coef_, self.intercept_, self.n_iter_ = coef, b, ml.tensor({it}, "int64")
  else
    -- one-vs-rest: K binary problems, class k against the rest
    local coefs, bs, its = {}, {}, {}
    for k = 0, K - 1 do
      local yk = {}
      for i, v in ipairs(idv) do yk[i] = v == k and 1 or 0 end
      local yt = ml.tensor(yk, "int64")
      local sw = sw_user
      if self.class_weight == "balanced" then
        sw = sample_weights(M._class_weights(who, "balanced", ml.tensor{0, 1}, yt), yk)
      elseif self.class_weight ~= nil then
        sw = sample_weights(M._class_weights(who, self.class_weight, classes, ids), idv)
      end
      local c, b, it, conv = core.estim_linear.logreg_fit(X, yt, 2, opts, sw)
      if not conv then M._warn_lbfgs(self.max_iter, it) end
      coefs[k + 1], bs[k + 1], its[k + 1] = c, b, it
    end
    self.coef_ = ml.cat(coefs, 1)
    self.intercept_ = ml.cat(bs, 1)
    self.n_iter_ = ml.tensor(its, "int64")
  end
  self.classes_ = classes
  self.n_features_in_ = X.shape[2]
  self._multinomial = multinomial
  return self
end

--- Scores: n (binary) or n x K.
function LogisticRegression:decision_function(X)
  self:check_fitted("decision_function", "coef_")
  X = base.check_X("LogisticRegression:decision_function", X, self.n_features_in_)
  local s = X:matmul(self.coef_:t()) + self.intercept_
  if self.coef_.shape[1] == 1 then return s:reshape(-1) end
  return s
end

function LogisticRegression:predict_proba(X)
  local d = self:decision_function(X)
  if d:dim() == 1 then
    local p1 = d:sigmoid():reshape(-1, 1)
    return ml.cat({1 - p1, p1}, 2)
  end
  if self._multinomial or (self._multinomial == nil and self.multi_class ~= "ovr") then
    return d:softmax(2)
  end
  local p = d:sigmoid()
  return p / p:sum(2, true)
end

function LogisticRegression:predict_log_proba(X)
  return self:predict_proba(X):log()
end

function LogisticRegression:predict(X)
  local d = self:decision_function(X)
  if d:dim() == 1 then
    return M._class_values(self.classes_, d:gt(0):long() + 1)
  end
  return M._class_values(self.classes_, d:argmax(2))
end

function LogisticRegression:state()
  local s = base.Estimator.state(self)
  s.fitted.multinomial_ = self._multinomial
  return s
end

function LogisticRegression.from_state(cls, state)
  local obj = base.Estimator.from_state(cls, state)
  obj._multinomial = obj.multinomial_
  obj.multinomial_ = nil
  return obj
end

return M
