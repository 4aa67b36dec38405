-- mlrun side of scripts/bench/linear_svm.sh: fits LogisticRegression on
-- bank-full, SVC (rbf) and LinearSVC on MNIST 8k, from the float32 matrices
-- written by linear_svm_data.py into DIR (arg[1]); prints one line per fit:
-- "name wall_seconds cpu_seconds accuracy".
local ml = require "ml"
local dir = arg[1] or "/tmp/mlrun_linsvm"
local only = arg[2]

-- Raw little-endian float32 n x f (X) and n (y) plus "n f" in .shape.
local function load(prefix)
  local sh = assert(io.open(dir .. "/" .. prefix .. ".shape")):read("a")
  local n, f = sh:match("(%d+) (%d+)")
  n, f = tonumber(n), tonumber(f)
  local data = assert(io.open(dir .. "/" .. prefix .. ".X.f32", "rb")):read("a")
  local fmt = "<" .. string.rep("f", f)
  local rows, pos = {}, 1
  for i = 1, n do
    local r = table.pack(string.unpack(fmt, data, pos))
    pos = r[r.n]
    r[r.n], r.n = nil, nil
    rows[i] = r
  end
  local X = ml.tensor(rows)
  local yd = assert(io.open(dir .. "/" .. prefix .. ".y.f32", "rb")):read("a")
  local ys = table.pack(string.unpack("<" .. string.rep("f", n), yd))
  ys[ys.n], ys.n = nil, nil
  return X, ml.tensor(ys)
end

-- Wall seconds (from /proc/uptime, 10 ms resolution) and process CPU seconds.
local function wall()
  local p = assert(io.open("/proc/uptime"))
  local s = p:read("n")
  p:close()
  return s
end

local function timed(name, fn, score)
  local w, c = wall(), os.clock()
  local m = fn()
  w, c = wall() - w, os.clock() - c
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
