-- Crashes and hangs from the API and from data (issue 9): each case is a
-- class of bug; every input here once crashed, hung or misread.
local ml = require "ml"

local function tmpfile(text)
  local p = os.tmpname()
  local f = assert(io.open(p, "wb"))
  f:write(text)
  f:close()
  return p
end

local function errors(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, tostring(err))
  return err
end

describe("read_csv header", function()
  it("de-duplicates 8,000 identical names in linear time", function()
    local names = {}
    for i = 1, 8000 do names[i] = "x" end
    local p = tmpfile(table.concat(names, ",") .. "\n" .. string.rep("1,", 7999) .. "1\n")
    local t0 = os.clock()
    local df = ml.read_csv(p)
    local took = os.clock() - t0
    os.remove(p)
    assert.equal(8000, #df.columns)
    assert.equal("x", df.columns[1])
    assert.equal("x.1", df.columns[2])
    assert.equal("x.7999", df.columns[8000])
    -- quadratic de-duplication took minutes here; linear takes milliseconds
    assert.is_true(took < 20, ("8,000 duplicate names took %.1f s"):format(took))
  end)

  it("keeps pandas' suffix rules when a suffixed name is taken", function()
    local p = tmpfile("x,x,x.1,x\n1,2,3,4\n")
    local df = ml.read_csv(p)
    os.remove(p)
    assert.same({"x", "x.1", "x.1.1", "x.2"}, df.columns)
  end)

  it("reads a last record that ends with an empty field", function()
    local p = tmpfile("a,b,c\n1,2,3\n4,5,")
    local df = ml.read_csv(p)
    os.remove(p)
    assert.equal(2, #df)
    assert.equal(5, df.b[2])
    local v = df.c[2]
    assert.is_true(v == nil or v ~= v)   -- missing, not the previous field's bytes
  end)
end)
