-- scripts/bench/tabular.lua - the tabular side timed in mlrun, one line per
-- case: "<case> <seconds>" (best of a few runs; the twin is tabular.py).
local ml = require "ml"
local S, M = ml.model_selection, ml.metrics
local now = ml.parallel.now
ml.set_num_threads(tonumber(os.getenv("MLRUN_THREADS") or "2"))

local function best(n, f)
  local b = math.huge
  for _ = 1, n do
    local t0 = now(); f(); b = math.min(b, now() - t0)
  end
  return b
end
local function report(name, s) print(string.format("%s %.4f", name, s)) end

local df
report("read_csv", best(5, function() df = ml.read_csv("data/bank/bank-full.csv.gz") end))
local X
report("get_dummies", best(3, function() X = df:drop{"y"}:get_dummies():to_tensor() end))
report("describe", best(3, function() return df:describe() end))
local y = df["y"]:eq("yes")
report("write_csv", best(3, function() df:write_csv(os.tmpname()) end))

local bc = ml.read_csv("data/classic/breast_cancer.csv")
local target = bc.columns[#bc.columns]
local Xb, yb = bc:drop{target}:to_tensor(), bc[target]:to_tensor()
report("grid_search_rf", best(1, function()
  S.GridSearchCV(ml.RandomForestClassifier{n_estimators = 50, random_state = 0},
    {max_depth = {4, 8}, min_samples_leaf = {1, 5}}, {cv = 5, n_jobs = 2}):fit(Xb, yb)
end))
report("cv_tree_bank", best(1, function()
  S.cross_val_score(ml.DecisionTreeClassifier{max_depth = 8, random_state = 0}, X, y,
    {cv = 5, n_jobs = 2})
end))
local score = X:select(2, 4) / 5000   -- duration as a score
report("roc_auc_45k", best(3, function() M.roc_auc_score(y, score) end))
report("report_45k", best(3, function() M.classification_report(y, score:gt(0.05)) end))
