-- mlrun side of scripts/bench/trees.sh: the same fits as trees.py on the same
-- data and split, one line per case: "<case> <fit seconds> <test accuracy>".
local ml = require "ml"
local clock = ml.parallel.now
local which = arg[1]

local function bank()
  local df = ml.read_csv("data/bank/bank-full.csv.gz", {sep = ";"})
  local y = df:select{"y"}:get_dummies():to_tensor():select(2, 2):contiguous()
  local X = df:drop{"y"}:get_dummies():to_tensor()
  return X, y
end

local function rows(t, keep)
  local idx = {}
  for i = 1, t.shape[1] do if keep(i - 1) then idx[#idx + 1] = i end end
  return t:index_select(1, ml.tensor(idx, "int64")):contiguous()
end

local function run(name, model, Xtr, ytr, Xte, yte)
  local t, c = clock(), os.clock()
  model:fit(Xtr, ytr)
  local dt, dc = clock() - t, os.clock() - c
  local acc = model:predict(Xte):eq(yte):mean()
  print(string.format("%s %.4f %.4f %.4f", name, dt, acc, dc))
  io.stdout:flush()
end

local X, y = bank()
io.stderr:write(string.format("bank table %dx%d\n", X.shape[1], X.shape[2]))
local test = function(i) return i % 5 == 0 end
local train = function(i) return i % 5 ~= 0 end
local B = {rows(X, train), rows(y, train), rows(X, test), rows(y, test)}
-- MNIST 8k/2k: through ml.read_idx when the io module has it, else from the
-- CSV copies trees.sh exports ($TREES_MNIST_CSV/{train,t10k}.csv, label last).
local function mnist(kind)
  if ml.read_idx then
    local imgs = ml.read_idx("data/mnist-10k/" .. kind .. "-images-idx3-ubyte.gz"):float()
    local labels = ml.read_idx("data/mnist-10k/" .. kind .. "-labels-idx1-ubyte.gz"):float()
    return (imgs:reshape(imgs.shape[1], 784) / 255):contiguous(), labels
  end
  local t = ml.read_csv(os.getenv("TREES_MNIST_CSV") .. "/" .. kind .. ".csv"):to_tensor()
  local X = (t:narrow(2, 1, 784) / 255):contiguous()
  return X, t:select(2, 785):contiguous()
end
local M = setmetatable({}, {__index = function(t, k)   -- loaded on first use
  local Mtr, mtr = mnist("train")
  local Mte, mte = mnist("t10k")
  t[1], t[2], t[3], t[4] = Mtr, mtr, Mte, mte
  return rawget(t, k)
end})

-- arg[1]: a Lua pattern selecting cases (all when absent)
local function want(name) return which == nil or which == "" or name:find(which) ~= nil end
local cases = {
  {"bank_tree", function() return ml.DecisionTreeClassifier{random_state = 0} end, B},
  {"bank_forest100", function() return ml.RandomForestClassifier{n_estimators = 100, n_jobs = -1,
    random_state = 0} end, B},
  {"bank_gboost100", function() return ml.GradientBoostingClassifier{n_estimators = 100,
    max_depth = 3, random_state = 0} end, B},
  {"mnist_tree", function() return ml.DecisionTreeClassifier{random_state = 0} end, M},
  {"mnist_forest100", function() return ml.RandomForestClassifier{n_estimators = 100, n_jobs = -1,
    random_state = 0} end, M},
  {"mnist_gboost100", function() return ml.GradientBoostingClassifier{n_estimators = 100,
    max_depth = 3, random_state = 0} end, M},
}
for _, c in ipairs(cases) do
  if want(c[1]) then local d = c[3]
    run(c[1], c[2](), d[1], d[2], d[3], d[4]) end
end
