-- The CSV reader (runtime/data/csv.c through ml.read_csv / read_csv_string).
local ml = require "ml"

local function parse(text, opts) return ml.read_csv_string(text, opts) end
local function err_of(text, opts)
  local ok, e = pcall(parse, text, opts)
  assert.is_false(ok, "expected an error")
  return tostring(e)
end

describe("read_csv parsing", function()
  it("reads a header, numbers and strings", function()
    local df = parse("a,b,c\n1,x,2.5\n3,y,-4e2\n")
    assert.same({"a", "b", "c"}, df.columns)
    assert.same({a = "number", b = "string", c = "number"}, df.dtypes)
    assert.equal(2, (df:shape()))
    assert.same({1, 3}, df["a"]:totable())
    assert.same({"x", "y"}, df["b"]:totable())
    assert.same({2.5, -400}, df["c"]:totable())
  end)

  it("detects ';', tab and '|' separators", function()
    for _, sep in ipairs{";", "\t", "|", ","} do
      local df = parse(table.concat({"p", "q"}, sep) .. "\n1" .. sep .. "2\n")
      assert.same({"p", "q"}, df.columns)
      assert.same({2}, df["q"]:totable())
    end
  end)

  it("honours a given separator and the \\t spelling", function()
    local df = parse("a;b\n1;2\n", {sep = ","})
    assert.same({"a;b"}, df.columns)
    df = parse("a\tb\n1\t2\n", {sep = "\\t"})
    assert.same({"a", "b"}, df.columns)
  end)

  it("handles RFC 4180 quoting: separators, doubled quotes, newlines", function()
    local df = parse('name,text\n"Smith, J","say ""hi"""\n"multi\nline",plain\n')
    assert.same({"Smith, J", "multi\nline"}, df["name"]:totable())
    assert.same({'say "hi"', "plain"}, df["text"]:totable())
  end)

  it("accepts CRLF, a BOM, blank lines and no final newline", function()
    local df = parse("\239\187\191a,b\r\n1,2\r\n\r\n3,4")
    assert.same({"a", "b"}, df.columns)
    assert.same({1, 3}, df["a"]:totable())
    assert.same({2, 4}, df["b"]:totable())
  end)

  it("treats empty, NA, NaN and null as missing", function()
    local df = parse("a,b\n1,x\n,NA\nNaN,null\n4,\"\"\n")
    local a = df["a"]:totable()
    assert.equal(1, a[1]); assert.is_true(a[2] ~= a[2]); assert.is_true(a[3] ~= a[3])
    assert.equal("number", df.dtypes.a)
    assert.equal(3, df["b"]:isna():sum())
    assert.same({"x"}, df["b"]:unique())
    assert.equal(2, df["a"]:count())
  end)

  it("takes extra na_values and dtype overrides", function()
    local df = parse("a,b\n1,-\n2,3\n", {na_values = {"-"}, dtype = {a = "string"}})
    assert.equal("string", df.dtypes.a)
    assert.equal("number", df.dtypes.b)
    assert.same({"1", "2"}, df["a"]:totable())
    local e = err_of("a\nx\n", {dtype = {a = "number"}})
    assert.matches("declared a number", e)
  end)

  it("names columns without a header, blanks and duplicates", function()
    local df = parse("1,2\n3,4\n", {header = false})
    assert.same({"col1", "col2"}, df.columns)
    assert.equal(2, (df:shape()))
    df = parse("x,,x\n1,2,3\n")
    assert.same({"x", "Unnamed: 1", "x.1"}, df.columns)
  end)

  it("types a column as string when one value is not a number", function()
    local df = parse("a\n1\n2\nthree\n")
    assert.equal("string", df.dtypes.a)
    assert.same({"1", "2", "three"}, df["a"]:unique())
  end)
end)

describe("read_csv errors", function()
  it("names the line of a ragged row", function()
    assert.matches("line 3: expected 2 fields %(as in the header%), got 3", err_of("a,b\n1,2\n1,2,3\n"))
    assert.matches("line 2: expected 2 fields", err_of("a,b\n1\n"))
  end)
  it("rejects text after a closing quote", function()
    assert.matches("line 2, field 1: unexpected character 'x' after a closing quote",
      err_of('a,b\n"q"x,1\n'))
  end)
  it("reports an unterminated quote with the line it started on", function()
    assert.matches("line 3: quoted field 2 is never closed", err_of('a,b\n1,2\n3,"open\n\n'))
  end)
  it("limits field size", function()
    assert.matches("longer than 10 bytes", err_of("a\n" .. string.rep("x", 50) .. "\n",
      {max_field = 10}))
    assert.matches("longer than 10 bytes", err_of('a\n"' .. string.rep("x", 50) .. '"\n',
      {max_field = 10}))
  end)
  it("rejects invalid UTF-8 and NUL bytes", function()
    assert.matches("line 2, field 2: invalid UTF%-8", err_of("a,b\n1,\255\254\n"))
    assert.matches("invalid UTF%-8", err_of("a\n\192\128\n"))     -- overlong
    assert.matches("NUL byte", err_of("a\nx\0y\n"))
  end)
  it("rejects empty input, bad options and missing files", function()
    assert.matches("empty file", err_of(""))
    assert.matches("unknown option 'bogus'", err_of("a\n1\n", {bogus = 1}))
    assert.matches("one character", err_of("a\n1\n", {sep = ";;"}))
    local ok, e = pcall(ml.read_csv, "/nonexistent/x.csv")
    assert.is_false(ok)
    assert.matches("cannot open '/nonexistent/x.csv'", e)
  end)
  it("survives random garbage without crashing", function()
    math.randomseed(7)
    for _ = 1, 300 do
      local t = {}
      for i = 1, math.random(0, 60) do
        t[i] = string.char(({44, 34, 10, 13, 59, 97, 49, 255, 0, 9})[math.random(10)])
      end
      pcall(parse, table.concat(t))
    end
  end)
end)

describe("read_csv on the bank table", function()
  it("reads bank-full.csv.gz (45211 x 17, ';' detected) quickly", function()
    local t0 = os.clock()
    local df = ml.read_csv("data/bank/bank-full.csv.gz")
    local dt = os.clock() - t0
    local r, c = df:shape()
    assert.equal(45211, r)
    assert.equal(17, c)
    assert.equal("number", df.dtypes.age)
    assert.equal("string", df.dtypes.job)
    assert.equal(12, #df["job"]:unique())
    assert.equal(5289, df["y"]:eq("yes"):sum())
    assert.equal(58, df["age"][1])
    assert.equal("management", df["job"][1])
    assert.is_true(dt < 1.0, "read took " .. dt .. " s")
  end)
end)
