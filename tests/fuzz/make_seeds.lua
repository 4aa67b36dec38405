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
