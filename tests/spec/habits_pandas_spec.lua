-- issue 10 item 6: pandas habits - masks combine with & | ~, df[mask],
-- df:iloc(r, c) cells, printable dtypes, value_counts, groupby, sort_values,
-- isna():sum(), fillna, dropna.
local ml = require "ml"

local function frame()
  return ml.DataFrame({sp = {"a", "b", "a", nil, "b", "c"}, x = {1, 2, 3, 4, 0 / 0, 6},
    y = {10, 20, 30, 40, 50, 60}}, {columns = {"sp", "x", "y"}})
end

describe("boolean masks", function()
  local t = ml.tensor{1, 2, 3, 4}
  it("combine with & | ~ and ~ (xor) on tensors", function()
    local a, b = t:gt(1), t:lt(4)
    assert.same({0, 1, 1, 0}, (a & b):totable())
    assert.same({1, 1, 1, 1}, (a | b):totable())
    assert.same({1, 0, 0, 0}, (~a):totable())
    assert.same({1, 0, 0, 1}, (a ~ b):totable())
    assert.same({0, 1, 1, 1}, (a & 1):totable())
  end)
  it("refuse tensors that are not 0/1 masks", function()
    assert.has_error(function() return t & t:gt(1) end,
      "&: expected 0/1 masks (from comparisons such as x:gt(0)), got a tensor holding other " ..
      "values; for bitwise integer operations use Lua numbers")
    assert.has_error(function() return t:gt(1) | 2 end, "|: expected 0/1 masks, got the number 2")
  end)
  it("combine on Series", function()
    local df = frame()
    assert.same({0, 1, 1, 1, 0, 0}, (df.x:gt(1) & df.y:lt(50)):totable())
    local flags = ml.DataFrame{f = {1, 0, 1}}
    assert.same({0, 1, 0}, (~flags.f):totable())
  end)
end)

describe("DataFrame indexing", function()
  it("df[mask] keeps the rows where the mask is 1, with their labels", function()
    local df = frame()
    local sub = df[df.x:gt(1) & df.y:lt(60)]
    assert.equal(3, #sub)
    assert.same({20, 30, 40}, sub.y:totable())
    assert.same({2, 3, 4}, sub._index:totable())
    assert.equal(2, #df[~df.x:gt(1)])   -- NaN > 1 is false, so NaN rows are kept by ~
  end)
  it("df[{names}] selects columns", function()
    assert.same({"x", "y"}, frame()[{"x", "y"}].columns)
  end)
  it("df:iloc(r, c) with two numbers is the cell", function()
    local df = frame()
    assert.equal("b", df:iloc(2, 1))
    assert.equal(2, df:iloc(2, 2))
    assert.is_nil(df:iloc(4, 1))          -- a missing string
    assert.equal(60, df:iloc(-1, -1))
    assert.has_error(function() df:iloc(7, 1) end, "DataFrame:iloc: position 7 out of range 1..6")
  end)
  it("a mask of the wrong length is an error", function()
    local df = frame()
    assert.has_error(function() return df[ml.ones(3)] end,
      "DataFrame:filter: mask has 3 entries, the frame has 6 rows")
  end)
end)

describe("df.dtypes", function()
  it("is a table of kinds that prints in column order", function()
    local df = frame()
    assert.equal("string", df.dtypes.sp)
    assert.equal("sp  string\nx   number\ny   number", tostring(df.dtypes))
  end)
end)

describe("missing values", function()
  it("isna():sum() counts them per column, labelled", function()
    local s = frame():isna():sum()
    assert.same({1, 1, 0}, s:totable())
    assert.equal(1, s["x"])
    assert.has_error(function() return s["nope"] end, "Series 'sum': no label 'nope'")
  end)
  it("fillna fills numbers and strings (a new category sorts in)", function()
    local f = frame():fillna{sp = "aa", x = -1}
    assert.same({"a", "b", "a", "aa", "b", "c"}, f.sp:totable())
    assert.same({1, 2, 3, 4, -1, 6}, f.x:totable())
    local g = frame():fillna(0)
    assert.same({1, 2, 3, 4, 0, 6}, g.x:totable())
    assert.is_nil(g.sp[4])                -- a number fills number columns only
    assert.has_error(function() frame().x:fillna("z") end,
      "Series:fillna: column 'x' holds numbers; fill value must be a number, got string")
  end)
  it("dropna drops rows with any (or all) missing values", function()
    assert.equal(4, #frame():dropna())
    assert.equal(5, #frame():dropna{subset = {"x"}})
    assert.equal(6, #frame():dropna{how = "all"})
    assert.same({1, 2, 3, 4, 6}, frame().x:dropna():totable())
    assert.has_error(function() frame():dropna{how = "some"} end)
  end)
end)

describe("sort_values, value_counts, groupby", function()
  it("sort_values is stable, puts missing values last, keeps row labels", function()
    local s = frame():sort_values("x", {ascending = false})
    assert.same({6, 4, 3, 2, 1}, {s.x[1], s.x[2], s.x[3], s.x[4], s.x[5]})
    assert.is_nil(s.x[6])
    assert.same({6, 4, 3, 2, 1, 5}, s._index:totable())
    local m = frame():sort_values({"sp", "y"})
    assert.same({10, 30, 20, 50, 60, 40}, m.y:totable())
  end)
  it("value_counts counts most frequent first", function()
    local vc = frame().sp:value_counts()
    assert.same({"a", "b", "c"}, vc.sp:totable())
    assert.same({2, 2, 1}, vc.count:totable())    -- the column shadows the method
    assert.has_error(function() vc:count() end, "'count' is a column of this DataFrame, not a " ..
      "method; call the method as ml.dataframe.DataFrame_class.count(df)")
  end)
  it("groupby(col):mean()/count()/sum()/size() per sorted group", function()
    local g = frame():groupby("sp")
    local m = g:mean()
    assert.same({"a", "b", "c"}, m._index)
    assert.same({2, 2, 6}, m.x:totable())       -- NaN skipped in b
    assert.same({20, 35, 60}, m.y:totable())
    local c = g:count()
    assert.same({2, 1, 1}, c.x:totable())
    assert.same({70, 70, 60}, {g["y"]:sum()[1] + 30, g["y"]:sum()["b"], g["y"]:sum()["c"]})
    assert.same({2, 2, 1}, g:size():totable())
    local n = ml.DataFrame{k = {1, 2, 1}, v = {1, 2, 5}}:groupby("k"):max()
    assert.same({1, 2}, n._index)
    assert.same({5, 2}, n.v:totable())
    assert.has_error(function() frame():groupby("zz") end,
      "DataFrame:groupby: no column 'zz' (columns: sp, x, y)")
  end)
  it("column statistics are labelled Series", function()
    local m = frame():mean()
    assert.near(3.2, m.x, 1e-6)
    assert.equal(35, m.y)
    assert.near(math.sqrt(3.7 * 4 / 5), frame().x:std{ddof = 0}, 1e-6)
  end)
end)
