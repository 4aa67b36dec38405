-- compare_models.lua - the model comparison of the course: six classifiers,
-- each in a Pipeline behind a StandardScaler, scored by 10-fold stratified
-- cross-validation on the breast-cancer table, with a box plot of the scores.
--   mlrun scripts/compare_models.lua [output_dir] [n_jobs]
local ml = require "ml"
local S = ml.model_selection
local out = arg and arg[1] or "."
local n_jobs = tonumber(arg and arg[2]) or 2

local df = ml.read_csv("data/classic/breast_cancer.csv")
local target = df.columns[#df.columns]
local X, y = df:drop{target}:to_tensor(), df[target]:to_tensor()
print(string.format("breast cancer: %d samples, %d features, %d malignant / %d benign",
  X.shape[1], X.shape[2], y:eq(0):sum(), y:eq(1):sum()))

local models = {
  {"LR", ml.LogisticRegression{max_iter = 1000}},
  {"KNN", ml.KNeighborsClassifier{n_neighbors = 5}},
  {"CART", ml.DecisionTreeClassifier{random_state = 1}},
  {"RF", ml.RandomForestClassifier{n_estimators = 100, random_state = 1}},
  {"SVM", ml.SVC{kernel = "rbf"}},
  {"GB", ml.GradientBoostingClassifier{n_estimators = 100, random_state = 1}},
}
local cv = S.StratifiedKFold{n_splits = 10, shuffle = true, random_state = 7}
local groups = {}
print(string.format("%-6s %8s %8s %8s", "model", "mean", "std", "seconds"))
for _, m in ipairs(models) do
  local pipe = ml.Pipeline{{"scale", ml.StandardScaler()}, {"model", m[2]}}
  local t0 = ml.parallel.now()
  local scores = S.cross_val_score(pipe, X, y, {cv = cv, scoring = "accuracy", n_jobs = n_jobs})
  print(string.format("%-6s %8.4f %8.4f %8.2f", m[1], scores:mean(), scores:std(),
    ml.parallel.now() - t0))
  groups[#groups + 1] = {m[1], scores}
end
ml.plot.boxplot(groups, out .. "/compare_models.svg",
  {title = "10-fold CV accuracy, breast cancer", ylabel = "accuracy"})
print("wrote " .. out .. "/compare_models.svg")
