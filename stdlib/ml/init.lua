-- ml: the facade users require. C functions come from ml.core (bindings/),
-- which is private: one subtable per binding area (core.tensor, core.nn,
-- core.io, core.estim_tree, ...). Only the names listed here are public;
-- everything Keras- or scikit-learn-shaped is Lua, loaded on first use.
local core = require "ml.core"

local ml = {version = core.version}

-- The documented tensor API (NumPy/PyTorch names), straight from the engine.
local public_core = {
  tensor = {"Tensor", "tensor", "zeros", "ones", "empty", "full", "rand", "randn", "eye",
    "arange", "linspace", "randperm", "cat", "stack", "vstack", "hstack", "where",
    "maximum", "minimum", "matmul", "seed", "manual_seed", "set_num_threads",
    "get_num_threads", "set_memory_limit", "memory_info"},
}
for area, names in pairs(public_core) do
  for _, n in ipairs(names) do ml[n] = assert(core[area][n], n) end
end
ml.get_rng_state = core.rng.get_state
ml.set_rng_state = core.rng.set_state

local tensor_mt = core.tensor.mt
--- ml.is_tensor(v) -> true when v is an ml.Tensor (torch.is_tensor).
function ml.is_tensor(v) return getmetatable(v) == tensor_mt end

-- printing and Lua-side tensor methods, and the functions written in Lua
for k, f in pairs(require("ml.tensor")._functions) do ml[k] = f end
-- the classes ml.load may rebuild, fixed now (before any user code runs)
require "ml.registry"

-- autograd: requires_grad, backward, no_grad (stdlib/ml/autograd.lua)
local autograd = require "ml.autograd"
ml.autograd = autograd
ml.tensor = autograd.tensor
for _, k in ipairs{"no_grad", "enable_grad", "grad", "is_grad_enabled", "set_grad_enabled"} do
  ml[k] = autograd[k]
end

-- Submodules and top-level names load lazily, so `require "ml"` stays cheap:
-- ml.nn is require "ml.nn", ml.LogisticRegression comes from its module.
local submodules = {
  nn = "ml.nn", optim = "ml.optim", callbacks = "ml.callbacks", data = "ml.data",
  datasets = "ml.datasets", utils = "ml.utils", image = "ml.image", plot = "ml.plot",
  metrics = "ml.metrics", model_selection = "ml.model_selection",
  feature_selection = "ml.feature_selection", preprocessing = "ml.preprocessing",
  dist = "ml.dist", io = "ml.io", base = "ml.base", json = "ml.json",
  parallel = "ml.parallel", dataframe = "ml.dataframe", serve = "ml.serve", trial = "ml.trial",
}
-- name -> module that defines it (the module returns a table holding the name)
local exported = {}
ml._exported = exported
ml._submodules = submodules   -- with _exported: the lazy names, for REPL completion

setmetatable(ml, {
  __index = function(t, k)
    local mod = submodules[k]
    if mod then
      local m = require(mod)
      rawset(t, k, m)
      return m
    end
    mod = exported[k]
    if mod then
      local v = require(mod)[k]
      rawset(t, k, v)
      return v
    end
    return nil
  end,
})

--- Declares that module `mod` defines the top-level names in `names`.
function ml._export(mod, names)
  for _, n in ipairs(names) do exported[n] = mod end
end

ml._export("ml.base", {"clone"})
ml._export("ml.tree", {"DecisionTreeClassifier", "DecisionTreeRegressor"})
ml._export("ml.ensemble", {"RandomForestClassifier", "RandomForestRegressor",
  "GradientBoostingClassifier", "IsolationForest"})
ml._export("ml.neighbors", {"KNeighborsClassifier", "KNeighborsRegressor"})
ml._export("ml.cluster", {"KMeans"})
ml._export("ml.decomposition", {"PCA", "NMF"})
ml._export("ml.naive_bayes", {"GaussianNB"})
ml._export("ml.sweep", {"sweep"})
ml._export("ml.io", {"save", "load", "save_npy", "load_npy", "read_idx"})
ml._export("ml.preprocessing", {"StandardScaler", "MinMaxScaler", "LabelEncoder", "OneHotEncoder",
  "Pipeline"})
ml._export("ml.distributions", {"uniform", "loguniform", "randint", "choice"})
ml._export("ml.model_selection", {"train_test_split", "KFold", "StratifiedKFold", "cross_val_score",
  "GridSearchCV", "RandomizedSearchCV"})
ml._export("ml.feature_selection", {"SelectKBest", "RFE", "SequentialFeatureSelector"})
ml._export("ml.dataframe", {"read_csv", "read_csv_string", "DataFrame"})
ml._export("ml.linear_model", {"LinearRegression", "Ridge", "LogisticRegression"})
ml._export("ml.svm", {"SVC", "LinearSVC"})

return ml
