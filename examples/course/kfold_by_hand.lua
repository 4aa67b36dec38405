-- kfold_by_hand.lua - k-fold cross-validation written out: shuffle the row
-- indices, cut them into k folds, train on k-1 and score on the one left out,
-- then the same with ml.model_selection.KFold and cross_val_score.
--   mlrun examples/course/kfold_by_hand.lua
local ml = require "ml"
local S = ml.model_selection
local X, y = ml.datasets.load_breast_cancer()
local k, n = 5, X.shape[1]
local function model()
  return ml.Pipeline{{"scale", ml.StandardScaler()}, {"lr", ml.LogisticRegression{max_iter = 1000}}}
end

ml.seed(0)
local order = ml.randperm(n)                    -- 1-based row indices, shuffled
local scores = {}
for f = 1, k do
  local lo, hi = (f - 1) * n // k + 1, f * n // k
  local test = order:narrow(1, lo, hi - lo + 1)
  local train = ml.cat({order:narrow(1, 1, lo - 1), order:narrow(1, hi + 1, n - hi)}, 1)
  local m = model():fit(X:index_select(1, train), y:index_select(1, train))
  scores[f] = m:score(X:index_select(1, test), y:index_select(1, test))
  print(string.format("fold %d: train %d rows, test %d rows, accuracy %.4f", f,
    train:numel(), test:numel(), scores[f]))
end
local mean = 0
for _, s in ipairs(scores) do mean = mean + s / k end
print(string.format("by hand:          mean accuracy %.4f", mean))

local cv = S.KFold{n_splits = k, shuffle = true, random_state = 0}
local lib = S.cross_val_score(model(), X, y, {cv = cv})
print(string.format("cross_val_score:  mean accuracy %.4f", lib:mean()))
assert(mean > 0.95 and lib:mean() > 0.95, "logistic regression separates the tumours")
