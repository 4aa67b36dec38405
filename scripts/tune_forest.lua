-- tune_forest.lua - hyper-parameters of a random forest by grid search and by
-- randomized search (5-fold CV on both cores), then the chosen model on a
-- held-out test set.
--   mlrun scripts/tune_forest.lua [n_jobs]
local ml = require "ml"
local S, M = ml.model_selection, ml.metrics
local n_jobs = tonumber(arg and arg[1]) or 2
local now = ml.parallel.now

local df = ml.read_csv("data/classic/breast_cancer.csv")
local target = df.columns[#df.columns]
local X, y = df:drop{target}:to_tensor(), df[target]:to_tensor()
local Xtr, Xte, ytr, yte = S.train_test_split(X, y, {test_size = 0.25, random_state = 0,
  stratify = y})

local t0 = now()
local grid = S.GridSearchCV(ml.RandomForestClassifier{random_state = 0},
  {n_estimators = {50, 100}, max_depth = {4, 8, 16}, max_features = {"sqrt", 0.5}},
  {cv = 5, scoring = "accuracy", n_jobs = n_jobs})
grid:fit(Xtr, ytr)
print(string.format("grid search: %d candidates x 5 folds in %.2f s", #grid.cv_results_.params,
  now() - t0))
print(grid:report(5))
print("best params " .. S.params_str(grid.best_params_) ..
  string.format("  CV accuracy %.4f  test accuracy %.4f", grid.best_score_, grid:score(Xte, yte)))

t0 = now()
local rand = S.RandomizedSearchCV(ml.RandomForestClassifier{random_state = 0},
  {n_estimators = ml.randint(20, 200), max_depth = ml.randint(2, 20),
   min_samples_leaf = ml.randint(1, 10), max_features = ml.choice{"sqrt", "log2", 0.5}},
  {n_iter = 12, random_state = 1, cv = 5, scoring = "accuracy", n_jobs = n_jobs})
rand:fit(Xtr, ytr)
print(string.format("\nrandomized search: 12 candidates x 5 folds in %.2f s", now() - t0))
print(rand:report(5))
local best = rand.best_estimator_
print("best params " .. S.params_str(rand.best_params_) ..
  string.format("  CV accuracy %.4f  test accuracy %.4f", rand.best_score_,
    M.accuracy_score(yte, best:predict(Xte))))
