-- scripts/bench/cluster/bench.lua - the mlrun side of cluster.sh: KMeans (k=10),
-- PCA(50), KNN predict (2,000 queries), NMF and GaussianNB on MNIST 8k.
-- Prints one line per task: "name seconds quality" (best of REPEAT runs).
local ml = require "ml"
local DATA = arg[1] or "data/mnist-10k"
local REPEAT = tonumber(arg[2] or "3")

-- IDX reader for this benchmark (gzip through the gzip tool): uint8 images
-- scaled to [0, 1] as float32, labels as float32.
local function read_idx(path)
  local read = ml.read_idx
  if read then return read(path) end
  local h = assert(io.popen("gzip -dc " .. path, "r"))
  local s = h:read("a")
  h:close()
  local dims = s:byte(4)
  local shape, pos = {}, 5
  for d = 1, dims do
    local a, b, c, e = s:byte(pos, pos + 3)
    shape[d] = ((a * 256 + b) * 256 + c) * 256 + e
    pos = pos + 4
  end
  local n = #s - pos + 1
  local vals = {}
  local CH = 4096
  for i = 0, n - 1, CH do
    local bytes = {s:byte(pos + i, pos + math.min(i + CH, n) - 1)}
    for j = 1, #bytes do vals[i + j] = bytes[j] end
  end
  return ml.tensor(vals):reshape(table.unpack(shape))
end

local Xtr = read_idx(DATA .. "/train-images-idx3-ubyte.gz"):float():reshape(-1, 784) / 255
local ytr = read_idx(DATA .. "/train-labels-idx1-ubyte.gz"):float()
local Xte = read_idx(DATA .. "/t10k-images-idx3-ubyte.gz"):float():reshape(-1, 784) / 255
local yte = read_idx(DATA .. "/t10k-labels-idx1-ubyte.gz"):float()
Xtr, Xte = Xtr:contiguous(), Xte:contiguous()

local clock = ml.parallel.now
local function bench(name, f)
  local best, q = math.huge, nil
  for _ = 1, REPEAT do
    collectgarbage()
    local t = clock()
    local res = f()
    local dt = clock() - t
    if dt < best then best = dt end
    q = res
  end
  print(string.format("%s %.4f %.6g", name, best, q))
  io.stdout:flush()
end

bench("kmeans", function()
  return ml.KMeans{n_clusters = 10, n_init = 10, random_state = 0}:fit(Xtr).inertia_
end)
bench("pca50", function()
  return ml.PCA{n_components = 50}:fit(Xtr).explained_variance_ratio_:sum()
end)
local knn = ml.KNeighborsClassifier{n_neighbors = 5}:fit(Xtr, ytr)
bench("knn_predict", function()
  return ml.metrics.accuracy_score(yte, knn:predict(Xte))
end)
bench("nmf16", function()
  return ml.NMF{n_components = 16, random_state = 0, max_iter = 200}:fit(Xtr).reconstruction_err_
end)
bench("gaussian_nb", function()
  return ml.GaussianNB():fit(Xtr, ytr):score(Xte, yte)
end)
