-- ml.dataframe: a small pandas-shaped table over columns.
--
-- A number column is a float32 tensor (NaN = missing; integers are exact up
-- to 2^24). A string column is an int64 tensor of 0-based codes into a sorted
-- category list (-1 = missing), so filtering, splitting and one-hot encoding
-- a 45k-row table are tensor operations. Rows are numbered from 1.
--
--   local df = ml.read_csv("bank-full.csv.gz")      -- separator detected
--   df:shape(); df.columns; df.dtypes; print(df:head()); print(df:describe())
--   df["age"]:mean(); df:filter(df["y"]:eq("yes")); df:get_dummies():to_tensor()
--
-- A column takes precedence over a method of the same name in df.name /
-- df["name"] (value_counts gives a "count" column: vc["count"]); calling such
-- a method (vc:count()) then raises an error that names the way around,
-- DataFrame.count(vc). df:col(name) always returns the column.
local ml = require "ml"
local core = require "ml.core"
local base = require "ml.base"
local raise = require("ml.errors").raise

local D = {}
local is_tensor = ml.is_tensor

-- ---------------------------------------------------------------------------
-- Series: one column

local Series = {}
Series.__name = "Series"
D.Series = Series

local function series_new(name, kind, values, categories)
  -- number: values is a float32 tensor; string: values is an int64 code tensor
  return setmetatable({name = name, kind = kind, values = values, categories = categories},
    Series)
end

Series.__index = function(s, k)
  if type(k) == "number" then
    local n = s.values.shape[1]
    if k < 1 or k > n or k ~= math.floor(k) then
      raise(string.format("Series '%s': row %s out of range 1..%d", s.name, tostring(k), n))
    end
    local v = s.values[k]
    if s.kind == "string" then
      v = math.tointeger(v)
      return v >= 0 and s.categories[v + 1] or nil
    end
    return v == v and v or nil
  end
  local m = Series[k]
  if m ~= nil then return m end
  local labels = rawget(s, "_index")
  if labels and type(k) == "string" then   -- a labelled result: df:isna():sum()["age"]
    for i, l in ipairs(labels) do if l == k then return s[i] end end
    raise(string.format("Series '%s': no label '%s'", s.name, k))
  end
  return nil
end
Series.__len = function(s) return s.values.shape[1] end
-- df:count() where the frame has a column "count": the column shadows the method.
Series.__call = function(s, df)
  local what = getmetatable(df) and getmetatable(df).__name == "DataFrame" and
    string.format("; call the method as ml.dataframe.DataFrame_class.%s(df)", s.name) or ""
  raise(string.format("'%s' is a column of this DataFrame, not a method%s", s.name, what))
end
-- Masks combine as in pandas: (s1:gt(0)) & s2 ... a Series of 0/1 values
-- works as its tensor does (ml.Tensor's __band/__bor/__bnot/__bxor).
local function values_of(v) return getmetatable(v) == Series and v:to_tensor() or v end
Series.__band = function(a, b) return values_of(a) & values_of(b) end
Series.__bor = function(a, b) return values_of(a) | values_of(b) end
Series.__bxor = function(a, b) return values_of(a) ~ values_of(b) end
Series.__bnot = function(a) return ~values_of(a) end

local function number_series(who, s)
  if s.kind ~= "number" then
    raise(string.format("%s: column '%s' holds strings; this needs a number column", who,
      s.name))
  end
end

--- Code of a category (0-based) or nil.
local function code_of(s, v)
  local cats = s.categories
  local lo, hi = 1, #cats
  v = tostring(v)
  while lo <= hi do
    local mid = (lo + hi) // 2
    if cats[mid] == v then return mid - 1 end
    if cats[mid] < v then lo = mid + 1 else hi = mid - 1 end
  end
  return nil
end

local function compare(op)
  return function(s, v)
    if s.kind == "string" then
      if op ~= "eq" and op ~= "ne" then
        raise(string.format("Series:%s: column '%s' holds strings; only eq and ne apply", op,
          s.name))
      end
      local c = code_of(s, v)
      if c == nil then
        return op == "eq" and ml.zeros(#s) or s.values:ge(0)
      end
      return s.values[op](s.values, c)
    end
    if type(v) ~= "number" and not is_tensor(v) then
      raise(string.format("Series:%s: column '%s' holds numbers, got %s", op, s.name, type(v)))
    end
    if getmetatable(v) == Series then v = v.values end
    return s.values[op](s.values, v)
  end
end
for _, op in ipairs{"eq", "ne", "gt", "ge", "lt", "le"} do Series[op] = compare(op) end

--- 0/1 float32 mask of missing entries.
function Series:isna()
  if self.kind == "string" then return self.values:lt(0) end
  return self.values:ne(self.values)
end

--- Non-missing values as a Lua list (numbers; strings for string columns).
function Series:dropna_list()
  local out, v = {}, self.values:totable()
  if self.kind == "string" then
    for _, c in ipairs(v) do
      if c >= 0 then out[#out + 1] = self.categories[math.tointeger(c) + 1] end
    end
  else
    for _, x in ipairs(v) do if x == x then out[#out + 1] = x end end
  end
  return out
end

function Series:count() return #self - math.floor(self:isna():sum()) end

local function check_number(s)
  number_series("Series", s)
  return s
end

--- count, mean, std, min, 25%, 50%, 75%, max of the non-missing values
--- (double precision, runtime/data/curve.c).
function Series:describe()
  return core.data.frame_describe(check_number(self).values)
end

function Series:sum()
  local n, mean = core.data.frame_describe(check_number(self).values, {})
  return n > 0 and n * mean or 0
end
function Series:mean() local _, m = core.data.frame_describe(check_number(self).values, {}); return m end
--- s:std([{ddof = 1}]): the sample standard deviation by default (ddof = 1,
--- as pandas; NumPy's default is ddof = 0), missing values skipped.
function Series:std(opts)
  local o = base.options("Series:std", opts, {{"ddof", 1, "integer"}})
  local n, _, sd = core.data.frame_describe(check_number(self).values, {})
  if o.ddof == 1 or n == 0 then return sd end
  if n - o.ddof <= 0 then return 0 / 0 end
  return sd * math.sqrt((n - 1) / (n - o.ddof))
end
function Series:var(opts) local sd = self:std(opts); return sd * sd end
--- Quantile with linear interpolation (pandas' default); q in [0, 1].
function Series:quantile(q)
  local _, _, _, _, v = core.data.frame_describe(check_number(self).values, {q})
  return v
end
function Series:median() return self:quantile(0.5) end
function Series:min() local _, _, _, lo = core.data.frame_describe(check_number(self).values, {}); return lo end
function Series:max()
  local _, _, _, _, hi = core.data.frame_describe(check_number(self).values, {})
  return hi
end

--- Distinct non-missing values, sorted.
function Series:unique()
  if self.kind == "string" then
    local present, out = {}, {}
    for _, c in ipairs(self.values:totable()) do if c >= 0 then present[c] = true end end
    for i, cat in ipairs(self.categories) do if present[i - 1] then out[#out + 1] = cat end end
    return out
  end
  local seen, out = {}, {}
  for _, x in ipairs(self:dropna_list()) do
    if not seen[x] then seen[x] = true; out[#out + 1] = x end
  end
  table.sort(out)
  return out
end

function Series:nunique() return #self:unique() end

--- Counts per distinct value, most frequent first (ties in value order), as a
--- DataFrame with columns {name, "count"}.
function Series:value_counts()
  local counts, order = {}, {}
  for _, v in ipairs(self:dropna_list()) do
    if not counts[v] then counts[v] = 0; order[#order + 1] = v end
    counts[v] = counts[v] + 1
  end
  table.sort(order, function(a, b)
    if counts[a] ~= counts[b] then return counts[a] > counts[b] end
    return a < b
  end)
  local cnt = {}
  for i, v in ipairs(order) do cnt[i] = counts[v] end
  local cols = {[self.name] = order, count = cnt}
  return D.DataFrame(cols, {columns = {self.name, "count"}})
end

--- Values as a float32 tensor: the numbers (a view), or the codes of a
--- string column (0-based, -1 missing).
function Series:to_tensor()
  if self.kind == "string" then return self.values:float() end
  return self.values
end

--- Values as a Lua list (missing: nil holes for strings, NaN for numbers).
function Series:totable()
  local v = self.values:totable()
  if self.kind == "string" then
    local out = {}
    for i, c in ipairs(v) do out[i] = c >= 0 and self.categories[math.tointeger(c) + 1] or nil end
    return out
  end
  return v
end

--- The rows at 0-based int64 positions idx.
function Series:_take(idx)
  return series_new(self.name, self.kind, core.data.frame_take(self.values, idx + 1), self.categories)
end

function Series:__tostring()
  return tostring(D._frame({self.name}, {[self.name] = self}, #self, rawget(self, "_index")))
end

--- The non-missing values, as a Series.
function Series:dropna()
  local pos = ml.arange(0, #self):masked_select(self:isna():eq(0))
  return self:_take(pos:long())
end

-- Values of a column with the missing entries replaced by v (a number for a
-- number column, a string for a string column).
local function filled(who, s, v)
  if s.kind == "number" then
    if type(v) ~= "number" then
      raise(string.format("%s: column '%s' holds numbers; fill value must be a number, got %s",
        who, s.name, type(v)))
    end
    return series_new(s.name, "number", ml.where(s.values:ne(s.values), v, s.values))
  end
  if type(v) ~= "string" then
    raise(string.format("%s: column '%s' holds strings; fill value must be a string, got %s",
      who, s.name, type(v)))
  end
  local c = code_of(s, v)
  if c then
    return series_new(s.name, "string", ml.where(s.values:lt(0), c, s.values):long(), s.categories)
  end
  -- a new category: insert it in sorted place and shift the codes after it
  local cats, pos = {}, #s.categories
  for i, cat in ipairs(s.categories) do
    if pos == #s.categories and cat > v then pos = i - 1 end
    cats[#cats + 1] = cat
  end
  table.insert(cats, pos + 1, v)
  local shifted = s.values + s.values:ge(pos):long()
  return series_new(s.name, "string", ml.where(s.values:lt(0), pos, shifted):long(), cats)
end

--- s:fillna(value): missing entries replaced by value.
function Series:fillna(v) return filled("Series:fillna", self, v) end

-- ---------------------------------------------------------------------------
-- DataFrame

local DataFrame = {}
DataFrame.__name = "DataFrame"
D.DataFrame_class = DataFrame

local function typename(v)
  if is_tensor(v) then return "tensor" end
  return type(v)
end

--- A column from a tensor, a Lua list of numbers or strings, or a Series.
local function make_series(name, v, n)
  if getmetatable(v) == Series then
    return series_new(name, v.kind, v.values, v.categories)
  end
  if is_tensor(v) then
    if v:dim() == 2 and v.shape[2] == 1 then v = v:reshape(-1) end
    if v:dim() ~= 1 then
      raise(string.format("DataFrame: column '%s' must be 1-dimensional, got shape %s", name,
        table.concat(v.shape, "x")))
    end
    return series_new(name, "number", v.dtype == "float32" and v or v:float())
  end
  if type(v) ~= "table" then
    raise(string.format("DataFrame: column '%s' expected a tensor or a list, got %s", name,
      typename(v)))
  end
  n = n or #v
  local strings = false
  for i = 1, n do if type(v[i]) == "string" then strings = true; break end end
  if not strings then
    local t = {}
    for i = 1, n do
      local x = v[i]
      if x ~= nil and type(x) ~= "number" then
        raise(string.format("DataFrame: column '%s' row %d: expected a number or a string, got %s",
          name, i, type(x)))
      end
      t[i] = x == nil and 0 / 0 or x
    end
    return series_new(name, "number", n > 0 and ml.tensor(t) or ml.zeros(0))
  end
  local seen, cats = {}, {}
  for i = 1, n do
    local x = v[i]
    if x ~= nil then x = tostring(x); if not seen[x] then seen[x] = true; cats[#cats + 1] = x end end
  end
  table.sort(cats)
  local id = {}
  for i, c in ipairs(cats) do id[c] = i - 1 end
  local codes = {}
  for i = 1, n do codes[i] = v[i] == nil and -1 or id[tostring(v[i])] end
  return series_new(name, "string", ml.tensor(codes, "int64"), cats)
end

-- df.dtypes: {name = "number"|"string"} that prints as a table in column
-- order (as pandas' df.dtypes). Columns added later print at the end.
local function dtypes_of(names, series)
  local dtypes = {}
  for _, nm in ipairs(names) do dtypes[nm] = series[nm].kind end
  return setmetatable(dtypes, {__name = "dtypes", __tostring = function(d)
    local w, lines = 0, {}
    for _, nm in ipairs(names) do w = math.max(w, utf8.len(nm) or #nm) end
    for _, nm in ipairs(names) do
      lines[#lines + 1] = nm .. string.rep(" ", w - (utf8.len(nm) or #nm) + 2) .. tostring(d[nm])
    end
    return table.concat(lines, "\n")
  end})
end

local function df_build(names, series, nrows, index)
  local dtypes = dtypes_of(names, series)
  local df = {columns = names, dtypes = dtypes, _series = series, _n = nrows, _index = index}
  return setmetatable(df, DataFrame)
end

DataFrame.__index = function(df, k)
  if type(k) == "string" and k:sub(1, 1) ~= "_" then
    local s = rawget(df, "_series")[k]
    if s then return s end      -- a column wins over a method of the same name
  end
  local m = DataFrame[k]
  if m ~= nil then return m end
  if type(k) == "string" and k:sub(1, 1) ~= "_" then
    raise(string.format("DataFrame: no column '%s' (columns: %s)", k,
      table.concat(rawget(df, "columns"), ", ")))
  end
  if type(k) == "number" then
    raise("DataFrame: use df:iloc(row) for rows; df[...] takes column names")
  end
  if is_tensor(k) or getmetatable(k) == Series then   -- df[mask]: the rows where mask is 1
    return df:filter(values_of(k))
  end
  if type(k) == "table" then return df:select(k) end  -- df[{"a", "b"}]
  return nil
end

--- df["new"] = tensor | list | Series adds or replaces a column.
DataFrame.__newindex = function(df, k, v)
  if type(k) ~= "string" then raise("DataFrame: column names must be strings") end
  local s = make_series(k, v)
  if #s ~= df._n and #df.columns > 0 then
    raise(string.format("DataFrame: column '%s' has %d rows, the frame has %d", k, #s, df._n))
  end
  if not df._series[k] then df.columns[#df.columns + 1] = k end
  if #df.columns == 1 then rawset(df, "_n", #s) end
  df._series[k] = s
  df.dtypes[k] = s.kind
end

DataFrame.__len = function(df) return df._n end

--- ml.DataFrame{a = {...}, b = tensor} (columns in name order) or
--- ml.DataFrame(data, {columns = {"b", "a"}}) to fix the order.
function D.DataFrame(data, opts)
  base.check_arg("DataFrame", 1, data, "table")
  opts = base.options("DataFrame", opts, {{"columns", nil, "table|nil"}})
  local names = opts.columns
  if not names then
    names = {}
    for k in pairs(data) do
      if type(k) ~= "string" then raise("DataFrame: column names must be strings") end
      names[#names + 1] = k
    end
    table.sort(names)
  end
  local series, n = {}, nil
  for _, nm in ipairs(names) do
    if data[nm] == nil then raise(string.format("DataFrame: no data for column '%s'", nm)) end
    local s = make_series(nm, data[nm])
    if n and #s ~= n then
      raise(string.format("DataFrame: column '%s' has %d rows, '%s' has %d", nm, #s, names[1], n))
    end
    n = #s
    series[nm] = s
  end
  local cols = {}
  for i, nm in ipairs(names) do cols[i] = nm end
  return df_build(cols, series, n or 0)
end

--- rows, columns
function DataFrame:shape() return self._n, #self.columns end

--- Always the column (even when a method has the same name).
function DataFrame:col(name)
  local s = self._series[name]
  if not s then
    raise(string.format("DataFrame: no column '%s' (columns: %s)", tostring(name),
      table.concat(self.columns, ", ")))
  end
  return s
end

local function check_names(who, df, names)
  base.check_arg(who, 1, names, "table")
  for _, nm in ipairs(names) do
    if not df._series[nm] then
      raise(string.format("%s: no column '%s' (columns: %s)", who, tostring(nm),
        table.concat(df.columns, ", ")))
    end
  end
end

function DataFrame:select(names)
  if type(names) == "string" then names = {names} end
  check_names("DataFrame:select", self, names)
  local series, cols = {}, {}
  for i, nm in ipairs(names) do series[nm] = self._series[nm]; cols[i] = nm end
  return df_build(cols, series, self._n, self._index)
end

function DataFrame:drop(names)
  if type(names) == "string" then names = {names} end
  check_names("DataFrame:drop", self, names)
  local gone = {}
  for _, nm in ipairs(names) do gone[nm] = true end
  local keep = {}
  for _, nm in ipairs(self.columns) do if not gone[nm] then keep[#keep + 1] = nm end end
  return self:select(keep)
end

--- Rows at 0-based int64 positions (internal; used by filter, iloc, splits).
function DataFrame:_take(idx)
  local series = {}
  for _, nm in ipairs(self.columns) do series[nm] = self._series[nm]:_take(idx) end
  local index = self._index
  if index == nil then index = idx + 1
  elseif is_tensor(index) then index = core.data.frame_take(index, idx + 1)
  else
    local labels = {}
    for i, k in ipairs((idx + 1):totable()) do labels[i] = index[k] end
    index = labels
  end
  local cols = {}
  for i, nm in ipairs(self.columns) do cols[i] = nm end
  return df_build(cols, series, idx:numel(), index)
end

--- Rows at 1-based positions (a tensor or a list).
function DataFrame:take(rows)
  if not is_tensor(rows) then rows = ml.tensor(rows, "int64") end
  if rows:numel() > 0 then
    local lo, hi = rows:min(), rows:max()
    if lo < 1 or hi > self._n then
      raise(string.format("DataFrame:take: row %d out of range 1..%d", lo < 1 and lo or hi,
        self._n))
    end
  end
  return self:_take(rows:long() - 1)
end

local function range_of(who, spec, n)
  -- number | {a, b} inclusive | {} all | nil all; negatives count from the end
  if spec == nil then return 1, n end
  local function fix(i)
    if math.type(i) ~= "integer" and not (type(i) == "number" and i == math.floor(i)) then
      raise(string.format("%s: expected an integer position, got %s", who, tostring(i)))
    end
    i = math.tointeger(i)
    if i < 0 then i = n + 1 + i end
    if i < 1 or i > n then
      raise(string.format("%s: position %d out of range 1..%d", who, i, n))
    end
    return i
  end
  if type(spec) == "number" then local i = fix(spec); return i, i end
  if type(spec) ~= "table" then
    raise(string.format("%s: expected a position, {first, last} or {}, got %s", who,
      typename(spec)))
  end
  if spec[1] == nil then return 1, n end
  local a, b = fix(spec[1]), fix(spec[2] or spec[1])
  return a, b
end

--- Rows and columns by position: iloc(rows, cols) with a number, an inclusive
--- {first, last} range or {} (all); cols may also be a list of names.
function DataFrame:iloc(rows, cols)
  if type(rows) == "number" and type(cols) == "number" then   -- one cell, as pandas
    local r = range_of("DataFrame:iloc", rows, self._n)
    local c = range_of("DataFrame:iloc", cols, #self.columns)
    return self._series[self.columns[c]][r]
  end
  local a, b = range_of("DataFrame:iloc", rows, self._n)
  local names = self.columns
  if cols ~= nil then
    if type(cols) == "table" and type(cols[1]) == "string" then
      names = cols
    else
      local c1, c2 = range_of("DataFrame:iloc", cols, #self.columns)
      names = {}
      for j = c1, c2 do names[#names + 1] = self.columns[j] end
    end
  end
  local sub = self:select(names)
  if b < a then return sub:_take(ml.zeros(0):long()) end
  return sub:_take(ml.arange(a - 1, b):long())
end

function DataFrame:head(n)
  n = math.min(n or 5, self._n)
  if n <= 0 then return self:_take(ml.zeros(0):long()) end
  return self:iloc({1, n})
end

function DataFrame:tail(n)
  n = math.min(n or 5, self._n)
  if n <= 0 then return self:_take(ml.zeros(0):long()) end
  return self:iloc({self._n - n + 1, self._n})
end

--- Rows where mask (a 0/1 tensor, or a Lua list of booleans) is true.
function DataFrame:filter(mask)
  if type(mask) == "table" and not is_tensor(mask) then
    local t = {}
    for i = 1, self._n do t[i] = mask[i] and 1 or 0 end
    mask = ml.tensor(t)
  end
  if not is_tensor(mask) then
    raise("DataFrame:filter: expected a 0/1 mask tensor, got " .. typename(mask))
  end
  mask = mask:reshape(-1)
  if mask:numel() ~= self._n then
    raise(string.format("DataFrame:filter: mask has %d entries, the frame has %d rows",
      mask:numel(), self._n))
  end
  local pos = ml.arange(0, self._n):masked_select(mask:ne(0))
  return self:_take(pos:long())
end

--- df:dropna([{how = "any", subset = nil}]): the rows without a missing value
--- (how = "all": the rows not entirely missing) in the subset's columns.
function DataFrame:dropna(opts)
  local o = base.options("DataFrame:dropna", opts, {{"how", "any", {"any", "all"}},
    {"subset", nil, "table|nil"}})
  local names = o.subset or self.columns
  check_names("DataFrame:dropna", self, names)
  local bad = ml.zeros(self._n)
  for _, nm in ipairs(names) do bad = bad + self._series[nm]:isna() end
  if o.how == "all" then return self:filter(bad:lt(#names)) end
  return self:filter(bad:eq(0))
end

--- df:fillna(value | {col = value, ...}): missing entries replaced (numbers
--- in number columns, strings in string columns).
function DataFrame:fillna(value)
  local per = type(value) == "table"
  if per then check_names("DataFrame:fillna", self, (function()
    local t = {}
    for k in pairs(value) do t[#t + 1] = k end
    return t
  end)()) end
  local series = {}
  for _, nm in ipairs(self.columns) do
    local s, v = self._series[nm], value
    if per then v = value[nm] end
    if v == nil or (not per and type(v) == "number" and s.kind == "string") or
       (not per and type(v) == "string" and s.kind == "number") then
      series[nm] = s   -- a scalar fills the columns of its kind, as pandas
    else
      series[nm] = filled("DataFrame:fillna", s, v)
    end
  end
  return df_build({table.unpack(self.columns)}, series, self._n, self._index)
end

--- df:isna(): a frame of 0/1 number columns, 1 where a value is missing
--- (df:isna():sum() counts them per column). df:notna() the opposite.
function DataFrame:isna()
  local series = {}
  for _, nm in ipairs(self.columns) do
    series[nm] = series_new(nm, "number", self._series[nm]:isna())
  end
  return df_build({table.unpack(self.columns)}, series, self._n, self._index)
end
function DataFrame:notna()
  local series = {}
  for _, nm in ipairs(self.columns) do
    series[nm] = series_new(nm, "number", self._series[nm]:isna():eq(0))
  end
  return df_build({table.unpack(self.columns)}, series, self._n, self._index)
end

-- A Series whose rows are labelled (column names or group keys).
local function labelled(name, labels, values)
  local s = make_series(name, values, #labels)
  rawset(s, "_index", labels)
  return s
end

-- Per-column statistics of the number columns, as a labelled Series (pandas'
-- df.mean() and friends; missing values skipped).
local function column_stat(name, fn)
  return function(self, opts)
    local labels, vals = {}, {}
    for _, nm in ipairs(self.columns) do
      local s = self._series[nm]
      if s.kind == "number" then
        labels[#labels + 1] = nm
        vals[#vals + 1] = fn(s, opts)
      end
    end
    return labelled(name, labels, vals)
  end
end
DataFrame.sum = column_stat("sum", function(s) return s:sum() end)
DataFrame.mean = column_stat("mean", function(s) return s:mean() end)
DataFrame.median = column_stat("median", function(s) return s:median() end)
DataFrame.min = column_stat("min", function(s) return s:min() end)
DataFrame.max = column_stat("max", function(s) return s:max() end)
DataFrame.std = column_stat("std", function(s, o) return s:std(o) end)
DataFrame.var = column_stat("var", function(s, o) return s:var(o) end)
--- Non-missing values per column (every column).
function DataFrame:count()
  local vals = {}
  for i, nm in ipairs(self.columns) do vals[i] = self._series[nm]:count() end
  return labelled("count", {table.unpack(self.columns)}, vals)
end

--- df:sort_values(by [, {ascending = true}]): rows ordered by one column or
--- a list of columns (stable; missing values last, as pandas). The row
--- labels follow their rows.
function DataFrame:sort_values(by, opts)
  local o = base.options("DataFrame:sort_values", opts, {{"ascending", true, "boolean|table"}})
  if type(by) == "string" then by = {by} end
  check_names("DataFrame:sort_values", self, by)
  local asc = o.ascending
  local perm = ml.arange(1, self._n + 1)
  for k = #by, 1, -1 do   -- least significant key first; each sort is stable
    local s = self._series[by[k]]
    local up = asc
    if type(asc) == "table" then up = asc[k] ~= false end
    local key = s.kind == "string"
      and ml.where(s.values:lt(0), 0 / 0, s.values:float())   -- missing: NaN, sorted last
      or s.values
    key = key:index_select(1, perm)
    if not up then key = -key end       -- NaN stays NaN, so still last
    perm = perm:index_select(1, key:argsort(1))
  end
  return self:_take(perm - 1)
end

-- ---------------------------------------------------------------------------
-- groupby

local GroupBy = {}
GroupBy.__name = "GroupBy"
GroupBy.__index = function(g, k)
  local m = GroupBy[k]
  if m ~= nil then return m end
  if type(k) == "string" or type(k) == "table" then   -- gb["col"] / gb[{"a", "b"}]
    local cols = type(k) == "string" and {k} or k
    check_names("GroupBy", g.df, cols)
    return setmetatable({df = g.df, key = g.key, cols = cols, single = type(k) == "string",
      groups = g.groups, labels = g.labels}, GroupBy)
  end
  return nil
end

--- df:groupby(col) -> groups by the distinct non-missing values of col
--- (sorted); gb:mean(), sum(), min(), max(), std(), median(), count(),
--- size(); gb["other"]:mean() gives a Series.
function DataFrame:groupby(col)
  if type(col) ~= "string" then
    raise("DataFrame:groupby: expected a column name, got " .. typename(col))
  end
  check_names("DataFrame:groupby", self, {col})
  local s = self._series[col]
  local labels, groups, gid = {}, {}, {}
  if s.kind == "string" then
    local present = {}
    for _, c in ipairs(s.values:totable()) do if c >= 0 then present[c] = true end end
    for i, cat in ipairs(s.categories) do
      if present[i - 1] then labels[#labels + 1] = cat; gid[i - 1] = #labels end
    end
    for r, c in ipairs(s.values:totable()) do
      local g = gid[c]
      if g then groups[g] = groups[g] or {}; local t = groups[g]; t[#t + 1] = r end
    end
  else
    labels = s:unique()
    for i, v in ipairs(labels) do gid[v] = i end
    for r, v in ipairs(s.values:totable()) do
      local g = gid[v]
      if g then groups[g] = groups[g] or {}; local t = groups[g]; t[#t + 1] = r end
    end
    for i, v in ipairs(labels) do labels[i] = math.tointeger(v) or v end
  end
  local cols = {}
  for _, nm in ipairs(self.columns) do if nm ~= col then cols[#cols + 1] = nm end end
  return setmetatable({df = self, key = col, cols = cols, groups = groups, labels = labels,
    single = false}, GroupBy)
end

-- Applies fn(list of non-missing numbers) per group and column.
local function aggregate(g, name, fn, all_columns)
  local out, names = {}, {}
  for _, nm in ipairs(g.cols) do
    local s = g.df._series[nm]
    if s.kind == "number" or all_columns then
      local vals = s.values:totable()
      local col = {}
      for gi = 1, #g.labels do
        local list = {}
        for _, r in ipairs(g.groups[gi]) do
          local v = vals[r]
          if (s.kind == "number" and v == v) or (s.kind == "string" and v >= 0) then
            list[#list + 1] = v
          end
        end
        col[gi] = fn(list)
      end
      names[#names + 1] = nm
      out[nm] = col
    elseif g.single then
      raise(string.format("GroupBy:%s: column '%s' holds strings", name, nm))
    end
  end
  if g.single then return labelled(names[1], g.labels, out[names[1]]) end
  local series = {}
  for _, nm in ipairs(names) do series[nm] = make_series(nm, out[nm], #g.labels) end
  return df_build(names, series, #g.labels, g.labels)
end

local function sum(l) local t = 0; for _, v in ipairs(l) do t = t + v end; return t end
function GroupBy:sum() return aggregate(self, "sum", sum) end
function GroupBy:mean()
  return aggregate(self, "mean", function(l) return #l > 0 and sum(l) / #l or 0 / 0 end)
end
function GroupBy:min()
  return aggregate(self, "min", function(l) return #l > 0 and math.min(table.unpack(l)) or 0 / 0 end)
end
function GroupBy:max()
  return aggregate(self, "max", function(l) return #l > 0 and math.max(table.unpack(l)) or 0 / 0 end)
end
--- gb:std([{ddof = 1}]) (pandas' default ddof = 1)
function GroupBy:std(opts)
  local o = base.options("GroupBy:std", opts, {{"ddof", 1, "integer"}})
  return aggregate(self, "std", function(l)
    local n = #l
    if n - o.ddof <= 0 then return 0 / 0 end
    local m = sum(l) / n
    local ss = 0
    for _, v in ipairs(l) do ss = ss + (v - m) ^ 2 end
    return math.sqrt(ss / (n - o.ddof))
  end)
end
function GroupBy:median()
  return aggregate(self, "median", function(l)
    if #l == 0 then return 0 / 0 end
    table.sort(l)
    local n = #l
    return n % 2 == 1 and l[(n + 1) // 2] or (l[n // 2] + l[n // 2 + 1]) / 2
  end)
end
--- Non-missing values per group and column (string columns included).
function GroupBy:count() return aggregate(self, "count", function(l) return #l end, true) end
--- Rows per group, as a Series.
function GroupBy:size()
  local n = {}
  for i = 1, #self.labels do n[i] = #self.groups[i] end
  return labelled("size", self.labels, n)
end
function GroupBy:__tostring()
  return string.format("GroupBy(%s: %d groups)", self.key, #self.labels)
end

function DataFrame:value_counts(name)
  return self:col(name):value_counts()
end

--- One-hot encodes string columns (all of them when names is nil), pandas
--- style: the other columns first, then "<col>_<value>" 0/1 number columns
--- per column in sorted value order. Missing values give all-zero rows.
function DataFrame:get_dummies(names)
  if names == nil then
    names = {}
    for _, nm in ipairs(self.columns) do
      if self._series[nm].kind == "string" then names[#names + 1] = nm end
    end
  else
    check_names("DataFrame:get_dummies", self, names)
  end
  local enc = {}
  for _, nm in ipairs(names) do enc[nm] = true end
  local cols, series = {}, {}
  for _, nm in ipairs(self.columns) do
    if not enc[nm] then cols[#cols + 1] = nm; series[nm] = self._series[nm] end
  end
  for _, nm in ipairs(names) do
    local s = self._series[nm]
    if s.kind == "string" then
      local hot = core.data.frame_onehot(s.values, #s.categories)   -- N x K in one pass
      for k, cat in ipairs(s.categories) do
        local dn = nm .. "_" .. cat
        cols[#cols + 1] = dn
        series[dn] = series_new(dn, "number", hot:select(2, k))
      end
    else
      for _, v in ipairs(s:unique()) do
        local dn = nm .. "_" .. (math.tointeger(v) or v)
        cols[#cols + 1] = dn
        series[dn] = series_new(dn, "number", s.values:eq(v))
      end
    end
  end
  return df_build(cols, series, self._n, self._index)
end

--- The number columns as an N x C float32 tensor (an error names string columns).
function DataFrame:to_tensor()
  local bad = {}
  for _, nm in ipairs(self.columns) do
    if self._series[nm].kind ~= "number" then bad[#bad + 1] = nm end
  end
  if #bad > 0 then
    raise("DataFrame:to_tensor: columns hold strings: " .. table.concat(bad, ", ") ..
      " (encode them first: df:get_dummies() or LabelEncoder)")
  end
  if #self.columns == 0 then return ml.zeros(self._n, 0) end
  local parts = {}
  for i, nm in ipairs(self.columns) do parts[i] = self._series[nm].values end
  return core.data.frame_columns(parts)
end

function DataFrame:copy()
  local series, cols = {}, {}
  for i, nm in ipairs(self.columns) do
    local s = self._series[nm]
    series[nm] = series_new(nm, s.kind, s.values:clone(), s.categories)
    cols[i] = nm
  end
  return df_build(cols, series, self._n, self._index)
end

-- ---------------------------------------------------------------------------
-- describe and printing

--- count, mean, std, min, 25%, 50%, 75%, max of the number columns (pandas),
--- as a DataFrame whose row labels are the statistic names.
function DataFrame:describe()
  local cols, series = {}, {}
  for _, nm in ipairs(self.columns) do
    local s = self._series[nm]
    if s.kind == "number" then
      local vals = {s:describe()}
      cols[#cols + 1] = nm
      series[nm] = {values = vals}
    end
  end
  if #cols == 0 then raise("DataFrame:describe: no number columns") end
  -- keep double precision: a Lua-list-backed frame
  local data = {}
  for _, nm in ipairs(cols) do data[nm] = series[nm].values end
  local df = D.DataFrame(data, {columns = cols})
  rawset(df, "_index", {"count", "mean", "std", "min", "25%", "50%", "75%", "max"})
  rawset(df, "_exact", data)
  return df
end

-- Formats a column's values for display: integers without decimals, others
-- with the fewest decimals (up to 6) that show every value as %.6f would.
local function format_column(vals, kind, n)
  local out = {}
  if kind == "string" then   -- vals may have nil holes (missing strings)
    for i = 1, n do local v = vals[i]; out[i] = v == nil and "NaN" or v end
    return out
  end
  local dec = 0
  for _, v in pairs(vals) do
    if v == v and v ~= math.huge and v ~= -math.huge then
      local s = string.format("%.6f", v):gsub("0+$", "")
      local d = #(s:match("%.(%d*)$") or "")
      if d > dec then dec = d end
    end
  end
  for i = 1, #vals do
    local v = vals[i]
    if v ~= v then out[i] = "NaN"
    elseif v == math.huge then out[i] = "inf"
    elseif v == -math.huge then out[i] = "-inf"
    else out[i] = string.format("%." .. dec .. "f", v) end
  end
  return out
end

local MAX_ROWS = 60

function DataFrame:__tostring()
  local n = self._n
  local rows = {}
  if n > MAX_ROWS then
    for i = 1, 5 do rows[#rows + 1] = i end
    rows[#rows + 1] = false
    for i = n - 4, n do rows[#rows + 1] = i end
  else
    for i = 1, n do rows[#rows + 1] = i end
  end
  local index = self._index
  local idxlist = index and (is_tensor(index) and index:totable() or index)
  local grid = {{""}}
  for _, r in ipairs(rows) do
    grid[1][#grid[1] + 1] = r and tostring(idxlist and idxlist[r] or r) or "..."
  end
  local exact = rawget(self, "_exact")
  for _, nm in ipairs(self.columns) do
    local s = self._series[nm]
    local vals = {}
    local full = exact and exact[nm]
    local listed = {}
    for _, r in ipairs(rows) do if r then listed[#listed + 1] = r end end
    local raw = {}
    if #listed > 0 then
      local lo, hi = listed[1], listed[#listed]
      if full then
        for k, r in ipairs(listed) do raw[k] = full[r] end
      else
        local t
        if n > MAX_ROWS then
          local a = s.values:narrow(1, 1, 5):totable()
          local b = s.values:narrow(1, n - 4, 5):totable()
          t = {}
          for i = 1, 5 do t[i] = a[i] end
          for i = 1, 5 do t[5 + i] = b[i] end
        else
          t = s.values:totable()
        end
        for k in ipairs(listed) do
          local v = t[k]
          if s.kind == "string" then v = v >= 0 and s.categories[math.tointeger(v) + 1] or nil end
          raw[k] = v
        end
        local _ = lo + hi
      end
    end
    local shown = format_column(raw, s.kind, #listed)
    local col = {nm}
    local k = 0
    for _, r in ipairs(rows) do
      if r then k = k + 1; col[#col + 1] = shown[k] else col[#col + 1] = "..." end
    end
    grid[#grid + 1] = col
    vals = nil
  end
  local width = {}
  for j, col in ipairs(grid) do
    local w = 0
    for _, cell in ipairs(col) do if utf8.len(cell) and utf8.len(cell) > w then w = utf8.len(cell) end end
    width[j] = w
  end
  local lines = {}
  for i = 1, #grid[1] do
    local parts = {}
    for j, col in ipairs(grid) do
      local cell = col[i]
      local pad = width[j] - (utf8.len(cell) or #cell)
      if j == 1 then parts[j] = cell .. string.rep(" ", pad)
      else parts[j] = string.rep(" ", pad) .. cell end
    end
    lines[i] = table.concat(parts, "  ")
  end
  if n > MAX_ROWS or #rows == 0 then
    lines[#lines + 1] = string.format("\n[%d rows x %d columns]", n, #self.columns)
  end
  return table.concat(lines, "\n")
end

-- ---------------------------------------------------------------------------
-- reading and writing

--- ml.read_csv(path, {sep =, header = true, na_values = {...}, keep_default_na = true,
--- dtype = {col = "string"|"number"}, max_field = bytes}) -> DataFrame
function D.read_csv(path, opts)
  base.check_arg("read_csv", 1, path, "string")
  local t = core.data.csv_read(path, opts)
  local series = {}
  for _, c in ipairs(t.columns) do
    if c.kind == "string" then
      series[c.name] = series_new(c.name, "string", c.codes, c.categories)
    else
      series[c.name] = series_new(c.name, "number", c.values)
    end
  end
  return df_build(t.names, series, t.nrows)
end

--- The same from a string holding CSV text.
function D.read_csv_string(text, opts)
  base.check_arg("read_csv_string", 1, text, "string")
  local t = core.data.csv_parse(text, opts)
  local series = {}
  for _, c in ipairs(t.columns) do
    series[c.name] = c.kind == "string" and series_new(c.name, "string", c.codes, c.categories)
      or series_new(c.name, "number", c.values)
  end
  return df_build(t.names, series, t.nrows)
end

local function quote_field(s, sep)
  if s:find('[' .. (sep == "%" and "%%" or sep:gsub("%p", "%%%0")) .. '"\r\n]') then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

--- Writes the frame as CSV (header row, "," by default; missing -> empty),
--- atomically: to a temporary file renamed over path.
function DataFrame:write_csv(path, opts)
  base.check_arg("DataFrame:write_csv", 1, path, "string")
  opts = base.options("DataFrame:write_csv", opts,
    {{"sep", ",", "string"}, {"header", true, "boolean"}})
  local sep = opts.sep
  if #sep ~= 1 then raise("DataFrame:write_csv: sep must be one character") end
  local cols = {}
  for j, nm in ipairs(self.columns) do
    local s = self._series[nm]
    local c = {values = s.values}
    if s.kind == "string" then
      c.cats = {}
      for k, cat in ipairs(s.categories) do c.cats[k] = quote_field(cat, sep) end
    end
    cols[j] = c
  end
  local header
  if opts.header then
    header = {}
    for j, nm in ipairs(self.columns) do header[j] = quote_field(nm, sep) end
  end
  local text = core.data.csv_format(cols, self._n, sep, header)   -- runtime/data/csv_write.c
  local ok, err = pcall(require("ml.io").write_atomic, path, text)
  if not ok then raise("DataFrame:write_csv: " .. tostring(err)) end
  return self
end

DataFrame.__call = nil
D._frame = df_build

return D
