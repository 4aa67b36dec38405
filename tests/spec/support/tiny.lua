-- Tiny estimators for the tabular specs, so model selection and feature
-- selection are tested before (and independently of) the real estimators.
local ml = require "ml"
local base = require "ml.base"

local tiny = {}

--- Nearest centroid; `shrink` pulls centroids to 0 (a parameter to tune).
local NC = base.estimator("NearestCentroid", "tests.tiny", {{"shrink", 0, "number"}}, "classifier")
tiny.NearestCentroid = NC
function NC:fit(X, y)
  X, y = base.check_Xy("NearestCentroid:fit", X, y)
  local classes, ids = base.encode_classes(y)
  self.classes_ = classes
  local cs = {}
  for k = 1, classes:numel() do
    local rows = ml.arange(1, X.shape[1] + 1):masked_select(ids:eq(k - 1)):long()
    cs[k] = X:index_select(1, rows):mean(1) * (1 - self.shrink)
  end
  self.centroids_ = ml.stack(cs)
  return self
end
function NC:predict(X)
  X = base.check_X("NearestCentroid:predict", X)
  local d = {}
  for k = 1, self.classes_:numel() do d[k] = ((X - self.centroids_[k]) ^ 2):sum(2) end
  local pos = ml.stack(d, 2):argmin(2)
  return self.classes_:index_select(1, pos:reshape(-1))
end
function NC:predict_proba(X)
  X = base.check_X("NearestCentroid:predict_proba", X)
  local d = {}
  for k = 1, self.classes_:numel() do d[k] = -((X - self.centroids_[k]) ^ 2):sum(2) end
  return ml.stack(d, 2):softmax(2)
end

--- A linear scorer whose coef_ is each feature's covariance with y (0/1):
--- predicts 1 where X @ coef_ exceeds the midpoint of the class means.
local Cov = base.estimator("CovScorer", "tests.tiny", {}, "classifier")
tiny.CovScorer = Cov
function Cov:fit(X, y)
  X, y = base.check_Xy("CovScorer:fit", X, y)
  self.classes_ = base.encode_classes(y)
  local yc = y - y:mean()
  self.coef_ = (X - X:mean(1)):t():matmul(yc:reshape(-1, 1)):reshape(-1) / X.shape[1]
  local s = X:matmul(self.coef_:reshape(-1, 1)):reshape(-1)
  local pos, neg = y:eq(1), y:ne(1)
  self.threshold_ = ((s * pos):sum() / pos:sum() + (s * neg):sum() / neg:sum()) / 2
  return self
end
function Cov:predict(X)
  return X:matmul(self.coef_:reshape(-1, 1)):reshape(-1):gt(self.threshold_)
end

--- No coef_, no feature_importances_.
local Plain = base.estimator("PlainClassifier", "tests.tiny", {}, "classifier")
tiny.Plain = Plain
function Plain:fit(X, y) self.classes_ = base.encode_classes(y); return self end
function Plain:predict(X) return ml.zeros(X.shape[1]) end

--- A regressor predicting the training mean.
local Mean = base.estimator("MeanRegressor", "tests.tiny", {}, "regressor")
tiny.Mean = Mean
function Mean:fit(X, y) X, y = base.check_Xy("MeanRegressor:fit", X, y); self.mean_ = y:mean(); return self end
function Mean:predict(X) return ml.full({X.shape[1]}, self.mean_) end

return tiny
