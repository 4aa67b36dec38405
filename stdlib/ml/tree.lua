-- ml.tree: DecisionTreeClassifier and DecisionTreeRegressor with
-- scikit-learn's options, defaults and fitted attributes. The trees are grown
-- in C (runtime/estim/tree.c) exactly as scikit-learn grows them, so the same
-- data and random_state give the same tree; this file is the sklearn-shaped
-- front plus the helpers the ensembles share (ml.ensemble).
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local M = {}
local H = {}   -- helpers shared with ml.ensemble
M._helpers = H

--- max_features as scikit-learn resolves it: nil (all), "sqrt", "log2", an
--- integer count or a float fraction.
function H.max_features(who, mf, d)
  if mf == nil then return d end
  local k
  if mf == "sqrt" then k = math.max(1, math.floor(math.sqrt(d)))
  elseif mf == "log2" then k = math.max(1, math.floor(math.log(d, 2)))
  elseif math.type(mf) == "integer" then
    if mf < 1 or mf > d then
      raise(string.format("%s: max_features must be in [1, %d] (n_features), got %d", who, d, mf))
    end
    k = mf
  elseif type(mf) == "number" then
    if not (mf > 0 and mf <= 1) then
      raise(string.format("%s: max_features as a fraction must be in (0, 1], got %s", who,
        tostring(mf)))
    end
    k = math.max(1, math.floor(mf * d))
  else
    raise(string.format('%s: max_features expected nil, "sqrt", "log2", an integer or a float, got %s',
      who, tostring(mf)))
  end
  return k
end

--- Checks the options shared by trees and forests; errors name the option.
function H.check_tree_options(who, o, regression)
  local crit = o.criterion
  if regression then
    if crit ~= "squared_error" then
      raise(string.format('%s: option \'criterion\' expected "squared_error", got %q', who,
        tostring(crit)))
    end
  elseif crit ~= "gini" and crit ~= "entropy" and crit ~= "log_loss" then
    raise(string.format('%s: option \'criterion\' expected "gini", "entropy" or "log_loss", got %q',
      who, tostring(crit)))
  end
  if o.max_depth ~= nil and o.max_depth < 1 then
    raise(string.format("%s: option 'max_depth' must be nil or >= 1, got %s", who, o.max_depth))
  end
  local mss = o.min_samples_split
  if not ((math.type(mss) == "integer" and mss >= 2) or (math.type(mss) == "float" and mss > 0 and mss <= 1)) then
    raise(string.format("%s: option 'min_samples_split' must be an integer >= 2 or a float in (0, 1], got %s",
      who, tostring(mss)))
  end
  local msl = o.min_samples_leaf
  if not ((math.type(msl) == "integer" and msl >= 1) or (math.type(msl) == "float" and msl > 0 and msl < 1)) then
    raise(string.format("%s: option 'min_samples_leaf' must be an integer >= 1 or a float in (0, 1), got %s",
      who, tostring(msl)))
  end
  if (o.min_impurity_decrease or 0) < 0 then
    raise(string.format("%s: option 'min_impurity_decrease' must be >= 0, got %s", who,
      tostring(o.min_impurity_decrease)))
  end
  local rs = o.random_state
  if rs ~= nil and (rs < 0 or rs > 4294967295) then
    raise(string.format("%s: option 'random_state' must be nil or an integer in [0, 2^32 - 1], got %s",
      who, tostring(rs)))
  end
end

--- A random_state for C: the given integer, or one drawn from the engine's
--- generator when nil (so ml.manual_seed makes runs repeatable).
function H.seed(rs)
  if rs ~= nil then return math.tointeger(rs) end
  return math.floor(ml.rand(1):item() * 4294967295)
end

--- The C options for a tree fit from the estimator's params.
function H.tree_opts(self, who, n, d, n_classes)
  local mss, msl = self.min_samples_split, self.min_samples_leaf
  if math.type(mss) == "float" then mss = math.max(2, math.ceil(mss * n)) end
  if math.type(msl) == "float" then msl = math.max(1, math.ceil(msl * n)) end
  return {
    who = who, n_classes = n_classes, criterion = self.criterion,
    max_depth = self.max_depth and math.tointeger(self.max_depth) or -1,
    min_samples_split = math.tointeger(mss), min_samples_leaf = math.tointeger(msl),
    max_features = H.max_features(who, self.max_features, d),
    min_impurity_decrease = self.min_impurity_decrease or 0.0,
  }
end

--- Per-sample weights from class_weight (nil, "balanced" or {[class] = w})
--- times sample_weight; nil when all are one.
function H.sample_weights(who, class_weight, classes, ids, sample_weight)
  local n = ids:numel()
  if class_weight == nil and sample_weight == nil then return nil end
  local w = {}
  local sw = sample_weight and base.check_arg(who, 3, sample_weight, "tensor|table")
  if sw then
    if not ml.is_tensor(sw) then sw = ml.tensor(sw) end
    if sw:numel() ~= n then
      raise(string.format("%s: sample_weight has %d entries but X has %d rows", who, sw:numel(), n))
    end
    sw = sw:reshape(-1):totable()
  end
  local cw
  if class_weight ~= nil then
    local K, idt = base.n_classes(classes), ids:totable()
    local cls = base.class_list(classes)
    cw = {}
    if class_weight == "balanced" then
      local count = {}
      for k = 1, K do count[k] = 0 end
      for i = 1, n do count[idt[i] + 1] = count[idt[i] + 1] + 1 end
      for k = 1, K do cw[k] = n / (K * count[k]) end
    elseif type(class_weight) == "table" then
      local pos = {}
      for k = 1, K do pos[cls[k]] = k; cw[k] = 1.0 end
      for c, v in pairs(class_weight) do
        if not pos[c] then
          raise(string.format("%s: class_weight names class %s, which is not in y (classes: %s)",
            who, tostring(c), table.concat(cls, ", ")))
        end
        if type(v) ~= "number" or v < 0 then
          raise(string.format("%s: class_weight[%s] must be a number >= 0", who, tostring(c)))
        end
        cw[pos[c]] = v
      end
    else
      raise(string.format('%s: option \'class_weight\' expected nil, "balanced" or a table, got %s',
        who, tostring(class_weight)))
    end
    for i = 1, n do w[i] = cw[idt[i] + 1] * (sw and sw[i] or 1) end
  else
    for i = 1, n do w[i] = sw[i] end
  end
  return ml.tensor(w)
end

--- Class values from probabilities (argmax, first on ties as numpy).
function H.predict_classes(classes, proba)
  return base.take_classes(classes, proba:argmax(2):reshape(-1))
end

--- state()/from_state() for estimators whose trees live in C: params, the
--- plain fitted attributes, and the node arrays of every tree.
function H.state(self)
  local s = base.Estimator.state(self)
  if self._ens then s.trees = self._ens:state() end
  for k, v in pairs(s.fitted) do
    if type(v) == "userdata" and not ml.is_tensor(v) then s.fitted[k] = nil end
  end
  return s
end

function H.from_state(cls, state)
  local obj = base.Estimator.from_state(cls, state)
  if state.trees then obj._ens = core.estim_tree.ensemble_from_state(state.trees) end
  return obj
end

-- ---------------------------------------------------------------------------

local tree_spec = {
  {"criterion", "gini", "string"},
  {"splitter", "best", {"best"}},
  {"max_depth", nil, "integer|nil"},
  {"min_samples_split", 2, "number"},
  {"min_samples_leaf", 1, "number"},
  {"max_features", nil, "number|string|nil"},
  {"random_state", nil, "integer|nil"},
  {"min_impurity_decrease", 0.0, "number"},
  {"class_weight", nil, "string|table|nil"},
}

local reg_spec = {}
for _, s in ipairs(tree_spec) do
  if s[1] == "criterion" then reg_spec[#reg_spec + 1] = {"criterion", "squared_error", "string"}
  elseif s[1] ~= "class_weight" then reg_spec[#reg_spec + 1] = s end
end

local TreeBase = base.class("TreeBase", base.Estimator)

function TreeBase:get_depth()
  self:check_fitted("get_depth", "n_features_in_")
  local _, depth = self._ens:info(1)
  return depth
end

function TreeBase:get_n_leaves()
  self:check_fitted("get_n_leaves", "n_features_in_")
  local _, _, leaves = self._ens:info(1)
  return leaves
end

--- 1-based index of the leaf each sample lands in (as sklearn's apply, +1).
function TreeBase:apply(X)
  self:check_fitted("apply", "n_features_in_")
  X = base.check_X(self.__name .. ":apply", X, self.n_features_in_)
  return self._ens:apply(X, 1)
end

function TreeBase:_fit(X, y, ids, n_classes, sample_weight)
  local who = self.__name .. ":fit"
  H.check_tree_options(who, self, n_classes == 0)
  local o = H.tree_opts(self, who, X.shape[1], X.shape[2], n_classes)
  o.random_state = H.seed(self.random_state)
  o.sample_weight = H.sample_weights(who, self.class_weight, self.classes_, ids or y,
    sample_weight)
  self._ens = core.estim_tree.tree_fit(X, ids or y, o)
  self.n_features_in_ = X.shape[2]
  self.feature_importances_ = self._ens:importances()
  local nodes, depth, leaves = self._ens:info(1)
  self.tree_ = {node_count = nodes, max_depth = depth, n_leaves = leaves}
  return self
end

TreeBase.state = H.state
TreeBase.from_state = H.from_state

local DecisionTreeClassifier = base.estimator("DecisionTreeClassifier", "ml.tree", tree_spec,
  "classifier", TreeBase)
M.DecisionTreeClassifier = DecisionTreeClassifier

--- fit(X, y [, sample_weight]) -> self
function DecisionTreeClassifier:fit(X, y, sample_weight)
  X, y = base.check_Xy_labels(self.__name .. ":fit", X, y)
  local classes, ids = base.encode_classes(y)
  self.classes_ = classes
  self.n_classes_ = base.n_classes(classes)
  return self:_fit(X, y, ids, self.n_classes_, sample_weight)
end

--- Class probabilities of a fitted tree ensemble (a tree or a forest).
function H.predict_proba(self, X)
  self:check_fitted("predict_proba", "n_features_in_")
  local who = self.__name .. ":predict_proba"
  X = base.check_X(who, X, self.n_features_in_)
  return self._ens:predict(X, {who = who})
end

DecisionTreeClassifier.predict_proba = H.predict_proba

function DecisionTreeClassifier:predict(X)
  self:check_fitted("predict", "n_features_in_")
  local who = self.__name .. ":predict"
  X = base.check_X(who, X, self.n_features_in_)
  return H.predict_classes(self.classes_, self._ens:predict(X, {who = who}))
end

local DecisionTreeRegressor = base.estimator("DecisionTreeRegressor", "ml.tree", reg_spec,
  "regressor", TreeBase)
M.DecisionTreeRegressor = DecisionTreeRegressor

function DecisionTreeRegressor:fit(X, y, sample_weight)
  X, y = base.check_Xy(self.__name .. ":fit", X, y)
  return self:_fit(X, y:float(), nil, 0, sample_weight)
end

function DecisionTreeRegressor:predict(X)
  self:check_fitted("predict", "n_features_in_")
  local who = self.__name .. ":predict"
  X = base.check_X(who, X, self.n_features_in_)
  return self._ens:predict(X, {who = who}):reshape(-1)
end

return M
