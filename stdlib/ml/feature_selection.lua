-- ml.feature_selection: univariate scores (chi2, f_classif, f_regression)
-- with p-values, SelectKBest, RFE and SequentialFeatureSelector, with
-- scikit-learn's semantics. Scores are computed column by column in double
-- precision; p-values come from the regularised incomplete gamma and beta
-- functions below (chi2 and F survival functions).
local ml = require "ml"
local core = require "ml.core"
local base = require "ml.base"
local raise = require("ml.errors").raise

local F = {}
local is_tensor = ml.is_tensor

-- ---------------------------------------------------------------------------
-- Special functions

-- log Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms: ~1e-15 relative).
local LANCZOS = {0.99999999999980993, 676.5203681218851, -1259.1392167224028,
  771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7}
local function lgamma(x)
  if x < 0.5 then
    return math.log(math.pi / math.abs(math.sin(math.pi * x))) - lgamma(1 - x)
  end
  x = x - 1
  local a = LANCZOS[1]
  local t = x + 7.5
  for i = 1, 8 do a = a + LANCZOS[i + 1] / (x + i) end
  return 0.5 * math.log(2 * math.pi) + (x + 0.5) * math.log(t) - t + math.log(a)
end
F._lgamma = lgamma

-- Regularised lower incomplete gamma P(a, x) by its series (x < a + 1).
local function gamma_series(a, x)
  local sum, del, ap = 1 / a, 1 / a, a
  for _ = 1, 10000 do
    ap = ap + 1
    del = del * x / ap
    sum = sum + del
    if math.abs(del) < math.abs(sum) * 1e-16 then break end
  end
  return sum * math.exp(-x + a * math.log(x) - lgamma(a))
end

-- Regularised upper incomplete gamma Q(a, x) by Lentz's continued fraction.
local function gamma_cf(a, x)
  local tiny = 1e-300
  local b = x + 1 - a
  local c, d = 1 / tiny, 1 / b
  local h = d
  for i = 1, 10000 do
    local an = -i * (i - a)
    b = b + 2
    d = an * d + b
    if math.abs(d) < tiny then d = tiny end
    c = b + an / c
    if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    local del = d * c
    h = h * del
    if math.abs(del - 1) < 1e-16 then break end
  end
  return math.exp(-x + a * math.log(x) - lgamma(a)) * h
end

--- Q(a, x) = Gamma(a, x) / Gamma(a), the upper regularised incomplete gamma.
function F.gammaincc(a, x)
  if x <= 0 then return 1 end
  if x < a + 1 then return 1 - gamma_series(a, x) end
  return gamma_cf(a, x)
end

-- Continued fraction of the incomplete beta (Numerical Recipes' betacf).
local function betacf(a, b, x)
  local tiny = 1e-300
  local qab, qap, qam = a + b, a + 1, a - 1
  local c, d = 1, 1 - qab * x / qap
  if math.abs(d) < tiny then d = tiny end
  d = 1 / d
  local h = d
  for m = 1, 10000 do
    local m2 = 2 * m
    local aa = m * (b - m) * x / ((qam + m2) * (a + m2))
    d = 1 + aa * d; if math.abs(d) < tiny then d = tiny end
    c = 1 + aa / c; if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    h = h * d * c
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
    d = 1 + aa * d; if math.abs(d) < tiny then d = tiny end
    c = 1 + aa / c; if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    local del = d * c
    h = h * del
    if math.abs(del - 1) < 1e-16 then break end
  end
  return h
end

--- I_x(a, b), the regularised incomplete beta function.
function F.betainc(a, b, x)
  if x <= 0 then return 0 end
  if x >= 1 then return 1 end
  local lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * math.log(x) + b * math.log(1 - x)
  if x < (a + 1) / (a + b + 2) then return math.exp(lbt) * betacf(a, b, x) / a end
  return 1 - math.exp(lbt) * betacf(b, a, 1 - x) / b
end

--- Survival function of the chi-squared distribution with df degrees of freedom.
function F.chi2_sf(x, df)
  if x ~= x then return 0 / 0 end
  return F.gammaincc(df / 2, x / 2)
end

--- Survival function of the F distribution (d1, d2 degrees of freedom).
function F.f_sf(f, d1, d2)
  if f ~= f then return 0 / 0 end
  if f <= 0 then return 1 end
  return F.betainc(d2 / 2, d1 / 2, d2 / (d2 + d1 * f))
end

-- ---------------------------------------------------------------------------
-- Univariate scores

local function columns(X)
  local cols = {}
  for j = 1, X.shape[2] do cols[j] = X:select(2, j):totable() end
  return cols
end

local function classes_of(y)
  local ys = ml.is_tensor(y) and y:totable() or y
  local seen, cls = {}, {}
  for _, v in ipairs(ys) do if not seen[v] then seen[v] = true; cls[#cls + 1] = v end end
  table.sort(cls)
  local id = {}
  for i, v in ipairs(cls) do id[v] = i end
  local ids = {}
  for i, v in ipairs(ys) do ids[i] = id[v] end
  return ids, #cls
end

local function tensors(s, p) return ml.tensor(s), ml.tensor(p), s, p end

--- chi2(X, y) -> scores, pvalues (float32 tensors), then the same as Lua lists
--- (double precision). X must be non-negative (counts, frequencies, 0/1).
function F.chi2(X, y)
  X, y = base.check_Xy_labels("chi2", X, y)
  if X:min() < 0 then raise("chi2: X must be non-negative (counts or frequencies)") end
  local ids, K = classes_of(y)
  local n = #ids
  local cprob = {}
  for k = 1, K do cprob[k] = 0 end
  for _, k in ipairs(ids) do cprob[k] = cprob[k] + 1 end
  for k = 1, K do cprob[k] = cprob[k] / n end
  local scores, pvals = {}, {}
  for j, col in ipairs(columns(X)) do
    local obs, total = {}, 0
    for k = 1, K do obs[k] = 0 end
    for i = 1, n do obs[ids[i]] = obs[ids[i]] + col[i]; total = total + col[i] end
    local chi = 0
    for k = 1, K do
      local e = cprob[k] * total
      chi = chi + (obs[k] - e) ^ 2 / e     -- 0/0 = NaN for an all-zero feature, as sklearn
    end
    scores[j] = chi
    pvals[j] = F.chi2_sf(chi, K - 1)
  end
  if K < 2 then
    -- scikit-learn binarises a single class into one column: 0 degrees of freedom
    for j = 1, #scores do pvals[j] = 0 / 0 end
  end
  return tensors(scores, pvals)
end

--- ANOVA F-value between each feature and the class labels.
function F.f_classif(X, y)
  X, y = base.check_Xy_labels("f_classif", X, y)
  local ids, K = classes_of(y)
  local n = #ids
  local nk = {}
  for k = 1, K do nk[k] = 0 end
  for _, k in ipairs(ids) do nk[k] = nk[k] + 1 end
  local dfb, dfw = K - 1, n - K
  local scores, pvals = {}, {}
  for j, col in ipairs(columns(X)) do
    local mean = 0
    for i = 1, n do mean = mean + col[i] end
    mean = mean / n
    local sums, sstot = {}, 0
    for k = 1, K do sums[k] = 0 end
    for i = 1, n do
      local d = col[i] - mean
      sstot = sstot + d * d
      sums[ids[i]] = sums[ids[i]] + d
    end
    local ssbn = 0
    for k = 1, K do ssbn = ssbn + sums[k] * sums[k] / nk[k] end
    local sswn = sstot - ssbn
    local f = (ssbn / dfb) / (sswn / dfw)
    scores[j] = f
    pvals[j] = F.f_sf(f, dfb, dfw)
  end
  return tensors(scores, pvals)
end

--- Univariate linear-regression F-value (center = true), as scikit-learn.
function F.f_regression(X, y)
  X, y = base.check_Xy("f_regression", X, y)
  local ys = y:totable()
  local n = #ys
  local ym = 0
  for i = 1, n do ym = ym + ys[i] end
  ym = ym / n
  local yss = 0
  for i = 1, n do yss = yss + (ys[i] - ym) ^ 2 end
  local scores, pvals = {}, {}
  for j, col in ipairs(columns(X)) do
    local xm = 0
    for i = 1, n do xm = xm + col[i] end
    xm = xm / n
    local sxy, sxx = 0, 0
    for i = 1, n do
      local d = col[i] - xm
      sxy = sxy + d * (ys[i] - ym)
      sxx = sxx + d * d
    end
    local r = sxy / math.sqrt(sxx * yss)
    local f = r * r / (1 - r * r) * (n - 2)
    scores[j] = f
    pvals[j] = F.f_sf(f, 1, n - 2)
  end
  return tensors(scores, pvals)
end

local score_funcs = {chi2 = F.chi2, f_classif = F.f_classif, f_regression = F.f_regression}

-- ---------------------------------------------------------------------------
-- SelectKBest

local SelectKBest = base.estimator("SelectKBest", "ml.feature_selection",
  {{"score_func", "f_classif", "string|function"}, {"k", 10, "integer|string"}}, "transformer")
F.SelectKBest = SelectKBest

--- scores_, pvalues_ (float32 tensors; nil p-values for a custom function
--- returning scores only), n_features_in_.
function SelectKBest:fit(X, y)
  local fn = self.score_func
  if type(fn) == "string" then
    fn = score_funcs[fn]
    if not fn then
      raise(string.format("SelectKBest: unknown score_func '%s' (expected chi2, f_classif, "
        .. "f_regression or a function)", self.score_func))
    end
  end
  X = base.check_Xy_labels("SelectKBest:fit", X, y)   -- y goes on as given (labels keep their kind)
  base.check_finite("SelectKBest:fit", X)
  local nf = X.shape[2]
  local k = self.k
  if k == "all" then k = nf
  elseif type(k) == "string" then raise("SelectKBest: k must be an integer or \"all\"") end
  if k < 0 or k > nf then
    raise(string.format("SelectKBest: k = %d must be between 0 and the number of features (%d)",
      k, nf))
  end
  local s, p, slist = fn(X, y)
  if not is_tensor(s) then s = ml.tensor(s) end
  self.scores_, self.pvalues_ = s, p
  self.n_features_in_ = nf
  slist = slist or s:totable()
  -- scikit-learn: stable ascending argsort, keep the last k (NaN scores lowest)
  local order = {}
  for j = 1, nf do order[j] = j end
  local function key(j) local v = slist[j]; return v ~= v and -math.huge or v end
  table.sort(order, function(a, b)
    local ka, kb = key(a), key(b)
    if ka ~= kb then return ka < kb end
    return a < b
  end)
  local mask = {}
  for j = 1, nf do mask[j] = 0 end
  for i = nf - k + 1, nf do mask[order[i]] = 1 end
  self.support_mask_ = mask
  return self
end

--- 0/1 float32 mask of the kept features, or (indices = true) their
--- 1-based positions as an int64 tensor.
function SelectKBest:get_support(indices)
  self:check_fitted("get_support", "support_mask_")
  if indices then
    local idx = {}
    for j, m in ipairs(self.support_mask_) do if m == 1 then idx[#idx + 1] = j end end
    return #idx > 0 and ml.tensor(idx, "int64") or ml.zeros(0):long()
  end
  return ml.tensor(self.support_mask_)
end

local function select_columns(who, X, idx, nf)
  if type(X) == "table" and getmetatable(X) and getmetatable(X).__name == "DataFrame" then
    local names = {}
    for i, j in ipairs(idx:totable()) do names[i] = X.columns[j] end
    return X:select(names)
  end
  X = base.check_X(who, X, nf)
  if idx:numel() == 0 then return ml.zeros(X.shape[1], 0) end
  return X:index_select(2, idx)
end

function SelectKBest:transform(X)
  return select_columns("SelectKBest:transform", X, self:get_support(true), self.n_features_in_)
end

--- Names of the kept features, from names (a list) or x0, x1, ...
function SelectKBest:get_feature_names_out(names)
  local out = {}
  for _, j in ipairs(self:get_support(true):totable()) do
    out[#out + 1] = names and names[j] or ("x" .. (j - 1))
  end
  return out
end

-- ---------------------------------------------------------------------------
-- RFE

-- |coef_| (summed over classes when 2-D) or feature_importances_, as a Lua list.
local function importances(est, who)
  local coef = est.coef_
  if coef ~= nil then
    if not is_tensor(coef) then coef = ml.tensor(coef) end
    if coef:dim() == 2 then
      if coef.shape[1] == 1 then return coef:reshape(-1):abs():totable() end
      return coef:abs():sum(1):totable()
    end
    return coef:abs():totable()
  end
  local fi = est.feature_importances_
  if fi ~= nil then return (is_tensor(fi) and fi or ml.tensor(fi)):totable() end
  raise(string.format("%s: %s has neither coef_ nor feature_importances_ after fit; use an "
    .. "estimator that has one (a linear model or a tree ensemble)", who,
    tostring(est.__name or "the estimator")))
end

local RFE = base.class("RFE")
F.RFE = RFE
RFE._module = "ml.feature_selection"

--- RFE(est, {n_features_to_select = half, step = 1}): ranking_ (1 = kept),
--- support_ (0/1 tensor), estimator_ (fitted on the kept features).
function RFE:init(est, opts)
  if type(est) ~= "table" or type(est.fit) ~= "function" then
    raise("RFE: expected an estimator, got " .. type(est))
  end
  local o = base.options("RFE", opts, {{"n_features_to_select", nil, "number|nil"},
    {"step", 1, "number"}, {"verbose", 0, "integer"}})
  self.estimator = est
  self.n_features_to_select, self.step, self.verbose = o.n_features_to_select, o.step, o.verbose
  self._estimator_type = est._estimator_type
end

function RFE:fit(X, y)
  X = base.check_Xy_labels("RFE:fit", X, y)   -- y goes on as given (labels keep their kind)
  local nf = X.shape[2]
  local want = self.n_features_to_select
  if want == nil then want = nf // 2
  elseif want > 0 and want < 1 then want = math.floor(want * nf) end
  want = math.tointeger(want) or math.floor(want)
  if want < 1 or want > nf then
    raise(string.format("RFE: n_features_to_select = %s must be in 1..%d", tostring(want), nf))
  end
  local step = self.step
  if step > 0 and step < 1 then step = math.max(1, math.floor(step * nf))
  elseif step <= 0 then raise("RFE: step must be positive") end
  step = math.floor(step)
  local support, ranking = {}, {}
  for j = 1, nf do support[j], ranking[j] = true, 1 end
  local left = nf
  while left > want do
    local feats = {}
    for j = 1, nf do if support[j] then feats[#feats + 1] = j end end
    local e = ml.clone(self.estimator)
    e:fit(X:index_select(2, ml.tensor(feats, "int64")), y)
    local imp = importances(e, "RFE")
    local order = {}
    for i = 1, #feats do order[i] = i end
    table.sort(order, function(a, b)
      if imp[a] ~= imp[b] then return imp[a] < imp[b] end
      return a < b
    end)
    local drop = math.min(step, left - want)
    for i = 1, drop do support[feats[order[i]]] = false end
    for j = 1, nf do if not support[j] then ranking[j] = ranking[j] + 1 end end
    left = left - drop
  end
  local feats, mask = {}, {}
  for j = 1, nf do
    mask[j] = support[j] and 1 or 0
    if support[j] then feats[#feats + 1] = j end
  end
  self.estimator_ = ml.clone(self.estimator):fit(X:index_select(2, ml.tensor(feats, "int64")), y)
  self.support_ = ml.tensor(mask)
  self.ranking_ = ml.tensor(ranking, "int64")
  self.n_features_ = #feats
  self.n_features_in_ = nf
  self.classes_ = self.estimator_.classes_
  return self
end

local function support_idx(self, who)
  if not self.support_ then raise(string.format("%s:%s: call fit first", self.__name, who)) end
  local idx = {}
  for j, m in ipairs(self.support_:totable()) do if m == 1 then idx[#idx + 1] = j end end
  return #idx > 0 and ml.tensor(idx, "int64") or ml.zeros(0):long()
end

function RFE:get_support(indices)
  if indices then return support_idx(self, "get_support") end
  support_idx(self, "get_support")
  return self.support_
end
function RFE:transform(X)
  return select_columns("RFE:transform", X, support_idx(self, "transform"), self.n_features_in_)
end
function RFE:fit_transform(X, y) return self:fit(X, y):transform(X) end
function RFE:predict(X) return self.estimator_:predict(self:transform(X)) end
function RFE:predict_proba(X) return self.estimator_:predict_proba(self:transform(X)) end
function RFE:score(X, y) return self.estimator_:score(self:transform(X), y) end
RFE.get_feature_names_out = SelectKBest.get_feature_names_out

-- ---------------------------------------------------------------------------
-- SequentialFeatureSelector

local SFS = base.class("SequentialFeatureSelector")
F.SequentialFeatureSelector = SFS
SFS._module = "ml.feature_selection"

--- SequentialFeatureSelector(est, {n_features_to_select = half, direction =
--- "forward"|"backward", cv = 5, scoring, n_jobs = 1, tol}): greedily adds
--- (or removes) the feature whose cross-validated score is best. support_.
function SFS:init(est, opts)
  if type(est) ~= "table" or type(est.fit) ~= "function" then
    raise("SequentialFeatureSelector: expected an estimator, got " .. type(est))
  end
  local o = base.options("SequentialFeatureSelector", opts,
    {{"n_features_to_select", nil, "number|string|nil"},
     {"direction", "forward", {"forward", "backward"}}, {"cv", 5, "any"},
     {"scoring", nil, "any"}, {"n_jobs", 1, "integer"}, {"tol", nil, "number|nil"}})
  self.estimator = est
  for k, v in pairs(o) do self[k] = v end
  self._estimator_type = est._estimator_type
end

function SFS:fit(X, y)
  X = base.check_Xy_labels("SequentialFeatureSelector:fit", X, y)   -- y goes on as given
  local S = require "ml.model_selection"
  local nf = X.shape[2]
  local want = self.n_features_to_select
  local auto = want == "auto"
  if want == nil or auto then want = nf // 2
  elseif type(want) == "number" and want > 0 and want < 1 then want = math.floor(want * nf) end
  if type(want) ~= "number" then
    raise("SequentialFeatureSelector: n_features_to_select must be a number or \"auto\"")
  end
  want = math.floor(want)
  if want < 1 or want >= nf then
    raise(string.format("SequentialFeatureSelector: n_features_to_select = %d must be in 1..%d",
      want, nf - 1))
  end
  local forward = self.direction == "forward"
  local n_iter = forward and want or nf - want
  local current = {}                -- forward: chosen; backward: removed
  for j = 1, nf do current[j] = false end
  local old = -math.huge
  local est, cv, scoring = self.estimator, self.cv, self.scoring
  self.scores_ = {}
  for _ = 1, n_iter do
    local cands = {}
    for j = 1, nf do if not current[j] then cands[#cands + 1] = j end end
    local scores = ml.parallel.map(function(j)
      local feats = {}
      for f = 1, nf do
        local on = current[f] or f == j
        if not forward then on = not on end
        if on then feats[#feats + 1] = f end
      end
      local Xs = X:index_select(2, ml.tensor(feats, "int64"))
      return S.cross_val_score(est, Xs, y, {cv = cv, scoring = scoring}):mean()
    end, cands, {n_jobs = self.n_jobs})
    local best = 1
    for i = 2, #cands do if scores[i] > scores[best] then best = i end end
    if auto and self.tol and scores[best] - old < self.tol then break end
    old = scores[best]
    current[cands[best]] = true
    self.scores_[#self.scores_ + 1] = scores[best]
  end
  local mask, count = {}, 0
  for j = 1, nf do
    local on = current[j]
    if not forward then on = not on end
    mask[j] = on and 1 or 0
    if on then count = count + 1 end
  end
  self.support_ = ml.tensor(mask)
  self.n_features_to_select_ = count
  self.n_features_in_ = nf
  return self
end

SFS.get_support = RFE.get_support
SFS.transform = RFE.transform
SFS.get_feature_names_out = SelectKBest.get_feature_names_out
function SFS:fit_transform(X, y) return self:fit(X, y):transform(X) end

return F
