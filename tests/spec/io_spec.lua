-- ml.save / ml.load (.mlt/.mlm), serialize/deserialize, .npy interchange,
-- IDX files, atomic writes and the refusal of bad files.
local ml = require "ml"
local mio = require "ml.io"
local core = require "ml.core"

local tmp = os.tmpname()
os.remove(tmp)
local dir = tmp .. "_io"
os.execute("mkdir -p " .. dir)
local MLRUN = os.getenv("MLRUN") or "build/mlrun"
local FIX = "tests/fixtures/npy/"

local function readf(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
local function writef(p, s) local f = assert(io.open(p, "wb")); f:write(s); f:close() end
local function temps(prefix)
  local n = 0
  for _, name in ipairs(mio.listdir(dir)) do
    if name:find(prefix .. ".tmp.", 1, true) == 1 then n = n + 1 end
  end
  return n
end
local function u32(v) return string.pack("<I4", v) end
local function fix_header_crc(s)   -- recompute the header checksum after an edit
  return s:sub(1, 36) .. u32(core.io.crc32(s:sub(1, 36))) .. s:sub(41)
end
local function errmsg(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok)
  return tostring(e)
end

describe("ml.save / ml.load", function()
  it("round-trips tensors of each dtype, with shapes and values", function()
    ml.seed(1)
    local a, b = ml.randn(3, 4, 5), ml.tensor({-3, 0, 2 ^ 40, -(2 ^ 53)}, "int64")
    ml.save(dir .. "/a.mlt", a)
    ml.save(dir .. "/b.mlt", b)
    local a2, b2 = ml.load(dir .. "/a.mlt"), ml.load(dir .. "/b.mlt")
    assert.same({3, 4, 5}, a2.shape)
    assert.equal("float32", a2.dtype)
    assert.same(a:totable(), a2:totable())
    assert.equal("int64", b2.dtype)
    assert.same(b:totable(), b2:totable())
  end)
  it("saves views and transposed tensors by value", function()
    local x = ml.arange(0, 12):reshape(3, 4)
    ml.save(dir .. "/t.mlt", x:t())
    local y = ml.load(dir .. "/t.mlt")
    assert.same(x:t():totable(), y:totable())
  end)
  it("round-trips empty and scalar tensors", function()
    ml.save(dir .. "/e.mlt", {e = ml.zeros(0, 3), s = ml.tensor(2.5)})
    local t = ml.load(dir .. "/e.mlt")
    assert.same({0, 3}, t.e.shape)
    assert.equal(0, t.s:dim())
    assert.equal(2.5, t.s:item())
  end)
  it("round-trips nested tables, keeping integers apart from floats", function()
    local v = {n = 3, f = 3.0, big = math.maxinteger, neg = -7, pi = math.pi, inf = math.huge,
               yes = true, no = false, s = "a\0b\255", list = {1, 2, {3, {4}}},
               [10] = "ten", [-1] = "minus one", w = {ml.ones(2), ml.zeros(1)}}
    local s = mio.serialize(v)
    for _, w in ipairs{ml.load((function() ml.save(dir .. "/n.mlt", v); return dir .. "/n.mlt" end)()),
                       mio.deserialize(s)} do
      assert.equal("integer", math.type(w.n))
      assert.equal("float", math.type(w.f))
      assert.equal(math.maxinteger, w.big)
      assert.equal(-7, w.neg)
      assert.equal(math.pi, w.pi)
      assert.equal(math.huge, w.inf)
      assert.is_true(w.yes); assert.is_false(w.no)
      assert.equal("a\0b\255", w.s)
      assert.equal(4, w.list[3][2][1])
      assert.equal("ten", w[10]); assert.equal("minus one", w[-1])
      assert.equal(2, w.w[1]:sum())
    end
    local nan = mio.deserialize(mio.serialize({x = 0 / 0})).x
    assert.is_true(nan ~= nan)
  end)
  it("rebuilds objects through their class's from_state", function()
    local base = require "ml.base"
    local est = base.estimator("Dummy", "test.io", {{"alpha", 1.0, "number"}}, "regressor")
    mio.register(est)           -- ml.load rebuilds only shipped or registered classes
    local obj = est{alpha = 0.25}
    obj.coef_ = ml.tensor{1, 2, 3}
    ml.save(dir .. "/obj.mlm", {model = obj, note = "hi"})
    local back = ml.load(dir .. "/obj.mlm")
    assert.equal("hi", back.note)
    assert.equal(est, getmetatable(back.model))
    assert.equal(0.25, back.model.alpha)
    assert.same({1, 2, 3}, back.model.coef_:totable())
    local info = mio.info(dir .. "/obj.mlm")
    assert.equal(1, info.version)
    assert.equal("table", info.kind)
    mio.unregister(est)
    assert.matches("refusing to load class \"Dummy\" from module \"test.io\"",
      errmsg(ml.load, dir .. "/obj.mlm"))
  end)
  it("rebuilds nested objects first, and falls back to the raw state for hand-wrapped parts", function()
    local base = require "ml.base"
    local Leaf = base.estimator("Leaf", "ml.base", {{"k", 1, "number"}}, "regressor")
    -- Outer saves its part as an object (rebuilt before Outer.from_state runs)
    local Outer = base.class("Outer"); Outer._module = "ml.base"
    function Outer:state() return {part = self.part} end
    function Outer.from_state(cls, st)
      assert(getmetatable(st.part) == Leaf, "part arrives rebuilt")
      local o = setmetatable({}, cls); o.part = st.part; return o
    end
    -- Wrapped saves {__class, __module, state} itself and rebuilds it (Pipeline's way)
    local Wrapped = base.class("Wrapped"); Wrapped._module = "ml.base"
    function Wrapped:state()
      return {inner = {__class = "Leaf", __module = "ml.base", state = self.inner:state()}}
    end
    function Wrapped.from_state(cls, st)
      local w = setmetatable({}, cls)
      w.inner = Leaf.from_state(Leaf, assert(st.inner.state, "raw wrapper expected"))
      return w
    end
    mio.register(Leaf); mio.register(Outer); mio.register(Wrapped)
    local back = mio.deserialize(mio.serialize({a = Outer.from_state(Outer, {part = Leaf{k = 3}}),
      b = Wrapped.from_state(Wrapped, {inner = {state = Leaf{k = 5}:state()}})}))
    assert.equal(3, back.a.part.k)
    assert.equal(5, back.b.inner.k)
    assert.equal(Wrapped, getmetatable(back.b))
    mio.unregister(Leaf); mio.unregister(Outer); mio.unregister(Wrapped)
  end)
  it("names the class that cannot be saved", function()
    local C = setmetatable({}, {__name = "Thing"})
    assert.matches("Thing is not a saveable class %(it lacks _module, state%(%)%)",
      errmsg(ml.save, dir .. "/bad.mlt", {x = setmetatable({}, {__name = "Thing", __index = {}})}))
    local _ = C
  end)
  it("refuses classes outside ml.* and missing classes when loading", function()
    local raw = core.io.serialize   -- writes any tree, as a crafted file would
    local evil = raw({__class = "X", __module = "os", state = {}})
    assert.matches("refusing to load class \"X\" from module \"os\"",
      errmsg(mio.deserialize, evil))
    local unknown = raw({__class = "X", __module = "ml.not_shipped", state = {}})
    assert.matches("refusing to load class \"X\" from module \"ml.not_shipped\"",
      errmsg(mio.deserialize, unknown))
    local missing = raw({__class = "NoSuchClass", __module = "ml.base", state = {}})
    assert.matches("refusing to load class \"NoSuchClass\"", errmsg(mio.deserialize, missing))
  end)
  it("refuses values it cannot save, naming where they are", function()
    assert.matches("cannot save a function .* at value%.a%.b",
      errmsg(ml.save, dir .. "/bad.mlt", {a = {b = print}}))
    local cyc = {}; cyc.self = cyc
    assert.matches("cycle", errmsg(ml.save, dir .. "/bad.mlt", cyc))
    assert.matches("keys must be strings or integers",
      errmsg(mio.serialize, {[1.5] = 1}))
    assert.matches("unknown option 'lvl'", errmsg(ml.save, dir .. "/bad.mlt", 1, {lvl = 3}))
    assert.has_error(function() ml.save(dir .. "/bad.mlt", 1, {level = 12}) end)
  end)
  it("accepts every compression level", function()
    local x = ml.arange(0, 1000)
    for _, lv in ipairs{0, 1, 9} do
      ml.save(dir .. "/lv.mlt", x, {level = lv})
      assert.same(x:totable(), ml.load(dir .. "/lv.mlt"):totable())
    end
  end)
end)

describe("bad .mlt files", function()
  local good
  setup(function()
    ml.save(dir .. "/good.mlt", {w = ml.arange(0, 100), name = "model"})
    good = readf(dir .. "/good.mlt")
  end)
  local function load_str(s)
    writef(dir .. "/bad.mlt", s)
    return errmsg(ml.load, dir .. "/bad.mlt")
  end
  it("refuses a wrong magic", function()
    assert.matches("not an mlrun file", load_str("PK\3\4" .. good:sub(5)))
    assert.matches("not an mlrun file", load_str(""))
  end)
  it("refuses truncated files at every length", function()
    for _, n in ipairs{5, 20, 39, 40, 41, #good // 2, #good - 1} do
      local e = load_str(good:sub(1, n))
      assert.is_truthy(e:find("truncated") or e:find("magic"), e)
    end
  end)
  it("refuses a corrupted payload byte (checksum)", function()
    local i = #good - 5
    local s = good:sub(1, i - 1) .. string.char((good:byte(i) + 1) % 256) .. good:sub(i + 1)
    assert.matches("checksum mismatch", load_str(s))
  end)
  it("refuses a corrupted header byte", function()
    local s = good:sub(1, 20) .. string.char((good:byte(21) + 1) % 256) .. good:sub(22)
    assert.matches("header checksum", load_str(s))
  end)
  it("refuses a newer format version with a clear error", function()
    local s = fix_header_crc(good:sub(1, 8) .. u32(7) .. good:sub(13))
    assert.matches("version 7 is newer", load_str(s))
  end)
  it("refuses a header claiming a huge size before allocating", function()
    local s = fix_header_crc(good:sub(1, 16) .. string.pack("<I8", 1 << 50) .. good:sub(25))
    assert.matches("corrupt", load_str(s))
  end)
  it("refuses trailing garbage", function()
    assert.matches("unexpected bytes", load_str(good .. "xx"))
  end)
  it("refuses deserializing garbage and stays usable", function()
    assert.has_error(function() mio.deserialize("hello") end)
    assert.has_error(function() mio.deserialize(good:sub(1, 50)) end)
    assert.equal("model", mio.deserialize(good).name)
  end)
  it("respects the memory limit when loading", function()
    ml.save(dir .. "/big.mlt", ml.zeros(1000, 1000))
    local info = ml.memory_info and ml.memory_info() or nil
    ml.set_memory_limit(1 << 20)
    local ok, e = pcall(ml.load, dir .. "/big.mlt")
    ml.set_memory_limit(0)
    assert.is_false(ok)
    assert.matches("memory limit", e)
    assert.equal(1000, ml.load(dir .. "/big.mlt").shape[1])
    local _ = info
  end)
end)

describe("atomic writes", function()
  it("leaves the old file intact when a save fails mid-way", function()
    ml.save(dir .. "/keep.mlt", ml.tensor{1, 2, 3})
    assert.has_error(function()
      ml.save(dir .. "/keep.mlt", {big = ml.zeros(100000), z = {f = print}})
    end)
    assert.same({1, 2, 3}, ml.load(dir .. "/keep.mlt"):totable())
    assert.equal(0, temps("keep.mlt"))
  end)
  it("leaves the old file loadable when the process is killed mid-save", function()
    local p = dir .. "/killed.mlt"
    ml.save(p, ml.tensor{7, 8, 9})
    local marker = dir .. "/started"
    local child = string.format(
      [[%s -e 'local x = ml.randn(3e7); io.open("%s", "w"):close(); ml.save("%s", x, {level = 9})']],
      MLRUN, marker, p)
    local script = string.format(
      "%s & pid=$!; i=0; while [ ! -f %s ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; " ..
      "sleep 0.3; kill -9 $pid; wait $pid 2>/dev/null; exit 0", child, marker)
    os.execute(script)
    assert.is_true(mio.exists(marker))
    assert.equal(1, temps("killed.mlt"))          -- the save was in progress
    assert.same({7, 8, 9}, ml.load(p):totable())  -- the old file is intact
  end)
  it("write_atomic replaces text files", function()
    mio.write_atomic(dir .. "/log.csv", "a,b\n1,2\n")
    mio.write_atomic(dir .. "/log.csv", "a,b\n1,2\n3,4\n")
    assert.equal("a,b\n1,2\n3,4\n", readf(dir .. "/log.csv"))
    assert.equal(0, temps("log.csv"))
    assert.has_error(function() mio.write_atomic(dir .. "/no/such/dir/x", "") end)
  end)
end)

describe(".npy", function()
  local function arange24(f) return ml.arange(0, 24):reshape(2, 3, 4) * f end
  it("reads NumPy's files of every plain dtype", function()
    local want = arange24(0.5):totable()
    for _, name in ipairs{"f4_c", "f8_c", "f2_c", "f4_be", "f4_fortran", "f4_v2"} do
      local x = ml.load_npy(FIX .. name .. ".npy")
      assert.equal(name == "f8_c" and "float64" or "float32", x.dtype, name)
      assert.same(want, x:totable(), name)
    end
    assert.same(ml.tensor(ml.arange(0, 24):reshape(2, 3, 4), "int64"):totable(),
      ml.load_npy(FIX .. "i8_c.npy"):totable())
    for _, name in ipairs{"i4_c", "i2_c", "i1_c", "i8_be"} do
      local x = ml.load_npy(FIX .. name .. ".npy")
      assert.equal("int64", x.dtype)
      assert.equal(-12, x[1][1][1], name)
      assert.equal(11, x[2][3][4], name)
    end
    local u = ml.load_npy(FIX .. "u1_c.npy")
    assert.equal("uint8", u.dtype)
    assert.equal(23, u[2][3][4])
    local b = ml.load_npy(FIX .. "b1_c.npy")
    assert.equal(12, b:sum())
    assert.same({{0, 1, 2}, {3, 4, 5}}, ml.load_npy(FIX .. "f8_fortran2d.npy"):totable())
    assert.same({0, 1, 2, 3, 4}, ml.load_npy(FIX .. "f4_1d.npy"):totable())
    assert.equal(3.5, ml.load_npy(FIX .. "f4_scalar.npy"):item())
    assert.same({0, 3}, ml.load_npy(FIX .. "f4_empty.npy").shape)
  end)
  it("refuses structured dtypes", function()
    assert.matches("unsupported dtype", errmsg(ml.load_npy, FIX .. "structured.npy"))
  end)
  it("writes files NumPy reads (checked by tests/fixtures/make_npy.py)", function()
    -- byte-identical to the committed files NumPy verified
    ml.save_npy(dir .. "/f.npy", arange24(0.5))
    assert.equal(readf(FIX .. "from_mlrun_f32.npy"), readf(dir .. "/f.npy"))
    ml.save_npy(dir .. "/i.npy", ml.tensor(ml.arange(0, 6):reshape(2, 3), "int64"))
    assert.equal(readf(FIX .. "from_mlrun_i64.npy"), readf(dir .. "/i.npy"))
  end)
  it("round-trips through its own writer, including views", function()
    local x = ml.randn(5, 7)
    ml.save_npy(dir .. "/r.npy", x:t())
    assert.same(x:t():totable(), ml.load_npy(dir .. "/r.npy"):totable())
    ml.save_npy(dir .. "/s.npy", ml.tensor(1.25))
    assert.equal(1.25, ml.load_npy(dir .. "/s.npy"):item())
  end)
  it("refuses malformed headers and truncated data", function()
    local good = readf(FIX .. "f4_c.npy")
    local function try(s) writef(dir .. "/bad.npy", s); return errmsg(ml.load_npy, dir .. "/bad.npy") end
    assert.matches("bad magic", try("\x93NUMPX" .. good:sub(7)))
    assert.matches("truncated", try(good:sub(1, 9)))
    assert.matches("truncated", try(good:sub(1, 60)))
    assert.matches("truncated", try(good:sub(1, #good - 1)))
    assert.matches("version", try(good:sub(1, 6) .. "\9" .. good:sub(8)))
    local h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    local function with(hdr, body)
      return "\x93NUMPY\1\0" .. string.pack("<I2", #hdr) .. hdr .. (body or string.rep("\0", 24))
    end
    assert.is_truthy(pcall(function() writef(dir .. "/ok.npy", with(h)); return ml.load_npy(dir .. "/ok.npy") end))
    assert.matches("malformed", try(with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }")))
    assert.matches("malformed", try(with("{'descr': '<f4' 'shape': (2,)}")))
    assert.matches("unsupported dtype", try(with("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }")))
    assert.matches("unsupported dtype", try(with("{'descr': '<O', 'fortran_order': False, 'shape': (2,), }")))
    assert.matches("lacks 'shape'", try(with("{'descr': '<f4', 'fortran_order': False}")))
    assert.matches("unknown key", try(with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}")))
    assert.matches("fortran_order", try(with("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }")))
    assert.matches("truncated", try(with("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }")))
    assert.matches("too large", try(with("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }")))
    assert.matches("dimensions", try(with("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }")))
    assert.matches("malformed", try(with(h:sub(1, 20))))
  end)
end)

describe("IDX", function()
  local function idx(code, dims, body)
    local s = string.char(0, 0, code, #dims)
    for _, d in ipairs(dims) do s = s .. string.pack(">I4", d) end
    return s .. body
  end
  local function try(s) writef(dir .. "/bad.idx", s); return errmsg(ml.read_idx, dir .. "/bad.idx") end
  it("reads every element type, big-endian", function()
    local cases = {
      {0x08, string.char(0, 1, 255), {0, 1, 255}},
      {0x09, string.char(0, 1, 255), {0, 1, -1}},
      {0x0B, string.pack(">i2>i2>i2", -300, 0, 300), {-300, 0, 300}},
      {0x0C, string.pack(">i4>i4>i4", -70000, 0, 70000), {-70000, 0, 70000}},
      {0x0D, string.pack(">f>f>f", -1.5, 0, 2.25), {-1.5, 0, 2.25}},
      {0x0E, string.pack(">d>d>d", -1.5, 0, 2.25), {-1.5, 0, 2.25}},
    }
    for _, c in ipairs(cases) do
      writef(dir .. "/t.idx", idx(c[1], {3}, c[2]))
      assert.same(c[3], ml.read_idx(dir .. "/t.idx"):totable())
      assert.equal("int64", ml.read_idx(dir .. "/t.idx", {dtype = "int64"}).dtype)
    end
  end)
  it("keeps the shape and scales floats", function()
    writef(dir .. "/s.idx", idx(0x08, {2, 1, 3}, string.char(0, 51, 102, 153, 204, 255)))
    local x = ml.read_idx(dir .. "/s.idx", {scale = 1 / 255})
    assert.same({2, 1, 3}, x.shape)
    assert.is_true(math.abs(x[2][1][3] - 1) < 1e-6)
  end)
  it("reads gzipped files the same as plain ones", function()
    local p = "data/mnist-10k/t10k-labels-idx1-ubyte.gz"
    local y = ml.read_idx(p, {dtype = "int64"})
    writef(dir .. "/plain.idx", mio.read_file(p))
    assert.same(y:totable(), ml.read_idx(dir .. "/plain.idx", {dtype = "int64"}):totable())
    assert.same({2000}, y.shape)
  end)
  it("refuses bad magic, truncation, corrupt gzip and bad options", function()
    assert.matches("not an IDX file", try("\1\0\8\1" .. string.rep("\0", 8)))
    assert.matches("not an IDX file", try(string.char(0, 0, 0x0A, 1, 0, 0, 0, 1, 0)))
    assert.matches("not an IDX file", try(string.char(0, 0, 8, 0)))
    assert.matches("not an IDX file", try(string.char(0, 0, 8, 9)))
    assert.matches("truncated", try(string.char(0, 0, 8)))
    assert.matches("truncated", try(idx(8, {2}, "\1")))
    assert.matches("truncated", try(idx(8, {65536, 65536, 65536}, "\1")))
    local gz = readf("data/mnist-10k/t10k-labels-idx1-ubyte.gz")
    assert.matches("truncated", try(gz:sub(1, #gz // 2)))
    local mid = #gz // 2
    local bad = gz:sub(1, mid) .. string.rep("\255", 40) .. gz:sub(mid + 41)
    assert.is_false(pcall(ml.read_idx, (function() writef(dir .. "/bad.idx", bad); return dir .. "/bad.idx" end)()))
    assert.has_error(function() ml.read_idx("no/such/file") end)
    assert.matches("unknown option", errmsg(ml.read_idx, dir .. "/t.idx", {type = "x"}))
    assert.matches("dtype must be", errmsg(ml.read_idx, dir .. "/t.idx", {dtype = "u8"}))
  end)
end)

describe("file helpers", function()
  it("read_file gunzips by magic and listdir sorts", function()
    local s = mio.read_file("data/classic/digits.csv.gz")
    assert.equal("pixel_0_0", s:sub(1, 9))
    assert.equal("iris.csv", readf("data/classic/iris.csv") == mio.read_file("data/classic/iris.csv") and "iris.csv")
    local names = mio.listdir("data/classic")
    local sorted = {table.unpack(names)}
    table.sort(sorted)
    assert.same(sorted, names)
    assert.has_error(function() mio.listdir("no/such/dir") end)
  end)
end)

teardown(function() os.execute("rm -rf " .. dir) end)
