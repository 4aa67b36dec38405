-- mlrun side of scripts/bench/linear_svm.sh: LogisticRegression on bank-full,
-- SVC (rbf) and LinearSVC on MNIST 8k, from the .npy matrices written by
-- data.py into DIR (arg[1]); arg[2] picks one case ("logreg", "svc",
-- "linsvc"). Prints "name wall_seconds cpu_seconds accuracy" per fit.
local ml = require "ml"
local dir = arg[1] or "/tmp/mlrun_linsvm"
local only = arg[2]

local function load(prefix)
  return ml.load_npy(dir .. "/" .. prefix .. ".X.npy"), ml.load_npy(dir .. "/" .. prefix .. ".y.npy")
end

local function timed(name, fn, score)
  local w, c = ml.parallel.now(), os.clock()
  local m = fn()
  w, c = ml.parallel.now() - w, os.clock() - c
  print(string.format("%s %.3f %.3f %.4f", name, w, c, score(m)))
  io.stdout:flush()
end

if not only or only == "logreg" then
  local Xb, yb = load("bank")
  timed("logreg_bank", function() return ml.LogisticRegression{max_iter = 100}:fit(Xb, yb) end,
    function(m) return m:score(Xb, yb) end)
end
if not only or only ~= "logreg" then
  local Xtr, ytr = load("mnist_train")
  local Xte, yte = load("mnist_test")
  if not only or only == "svc" then
    timed("svc_rbf_mnist8k", function() return ml.SVC{kernel = "rbf"}:fit(Xtr, ytr) end,
      function(m) return m:score(Xte, yte) end)
  end
  if not only or only == "linsvc" then
    timed("linearsvc_mnist8k", function() return ml.LinearSVC{random_state = 0}:fit(Xtr, ytr) end,
      function(m) return m:score(Xte, yte) end)
  end
end
