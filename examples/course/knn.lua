-- knn.lua - k-nearest neighbours on iris: accuracy on a held-out third for
-- k = 1..15, with and without scaling, and the best k by 5-fold
-- cross-validation (GridSearchCV).
--   mlrun examples/course/knn.lua
local ml = require "ml"
local S = ml.model_selection
local X, y = ml.datasets.load_iris()
local X_tr, X_te, y_tr, y_te = S.train_test_split(X, y, {test_size = 1 / 3, random_state = 42,
  stratify = y})
local scaler = ml.StandardScaler():fit(X_tr)
print(" k   raw    scaled")
for k = 1, 15, 2 do
  local raw = ml.KNeighborsClassifier{n_neighbors = k}:fit(X_tr, y_tr):score(X_te, y_te)
  local scaled = ml.KNeighborsClassifier{n_neighbors = k}:fit(scaler:transform(X_tr), y_tr)
    :score(scaler:transform(X_te), y_te)
  print(string.format("%2d  %.3f  %.3f", k, raw, scaled))
end
local grid = {}
for k = 1, 15 do grid[k] = k end
local search = S.GridSearchCV(ml.KNeighborsClassifier(), {n_neighbors = grid}, {cv = 5})
search:fit(X_tr, y_tr)
print(string.format("best k by 5-fold CV: %d (CV accuracy %.3f, test accuracy %.3f)",
  search.best_params_.n_neighbors, search.best_score_, search:score(X_te, y_te)))
assert(search:score(X_te, y_te) > 0.9, "KNN classifies iris")
