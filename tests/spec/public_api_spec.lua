-- The public `ml` table holds only documented names; the engine's C
-- functions stay in the private ml.core, one subtable per binding area.
local ml = require "ml"
local core = require "ml.core"

-- Every public name: the tensor API, the lazy submodules, the lazy classes
-- and functions, and the three hooks the REPL reads for completion.
local public = {
  "version", "is_tensor", "get_rng_state", "set_rng_state",
  "autograd", "no_grad", "enable_grad", "grad", "is_grad_enabled", "set_grad_enabled",
  "Tensor", "tensor", "zeros", "ones", "empty", "full", "rand", "randn", "eye", "arange",
  "linspace", "randperm", "cat", "stack", "vstack", "hstack", "where", "maximum", "minimum",
  "matmul", "clip", "dot", "unique", "savetxt", "seed", "manual_seed", "set_num_threads", "get_num_threads", "set_memory_limit",
  "memory_info",
  "nn", "optim", "callbacks", "data", "datasets", "utils", "image", "plot", "metrics",
  "model_selection", "feature_selection", "preprocessing", "dist", "io", "base", "json",
  "parallel", "dataframe", "serve", "trial",
  "clone", "DecisionTreeClassifier", "DecisionTreeRegressor", "RandomForestClassifier",
  "RandomForestRegressor", "GradientBoostingClassifier", "IsolationForest",
  "KNeighborsClassifier", "KNeighborsRegressor", "KMeans", "PCA", "NMF", "GaussianNB", "sweep",
  "save", "load", "save_npy", "load_npy", "read_idx", "StandardScaler", "MinMaxScaler",
  "LabelEncoder", "OneHotEncoder", "Pipeline", "uniform", "loguniform", "randint", "choice",
  "train_test_split", "KFold", "StratifiedKFold", "cross_val_score", "GridSearchCV",
  "RandomizedSearchCV", "SelectKBest", "RFE", "SequentialFeatureSelector", "read_csv",
  "read_csv_string", "DataFrame", "LinearRegression", "Ridge", "LogisticRegression", "SVC",
  "LinearSVC",
  "_export", "_exported", "_submodules",
}

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

describe("the public ml table", function()
  it("holds only the listed names, even after every lazy name is loaded", function()
    for name in pairs(ml._submodules) do assert.is_table(ml[name], name) end
    for name in pairs(ml._exported) do assert.is_not_nil(ml[name], name) end
    local allowed = {}
    for _, n in ipairs(public) do allowed[n] = true end
    local extra = {}
    for _, k in ipairs(keys(ml)) do
      if not allowed[k] then extra[#extra + 1] = k end
    end
    assert.same({}, extra)
    for _, n in ipairs(public) do assert.is_not_nil(rawget(ml, n), n) end
  end)

  it("does not expose the engine's internals", function()
    for _, n in ipairs{"core", "workers_fork", "nn_conv2d_backward", "tensor_mt", "io_save",
        "kmeans_fit", "append_line", "clock", "train_xent", "csv_read"} do
      assert.is_nil(ml[n], n)
    end
  end)

  it("is_tensor tells tensors from everything else", function()
    assert.is_true(ml.is_tensor(ml.zeros(2)))
    assert.is_false(ml.is_tensor({1, 2}))
    assert.is_false(ml.is_tensor(3))
    assert.is_false(ml.is_tensor(nil))
  end)
end)

describe("ml.core", function()
  it("keeps one subtable per binding area and nothing loose", function()
    local areas = {}
    for _, k in ipairs(keys(core)) do
      if k ~= "version" then
        assert.is_table(core[k], k)
        areas[#areas + 1] = k
      end
    end
    assert.same({"autograd", "data", "dist", "estim_bayes", "estim_cluster", "estim_linear", "estim_svm",
      "estim_tree", "image", "io", "nn", "optim", "rng", "serve", "sys", "tensor", "term",
      "train"}, areas)
  end)

  it("gives the public tensor API the engine's own functions", function()
    assert.equal(core.tensor.zeros, ml.zeros)
    assert.equal(require("ml.autograd").tensor, ml.tensor)   -- autograd wraps ml.tensor
    assert.equal(core.tensor.Tensor, ml.Tensor)
    assert.equal(core.rng.get_state, ml.get_rng_state)
  end)
end)
