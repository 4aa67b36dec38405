-- feature_selection.lua - which of the 30 breast-cancer measurements matter?
-- Univariate tests (chi2 and ANOVA F with p-values), recursive feature
-- elimination with a forest's importances, and forward sequential selection
-- with KNN; each subset scored by 5-fold CV against all features.
--   mlrun scripts/feature_selection.lua [n_jobs]
local ml = require "ml"
local S, F = ml.model_selection, ml.feature_selection
local n_jobs = tonumber(arg and arg[1]) or 2

local df = ml.read_csv("data/classic/breast_cancer.csv")
local target = df.columns[#df.columns]
local features = df:drop{target}
local names = features.columns
local X, y = features:to_tensor(), df[target]:to_tensor()

local function cv_of(Xs)
  local pipe = ml.Pipeline{{"scale", ml.StandardScaler()}, {"knn", ml.KNeighborsClassifier()}}
  return S.cross_val_score(pipe, Xs, y, {cv = 5, n_jobs = n_jobs}):mean()
end
local function show(title, sel)
  local kept = sel:get_feature_names_out(names)
  print(string.format("%-28s %2d features, CV accuracy %.4f: %s", title, #kept,
    cv_of(sel:transform(X)), table.concat(kept, ", ")))
end

print(string.format("%-28s %2d features, CV accuracy %.4f", "all", #names, cv_of(X)))

local chi = F.SelectKBest{score_func = "chi2", k = 5}:fit(X, y)
local order = {}
for j = 1, #names do order[j] = j end
local s, p = chi.scores_:totable(), chi.pvalues_:totable()
table.sort(order, function(a, b) return s[a] > s[b] end)
print("\nchi2 scores (top 5):")
for i = 1, 5 do
  local j = order[i]
  print(string.format("  %-24s chi2 = %10.1f  p = %.3g", names[j], s[j], p[j]))
end
show("SelectKBest(chi2, k=5)", chi)
show("SelectKBest(f_classif, k=5)", F.SelectKBest{score_func = "f_classif", k = 5}:fit(X, y))
show("RFE(RandomForest, 5)", F.RFE(ml.RandomForestClassifier{n_estimators = 50, random_state = 0},
  {n_features_to_select = 5, step = 3}):fit(X, y))
show("SequentialFeatureSelector", F.SequentialFeatureSelector(
  ml.Pipeline{{"scale", ml.StandardScaler()}, {"knn", ml.KNeighborsClassifier()}},
  {n_features_to_select = 5, direction = "forward", cv = 5, n_jobs = n_jobs}):fit(X, y))
