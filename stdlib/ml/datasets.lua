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
  error("datasets: no data folder found (tried: " .. table.concat(tried, ", ") ..
    "); set MLRUN_DATA to the folder holding classic/ and mnist-10k/", 0)
end

local function find_file(dir, names, who)
  for _, base in ipairs(names) do
    for _, suffix in ipairs{"", ".gz"} do
      local p = dir .. "/" .. base .. suffix
      if core.io.exists(p) then return p end
    end
  end
  error(string.format("%s: no %s[.gz] in '%s'", who, names[1], dir), 0)
end

--- x_train, y_train, x_test, y_test = ml.datasets.mnist([dir])
--- Reads the four standard IDX files (train-images-idx3-ubyte, ...,
--- gzipped or not) from dir (default: the shipped 8,000/2,000 subset).
--- Images: N x 28 x 28 x 1 float32 in [0, 1]; labels: int64 0..9.
function M.mnist(dir)
  if dir ~= nil and type(dir) ~= "string" then
    error("mnist: expected a folder path, got " .. type(dir), 2)
  end
  dir = dir or (M.data_dir() .. "/mnist-10k")
  if not core.io.isdir(dir) then error("mnist: '" .. dir .. "' is not a folder", 2) end
  local function images(stem)
    local p = find_file(dir, {stem .. "-images-idx3-ubyte", stem .. "-images.idx3-ubyte"}, "mnist")
    local x = mio.read_idx(p, {scale = 1 / 255})
    if x:dim() ~= 3 then error("mnist: " .. p .. " is not a 3-D image file", 0) end
    return x:reshape(x.shape[1], x.shape[2], x.shape[3], 1)
  end
  local function labels(stem, n)
    local p = find_file(dir, {stem .. "-labels-idx1-ubyte", stem .. "-labels.idx1-ubyte"}, "mnist")
    local y = mio.read_idx(p, {dtype = "int64"})
    if y:dim() ~= 1 or y.shape[1] ~= n then
      error(string.format("mnist: %s has %d labels for %d images", p, y.shape[1], n), 0)
    end
    return y
  end
  local x_train = images("train")
  local y_train = labels("train", x_train.shape[1])
  local x_test = images("t10k")
  local y_test = labels("t10k", x_test.shape[1])
  return x_train, y_train, x_test, y_test
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
        if not v then error(string.format("%s: %s line %d: '%s' is not a number", who, path, lineno, f), 0) end
        row[n] = v
      end
      if n ~= #header then
        error(string.format("%s: %s line %d has %d fields, header has %d", who, path, lineno, n, #header), 0)
      end
      rows[#rows + 1] = row
    end
  end
  if not header then error(who .. ": " .. path .. " is empty", 0) end
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
