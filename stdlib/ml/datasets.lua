-- ml.datasets: the datasets that ship with mlrun (MNIST in IDX form and the
-- classic scikit-learn tables) and loaders for their standard files.
--
-- Where the data lives: $MLRUN_DATA if set; else $(PREFIX)/share/mlrun/data
-- (`make install` copies data/classic and data/mnist-10k there); else
-- ../share/mlrun/data beside the running executable; else the data/ folder
-- of the source tree the binary was built from. ml.datasets.data_dir() tells
-- which one is used.
--
-- Dtypes: images and features are float32; class labels are int64 and keep
-- the values the data gives (MNIST 0..9, iris 0..2).
local ml = require "ml"
local core = require "ml.core"
local mio = require "ml.io"
local base = require "ml.base"
local raise = require("ml.errors").raise

local M = {}

local function candidates()
  local list = {}
  local env = os.getenv("MLRUN_DATA")
  if env and env ~= "" then list[#list + 1] = env end
  for d in (core.io.data_dirs() or ""):gmatch("[^:]+") do list[#list + 1] = d end
  return list
end

--- ml.datasets.data_dir() -> the data folder in use (errors if none is found)
function M.data_dir()
  local tried = candidates()
  for _, d in ipairs(tried) do
    if core.io.isdir(d .. "/classic") or core.io.isdir(d .. "/mnist-10k") then return d end
  end
  raise("datasets: no data folder found (tried: " .. table.concat(tried, ", ") ..
    "); set MLRUN_DATA to the folder holding classic/ and mnist-10k/")
end

-- The four IDX files of MNIST and Fashion-MNIST (same names and layout).
local IDX_FILES = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte"}

local function missing_idx(who, dir, where)
  return string.format("%s: expected the four IDX files %s (each may end in .gz) in '%s'; %s",
    who, table.concat(IDX_FILES, ", "), dir, where)
end

local function read_idx_set(who, dir, opts, where)
  if not core.io.isdir(dir) then
    raise(string.format("%s: '%s' is not a folder; ", who, dir) .. missing_idx(who, dir, where):sub(#who + 3))
  end
  local scale = opts.scale == false and 1 or 1 / 255
  local function find(stem, kind)
    local names = {stem .. "-" .. kind, stem .. "-" .. kind:gsub("%-idx", ".idx")}
    for _, base in ipairs(names) do
      for _, suffix in ipairs{"", ".gz"} do
        local p = dir .. "/" .. base .. suffix
        if core.io.exists(p) then return p end
      end
    end
    raise(missing_idx(who, dir, where))
  end
  local function images(stem)
    local p = find(stem, "images-idx3-ubyte")
    local x = mio.read_idx(p, {scale = scale})
    if x:dim() ~= 3 then raise(who .. ": " .. p .. " is not a 3-D image file") end
    return x:reshape(x.shape[1], x.shape[2], x.shape[3], 1)
  end
  local function labels(stem, n)
    local p = find(stem, "labels-idx1-ubyte")
    local y = mio.read_idx(p, {dtype = "int64"})
    if y:dim() ~= 1 or y.shape[1] ~= n then
      raise(string.format("%s: %s has %d labels for %d images", who, p, y.shape[1], n))
    end
    return y
  end
  local x_train = images("train")
  local y_train = labels("train", x_train.shape[1])
  local x_test = images("t10k")
  local y_test = labels("t10k", x_test.shape[1])
  return x_train, y_train, x_test, y_test, scale
end

local function check_loader_args(who, dir, opts)
  if dir ~= nil and type(dir) ~= "string" then
    raise(who .. ": expected a folder path, got " .. type(dir))
  end
  return base.options(who, opts, {{"scale", true, "boolean"}})
end

--- x_train, y_train, x_test, y_test, info = ml.datasets.mnist([dir] [, {scale = true}])
--- Reads the four standard IDX files (train-images-idx3-ubyte, ...,
--- gzipped or not) from dir (default: the shipped 8,000/2,000 subset).
--- Images: N x 28 x 28 x 1 float32 in [0, 1] - already divided by 255,
--- unlike Keras's mnist.load_data() (0..255); {scale = false} gives 0..255.
--- Labels: int64 0..9. info = {scale = 1/255 (or 1), range = {0, 1} (or
--- {0, 255}), dir = the folder read}.
function M.mnist(dir, opts)
  local o = check_loader_args("mnist", dir, opts)
  dir = dir or (M.data_dir() .. "/mnist-10k")
  local x1, y1, x2, y2, scale = read_idx_set("mnist", dir, o,
    "get them from http://yann.lecun.com/exdb/mnist/ or use the shipped subset (no dir)")
  return x1, y1, x2, y2, {scale = scale, range = {0, scale == 1 and 255 or 1}, dir = dir}
end

M.fashion_mnist_classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
  "Shirt", "Sneaker", "Bag", "Ankle boot"}

--- x_train, y_train, x_test, y_test, info = ml.datasets.fashion_mnist(dir [, {scale = true}])
--- Zalando's Fashion-MNIST: the same four IDX file names as MNIST (gzipped
--- or not) in dir (not shipped). Images N x 28 x 28 x 1 float32 in [0, 1]
--- ({scale = false}: 0..255), labels int64 0..9; info.class_names.
function M.fashion_mnist(dir, opts)
  local o = check_loader_args("fashion_mnist", dir, opts)
  local where = "download them from https://github.com/zalandoresearch/fashion-mnist (data/fashion)"
  if dir == nil then
    raise("fashion_mnist: expected the folder holding " .. table.concat(IDX_FILES, ", ") ..
      " (.gz allowed); " .. where)
  end
  local x1, y1, x2, y2, scale = read_idx_set("fashion_mnist", dir, o, where)
  return x1, y1, x2, y2, {scale = scale, range = {0, scale == 1 and 255 or 1}, dir = dir,
    class_names = M.fashion_mnist_classes}
end

M.cifar10_classes = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
  "ship", "truck"}

--- x_train, y_train, x_test, y_test, info = ml.datasets.cifar10(dir [, {scale = true}])
--- The "CIFAR-10 binary version": data_batch_1.bin .. data_batch_5.bin and
--- test_batch.bin in dir (or in dir/cifar-10-batches-bin, as the archive
--- unpacks). Images N x 32 x 32 x 3 float32 in [0, 1] (channels last;
--- {scale = false}: 0..255), labels int64 0..9; info.class_names.
function M.cifar10(dir, opts)
  local o = check_loader_args("cifar10", dir, opts)
  local files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
    "data_batch_5.bin", "test_batch.bin"}
  local function expected(d)
    return string.format("cifar10: expected %s in '%s'; download the \"CIFAR-10 binary " ..
      "version\" (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html " ..
      "and unpack it", table.concat(files, ", "), d)
  end
  if dir == nil then raise(expected("<dir>")) end
  if core.io.isdir(dir .. "/cifar-10-batches-bin") then dir = dir .. "/cifar-10-batches-bin" end
  for _, f in ipairs(files) do
    if not core.io.exists(dir .. "/" .. f) then raise(expected(dir) .. " (missing " .. f .. ")") end
  end
  local xs, ys = {}, {}
  for i = 1, 5 do
    xs[i], ys[i] = mio._call(core.io.read_cifar10, dir .. "/" .. files[i])
  end
  local x_train, y_train = ml.cat(xs, 1), ml.cat(ys, 1)
  xs, ys = nil, nil
  local x_test, y_test = mio._call(core.io.read_cifar10, dir .. "/test_batch.bin")
  if o.scale == false then x_train:mul_(255):round_(); x_test:mul_(255):round_() end
  local scale = o.scale == false and 1 or 1 / 255
  return x_train, y_train, x_test, y_test, {scale = scale, range = {0, scale == 1 and 255 or 1},
    dir = dir, class_names = M.cifar10_classes}
end

-- Reads a numeric CSV with a header row: returns rows (list of lists), header.
local function read_numeric_csv(path, who)
  local text = mio.read_file(path)
  local header, rows = nil, {}
  local lineno = 0
  for line in text:gmatch("[^\r\n]+") do
    lineno = lineno + 1
    if not header then
      header = {}
      for f in line:gmatch("[^,]+") do header[#header + 1] = f end
    else
      local row, n = {}, 0
      for f in line:gmatch("[^,]+") do
        n = n + 1
        local v = tonumber(f)
        if not v then raise(string.format("%s: %s line %d: '%s' is not a number", who, path, lineno, f)) end
        row[n] = v
      end
      if n ~= #header then
        raise(string.format("%s: %s line %d has %d fields, header has %d", who, path, lineno, n, #header))
      end
      rows[#rows + 1] = row
    end
  end
  if not header then raise(who .. ": " .. path .. " is empty") end
  return rows, header
end

-- Splits rows into X (first nf columns) and the remaining columns.
local function split(rows, nf, ny)
  local X, Y = {}, {}
  for i, r in ipairs(rows) do
    local x = table.move(r, 1, nf, 1, {})
    X[i] = x
    Y[i] = ny == 1 and r[nf + 1] or table.move(r, nf + 1, nf + ny, 1, {})
  end
  return X, Y
end

local function classic(file, who, target_names)
  local rows, header = read_numeric_csv(M.data_dir() .. "/classic/" .. file, who)
  local nf = #header - 1
  local X, y = split(rows, nf, 1)
  local names = table.move(header, 1, nf, 1, {})
  return ml.tensor(X), ml.tensor(y, "int64"), names, target_names
end

--- X, y, feature_names, target_names = ml.datasets.load_iris()
--- 150 x 4 float32, y int64 0..2 (setosa, versicolor, virginica).
function M.load_iris()
  return classic("iris.csv", "load_iris", {"setosa", "versicolor", "virginica"})
end

--- 1797 x 64 float32 (8 x 8 pixel counts 0..16), y int64 0..9.
function M.load_digits()
  return classic("digits.csv.gz", "load_digits", {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})
end

--- 569 x 30 float32, y int64: 0 = malignant, 1 = benign (scikit-learn's coding).
function M.load_breast_cancer()
  return classic("breast_cancer.csv", "load_breast_cancer", {"malignant", "benign"})
end

--- X (20 x 3 exercise), Y (20 x 3 physiological), both float32, and their names.
function M.load_linnerud()
  local rows, header = read_numeric_csv(M.data_dir() .. "/classic/linnerud.csv", "load_linnerud")
  local X, Y = split(rows, 3, 3)
  return ml.tensor(X), ml.tensor(Y), table.move(header, 1, 3, 1, {}), table.move(header, 4, 6, 1, {})
end

return M
