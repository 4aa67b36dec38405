-- ml.decomposition: PCA and NMF as scikit-learn 1.2's.
-- PCA decomposes the centred data in double precision through LAPACK
-- (runtime/estim/pca.c): svd_solver "covariance_eigh" takes the eigenvectors of
-- X^T X (fast when n_samples >> n_features), "full" an SVD of X (gesdd);
-- "auto" picks the first when n_features <= n_samples (large data form the
-- Gram matrix with SSYRK in float32, the eigenproblem in double; components
-- agree with the double route to ~1e-5). "randomized" and
-- "arpack" are served by the same exact truncated decomposition (the answer
-- those approximate). Signs follow 1.2's svd_flip, so components_ match
-- scikit-learn's. NMF: NNDSVD(a/ar)/random init, "cd" or "mu" solver, the
-- Frobenius loss (runtime/estim/nmf.c); mostly-zero X (under 30% non-zeros)
-- is multiplied in compressed form.
local ml = require "ml"
local base = require "ml.base"
local core = require "ml.core"
local raise = require("ml.errors").raise

local D = {}

local function seed_of(rs)
  if rs ~= nil then return math.tointeger(rs) end
  return math.floor(ml.rand(1):item() * 2 ^ 31)
end

local function check_finite(who, X)
  if X:ne(X):sum() > 0 then raise(who .. ": X contains NaN") end
end

-- ---------------------------------------------------------------------------
local PCA = base.estimator("PCA", "ml.decomposition", {
  {"n_components", nil, "number|nil"},
  {"copy", true, "boolean"},
  {"whiten", false, "boolean"},
  {"svd_solver", "auto", {"auto", "full", "covariance_eigh", "randomized", "arpack"}},
  {"tol", 0.0, "number"},
  {"iterated_power", "auto", "string|integer"},
  {"random_state", nil, "integer|nil"},
}, "transformer")
D.PCA = PCA

function PCA:fit(X, y)
  local who = "PCA:fit"
  X = base.check_X(who, X)
  check_finite(who, X)
  local n, p = X.shape[1], X.shape[2]
  local r = math.min(n, p)
  local nc = self.n_components
  local m, frac
  if nc == nil then m = r
  elseif nc > 0 and nc < 1 and math.type(nc) ~= "integer" then frac = nc; m = r
  elseif nc == math.floor(nc) and nc >= 1 then
    m = math.tointeger(nc)
    if m > r then
      raise(string.format("%s: n_components=%d must be between 0 and min(n_samples, n_features)=%d",
        who, m, r))
    end
  else
    raise(string.format("%s: n_components must be an integer >= 1 or a fraction in (0, 1), got %s",
      who, tostring(nc)))
  end
  if n < 2 then raise(who .. ": needs at least 2 samples, got " .. n) end
  local solver = self.svd_solver
  if solver == "randomized" or solver == "arpack" then solver = "auto" end
  local mean, comp, ev, sv, total, evd = core.estim_cluster.pca_fit(X, m, solver)
  local ratio = ev / total
  if frac then
    -- scikit-learn: searchsorted(cumsum(ratio), frac, side="right") + 1
    local cum, keep = 0, m
    for i = 1, #evd do
      cum = cum + evd[i] / total
      if cum > frac then keep = i; break end
    end
    m = keep
    comp, ev, sv, ratio = comp:narrow(1, 1, m):clone(), ev:narrow(1, 1, m):clone(),
      sv:narrow(1, 1, m):clone(), ratio:narrow(1, 1, m):clone()
  end
  self.mean_ = mean
  self.components_ = comp
  self.explained_variance_ = ev
  self.explained_variance_ratio_ = ratio
  self.singular_values_ = sv
  self.n_components_ = m
  self.n_features_in_ = p
  self.n_samples_ = n
  local kept = 0
  for i = 1, m do kept = kept + evd[i] end
  self.noise_variance_ = m < r and math.max(0, (total - kept) / (r - m)) or 0.0
  return self
end

function PCA:transform(X)
  self:check_fitted("transform", "components_")
  X = base.check_X("PCA:transform", X, self.n_features_in_)
  check_finite("PCA:transform", X)
  local Z = (X - self.mean_):matmul(self.components_:t())
  if self.whiten then Z = Z / self.explained_variance_:sqrt() end
  return Z
end

function PCA:fit_transform(X, y)
  return self:fit(X, y):transform(X)
end

function PCA:inverse_transform(Z)
  self:check_fitted("inverse_transform", "components_")
  Z = base.check_X("PCA:inverse_transform", Z, self.n_components_)
  if self.whiten then Z = Z * self.explained_variance_:sqrt() end
  return Z:matmul(self.components_) + self.mean_
end

-- ---------------------------------------------------------------------------
local NMF = base.estimator("NMF", "ml.decomposition", {
  {"n_components", nil, "integer|nil"},
  {"init", nil, {"random", "nndsvd", "nndsvda", "nndsvdar"}},
  {"solver", "cd", {"cd", "mu"}},
  {"beta_loss", "frobenius", "string|number"},
  {"tol", 1e-4, "number"},
  {"max_iter", 200, "integer"},
  {"random_state", nil, "integer|nil"},
  {"alpha_W", 0.0, "number"},
  {"alpha_H", "same", "number|string"},
  {"l1_ratio", 0.0, "number"},
  {"verbose", 0, "integer|boolean"},
}, "transformer")
D.NMF = NMF

-- `init` is also the class constructor's name: read the parameter raw.
function NMF:get_params()
  local p, names = base.Estimator.get_params(self)
  p.init = rawget(self, "init")
  return p, names
end

function NMF:__repr()
  local saved = rawget(self, "init")
  if saved == nil then rawset(self, "init", false) end   -- hide the constructor
  local s = base.Estimator.__repr(self):gsub(", init = false", ""):gsub("init = false, ", "")
    :gsub("{init = false}", "{}")
  rawset(self, "init", saved)
  return s
end

local function nmf_check(self, who)
  if not (self.beta_loss == "frobenius" or self.beta_loss == 2) then
    raise(string.format("%s: beta_loss %s is not supported (only \"frobenius\")", who,
      tostring(self.beta_loss)))
  end
  if self.alpha_H ~= "same" and type(self.alpha_H) ~= "number" then
    raise(who .. ": alpha_H must be a number or \"same\", got " .. tostring(self.alpha_H))
  end
  if self.alpha_W < 0 or (type(self.alpha_H) == "number" and self.alpha_H < 0) then
    raise(who .. ": alpha_W and alpha_H must be >= 0")
  end
  if self.l1_ratio < 0 or self.l1_ratio > 1 then
    raise(who .. ": l1_ratio must be in [0, 1], got " .. self.l1_ratio)
  end
  if self.tol < 0 then raise(who .. ": tol must be >= 0, got " .. self.tol) end
  if self.max_iter < 1 then raise(who .. ": max_iter must be >= 1, got " .. self.max_iter) end
  if self.n_components ~= nil and self.n_components < 1 then
    raise(who .. ": n_components must be >= 1, got " .. self.n_components)
  end
end

-- scikit-learn's _compute_regularization
local function penalties(self, n, p, update_H)
  local aW = self.alpha_W
  local aH = self.alpha_H == "same" and aW or self.alpha_H
  local o = {solver = self.solver, tol = self.tol, max_iter = self.max_iter,
             l1_W = p * aW * self.l1_ratio, l2_W = p * aW * (1 - self.l1_ratio),
             l1_H = n * aH * self.l1_ratio, l2_H = n * aH * (1 - self.l1_ratio),
             update_H = update_H}
  return o
end

function NMF:fit_transform(X, y)
  local who = "NMF:fit"
  nmf_check(self, who)
  X = base.check_X(who, X)
  check_finite(who, X)
  local n, p = X.shape[1], X.shape[2]
  local k = self.n_components or p
  local init = rawget(self, "init")
  if init == nil then init = k <= math.min(n, p) and "nndsvda" or "random" end
  local W, H = core.estim_cluster.nmf_init(X, k, init, seed_of(self.random_state))
  local n_iter = core.estim_cluster.nmf_solve(W, H, X, penalties(self, n, p, true))
  self.components_ = H
  self.n_components_ = k
  self.n_features_in_ = p
  self.n_iter_ = n_iter
  self.reconstruction_err_ = core.estim_cluster.nmf_error(X, W, H)
  return W
end

function NMF:fit(X, y)
  self:fit_transform(X, y)
  return self
end

--- W for new data with components_ fixed.
function NMF:transform(X)
  self:check_fitted("transform", "components_")
  local who = "NMF:transform"
  X = base.check_X(who, X, self.n_features_in_)
  check_finite(who, X)
  local n, p = X.shape[1], X.shape[2]
  local k = self.n_components_
  local W
  if self.solver == "mu" then
    local mean = X:mean()
    if mean < 0 then raise(who .. ": negative values in X; NMF needs X >= 0") end
    W = ml.full({n, k}, math.sqrt(mean / k))
  else
    W = ml.zeros(n, k)
  end
  local H = self.components_:contiguous():clone()
  core.estim_cluster.nmf_solve(W, H, X, penalties(self, n, p, false))
  return W
end

function NMF:inverse_transform(W)
  self:check_fitted("inverse_transform", "components_")
  W = base.check_X("NMF:inverse_transform", W, self.n_components_)
  return W:matmul(self.components_)
end

return D
