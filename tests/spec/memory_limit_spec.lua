-- The memory limit covers every reader and every large scratch buffer of the
-- runtime, not only tensors: a small file that inflates to far more than the
-- limit fails early, with the limit in the message, and leaks nothing.
local ml = require "ml"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)

-- a gzip file of `mb` MiB of "0,0,0,0,0,0,0\n" rows (a few hundred KB on disk)
local function bomb(name, mb)
  local path = dir .. "/" .. name
  assert(os.execute(string.format("yes 0,0,0,0,0,0,0 | head -c %d | gzip -1 > %s", mb << 20, path)))
  return path
end

local LIMIT = 8 << 20

local function under_limit(f, ...)
  collectgarbage()
  local before = ml.memory_info().in_use
  ml.set_memory_limit(LIMIT)
  local ok, err = pcall(f, ...)
  ml.set_memory_limit(0)
  collectgarbage()
  return ok, tostring(err), ml.memory_info().in_use - before
end

describe("memory limit", function()
  local gz
  setup(function() gz = bomb("bomb.csv.gz", 48) end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("stops read_csv of a gzip bomb at the limit, naming it", function()
    local ok, err, leaked = under_limit(ml.read_csv, gz)
    assert.is_false(ok)
    assert.matches("memory limit of " .. LIMIT .. " bytes", err, 1, true)
    assert.matches("read_csv", err)
    assert.equal(0, leaked)
  end)

  it("still reads the same file without a limit", function()
    local small = dir .. "/small.csv.gz"
    assert(os.execute(string.format("yes 1,2,3 | head -c 4000 | gzip > %s", small)))
    local df = ml.read_csv(small)
    assert.equal(3, #df.columns)
  end)

  it("stops read_file and read_csv of a string at the limit", function()
    local ok, err, leaked = under_limit(ml.io.read_file, gz)
    assert.is_false(ok)
    assert.matches("memory limit", err)
    assert.matches("read_file", err)
    assert.equal(0, leaked)
  end)

  it("counts the string a load would make", function()
    local path = dir .. "/big.mlt"
    ml.save(path, {blob = string.rep("x", 16 << 20)})
    local ok, err, leaked = under_limit(ml.load, path)
    assert.is_false(ok)
    assert.matches("memory limit", err)
    assert.equal(0, leaked)
    local ok2, err2 = under_limit(ml.io.read_file, path)
    assert.is_true(ok2, err2)     -- the compressed file itself is small
  end)

  it("counts the tensors a gzip IDX file announces", function()
    local path = dir .. "/big.idx.gz"
    -- IDX header: magic 0 0 0x08 (uint8) 2 dims, 4096 x 4096
    local f = assert(io.popen("gzip -1 > " .. path, "w"))
    f:write("\0\0\8\2", string.pack(">I4>I4", 4096, 4096), string.rep("\0", 4096 * 4096))
    f:close()
    local ok, err, leaked = under_limit(ml.read_idx, path)
    assert.is_false(ok)
    assert.matches("memory limit", err)
    assert.equal(0, leaked)
  end)

  it("accounts scratch buffers: nothing stays in use after a read", function()
    local small = dir .. "/cats.csv"
    local fh = assert(io.open(small, "w"))
    fh:write("a,b\n")
    for i = 1, 2000 do fh:write(("x%d,%d\n"):format(i % 37, i)) end
    fh:close()
    collectgarbage()
    local before = ml.memory_info().in_use
    local df = ml.read_csv(small)
    assert.equal(2000, #df)
    df = nil
    collectgarbage()
    assert.equal(before, ml.memory_info().in_use)
  end)
end)
