-- Bad input, everywhere a user can give it: every case must end in a Lua
-- error whose message says what was wrong, and the engine must still work
-- afterwards. (Issue 6: at least 60 cases.)
local ml = require "ml"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)

local function file(name, bytes)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end
local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end
local be32 = function(n) return string.pack(">I4", n) end
local png = slurp("data/mnist-png/0_0003.png")
local npy_tmp = dir .. "/good.npy"
ml.save_npy(npy_tmp, ml.arange(0, 6):float():reshape(2, 3))
local npy = slurp(npy_tmp)
local mlt_tmp = dir .. "/good.mlt"
ml.save(mlt_tmp, {w = ml.ones(3, 3), name = "x"})
local mlt = slurp(mlt_tmp)
local function crc32(s)
  local c = 0xffffffff
  for i = 1, #s do
    c = c ~ s:byte(i)
    for _ = 1, 8 do c = (c >> 1) ~ (0xedb88320 & -(c & 1)) end
  end
  return c ~ 0xffffffff
end
-- a well-formed file from a future version: header fields and checksum valid
local function future_version(s)
  local h = s:sub(1, 8) .. string.pack("<I4", 99) .. s:sub(13, 36)
  return h .. string.pack("<I4", crc32(h)) .. s:sub(41)
end
local function flip(s, at) return s:sub(1, at - 1) .. string.char(s:byte(at) ~ 0xff) .. s:sub(at + 1) end

local function tiny_model(out, act, loss)
  local m = ml.nn.Sequential{ml.nn.Input{4}, ml.nn.Dense(out, {activation = act})}
  m:compile{optimizer = "sgd", loss = loss}
  return m
end

-- {what, function, pattern the message must contain}
local cases = {
  -- IDX
  {"IDX: empty file", function() ml.read_idx(file("e.idx", "")) end, "truncated"},
  {"IDX: bad magic", function() ml.read_idx(file("m.idx", be32(12345))) end, "not an IDX file"},
  {"IDX: truncated data", function()
    ml.read_idx(file("t.idx", be32(2051) .. be32(10) .. be32(28) .. be32(28) .. "abc")) end, "truncated"},
  {"IDX: size that overflows", function()
    ml.read_idx(file("h.idx", be32(2051) .. be32(0x7fffffff) .. be32(0x7fffffff) .. be32(28))) end, "huge"},
  {"IDX: corrupt gzip", function() ml.read_idx(file("c.idx.gz", "\31\139\8\0garbage")) end, "read_idx"},
  {"IDX: missing file", function() ml.read_idx(dir .. "/nope.idx") end, "nope.idx"},
  {"MNIST: folder without the files", function() ml.datasets.mnist(dir) end, "mnist"},
  {"MNIST: not a folder", function() ml.datasets.mnist(dir .. "/zzz") end, "not a folder"},
  -- PNG
  {"PNG: empty file", function() ml.image.load(file("e.png", "")) end, "not a PNG"},
  {"PNG: text file", function() ml.image.load(file("x.png", "hello world")) end, "not a PNG"},
  {"PNG: truncated", function() ml.image.load(file("t.png", png:sub(1, 100))) end, "PNG"},
  {"PNG: corrupted pixel data", function() ml.image.load(file("c.png", flip(png, #png - 20))) end, "PNG"},
  {"PNG: missing file", function() ml.image.load(dir .. "/none.png") end, "none.png"},
  {"image.save: wrong rank", function() ml.image.save(dir .. "/o.png", ml.ones(2, 2, 2, 2, 2)) end, "image"},
  {"image.resize: negative size", function() ml.image.resize(ml.ones(4, 4, 1), -2, 3) end, "resize"},
  {"image.convolve: kernel not 2-D", function() ml.image.convolve(ml.ones(4, 4, 1), ml.ones(3)) end, "kernel"},
  {"load_folder: no such folder", function() ml.image.load_folder(dir .. "/nofolder") end, "nofolder"},
  -- .npy
  {"npy: empty file", function() ml.load_npy(file("e.npy", "")) end, "npy"},
  {"npy: bad magic", function() ml.load_npy(file("b.npy", "NUMPY" .. npy:sub(6))) end, "magic"},
  {"npy: malformed header", function()
    ml.load_npy(file("h.npy", "\147NUMPY\1\0\16\0{garbage}      \n")) end, "header"},
  {"npy: truncated data", function() ml.load_npy(file("t.npy", npy:sub(1, #npy - 5))) end, "npy"},
  {"npy: unsupported dtype", function()
    ml.load_npy(file("d.npy", (npy:gsub("<f4", "<c8")))) end, "dtype"},
  {"save_npy: not a tensor", function() ml.save_npy(dir .. "/x.npy", {1, 2}) end, "tensor"},
  -- the product's own format
  {"mlt: empty file", function() ml.load(file("e.mlt", "")) end, "load"},
  {"mlt: not an mlrun file", function() ml.load(file("n.mlt", "PK\3\4 some zip")) end, "not an mlrun file"},
  {"mlt: flipped payload byte", function() ml.load(file("c.mlt", flip(mlt, #mlt - 3))) end, "load"},
  {"mlt: flipped header byte", function() ml.load(file("h.mlt", flip(mlt, 20))) end, "load"},
  {"mlt: truncated", function() ml.load(file("t.mlt", mlt:sub(1, #mlt // 2))) end, "load"},
  {"mlt: newer format version", function()
    ml.load(file("v.mlt", future_version(mlt))) end, "version"},
  {"mlt: missing file", function() ml.load(dir .. "/nothing.mlm") end, "nothing.mlm"},
  {"deserialize: not a string", function() ml.io.deserialize(42) end, "string"},
  {"save: a function", function() ml.save(dir .. "/f.mlt", print) end, "save"},
  {"load: a class outside ml.*", function()
    ml.save(dir .. "/evil.mlt", {__class = "x", __module = "os", state = {}})
    ml.load(dir .. "/evil.mlt") end, "os"},
  -- CSV
  {"CSV: empty file", function() ml.read_csv(file("e.csv", "")) end, "empty"},
  {"CSV: ragged row", function() ml.read_csv_string("a,b\n1,2,3\n") end, "expected 2 fields"},
  {"CSV: unclosed quote", function() ml.read_csv_string('a,b\n"1,2\n') end, "never closed"},
  {"CSV: text after a closing quote", function() ml.read_csv_string('a,b\n"1"x,2\n') end, "quote"},
  {"CSV: invalid UTF-8", function() ml.read_csv_string("a,b\n\255\254,2\n") end, "UTF"},
  {"CSV: huge field", function() ml.read_csv_string("a\n" .. string.rep("x", 70 * 2^20) .. "\n") end, "field"},
  {"CSV: unknown option", function() ml.read_csv_string("a\n1\n", {seperator = ";"}) end, "seperator"},
  {"CSV: missing file", function() ml.read_csv(dir .. "/no.csv") end, "no.csv"},
  {"DataFrame: unknown column", function() ml.read_csv_string("a,b\n1,2\n"):select{"c"} end, "c"},
  {"DataFrame: to_tensor with text", function() ml.read_csv_string("a,b\n1,x\n"):to_tensor() end, "b"},
  -- tensors
  {"tensor: negative size", function() ml.zeros(-1, 2) end, "negative"},
  {"tensor: size that overflows", function() ml.zeros(2^62, 2^62) end, "too large"},
  {"tensor: ragged table", function() ml.tensor{{1, 2}, {3}} end, "ragged"},
  {"tensor: strings inside", function() ml.tensor{1, "a"} end, "numbers"},
  {"tensor: index out of range", function() return ml.zeros(3)[4] end, "out of range"},
  {"tensor: shapes that do not broadcast", function() return ml.ones(2, 3) + ml.ones(4) end, "2x3 and 4"},
  {"tensor: matmul mismatch", function() return ml.ones(3, 4):matmul(ml.ones(5, 2)) end, "3x4 and 5x2"},
  {"tensor: reshape mismatch", function() return ml.ones(6):reshape(4, 2) end, "reshape"},
  {"tensor: wrong argument type", function() return ml.matmul(ml.ones(2, 2), "x") end, "ml.Tensor"},
  {"tensor: bad dimension", function() return ml.ones(2, 2):sum(3) end, "dimension"},
  {"tensor: use after <close>", function()
    local u
    do local t <close> = ml.ones(2); u = t end
    return u + 1 end, "closed"},
  {"tensor: memory limit", function()
    ml.set_memory_limit(ml.memory_info().in_use + 1024)
    local ok, e = pcall(ml.zeros, 1000, 1000)
    ml.set_memory_limit(0)
    error(e, 0) end, "memory limit"},
  -- networks
  {"Dense: negative units", function() ml.nn.Dense(-3) end, "units"},
  {"Dense: unknown option", function() ml.nn.Dense(3, {actvation = "relu"}) end, "actvation"},
  {"Dense: unknown activation", function() ml.nn.Dense(3, {activation = "relux"}) end, "relux"},
  {"Conv2D: kernel larger than the input", function()
    ml.nn.Conv2D(4, 7):build{5, 5, 1} end, "5"},
  {"fit: input with the wrong feature count", function()
    tiny_model(2, nil, "mse"):fit(ml.ones(3, 5), ml.ones(3, 2), {verbose = 0}) end, "4 features, got 5"},
  {"fit: label out of range", function()
    tiny_model(3, "softmax", "sparse_categorical_crossentropy")
      :fit(ml.ones(3, 4), ml.tensor{0, 1, 7}, {verbose = 0}) end, "7"},
  {"fit: x and y with different row counts", function()
    tiny_model(2, nil, "mse"):fit(ml.ones(3, 4), ml.ones(5, 2), {verbose = 0}) end, "3"},
  {"fit: NaN in the data", function()
    tiny_model(2, nil, "mse"):fit(ml.tensor{{0 / 0, 1, 1, 1}}, ml.ones(1, 2), {verbose = 0}) end,
    "row 1, column 1"},
  {"fit: unknown option", function()
    tiny_model(2, nil, "mse"):fit(ml.ones(3, 4), ml.ones(3, 2), {epochz = 2}) end, "epochz"},
  {"compile: unknown loss", function()
    ml.nn.Sequential{ml.nn.Input{2}, ml.nn.Dense(1)}:compile{optimizer = "sgd", loss = "msee"} end, "msee"},
  {"compile: unknown optimizer", function()
    ml.nn.Sequential{ml.nn.Input{2}, ml.nn.Dense(1)}:compile{optimizer = "adamw2", loss = "mse"} end, "adamw2"},
  {"to_categorical: class out of range", function() ml.utils.to_categorical(ml.tensor{0, 5}, 3) end, "0..2"},
  -- estimators
  {"LogisticRegression: wrong option type", function() ml.LogisticRegression{C = "big"} end, "C"},
  {"LogisticRegression: unknown option", function() ml.LogisticRegression{Cc = 1} end, "Cc"},
  {"LogisticRegression: one class only", function()
    ml.LogisticRegression():fit(ml.ones(4, 2), ml.zeros(4)) end, "class"},
  {"LinearRegression: NaN in X", function()
    ml.LinearRegression():fit(ml.tensor{{0 / 0, 1}, {1, 2}}, ml.tensor{1, 2}) end, "NaN"},
  {"predict before fit", function() ml.DecisionTreeClassifier():predict(ml.ones(2, 2)) end, "fit"},
  {"predict with the wrong feature count", function()
    ml.GaussianNB():fit(ml.tensor{{0, 1}, {1, 0}}, ml.tensor{0, 1}):predict(ml.ones(2, 3)) end, "feature"},
  {"KMeans: more clusters than rows", function() ml.KMeans{n_clusters = 5}:fit(ml.ones(3, 2)) end, "n_clusters"},
  {"SVC: unknown kernel", function() ml.SVC{kernel = "rbff"} end, "rbff"},
  {"RandomForest: negative trees", function()
    ml.RandomForestClassifier{n_estimators = -1}:fit(ml.ones(4, 2), ml.tensor{0, 1, 0, 1}) end, "n_estimators"},
  {"NMF: negative input", function() ml.NMF{n_components = 1}:fit(ml.tensor{{-1, 1}, {1, 1}}) end, "negative"},
  {"metrics: different lengths", function() ml.metrics.accuracy_score({1, 2}, {1}) end, "2"},
  {"train_test_split: bad test_size", function()
    ml.model_selection.train_test_split(ml.ones(4, 2), ml.ones(4), {test_size = 1.5}) end, "test_size"},
  {"RFE: estimator without coef_ or feature_importances_", function()
    ml.feature_selection.RFE(ml.KNeighborsClassifier(), {n_features_to_select = 1})
      :fit(ml.tensor{{0, 1}, {1, 0}, {1, 1}, {0, 0}}, ml.tensor{0, 1, 1, 0}) end, "coef_"},
  -- sweeps and the command line
  {"sweep: unknown option", function() ml.sweep{grid = {a = {1}}, run = print, wrkers = 2} end, "wrkers"},
  {"sweep: empty grid entry", function() ml.sweep{grid = {a = {}}, run = print} end, "non-empty"},
  {"dist: unknown reduction", function() ml.dist.allreduce(ml.ones(2), "avg") end, "avg"},
  {"rng state: foreign string", function() ml.set_rng_state("abc") end, "get_rng_state"},
}

describe("bad input", function()
  teardown(function() os.execute("rm -rf " .. dir) end)
  it("has at least 60 cases", function()
    assert.is_true(#cases >= 60, #cases .. " cases")
  end)
  for _, c in ipairs(cases) do
    it(c[1], function()
      local ok, err = pcall(c[2])
      assert.is_false(ok, "no error was raised")
      err = tostring(err)
      assert.is_nil(err:find("attempt to ", 1, true), "an internal error leaked: " .. err)
      if c[3] then assert.is_truthy(err:find(c[3], 1, true), "message: " .. err) end
      -- the engine is still usable
      assert.equal(4, (ml.ones(2, 2) * 1):sum())
    end)
  end
end)
