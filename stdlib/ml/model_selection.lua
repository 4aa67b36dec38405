-- ml.model_selection: splitters, train_test_split, cross-validation and
-- hyper-parameter search with scikit-learn's names and semantics.
--
-- Index tensors are int64 and 1-based. Without shuffling, KFold and
-- StratifiedKFold give exactly scikit-learn's folds. Shuffles come from our
-- own generator (seeded by random_state, or by ml.seed when it is nil), so
-- they are reproducible but not numpy's. Fits of cross_val_score,
-- GridSearchCV and RandomizedSearchCV run on ml.parallel's workers (n_jobs).
local ml = require "ml"
local core = require "ml.core"
local base = require "ml.base"
local Dist = require "ml.distributions"
local raise = require("ml.errors").raise

local S = {}
local is_tensor = ml.is_tensor
local function mt_name(v) local m = type(v) == "table" and getmetatable(v); return m and m.__name end
local function typename(v) return is_tensor(v) and "tensor" or (mt_name(v) or type(v)) end

--- Number of rows of a tensor, DataFrame, Series or Lua list.
local function nrows(who, A)
  if is_tensor(A) then
    if A:dim() == 0 then raise(who .. ": expected an array with rows, got a scalar tensor") end
    return A.shape[1]
  end
  local m = mt_name(A)
  if m == "DataFrame" or m == "Series" then return #A end
  if type(A) == "table" then return #A end
  raise(string.format("%s: expected a tensor, a DataFrame or a list, got %s", who, typename(A)))
end

--- Rows idx (an int64 tensor of 1-based positions) of A.
local function take(A, idx)
  if is_tensor(A) then return core.data.frame_take(A, idx) end
  local m = mt_name(A)
  if m == "DataFrame" then return A:_take(idx - 1) end
  if m == "Series" then return A:_take(idx - 1) end
  local out, t = {}, idx:totable()
  for i, k in ipairs(t) do out[i] = A[k] end
  return out
end
S._take = take

local function idx_tensor(list)
  if #list == 0 then return ml.zeros(0):long() end
  return ml.tensor(list, "int64")
end

-- Labels as a Lua list (tensor, Series or list).
local function label_list(y)
  if is_tensor(y) then return y:reshape(-1):totable() end
  if mt_name(y) == "Series" then return y:totable() end
  return y
end

-- ---------------------------------------------------------------------------
-- KFold

local KFold = base.class("KFold")
S.KFold = KFold

function KFold:init(opts)
  local o = base.options("KFold", opts, {{"n_splits", 5, "integer"}, {"shuffle", false, "boolean"},
    {"random_state", nil, "integer|nil"}})
  if o.n_splits < 2 then
    raise(string.format("KFold: n_splits must be at least 2, got %d", o.n_splits))
  end
  if not o.shuffle and o.random_state ~= nil then
    raise("KFold: random_state has no effect without shuffle = true")
  end
  self.n_splits, self.shuffle, self.random_state = o.n_splits, o.shuffle, o.random_state
end

function KFold:get_n_splits() return self.n_splits end

-- Test folds as lists of 1-based positions; each is sorted (as scikit-learn
-- returns indices in ascending order even after shuffling).
function KFold:_folds(n)
  if self.n_splits > n then
    raise(string.format("KFold: cannot have n_splits = %d greater than the number of samples %d",
      self.n_splits, n))
  end
  local order = {}
  for i = 1, n do order[i] = i end
  if self.shuffle then Dist.rng(self.random_state):shuffle(order) end
  local folds, start = {}, 1
  for k = 1, self.n_splits do
    local size = n // self.n_splits + ((k <= n % self.n_splits) and 1 or 0)
    local f = {}
    for i = start, start + size - 1 do f[#f + 1] = order[i] end
    table.sort(f)
    folds[k] = f
    start = start + size
  end
  return folds
end

local function iterate(folds, n)
  local k = 0
  return function()
    k = k + 1
    local f = folds[k]
    if not f then return nil end
    local in_test = {}
    for _, i in ipairs(f) do in_test[i] = true end
    local train = {}
    for i = 1, n do if not in_test[i] then train[#train + 1] = i end end
    return idx_tensor(train), idx_tensor(f)
  end
end

--- for train_idx, test_idx in kf:split(X) do ... end (int64, 1-based)
function KFold:split(X)
  local n = nrows("KFold:split", X)
  return iterate(self:_folds(n), n)
end

function KFold:__repr()
  return string.format("KFold{n_splits = %d, shuffle = %s}", self.n_splits, tostring(self.shuffle))
end

-- ---------------------------------------------------------------------------
-- StratifiedKFold

local StratifiedKFold = base.class("StratifiedKFold", KFold)
S.StratifiedKFold = StratifiedKFold

function StratifiedKFold:init(opts)
  KFold.init(self, opts)
end

-- scikit-learn 1.2's _make_test_folds: classes numbered by first appearance,
-- sorted labels dealt round-robin to folds, per-class fold lists assigned in
-- row order (or shuffled).
function StratifiedKFold:_folds(n, y)
  local ys = label_list(y)
  if #ys ~= n then
    raise(string.format("StratifiedKFold: X has %d rows but y has %d", n, #ys))
  end
  local code, first, counts = {}, {}, {}
  local enc = {}
  for i, v in ipairs(ys) do
    if code[v] == nil then first[#first + 1] = v; code[v] = #first - 1; counts[#first] = 0 end
    enc[i] = code[v]
    counts[code[v] + 1] = counts[code[v] + 1] + 1
  end
  local K, k = self.n_splits, #first
  local all_small = true
  for c = 1, k do if counts[c] >= K then all_small = false end end
  if all_small then
    raise(string.format("StratifiedKFold: n_splits = %d cannot be greater than the number of "
      .. "members in each class", K))
  end
  local sorted = {}
  for i = 1, n do sorted[i] = enc[i] end
  table.sort(sorted)
  -- allocation[f][c]: members of class c in fold f
  local alloc = {}
  for f = 1, K do
    alloc[f] = {}
    for c = 0, k - 1 do alloc[f][c] = 0 end
    for i = f, n, K do alloc[f][sorted[i]] = alloc[f][sorted[i]] + 1 end
  end
  local rng = self.shuffle and Dist.rng(self.random_state)
  local test_fold = {}
  for c = 0, k - 1 do
    local folds_for_class = {}
    for f = 1, K do for _ = 1, alloc[f][c] do folds_for_class[#folds_for_class + 1] = f end end
    if rng then rng:shuffle(folds_for_class) end
    local j = 0
    for i = 1, n do
      if enc[i] == c then j = j + 1; test_fold[i] = folds_for_class[j] end
    end
  end
  local folds = {}
  for f = 1, K do folds[f] = {} end
  for i = 1, n do local f = folds[test_fold[i]]; f[#f + 1] = i end
  return folds
end

function StratifiedKFold:split(X, y)
  if y == nil then raise("StratifiedKFold:split: y is required") end
  local n = nrows("StratifiedKFold:split", X)
  return iterate(self:_folds(n, y), n)
end

function StratifiedKFold:__repr()
  return string.format("StratifiedKFold{n_splits = %d, shuffle = %s}", self.n_splits,
    tostring(self.shuffle))
end

-- ---------------------------------------------------------------------------
-- train_test_split

-- scikit-learn's _approximate_mode: class counts for n_draws, floors plus
-- the largest remainders (ties broken at random).
local function approximate_mode(counts, n_draws, rng)
  local total = 0
  for _, c in ipairs(counts) do total = total + c end
  local floored, rem, need = {}, {}, n_draws
  for i, c in ipairs(counts) do
    local cont = c / total * n_draws
    floored[i] = math.floor(cont)
    rem[i] = cont - floored[i]
    need = need - floored[i]
  end
  while need > 0 do
    local best = -1
    for i = 1, #counts do if rem[i] > best then best = rem[i] end end
    local ties = {}
    for i = 1, #counts do if rem[i] == best then ties[#ties + 1] = i end end
    rng:shuffle(ties)
    for t = 1, math.min(#ties, need) do
      floored[ties[t]] = floored[ties[t]] + 1
      rem[ties[t]] = -1
      need = need - 1
    end
  end
  return floored
end

local split_spec = {{"test_size", nil, "number|nil"}, {"train_size", nil, "number|nil"},
  {"random_state", nil, "integer|nil"}, {"shuffle", true, "boolean"}, {"stratify", nil, "any"}}

local function split_sizes(n, test_size, train_size)
  local function check(name, v)
    if v == nil then return end
    if v <= 0 or (v >= 1 and math.type(v) ~= "integer" and v ~= math.floor(v)) or
       (v >= 1 and v >= n) then
      raise(string.format("train_test_split: %s = %s is not a fraction in (0, 1) or a count below %d",
        name, tostring(v), n))
    end
  end
  check("test_size", test_size)
  check("train_size", train_size)
  if test_size == nil and train_size == nil then test_size = 0.25 end
  local n_test = test_size and (test_size < 1 and math.ceil(test_size * n) or math.floor(test_size))
  local n_train = train_size and (train_size < 1 and math.floor(train_size * n) or
    math.floor(train_size))
  n_test = n_test or n - n_train
  n_train = n_train or n - n_test
  if n_train + n_test > n then
    raise(string.format("train_test_split: train (%d) and test (%d) sizes exceed the %d samples",
      n_train, n_test, n))
  end
  if n_train == 0 then
    raise(string.format("train_test_split: with %d samples and test_size = %s the training set "
      .. "would be empty", n, tostring(test_size)))
  end
  return n_train, n_test
end

--- Xtr, Xte, ytr, yte = train_test_split(X, y, {test_size = 0.25, train_size,
--- random_state, shuffle = true, stratify = y}); any number of arrays
--- (tensors, DataFrames, Series, lists) with the same rows.
function S.train_test_split(...)
  local args = table.pack(...)
  local opts = {}
  local last = args[args.n]
  if args.n >= 1 and type(last) == "table" and not is_tensor(last) and not mt_name(last) and
     last[1] == nil and next(last) ~= nil then
    opts = last
    args.n = args.n - 1
  end
  local o = base.options("train_test_split", opts, split_spec)
  if args.n == 0 then raise("train_test_split: expected at least one array") end
  local n = nrows("train_test_split", args[1])
  for i = 2, args.n do
    local m = nrows("train_test_split", args[i])
    if m ~= n then
      raise(string.format("train_test_split: array 1 has %d rows but array %d has %d", n, i, m))
    end
  end
  local n_train, n_test = split_sizes(n, o.test_size, o.train_size)
  local train, test = {}, {}
  if not o.shuffle then
    if o.stratify ~= nil then
      raise("train_test_split: stratify needs shuffle = true")
    end
    for i = 1, n_train do train[i] = i end
    for i = 1, n_test do test[i] = n_train + i end
  elseif o.stratify ~= nil then
    local rng = Dist.rng(o.random_state)
    local ys = label_list(o.stratify)
    if #ys ~= n then
      raise(string.format("train_test_split: stratify has %d entries, the arrays have %d rows",
        #ys, n))
    end
    local classes, members = {}, {}
    for i, v in ipairs(ys) do
      if not members[v] then members[v] = {}; classes[#classes + 1] = v end
      local m = members[v]
      m[#m + 1] = i
    end
    table.sort(classes, function(a, b)
      if type(a) == type(b) then return a < b end
      return type(a) == "number"
    end)
    local counts = {}
    for c, v in ipairs(classes) do
      counts[c] = #members[v]
      if counts[c] < 2 then
        raise(string.format("train_test_split: the least populated class in stratify (%s) has "
          .. "only 1 member; at least 2 are needed", tostring(v)))
      end
    end
    if n_train < #classes or n_test < #classes then
      raise(string.format("train_test_split: the train (%d) and test (%d) sizes must each be at "
        .. "least the number of classes (%d) to stratify", n_train, n_test, #classes))
    end
    local n_i = approximate_mode(counts, n_train, rng)
    local rest = {}
    for c = 1, #classes do rest[c] = counts[c] - n_i[c] end
    local t_i = approximate_mode(rest, n_test, rng)
    for c, v in ipairs(classes) do
      local m = members[v]
      local perm = rng:permutation(#m)
      for j = 1, n_i[c] do train[#train + 1] = m[perm[j]] end
      for j = n_i[c] + 1, n_i[c] + t_i[c] do test[#test + 1] = m[perm[j]] end
    end
    rng:shuffle(train)
    rng:shuffle(test)
  else
    local perm = Dist.rng(o.random_state):permutation(n)
    for i = 1, n_test do test[i] = perm[i] end
    for i = 1, n_train do train[i] = perm[n_test + i] end
  end
  local tr, te = idx_tensor(train), idx_tensor(test)
  local out = {}
  for i = 1, args.n do
    out[#out + 1] = take(args[i], tr)
    out[#out + 1] = take(args[i], te)
  end
  return table.unpack(out)
end

-- ---------------------------------------------------------------------------
-- Scoring

local scorers = {}
local function metric(name) return function(...) return ml.metrics[name](...) end end

local function positive_scores(est, X)
  if est.predict_proba then
    local p = est:predict_proba(X)
    if p:dim() == 2 then
      if p.shape[2] ~= 2 then raise("roc_auc scoring: needs a binary problem") end
      return p:select(2, 2)
    end
    return p
  end
  if est.decision_function then return est:decision_function(X) end
  raise("roc_auc scoring: " .. tostring(est.__name) .. " has neither predict_proba nor "
    .. "decision_function")
end

scorers.accuracy = function(est, X, y) return ml.metrics.accuracy_score(y, est:predict(X)) end
for _, m in ipairs{"f1", "precision", "recall"} do
  scorers[m] = function(est, X, y) return metric(m .. "_score")(y, est:predict(X)) end
  for _, avg in ipairs{"macro", "micro", "weighted"} do
    scorers[m .. "_" .. avg] = function(est, X, y)
      return metric(m .. "_score")(y, est:predict(X), {average = avg})
    end
  end
end
scorers.balanced_accuracy = function(est, X, y)
  return ml.metrics.recall_score(y, est:predict(X), {average = "macro"})
end
scorers.roc_auc = function(est, X, y) return ml.metrics.roc_auc_score(y, positive_scores(est, X)) end
scorers.r2 = function(est, X, y) return ml.metrics.r2_score(y, est:predict(X)) end
scorers.neg_mean_squared_error = function(est, X, y)
  return -ml.metrics.mean_squared_error(y, est:predict(X))
end
scorers.neg_root_mean_squared_error = function(est, X, y)
  return -ml.metrics.mean_squared_error(y, est:predict(X), {squared = false})
end
scorers.neg_mean_absolute_error = function(est, X, y)
  return -ml.metrics.mean_absolute_error(y, est:predict(X))
end
scorers.neg_log_loss = function(est, X, y)
  return -ml.metrics.log_loss(y, est:predict_proba(X), {labels = est.classes_})
end

--- A scorer function(est, X, y) -> number from a name, a function or nil
--- (the estimator's own score).
function S.get_scorer(scoring)
  if scoring == nil then return function(est, X, y) return est:score(X, y) end end
  if type(scoring) == "function" then return scoring end
  local f = scorers[scoring]
  if not f then
    local names = {}
    for k in pairs(scorers) do names[#names + 1] = k end
    table.sort(names)
    raise(string.format("unknown scoring '%s' (expected a function or one of: %s)",
      tostring(scoring), table.concat(names, ", ")))
  end
  return f
end

-- A splitter from cv (an integer, a splitter, or nil = 5): stratified for
-- classifiers, as scikit-learn's check_cv.
local function check_cv(cv, est)
  if cv == nil then cv = 5 end
  if type(cv) == "number" then
    if est and est._estimator_type == "classifier" then
      return StratifiedKFold{n_splits = math.tointeger(cv) or cv}
    end
    return KFold{n_splits = math.tointeger(cv) or cv}
  end
  if type(cv) == "table" and type(cv.split) == "function" then return cv end
  raise("cv: expected a number of folds or a splitter (KFold, StratifiedKFold), got " ..
    typename(cv))
end
S.check_cv = check_cv

local function splits_of(cv, X, y)
  local out = {}
  for tr, te in cv:split(X, y) do out[#out + 1] = {tr, te} end
  return out
end

local function fit_and_score(est, params, X, y, tr, te, scorer, train_score)
  local e = ml.clone(est)
  if params and next(params) then e:set_params(params) end
  local now = ml.parallel.now
  local t0 = now()
  e:fit(take(X, tr), y ~= nil and take(y, tr) or nil)
  local t1 = now()
  local s = scorer(e, take(X, te), y ~= nil and take(y, te) or nil)
  local res = {test = s, fit_time = t1 - t0, score_time = now() - t1}
  if train_score then res.train = scorer(e, take(X, tr), y ~= nil and take(y, tr) or nil) end
  return res
end

--- Scores per fold as a float32 tensor:
--- cross_val_score(est, X, y, {cv = 5, scoring = "accuracy", n_jobs = 1}).
function S.cross_val_score(est, X, y, opts)
  if type(est) ~= "table" or type(est.fit) ~= "function" then
    raise("cross_val_score: expected an estimator, got " .. typename(est))
  end
  local o = base.options("cross_val_score", opts, {{"cv", nil, "any"}, {"scoring", nil, "any"},
    {"n_jobs", 1, "integer"}})
  local cv = check_cv(o.cv, est)
  local scorer = S.get_scorer(o.scoring)
  local folds = splits_of(cv, X, y)
  local res = ml.parallel.map(function(f)
    return fit_and_score(est, nil, X, y, f[1], f[2], scorer).test
  end, folds, {n_jobs = o.n_jobs})
  return ml.tensor(res)
end

-- ---------------------------------------------------------------------------
-- Hyper-parameter search

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do
    if type(k) ~= "string" then raise("parameter grid keys must be parameter names") end
    ks[#ks + 1] = k
  end
  table.sort(ks)
  return ks
end

--- The candidates of a grid ({p = {...}} or a list of such), in scikit-learn's
--- ParameterGrid order (names sorted, the last varying fastest).
function S.parameter_grid(grid)
  if type(grid) ~= "table" then raise("GridSearchCV: param_grid must be a table") end
  local grids = grid[1] and grid or {grid}
  local out = {}
  for _, g in ipairs(grids) do
    local keys = sorted_keys(g)
    for _, k in ipairs(keys) do
      if type(g[k]) ~= "table" or #g[k] == 0 then
        raise(string.format("GridSearchCV: values of '%s' must be a non-empty list", k))
      end
    end
    local function rec(i, cur)
      if i > #keys then
        local c = {}
        for k, v in pairs(cur) do c[k] = v end
        out[#out + 1] = c
        return
      end
      for _, v in ipairs(g[keys[i]]) do cur[keys[i]] = v; rec(i + 1, cur) end
      cur[keys[i]] = nil
    end
    rec(1, {})
  end
  return out
end

--- n_iter candidates from distributions (ml.uniform, ...) or lists, drawn
--- in sorted name order; all-list spaces are sampled without replacement.
function S.parameter_sampler(space, n_iter, random_state)
  local rng = Dist.rng(random_state)
  local keys = sorted_keys(space)
  local all_lists = true
  for _, k in ipairs(keys) do
    local v = space[k]
    if Dist.is_distribution(v) then all_lists = false
    elseif type(v) ~= "table" or #v == 0 then
      raise(string.format("RandomizedSearchCV: '%s' must be a distribution (ml.uniform, "
        .. "ml.loguniform, ml.randint, ml.choice) or a non-empty list", k))
    end
  end
  local out = {}
  if all_lists then
    local grid = S.parameter_grid(space)
    local perm = rng:permutation(#grid)
    for i = 1, math.min(n_iter, #grid) do out[i] = grid[perm[i]] end
    return out
  end
  for i = 1, n_iter do
    local c = {}
    for _, k in ipairs(keys) do
      local v = space[k]
      c[k] = Dist.is_distribution(v) and v:rvs(rng) or v[rng:below(#v) + 1]
    end
    out[i] = c
  end
  return out
end

local function params_str(p)
  local ks = sorted_keys(p)
  local parts = {}
  for i, k in ipairs(ks) do parts[i] = k .. " = " .. tostring(p[k]) end
  return "{" .. table.concat(parts, ", ") .. "}"
end
S.params_str = params_str

local SearchCV = base.class("SearchCV")

local search_spec = {{"cv", nil, "any"}, {"scoring", nil, "any"}, {"n_jobs", 1, "integer"},
  {"refit", true, "boolean"}, {"return_train_score", false, "boolean"},
  {"verbose", 0, "integer"}}

local function search_fit(self, X, y, candidates)
  local est = self.estimator
  local cv = check_cv(self.cv, est)
  local scorer = S.get_scorer(self.scoring)
  local folds = splits_of(cv, X, y)
  local jobs = {}
  for c = 1, #candidates do
    for f = 1, #folds do jobs[#jobs + 1] = {c, f} end
  end
  -- check every candidate's names before forking
  for _, p in ipairs(candidates) do ml.clone(est):set_params(p) end
  local train_score = self.return_train_score
  local res = ml.parallel.map(function(job)
    local f = folds[job[2]]
    return fit_and_score(est, candidates[job[1]], X, y, f[1], f[2], scorer, train_score)
  end, jobs, {n_jobs = self.n_jobs})
  local nf = #folds
  local r = {params = candidates, mean_test_score = {}, std_test_score = {},
             mean_fit_time = {}, mean_score_time = {}, rank_test_score = {}}
  if train_score then r.mean_train_score, r.std_train_score = {}, {} end
  for f = 1, nf do r["split" .. (f - 1) .. "_test_score"] = {} end
  for c = 1, #candidates do
    local sum, sq, ft, st, tr = 0, 0, 0, 0, 0
    for f = 1, nf do
      local x = res[(c - 1) * nf + f]
      r["split" .. (f - 1) .. "_test_score"][c] = x.test
      sum = sum + x.test
      ft, st = ft + x.fit_time, st + x.score_time
      if train_score then tr = tr + x.train end
    end
    local mean = sum / nf
    for f = 1, nf do sq = sq + (res[(c - 1) * nf + f].test - mean) ^ 2 end
    r.mean_test_score[c] = mean
    r.std_test_score[c] = math.sqrt(sq / nf)
    r.mean_fit_time[c], r.mean_score_time[c] = ft / nf, st / nf
    if train_score then
      local tm, tsq = tr / nf, 0
      for f = 1, nf do tsq = tsq + (res[(c - 1) * nf + f].train - tm) ^ 2 end
      r.mean_train_score[c], r.std_train_score[c] = tm, math.sqrt(tsq / nf)
    end
  end
  -- rank (scipy's rankdata "min" on -mean; NaN scores rank last)
  for c = 1, #candidates do
    local m, rank = r.mean_test_score[c], 1
    for d = 1, #candidates do
      local o = r.mean_test_score[d]
      if (o == o and m ~= m) or (o == o and o > m) then rank = rank + 1 end
    end
    r.rank_test_score[c] = rank
  end
  local best = 1
  for c = 2, #candidates do
    if r.rank_test_score[c] < r.rank_test_score[best] then best = c end
  end
  self.cv_results_ = r
  self.best_index_ = best
  self.best_params_ = candidates[best]
  self.best_score_ = r.mean_test_score[best]
  self.n_splits_ = nf
  self.scorer_ = scorer
  if self.refit then
    local e = ml.clone(est)
    if next(candidates[best]) then e:set_params(candidates[best]) end
    local t0 = ml.parallel.now()
    e:fit(X, y)
    self.refit_time_ = ml.parallel.now() - t0
    self.best_estimator_ = e
    self.classes_ = e.classes_
  end
  return self
end

local function need_refit(self, who)
  if not self.best_estimator_ then
    raise(string.format("%s:%s: not fitted with refit = true; call fit first", self.__name, who))
  end
  return self.best_estimator_
end
function SearchCV:predict(X) return need_refit(self, "predict"):predict(X) end
function SearchCV:predict_proba(X) return need_refit(self, "predict_proba"):predict_proba(X) end
function SearchCV:decision_function(X)
  return need_refit(self, "decision_function"):decision_function(X)
end
function SearchCV:transform(X) return need_refit(self, "transform"):transform(X) end
function SearchCV:score(X, y) return self.scorer_(need_refit(self, "score"), X, y) end

--- The candidates as rows "rank  mean  std  params", best first.
function SearchCV:report(top)
  local r = self.cv_results_
  if not r then raise(self.__name .. ":report: call fit first") end
  local order = {}
  for c = 1, #r.params do order[c] = c end
  table.sort(order, function(a, b)
    if r.rank_test_score[a] ~= r.rank_test_score[b] then
      return r.rank_test_score[a] < r.rank_test_score[b]
    end
    return a < b
  end)
  local lines = {string.format("%4s  %10s  %9s  %s", "rank", "mean", "std", "params")}
  for i = 1, math.min(top or #order, #order) do
    local c = order[i]
    lines[#lines + 1] = string.format("%4d  %10.4f  %9.4f  %s", r.rank_test_score[c],
      r.mean_test_score[c], r.std_test_score[c], params_str(r.params[c]))
  end
  return table.concat(lines, "\n")
end

local GridSearchCV = base.class("GridSearchCV", SearchCV)
S.GridSearchCV = GridSearchCV
GridSearchCV._module = "ml.model_selection"

--- GridSearchCV(est, {param = {values...}} | {{...}, {...}}, {cv, scoring, n_jobs, refit})
function GridSearchCV:init(est, grid, opts)
  if type(est) ~= "table" or type(est.fit) ~= "function" then
    raise("GridSearchCV: expected an estimator, got " .. typename(est))
  end
  local o = base.options("GridSearchCV", opts, search_spec)
  self.estimator, self.param_grid = est, grid
  for k, v in pairs(o) do self[k] = v end
  self._candidates = S.parameter_grid(grid)
  self._estimator_type = est._estimator_type
end

function GridSearchCV:fit(X, y) return search_fit(self, X, y, self._candidates) end

local RandomizedSearchCV = base.class("RandomizedSearchCV", SearchCV)
S.RandomizedSearchCV = RandomizedSearchCV
RandomizedSearchCV._module = "ml.model_selection"

--- RandomizedSearchCV(est, {C = ml.loguniform(1e-3, 1e2), ...}, {n_iter = 10,
--- random_state, cv, scoring, n_jobs, refit})
function RandomizedSearchCV:init(est, space, opts)
  if type(est) ~= "table" or type(est.fit) ~= "function" then
    raise("RandomizedSearchCV: expected an estimator, got " .. typename(est))
  end
  local spec = {{"n_iter", 10, "integer"}, {"random_state", nil, "integer|nil"}}
  for _, s in ipairs(search_spec) do spec[#spec + 1] = s end
  local o = base.options("RandomizedSearchCV", opts, spec)
  if o.n_iter < 1 then raise("RandomizedSearchCV: n_iter must be at least 1") end
  self.estimator, self.param_distributions = est, space
  for k, v in pairs(o) do self[k] = v end
  self._candidates = S.parameter_sampler(space, o.n_iter, o.random_state)
  self._estimator_type = est._estimator_type
end

function RandomizedSearchCV:fit(X, y) return search_fit(self, X, y, self._candidates) end

return S
