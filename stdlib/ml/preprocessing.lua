-- ml.preprocessing: scalers, label and one-hot encoders, and Pipeline, with
-- scikit-learn's names, defaults and fitted attributes.
local ml = require "ml"
local core = require "ml.core"
local base = require "ml.base"
local raise = require("ml.errors").raise

local P = {}
local MOD = "ml.preprocessing"
local is_tensor = ml.is_tensor
local function is_frame(v) return type(v) == "table" and getmetatable(v) and
  getmetatable(v).__name == "DataFrame" end
local function is_series(v) return type(v) == "table" and getmetatable(v) and
  getmetatable(v).__name == "Series" end

-- ---------------------------------------------------------------------------
-- StandardScaler

local StandardScaler = base.estimator("StandardScaler", MOD,
  {{"with_mean", true, "boolean"}, {"with_std", true, "boolean"}, {"copy", true, "boolean"}},
  "transformer")
P.StandardScaler = StandardScaler

local function as_X(who, X)
  if is_frame(X) then X = X:to_tensor() end
  return base.check_X(who, X)
end

-- Past this magnitude, float32 squares and differences can overflow.
local HUGE = 1e18

--- mean_, var_ (population variance, as scikit-learn), scale_ (std, 1 where 0).
function StandardScaler:fit(X)
  X = as_X("StandardScaler:fit", X)
  base.check_finite("StandardScaler:fit", X)
  local n = X.shape[1]
  if n == 0 then raise("StandardScaler:fit: X has no rows") end
  local mean = X:mean(1)
  local scale, var
  if X:numel() > 0 and X:abs():max() > HUGE then
    -- squares would overflow float32: deviations are taken on X / max|X|
    -- (per column), std = max|X| * std(X / max|X|); var_ may then be inf
    local m = X:abs():max(1)
    m = ml.where(m:eq(0), ml.ones(m.shape), m)
    scale = ((X / m - mean / m) ^ 2):mean(1):sqrt() * m
    var = scale ^ 2
  else
    var = ((X - mean) ^ 2):mean(1)
    scale = var:sqrt()
  end
  self.n_features_in_ = X.shape[2]
  self.n_samples_seen_ = n
  self.mean_ = self.with_mean and mean or nil
  if self.with_std then
    self.var_ = var
    self.scale_ = ml.where(scale:eq(0), ml.ones(scale.shape), scale)
  else
    self.var_, self.scale_ = nil, nil
  end
  self.fitted_ = true
  return self
end

function StandardScaler:transform(X)
  self:check_fitted("transform", "fitted_")
  X = base.check_X("StandardScaler:transform", is_frame(X) and X:to_tensor() or X,
    self.n_features_in_)
  if self.mean_ and self.scale_ and X:numel() > 0 and X:abs():max() > HUGE then
    X = X / self.scale_ - self.mean_ / self.scale_   -- X - mean would overflow
  else
    if self.mean_ then X = X - self.mean_ end
    if self.scale_ then X = X / self.scale_ end
  end
  if not self.mean_ and not self.scale_ and self.copy then X = X:clone() end
  return X
end

function StandardScaler:inverse_transform(X)
  self:check_fitted("inverse_transform", "fitted_")
  X = base.check_X("StandardScaler:inverse_transform", X, self.n_features_in_)
  if self.scale_ then X = X * self.scale_ end
  if self.mean_ then X = X + self.mean_ end
  return X
end

-- ---------------------------------------------------------------------------
-- MinMaxScaler

local MinMaxScaler = base.estimator("MinMaxScaler", MOD,
  {{"feature_range", {0, 1}, "table"}, {"clip", false, "boolean"}, {"copy", true, "boolean"}},
  "transformer")
P.MinMaxScaler = MinMaxScaler

function MinMaxScaler:fit(X)
  local lo, hi = self.feature_range[1], self.feature_range[2]
  if type(lo) ~= "number" or type(hi) ~= "number" or lo >= hi then
    raise("MinMaxScaler: feature_range must be {min, max} with min < max")
  end
  X = as_X("MinMaxScaler:fit", X)
  base.check_finite("MinMaxScaler:fit", X)
  if X.shape[1] == 0 then raise("MinMaxScaler:fit: X has no rows") end
  local dmin, dmax = X:min(1), X:max(1)
  local range = dmax - dmin
  local safe = ml.where(range:eq(0), ml.ones(range.shape), range)
  self.data_min_, self.data_max_, self.data_range_ = dmin, dmax, range
  self.scale_ = (safe:reciprocal()) * (hi - lo)
  self.min_ = -(dmin * self.scale_) + lo
  self.n_features_in_ = X.shape[2]
  self.n_samples_seen_ = X.shape[1]
  return self
end

function MinMaxScaler:transform(X)
  self:check_fitted("transform", "scale_")
  X = base.check_X("MinMaxScaler:transform", is_frame(X) and X:to_tensor() or X,
    self.n_features_in_)
  local out = X * self.scale_ + self.min_
  if self.clip then out = out:clamp(self.feature_range[1], self.feature_range[2]) end
  return out
end

function MinMaxScaler:inverse_transform(X)
  self:check_fitted("inverse_transform", "scale_")
  X = base.check_X("MinMaxScaler:inverse_transform", X, self.n_features_in_)
  return (X - self.min_) / self.scale_
end

-- ---------------------------------------------------------------------------
-- LabelEncoder

local LabelEncoder = base.estimator("LabelEncoder", MOD, {}, "transformer")
P.LabelEncoder = LabelEncoder

local function label_list(who, y)
  if is_series(y) then
    local t = y:totable()
    for i = 1, #y do
      if t[i] == nil then raise(string.format("%s: y has a missing value at row %d", who, i)) end
    end
    return t, #y
  end
  if is_tensor(y) then
    if y:dim() == 2 and y.shape[2] == 1 then y = y:reshape(-1) end
    if y:dim() ~= 1 then
      raise(string.format("%s: y must be 1-dimensional, got shape %s", who,
        table.concat(y.shape, "x")))
    end
    return y:totable(), y.shape[1]
  end
  if type(y) ~= "table" then raise(who .. ": expected a tensor, a list or a column") end
  return y, #y
end

--- classes_: sorted distinct labels, keeping y's dtype (an int64 y or a
--- list of Lua integers gives int64, exact past 2^24; float32 stays
--- float32), or a list of strings.
function LabelEncoder:fit(y)
  local t = label_list("LabelEncoder:fit", y)
  local seen, cls, strings, ints = {}, {}, false, true
  for _, v in ipairs(t) do
    if type(v) == "string" then strings = true end
    if math.type(v) ~= "integer" then ints = false end
    if not seen[v] then seen[v] = true; cls[#cls + 1] = v end
  end
  local dtype = is_tensor(y) and y.dtype or (ints and #cls > 0 and "int64" or "float32")
  if strings then
    for i, v in ipairs(cls) do cls[i] = tostring(v) end
    local dedup, out = {}, {}
    for _, v in ipairs(cls) do if not dedup[v] then dedup[v] = true; out[#out + 1] = v end end
    cls = out
  end
  table.sort(cls)
  self.classes_ = strings and cls or (#cls > 0 and ml.tensor(cls, dtype) or ml.zeros(0))
  self._strings = strings
  return self
end

function LabelEncoder:transform(y)
  self:check_fitted("transform", "classes_")
  local t, n = label_list("LabelEncoder:transform", y)
  local cls = self._strings and self.classes_ or self.classes_:totable()
  local id = {}
  for i, v in ipairs(cls) do id[v] = i - 1 end
  local out = {}
  for i = 1, n do
    local v = t[i]
    if self._strings then v = tostring(v) end
    local k = id[v]
    if k == nil then
      raise(string.format("LabelEncoder:transform: y contains the unseen label %s",
        type(v) == "string" and string.format("%q", v) or tostring(v)))
    end
    out[i] = k
  end
  if n == 0 then return ml.zeros(0):long() end
  return ml.tensor(out, "int64")
end

function LabelEncoder:fit_transform(y) return self:fit(y):transform(y) end

--- ids (0..K-1) back to labels: a list of strings, or a tensor of classes_'
--- dtype.
function LabelEncoder:inverse_transform(ids)
  self:check_fitted("inverse_transform", "classes_")
  local t = label_list("LabelEncoder:inverse_transform", ids)
  local cls = self._strings and self.classes_ or self.classes_:totable()
  local out = {}
  for i, v in ipairs(t) do
    local c = cls[math.tointeger(v) and math.tointeger(v) + 1 or -1]
    if c == nil then
      raise(string.format("LabelEncoder:inverse_transform: id %s is not in 0..%d", tostring(v),
        #cls - 1))
    end
    out[i] = c
  end
  if self._strings then return out end
  return #out > 0 and ml.tensor(out, self.classes_.dtype) or ml.zeros(0)
end

function LabelEncoder:state()
  local s = base.Estimator.state(self)
  s.fitted.strings = self._strings
  return s
end

function LabelEncoder.from_state(cls, state)
  local obj = base.Estimator.from_state(cls, state)
  obj._strings = state.fitted.strings
  obj.strings = nil
  return obj
end

-- ---------------------------------------------------------------------------
-- OneHotEncoder

local OneHotEncoder = base.estimator("OneHotEncoder", MOD,
  {{"handle_unknown", "error", {"error", "ignore"}},
   {"drop", nil, {"first", "if_binary"}},
   {"sparse_output", false, "boolean"}},
  "transformer")
P.OneHotEncoder = OneHotEncoder

-- Columns of X as {name, kind, values (Lua list)}; X is a tensor or a DataFrame.
local function columns_of(who, X)
  local cols = {}
  if is_frame(X) then
    for j, nm in ipairs(X.columns) do
      local s = X:col(nm)
      cols[j] = {name = nm, kind = s.kind, series = s}
    end
    return cols, X._n
  end
  -- int64 codes stay int64 (float32 would merge categories past 2^24)
  if not (is_tensor(X) and X.dtype == "int64" and X:dim() == 2) then X = base.check_X(who, X) end
  for j = 1, X.shape[2] do
    cols[j] = {name = "x" .. (j - 1), kind = "number", tensor = X:select(2, j)}
  end
  return cols, X.shape[1]
end

--- categories_: per input column, its sorted categories (float32 tensor or
--- list of strings); fitted on a tensor (numbers) or a DataFrame (any columns).
function OneHotEncoder:fit(X)
  if self.sparse_output then raise("OneHotEncoder: sparse_output = true is not supported") end
  local cols = columns_of("OneHotEncoder:fit", X)
  self.categories_, self.feature_names_in_ = {}, {}
  self._kinds = {}
  self.drop_idx_ = {}
  for j, c in ipairs(cols) do
    local cats
    if c.series then cats = c.series:unique()
    else
      local seen, out = {}, {}
      for _, v in ipairs(c.tensor:totable()) do
        if v == v and not seen[v] then seen[v] = true; out[#out + 1] = v end
      end
      table.sort(out)
      cats = out
    end
    self.categories_[j] = c.kind == "string" and cats or ml.tensor(#cats > 0 and cats or {0},
      c.tensor and c.tensor.dtype or "float32")
    if c.kind ~= "string" and #cats == 0 then self.categories_[j] = ml.zeros(0) end
    self._kinds[j] = c.kind
    self.feature_names_in_[j] = c.name
    local d = 0
    if self.drop == "first" or (self.drop == "if_binary" and #cats == 2) then d = 1 end
    self.drop_idx_[j] = d
  end
  self.n_features_in_ = #cols
  return self
end

local function cat_list(enc, j)
  local c = enc.categories_[j]
  return is_tensor(c) and c:totable() or c
end

--- Feature names "<input>_<category>" (inputs named x0, x1, ... for tensors).
function OneHotEncoder:get_feature_names_out()
  self:check_fitted("get_feature_names_out", "categories_")
  local out = {}
  for j = 1, self.n_features_in_ do
    for k, v in ipairs(cat_list(self, j)) do
      if k > self.drop_idx_[j] then
        out[#out + 1] = self.feature_names_in_[j] .. "_" .. tostring(math.tointeger(v) or v)
      end
    end
  end
  return out
end

function OneHotEncoder:transform(X)
  self:check_fitted("transform", "categories_")
  local cols, n = columns_of("OneHotEncoder:transform", X)
  if #cols ~= self.n_features_in_ then
    raise(string.format("OneHotEncoder:transform: X has %d columns, the encoder was fitted with %d",
      #cols, self.n_features_in_))
  end
  local parts = {}
  for j, c in ipairs(cols) do
    local cats = cat_list(self, j)
    local known = ml.zeros(n)
    local blocks = {}
    for k, v in ipairs(cats) do
      local col
      if c.series then col = c.series:eq(v)
      elseif c.tensor.dtype == "int64" then col = c.tensor:eq(ml.tensor({v}, "int64")):float()
      else col = c.tensor:eq(v) end
      known = known + col
      if k > self.drop_idx_[j] then blocks[#blocks + 1] = col:reshape(-1, 1) end
    end
    if self.handle_unknown == "error" and n > 0 and known:min() == 0 then
      local row = math.tointeger(known:argmin()) or known:argmin()
      local v = c.series and c.series[row] or c.tensor[row]
      raise(string.format("OneHotEncoder:transform: column %s row %d holds the unknown category "
        .. "%s (pass handle_unknown = \"ignore\" for all-zero rows)", c.name, row, tostring(v)))
    end
    for _, b in ipairs(blocks) do parts[#parts + 1] = b end
  end
  if #parts == 0 then return ml.zeros(n, 0) end
  return ml.hstack(parts)
end

function OneHotEncoder:state()
  local s = base.Estimator.state(self)
  s.fitted.kinds = self._kinds
  return s
end

function OneHotEncoder.from_state(cls, state)
  local obj = base.Estimator.from_state(cls, state)
  obj._kinds, obj.kinds = state.fitted.kinds, nil
  return obj
end

-- ---------------------------------------------------------------------------
-- Pipeline

local Pipeline = base.class("Pipeline", base.Estimator)
Pipeline._module = MOD
P.Pipeline = Pipeline

local function check_est(who, name, est)
  if type(est) ~= "table" or type(est.fit) ~= "function" or type(est.get_params) ~= "function" then
    raise(string.format("%s: step '%s' is not an estimator (needs fit and get_params)", who,
      tostring(name)))
  end
end

--- Pipeline{{"scale", ml.StandardScaler()}, {"clf", ml.SVC()}}. Also takes
--- the table get_params() returns (used by ml.clone).
function Pipeline:init(steps, opts)
  if type(steps) ~= "table" then raise("Pipeline: expected a list of {name, estimator} steps") end
  base.no_options("Pipeline", opts)
  local list = steps.steps or steps
  if #list == 0 then raise("Pipeline: expected at least one step") end
  self.steps, self.named_steps = {}, {}
  for i, st in ipairs(list) do
    if type(st) ~= "table" or type(st[1]) ~= "string" then
      raise(string.format("Pipeline: step %d must be {\"name\", estimator}", i))
    end
    local name, est = st[1], st[2]
    if steps.steps and type(steps[name]) == "table" and steps[name].get_params then
      est = steps[name]            -- a cloned step (ml.clone passes these)
    end
    check_est("Pipeline", name, est)
    if self.named_steps[name] then raise("Pipeline: duplicate step name '" .. name .. "'") end
    if name:find("__", 1, true) then raise("Pipeline: step names may not contain '__'") end
    self.steps[i] = {name, est}
    self.named_steps[name] = est
  end
  self._estimator_type = self.steps[#self.steps][2]._estimator_type
end

function Pipeline:_final() return self.steps[#self.steps][2] end

function Pipeline:get_params()
  local p = {steps = {}}
  for i, st in ipairs(self.steps) do
    p.steps[i] = {st[1], st[2]}
    p[st[1]] = st[2]
    for k, v in pairs(st[2]:get_params()) do p[st[1] .. "__" .. k] = v end
  end
  return p
end

--- set_params{clf__C = 0.1, scale = ml.MinMaxScaler()}
function Pipeline:set_params(opts)
  local per = {}
  for k, v in pairs(opts) do
    local step, param = tostring(k):match("^(.-)__(.+)$")
    if step then
      if not self.named_steps[step] then
        raise(string.format("Pipeline:set_params: no step '%s' (for '%s')", step, k))
      end
      per[step] = per[step] or {}
      per[step][param] = v
    elseif self.named_steps[k] then
      check_est("Pipeline:set_params", k, v)
      for _, st in ipairs(self.steps) do if st[1] == k then st[2] = v end end
      self.named_steps[k] = v
    else
      raise(string.format("Pipeline:set_params: unknown parameter '%s' (use step__param)",
        tostring(k)))
    end
  end
  for step, p in pairs(per) do self.named_steps[step]:set_params(p) end
  self._estimator_type = self:_final()._estimator_type
  return self
end

local function through(self, X, who)
  for i = 1, #self.steps - 1 do
    local st = self.steps[i]
    if not st[2].transform then
      raise(string.format("Pipeline:%s: step '%s' has no transform", who, st[1]))
    end
    X = st[2]:transform(X)
  end
  return X
end

function Pipeline:fit(X, y)
  for i = 1, #self.steps - 1 do
    local st = self.steps[i]
    if not st[2].transform then
      raise(string.format("Pipeline:fit: step '%s' has no transform", st[1]))
    end
    X = st[2].fit_transform and st[2]:fit_transform(X, y) or st[2]:fit(X, y):transform(X)
  end
  self:_final():fit(X, y)
  local f = self:_final()
  self.classes_ = f.classes_
  self.n_features_in_ = self.steps[1][2].n_features_in_
  return self
end

local function final_method(name)
  return function(self, X, ...)
    local f = self:_final()
    if not f[name] then
      raise(string.format("Pipeline:%s: the final step '%s' (%s) has no %s", name,
        self.steps[#self.steps][1], f.__name or "?", name))
    end
    return f[name](f, through(self, X, name), ...)
  end
end
Pipeline.predict = final_method("predict")
Pipeline.predict_proba = final_method("predict_proba")
Pipeline.decision_function = final_method("decision_function")
Pipeline.transform = final_method("transform")
Pipeline.score = final_method("score")

function Pipeline:fit_transform(X, y)
  self:fit(X, y)
  return self:transform(X)
end

function Pipeline:__repr()
  local parts = {}
  for i, st in ipairs(self.steps) do parts[i] = string.format("{%q, %s}", st[1], tostring(st[2])) end
  return "Pipeline{" .. table.concat(parts, ", ") .. "}"
end
Pipeline.__tostring = Pipeline.__repr

--- Saved form: each step as {name, {__class, __module, state}}.
function Pipeline:state()
  local steps = {}
  for i, st in ipairs(self.steps) do
    local e = st[2]
    steps[i] = {st[1], {__class = e.__name, __module = e._module, state = e:state()}}
  end
  return {steps = steps}
end

function Pipeline.from_state(cls, state)
  local registry = require "ml.registry"
  local steps = {}
  for i, st in ipairs(state.steps) do
    local obj = st[2]
    if getmetatable(obj) ~= nil then
      -- already rebuilt by ml.load (its class came from the registry)
      if not registry.entry_of(getmetatable(obj)) then
        raise(string.format("Pipeline state: step %d is not a loadable estimator", i))
      end
      steps[i] = {st[1], obj}
    else
      local C = registry.resolve("Pipeline state: step " .. i, "object", obj.__module,
        obj.__class)
      steps[i] = {st[1], C.from_state(C, obj.state)}
    end
  end
  local p = cls(steps)
  local f = p:_final()
  p.classes_ = f.classes_
  return p
end

return P
