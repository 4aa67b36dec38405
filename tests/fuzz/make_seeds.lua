-- Writes the seed corpora of tests/fuzz/corpus/ (run once with build/mlrun;
-- the outputs are committed). Small, valid inputs of each format.
local dir = "tests/fuzz/corpus/"
local function put(target, name, bytes)
  os.execute("mkdir -p " .. dir .. target)
  local f = assert(io.open(dir .. target .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end
local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end

-- .mlt: tensors of both dtypes, nested tables, strings with NULs, an empty tensor
put("mlt", "tensor", ml.io.serialize(ml.arange(0, 12):reshape(3, 4)))
put("mlt", "int64", ml.io.serialize(ml.tensor({1, 2, 3}, "int64")))
put("mlt", "tree", ml.io.serialize({a = 1, b = 2.5, c = "x\0y", d = {true, false, {ml.ones(2)}}}))
put("mlt", "empty", ml.io.serialize(ml.zeros(0, 3)))
put("mlt", "class", ml.io.serialize({__class = "StandardScaler", __module = "ml.preprocessing",
  state = {params = {}, fitted = {}}}))

-- CSV: quoting, separators, missing values, CRLF, a slice of the real tables
put("csv", "quoted", 'a,b,c\n1,"x, y",3\n2,"say ""hi""",\n3,"multi\nline",5\n')
put("csv", "semicolon", 'age;job;y\n30;"admin.";no\n41;technician;yes\n')
put("csv", "crlf_na", "x,y\r\n1,NA\r\n,2\r\nnan,3\r\n")
put("csv", "tabs", "a\tb\n1\t2\n3\t4\n")
local iris = slurp("data/classic/iris.csv")
put("csv", "iris_head", iris:sub(1, 400))

-- .npy from the fixtures NumPy wrote (if present), else our own writer
local tmp = os.tmpname()
ml.save_npy(tmp, ml.arange(0, 6):reshape(2, 3)); put("npy", "f32_2x3", slurp(tmp))
ml.save_npy(tmp, ml.tensor({1, 2, 3}, "int64")); put("npy", "i64", slurp(tmp))
os.remove(tmp)

-- IDX: a two-image slice of MNIST, plain and gzipped labels
local imgs = ml.read_idx("data/mnist-10k/t10k-images-idx3-ubyte.gz")
local function be32(n) return string.pack(">I4", n) end
local raw = {}
for i = 1, 2 do
  for _, row in ipairs(imgs[i]:totable()) do
    for _, v in ipairs(row) do raw[#raw + 1] = string.char(math.floor(v + 0.5)) end
  end
end
put("idx", "images2", be32(2051) .. be32(2) .. be32(28) .. be32(28) .. table.concat(raw))
put("idx", "labels3", be32(2049) .. be32(3) .. "\7\2\1")
put("idx", "labels_gz", slurp("data/mnist-10k/t10k-labels-idx1-ubyte.gz"):sub(1, 300))

-- PNG: shipped digits (gray 8-bit), and an RGB image written by ml.image
put("png", "digit0", slurp("data/mnist-png/0_0003.png"))
put("png", "digit7", slurp("data/mnist-png/" .. (function()
  for _, n in ipairs(ml.io.listdir("data/mnist-png")) do if n:match("^7_") then return n end end
end)()))
tmp = os.tmpname() .. ".png"
ml.image.save(tmp, ml.rand(5, 4, 3)); put("png", "rgb", slurp(tmp)); os.remove(tmp)

-- JPEG: colour, gray, and a progressive-free digit
tmp = os.tmpname() .. ".jpg"
ml.image.save(tmp, ml.rand(9, 12, 3)); put("jpeg", "rgb", slurp(tmp))
ml.image.save(tmp, ml.rand(8, 8)); put("jpeg", "gray", slurp(tmp))
ml.image.save(tmp, ml.image.load("data/mnist-png/0_0003.png"), {quality = 50}); put("jpeg", "digit0", slurp(tmp))
os.remove(tmp)

-- options
local json = require "ml.json"
put("options", "dense", json.encode({which = 0, arg = 4, opts = {activation = "relu"}}))
put("options", "conv", json.encode({which = 1, arg = 2, opts = {strides = 2, padding = "same"}}))
put("options", "logreg", json.encode({which = 6, opts = {C = 0.5, max_iter = 50}}))
put("options", "tree", json.encode({which = 7, opts = {max_depth = 2, criterion = "entropy"}}))
put("options", "bad", json.encode({which = 8, opts = {n_clusters = -1}}))
