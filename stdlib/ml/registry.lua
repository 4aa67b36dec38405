-- ml.registry: the one fixed list of classes a saved file may name.
--
-- Loading a file (ml.load, ml.io.deserialize, fit{resume =}, a model's
-- layers and optimizer, a Pipeline's steps) never calls require, load,
-- dofile or loadstring with a name read from the file: every class is
-- resolved here, from the table below (written into the stdlib, which is
-- compiled into the binary) or from classes the program registered itself
-- with ml.io.register(Class). Anything else is refused with an error naming
-- the class and module the file gave. The modules below are loaded with
-- their literal names, from the loaders mlrun put into package.preload at
-- start-up, so package.path / package.cpath are never searched.
--
-- Kinds: "object" (anything ml.load rebuilds at the top or inside a table:
-- estimators, Pipeline, models), "layer" (a model's layers), "optimizer"
-- (a compiled model's optimizer). A layer or optimizer may also be saved on
-- its own, so "object" lookups accept every kind; a layer lookup accepts
-- only layers and an optimizer lookup only optimizers.
local raise = require("ml.errors").raise
local R = {}

-- module -> {kind, class names}: every class mlrun ships that can appear in
-- a saved state. tests/spec/registry_spec.lua checks this list against the
-- stdlib (every class with state()/from_state() is here, and nothing else).
local SHIPPED = {
  {"ml.linear_model", "object", {"LinearRegression", "Ridge", "LogisticRegression"}},
  {"ml.svm", "object", {"SVC", "LinearSVC"}},
  {"ml.tree", "object", {"DecisionTreeClassifier", "DecisionTreeRegressor"}},
  {"ml.ensemble", "object", {"RandomForestClassifier", "RandomForestRegressor",
    "GradientBoostingClassifier", "IsolationForest"}},
  {"ml.neighbors", "object", {"KNeighborsClassifier", "KNeighborsRegressor"}},
  {"ml.cluster", "object", {"KMeans"}},
  {"ml.decomposition", "object", {"PCA", "NMF"}},
  {"ml.naive_bayes", "object", {"GaussianNB"}},
  {"ml.feature_selection", "object", {"SelectKBest"}},
  {"ml.preprocessing", "object", {"StandardScaler", "MinMaxScaler", "LabelEncoder",
    "OneHotEncoder", "Pipeline"}},
  {"ml.nn.model", "object", {"Sequential", "Model"}},
  {"ml.nn.layers", "layer", {"Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "Flatten", "Reshape", "Dropout", "BatchNormalization",
    "Activation"}},
  {"ml.optim", "optimizer", {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}},
}

-- "module:Class" -> {module, name, kind, shipped, cls (registered classes)}
local entries = {}
-- the package.preload loader of each shipped module, as it was at start-up
local loaders = {}

local function key(module, name) return module .. ":" .. name end

for _, m in ipairs(SHIPPED) do
  local module, kind = m[1], m[2]
  loaders[module] = package.preload[module]
  for _, name in ipairs(m[3]) do
    entries[key(module, name)] = {module = module, name = name, kind = kind, shipped = true}
  end
end

-- A readable rendering of a value read from a file (it may be anything).
local function show(v)
  if type(v) == "string" then
    if #v > 60 then v = v:sub(1, 57) .. "..." end
    return string.format("%q", v):gsub("\\\n", "\\n")
  end
  return type(v) == "table" and "a table" or tostring(v)
end
R.show = show

local function kind_ok(entry_kind, want)
  return want == "object" or entry_kind == want
end

local kind_words = {object = "class", layer = "layer class", optimizer = "optimizer class"}

--- R.resolve(who, kind, module, name) -> class table, entry. Raises (level 0)
--- "<who>: refusing to load class <name> from module <module>: ..." when the
--- pair is not a shipped or registered class of that kind. module and name
--- are whatever the file held: they are only ever used as table keys.
function R.resolve(who, kind, module, name)
  if type(module) ~= "string" or type(name) ~= "string" then
    raise(string.format("%s: malformed saved object: class %s, module %s (both must be "
      .. "strings)", who, show(name), show(module)))
  end
  local e = entries[key(module, name)]
  if not e then
    raise(string.format("%s: refusing to load class %s from module %s: not a %s that mlrun "
      .. "ships or that the program registered (ml.io.register); loading never runs code "
      .. "named by a file", who, show(name), show(module), kind_words[kind] or "class"))
  end
  if not kind_ok(e.kind, kind) then
    raise(string.format("%s: refusing to load class %s from module %s here: it is a %s, "
      .. "expected a %s", who, show(name), show(module), e.kind, kind))
  end
  if e.cls then return e.cls, e end
  -- shipped: the module's name is the literal above, never the file's string
  local mod = package.loaded[e.module]
  if mod == nil then
    if loaders[e.module] == nil or package.preload[e.module] ~= loaders[e.module] then
      raise(string.format("%s: cannot load class %s: mlrun's module %s is not the one "
        .. "shipped in the binary", who, name, e.module))
    end
    mod = require(e.module)
  end
  local cls = type(mod) == "table" and rawget(mod, e.name) or nil
  if type(cls) ~= "table" or type(cls.from_state) ~= "function" then
    raise(string.format("%s: mlrun's module %s has no loadable class %s", who, e.module,
      e.name))
  end
  return cls, e
end

--- R.entry_of(cls) -> the registry entry of a class table (nil when the
--- class is neither shipped nor registered). Used by ml.save to refuse, at
--- save time, what ml.load would refuse.
function R.entry_of(cls)
  if type(cls) ~= "table" then return nil end
  local module, name = rawget(cls, "_module"), rawget(cls, "__name")
  if type(module) ~= "string" or type(name) ~= "string" then return nil end
  local e = entries[key(module, name)]
  if not e then return nil end
  if e.cls then return e.cls == cls and e or nil end
  -- shipped: the name is enough (a test harness may load a module twice,
  -- giving two tables of one class; ml.load rebuilds with the current one)
  return type(cls.from_state) == "function" and e or nil
end

local function is_sub(cls, base_cls)
  local seen = 0
  while type(cls) == "table" and seen < 100 do
    if cls == base_cls then return true end
    local mt = getmetatable(cls)
    cls = mt and rawget(mt, "__index")
    seen = seen + 1
  end
  return false
end

--- R.register(cls [, kind]) -> cls. Lets ml.load rebuild instances of a
--- class the program defines. cls needs a string __name, a state() method
--- and a from_state(cls, state) function (a layer instead: get_config() and
--- get_weights(), and is rebuilt with from_config(cls, config) or
--- cls(config)); its _module (default "user") only namespaces the name in
--- the file. kind is "object", "layer" or "optimizer"; by default a subclass
--- of nn.Layer (or a class with forward, backward and get_config) is a layer
--- and a subclass of optim.Optimizer an optimizer. Registering a
--- class again is allowed; taking the name of a shipped class or of another
--- registered class is an error.
function R.register(cls, kind)
  if type(cls) ~= "table" then
    raise("register: expected a class table, got " .. type(cls))
  end
  local name = rawget(cls, "__name")
  if type(name) ~= "string" or name == "" then
    raise("register: the class needs a string __name (base.class(name) sets it)")
  end
  if kind ~= nil and kind ~= "object" and kind ~= "layer" and kind ~= "optimizer" then
    raise(string.format("register: kind must be \"object\", \"layer\" or \"optimizer\", got %s",
      show(kind)))
  end
  if kind == nil then
    kind = "object"
    local lmod, omod = package.loaded["ml.nn.layers"], package.loaded["ml.optim"]
    if (lmod and is_sub(cls, lmod.Layer)) or (type(cls.forward) == "function"
        and type(cls.backward) == "function" and type(cls.get_config) == "function") then
      kind = "layer"
    elseif omod and is_sub(cls, omod.Optimizer) then kind = "optimizer" end
  end
  if kind == "layer" then
    -- a model saves its layers as config + weights and rebuilds them with
    -- from_config(cls, config) or cls(config)
    if type(cls.get_config) ~= "function" or type(cls.get_weights) ~= "function" then
      raise(string.format("register: layer class %s needs get_config() and get_weights() "
        .. "methods", name))
    end
  elseif type(cls.state) ~= "function" or type(cls.from_state) ~= "function" then
    raise(string.format("register: class %s needs state() and from_state(cls, state) "
      .. "methods", name))
  end
  local module = rawget(cls, "_module")
  if module == nil then module = "user"; rawset(cls, "_module", module) end
  if type(module) ~= "string" or module == "" then
    raise(string.format("register: class %s has a _module that is not a string", name))
  end
  local k = key(module, name)
  local e = entries[k]
  if e and e.shipped then
    raise(string.format("register: %s from module %s is a class mlrun ships; give yours "
      .. "another __name or _module", name, module))
  end
  if e and e.cls ~= cls then
    raise(string.format("register: another class is already registered as %s from module %s",
      name, module))
  end
  entries[k] = {module = module, name = name, kind = kind, cls = cls}
  return cls
end

--- R.unregister(cls): removes a class registered by the program.
function R.unregister(cls)
  for k, e in pairs(entries) do
    if e.cls == cls then entries[k] = nil end
  end
end

--- R.list() -> sorted list of {module, name, kind, shipped}.
function R.list()
  local out = {}
  for _, e in pairs(entries) do
    out[#out + 1] = {module = e.module, name = e.name, kind = e.kind, shipped = e.shipped == true}
  end
  table.sort(out, function(a, b) return key(a.module, a.name) < key(b.module, b.name) end)
  return out
end

return R
