-- ml.base: classes, checked option tables, and the estimator protocol every
-- scikit-learn-style model shares (fit/predict/score, get_params/set_params,
-- clone, save/load state). Estimators subclass base.Estimator via
-- base.estimator(...).
local ml = require "ml"
local core = require "ml.core"
local raise = require("ml.errors").raise

local base = {}

--- Lua class: `local C = base.class("Name", Parent)`; `C(...)` calls C.init.
function base.class(name, parent)
  local cls = {}
  cls.__index = cls
  cls.__name = name
  cls.__tostring = function(self)
    return self.__repr and self:__repr() or name .. "()"
  end
  return setmetatable(cls, {
    __index = parent,
    __call = function(c, ...)
      local obj = setmetatable({}, c)
      if c.init then c.init(obj, ...) end
      return obj
    end,
  })
end

--- Writes "warning: <msg>" to stderr the first time `key` is seen in this
--- process (base.warned[key] then holds msg; tests may clear the table).
--- The table lives in ml.core so that every copy of this module shares it.
core.term.warned_once = core.term.warned_once or {}
base.warned = core.term.warned_once
function base.warn_once(key, msg)
  if base.warned[key] then return false end
  base.warned[key] = msg
  io.stderr:write("warning: ", msg, "\n")
  return true
end

--- Is value v of kind `kind`? Kinds: "number", "integer", "string", "boolean",
--- "table", "function", "tensor", "list" (a table or a tensor), "any",
--- alternatives joined by "|" ("number|string"),
--- "nil" allowed as an alternative, or a list of allowed strings.
local function kind_ok(v, kind)
  if type(kind) == "table" then
    for _, s in ipairs(kind) do if v == s then return true end end
    return false
  end
  for k in kind:gmatch("[^|]+") do
    if k == "any" then return true
    elseif k == "nil" then if v == nil then return true end
    elseif k == "integer" then if math.type(v) == "integer" or
      (type(v) == "number" and v == math.floor(v) and v == v) then return true end
    elseif k == "tensor" then if ml.is_tensor(v) then return true end
    elseif k == "table" then if type(v) == "table" and not ml.is_tensor(v)
      then return true end
    elseif k == "list" then
      if type(v) == "table" or ml.is_tensor(v) then return true end
    elseif type(v) == k then return true end
  end
  return false
end
base.kind_ok = kind_ok

local function kind_str(kind)
  if type(kind) == "table" then
    local q = {}
    for i, s in ipairs(kind) do q[i] = string.format("%q", s) end
    return "one of " .. table.concat(q, ", ")
  end
  return kind:gsub("|", " or ")
end

local function typename(v)
  if ml.is_tensor(v) then return "tensor" end
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" then return tostring(v) end
  return type(v)
end

--- Checks an options table against a spec and returns a new table with the
--- defaults filled in. spec: list of {name, default, kind}. Unknown names and
--- wrong kinds raise an error naming `who`, the option and what was expected.
function base.options(who, opts, spec)
  opts = opts or {}
  if type(opts) ~= "table" or ml.is_tensor(opts) then
    raise(string.format("%s: expected an options table, got %s", who, typename(opts)))
  end
  local known, out = {}, {}
  for _, s in ipairs(spec) do known[s[1]] = s end
  for k, v in pairs(opts) do
    local s = known[k]
    if not s then
      local names = {}
      for _, e in ipairs(spec) do names[#names + 1] = e[1] end
      table.sort(names)
      raise(string.format("%s: unknown option '%s' (expected one of: %s)", who, tostring(k),
        table.concat(names, ", ")))
    end
    if not kind_ok(v, s[3] or "any") then
      raise(string.format("%s: option '%s' expected %s, got %s", who, k, kind_str(s[3]),
        typename(v)))
    end
    out[k] = v
  end
  for _, s in ipairs(spec) do
    if out[s[1]] == nil then out[s[1]] = s[2] end
  end
  return out
end

--- Checks an options table against {name = kind} (no defaults: absent
--- options stay nil) and returns it, or {} for nil.
function base.check_options(who, opts, kinds)
  if opts == nil then return {} end
  local spec = {}
  for name, kind in pairs(kinds) do spec[#spec + 1] = {name, nil, kind .. "|nil"} end
  base.options(who, opts, spec)
  return opts
end

--- For functions without options: raises on any options table given
--- (a habit from another library must not pass silently).
function base.no_options(who, opts)
  if opts == nil then return end
  if type(opts) ~= "table" or ml.is_tensor(opts) then
    raise(string.format("%s: expected no further argument, got %s", who, typename(opts)))
  end
  local k = next(opts)
  if k ~= nil then
    raise(string.format("%s: unknown option '%s' (%s takes no options)", who, tostring(k), who))
  end
end

--- Checks one positional argument.
function base.check_arg(who, i, v, kind)
  if not kind_ok(v, kind) then
    raise(string.format("%s: argument %d expected %s, got %s", who, i, kind_str(kind),
      typename(v)))
  end
  return v
end

local function as_tensor(who, what, x)
  if ml.is_tensor(x) then return x end
  if type(x) == "table" then
    local ok, t = pcall(ml.tensor, x)
    if ok then return t end
    raise(string.format("%s: %s could not be read as a tensor: %s", who, what, t))
  end
  raise(string.format("%s: %s expected a tensor, got %s", who, what, typename(x)))
end

--- X as a 2-D float32 tensor (tables are converted); errors name `who`.
function base.check_X(who, X, n_features)
  X = as_tensor(who, "X", X)
  if X:dim() ~= 2 then
    raise(string.format("%s: X must be 2-dimensional (samples x features), got shape %s",
      who, table.concat(X.shape, "x")))
  end
  if n_features and X.shape[2] ~= n_features then
    raise(string.format("%s: X has %d features, but the estimator was fitted with %d",
      who, X.shape[2], n_features))
  end
  if X.dtype ~= "float32" then X = X:float() end
  return X
end

--- Raises "<who>: X contains NaN or infinity (row r, column c)" at the first
--- non-finite value of a float32 tensor (one C scan; positions 1-based; for
--- N x H x W x C data the row and the position inside it).
function base.check_finite(who, X, what, hint)
  local bad = X.dtype == "float32" and core.tensor.find_nonfinite(X)
  if not bad then return X end
  if X:dim() >= 2 then
    local d = X:numel() // X.shape[1]
    local row, col = (bad - 1) // d + 1, (bad - 1) % d
    local where = "column " .. (col + 1)
    if X:dim() > 2 then
      local idx = {}
      for k = X:dim(), 2, -1 do idx[k - 1] = col % X.shape[k] + 1; col = col // X.shape[k] end
      where = "position (" .. table.concat(idx, ", ") .. ")"
    end
    raise(string.format("%s: %s contains NaN or infinity (row %d, %s); remove or " ..
      "impute missing values first%s", who, what or "X", row, where,
      hint and (" (or pass " .. hint .. ")") or ""))
  end
  raise(string.format("%s: %s contains NaN or infinity (element %d); remove or impute " ..
    "missing values first%s", who, what or "X", bad, hint and (" (or pass " .. hint .. ")") or ""))
end

--- X (2-D) and y (1-D; an N x 1 tensor is flattened) with matching rows.
function base.check_Xy(who, X, y)
  X = base.check_X(who, X)
  y = as_tensor(who, "y", y)
  if y:dim() == 2 and y.shape[2] == 1 then y = y:reshape(-1) end
  if y:dim() ~= 1 then
    raise(string.format("%s: y must be 1-dimensional, got shape %s", who,
      table.concat(y.shape, "x")))
  end
  if y.shape[1] ~= X.shape[1] then
    raise(string.format("%s: X has %d rows but y has %d", who, X.shape[1], y.shape[1]))
  end
  if X.shape[1] == 0 then raise(who .. ": X and y are empty") end
  return X, y
end

-- ---------------------------------------------------------------------------
-- Class labels. A classifier's classes_ keeps y's dtype, as scikit-learn's:
-- an int64 y gives int64 classes_ (exact past 2^24, where float32 is not),
-- a float32 y float32 classes_, and a list of strings a sorted Lua list of
-- strings; predict returns labels of that same kind. A Lua list of numbers
-- is int64 when every entry is a Lua integer, float32 otherwise.

local function label_error(who, msg) raise(who .. ": " .. msg) end

--- y for a classifier: an int64/float32 1-D tensor, or a list of strings.
function base.check_labels(who, y)
  if type(y) == "table" and not ml.is_tensor(y) then
    local mt = getmetatable(y)
    if mt and mt.__name == "Series" and y.totable then y = y:totable() end
  end
  if type(y) == "table" and getmetatable(y) == nil then
    local n, strings, ints, numbers = #y, 0, 0, 0
    for k in pairs(y) do
      if math.type(k) ~= "integer" or k < 1 or k > n then
        label_error(who, "y must be a list (sequence) of labels, found key " .. tostring(k))
      end
    end
    for i = 1, n do
      local v = y[i]
      if type(v) == "string" then strings = strings + 1
      elseif math.type(v) == "integer" then ints = ints + 1; numbers = numbers + 1
      elseif type(v) == "number" then numbers = numbers + 1
      elseif type(v) ~= "table" then
        label_error(who, string.format("y[%d] is a %s; labels are numbers or strings", i, type(v)))
      end
    end
    if strings > 0 then
      if strings ~= n then
        label_error(who, "y mixes strings and numbers; give labels of one kind")
      end
      return y
    end
    if n > 0 and ints == n then return ml.tensor(y, "int64") end
  end
  return y
end

--- X (2-D float32) and y as classifier labels (see check_labels).
function base.check_Xy_labels(who, X, y)
  y = base.check_labels(who, y)
  if type(y) == "table" and getmetatable(y) == nil and type(y[1]) == "string" then
    X = base.check_X(who, X)
    if #y ~= X.shape[1] then
      raise(string.format("%s: X has %d rows but y has %d", who, X.shape[1], #y))
    end
    if X.shape[1] == 0 then raise(who .. ": X and y are empty") end
    return X, y
  end
  return base.check_Xy(who, X, y)
end

local function is_list(v) return type(v) == "table" and getmetatable(v) == nil end

--- Sorted distinct labels of y (a tensor of y's dtype, or a sorted list of
--- strings) and y encoded as 0-based class ids (int64).
function base.encode_classes(y)
  local vals = is_list(y) and y or y:totable()
  local seen, classes = {}, {}
  for _, v in ipairs(vals) do
    if v ~= v then raise("classifier: y contains NaN, which is not a class label") end
    if not seen[v] then seen[v] = true; classes[#classes + 1] = v end
  end
  table.sort(classes)
  local id = {}
  for i, v in ipairs(classes) do id[v] = i - 1 end
  local ids = {}
  for i, v in ipairs(vals) do ids[i] = id[v] end
  local cls = is_list(y) and classes or ml.tensor(classes, y.dtype)
  return cls, ml.tensor(ids, "int64")
end

--- Number of classes in a classes_ (tensor or list).
function base.n_classes(classes)
  return is_list(classes) and #classes or classes:numel()
end

--- classes_ as a Lua list.
function base.class_list(classes)
  return is_list(classes) and classes or classes:totable()
end

--- Labels at 1-based positions pos (an int64 tensor): a tensor of classes_'
--- dtype, or a list of strings.
function base.take_classes(classes, pos)
  if not is_list(classes) then return classes:index_select(1, pos) end
  local out = {}
  for i, p in ipairs(pos:reshape(-1):totable()) do out[i] = classes[p] end
  return out
end

-- ---------------------------------------------------------------------------
-- Estimators

local Estimator = base.class("Estimator")
base.Estimator = Estimator

--- Defines an estimator class.
---   name:   scikit-learn's class name ("LogisticRegression")
---   module: the stdlib module that exports it ("ml.linear_model"); ml.load
---           requires this module to rebuild a saved estimator
---   spec:   list of {param, default, kind} (scikit-learn names and defaults)
---   kind:   "classifier", "regressor", "clusterer" or "transformer"
function base.estimator(name, module, spec, kind, parent)
  local cls = base.class(name, parent or Estimator)
  cls._spec = spec
  cls._module = module
  cls._estimator_type = kind
  cls.init = function(self, opts)
    local o = base.options(name, opts, spec)
    for _, s in ipairs(spec) do self[s[1]] = o[s[1]] end
  end
  return cls
end

--- get_params() -> params, names: the parameter table (scikit-learn's
--- names), and the list of every parameter name in declaration order, so a
--- parameter whose value is nil (absent from the table) is still listed.
function Estimator:get_params()
  local p, names = {}, {}
  for i, s in ipairs(self._spec) do
    p[s[1]] = self[s[1]]
    names[i] = s[1]
  end
  return p, names
end

function Estimator:set_params(opts)
  local o = base.options(self.__name .. ":set_params", opts, self._spec)
  for k in pairs(opts) do self[k] = o[k] end
  return self
end

function Estimator:__repr()
  local parts = {}
  for _, s in ipairs(self._spec) do
    local v = self[s[1]]
    if v ~= s[2] and type(v) ~= "table" then
      parts[#parts + 1] = s[1] .. " = " .. (type(v) == "string" and string.format("%q", v)
        or tostring(v))
    end
  end
  return self.__name .. "{" .. table.concat(parts, ", ") .. "}"
end

--- Raises unless fit has run (attr: a fitted attribute such as "coef_").
function Estimator:check_fitted(who, attr)
  if self[attr] == nil then
    raise(string.format("%s:%s: this %s is not fitted yet; call fit first", self.__name, who,
      self.__name))
  end
end

function Estimator:score(X, y)
  local M = require "ml.metrics"
  if self._estimator_type == "regressor" then return M.r2_score(y, self:predict(X)) end
  return M.accuracy_score(y, self:predict(X))
end

function Estimator:fit_transform(X, y)
  return self:fit(X, y):transform(X)
end

function Estimator:fit_predict(X, y)
  self:fit(X, y)
  return self.labels_ or self:predict(X)
end

--- Saved form: parameters plus every fitted attribute (names ending in "_")
--- that is a tensor, number, string, boolean or plain table. Estimators whose
--- fitted state lives in C override state()/from_state().
function Estimator:state()
  local fitted = {}
  for k, v in pairs(self) do
    if type(k) == "string" and k:sub(-1) == "_" and type(v) ~= "function" and
       (type(v) ~= "userdata" or ml.is_tensor(v)) then
      fitted[k] = v
    end
  end
  return {params = self:get_params(), fitted = fitted}
end

--- Rebuilds an estimator from state(); `cls.from_state(state)`.
function Estimator.from_state(cls, state)
  local obj = cls(state.params)
  for k, v in pairs(state.fitted or {}) do obj[k] = v end
  return obj
end

--- ml.clone(est): a new unfitted estimator with the same parameters.
function base.clone(est)
  if type(est) ~= "table" or not est.get_params then
    raise("clone: expected an estimator, got " .. typename(est))
  end
  local p, names = est:get_params()
  for k, v in pairs(p) do
    if type(v) == "table" and v.get_params then p[k] = base.clone(v) end
  end
  local c = getmetatable(est)(p)
  -- a parameter the estimator holds as nil stays nil (the constructor would
  -- put its default in its place)
  for _, k in ipairs(names or {}) do
    if p[k] == nil then c[k] = nil end
  end
  return c
end

return base
