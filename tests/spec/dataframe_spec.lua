-- ml.dataframe: the DataFrame and its columns.
local ml = require "ml"

local csv = "age,job,balance,y\n30,admin.,100,no\n45,technician,-20,yes\n,admin.,5.5,no\n" ..
  "60,retired,0,yes\n22,student,NA,no\n"

describe("DataFrame", function()
  local df = ml.read_csv_string(csv)

  it("has shape, columns and dtypes", function()
    local r, c = df:shape()
    assert.equal(5, r); assert.equal(4, c)
    assert.same({"age", "job", "balance", "y"}, df.columns)
    assert.same({age = "number", job = "string", balance = "number", y = "string"}, df.dtypes)
    assert.equal(5, #df)
  end)

  it("gives columns with statistics", function()
    local age = df["age"]
    assert.equal(4, age:count())
    assert.is_true(math.abs(age:mean() - 39.25) < 1e-12)
    assert.is_true(math.abs(age:std() - 16.800297616411) < 1e-9)
    assert.equal(37.5, age:median())
    assert.same({22, 30, 45, 60}, age:unique())
    assert.same({"admin.", "retired", "student", "technician"}, df["job"]:unique())
    assert.same({1, 0, 1, 0, 0}, df["job"]:eq("admin."):totable())
    assert.same({0, 0, 0, 0, 0}, df["job"]:eq("nobody"):totable())
    assert.same({0, 1, 0, 1, 0}, df["age"]:gt(40):totable())
    assert.equal("technician", df["job"][2])
    assert.is_nil(df["age"][3])
    assert.has_error(function() return df["job"]:mean() end)
  end)

  it("counts values, most frequent first", function()
    local vc = df:value_counts("job")
    assert.same({"admin.", "retired", "student", "technician"}, vc["job"]:totable())
    assert.same({2, 1, 1, 1}, vc["count"]:totable())
  end)

  it("selects, drops, slices and filters", function()
    assert.same({"age", "y"}, df:select{"age", "y"}.columns)
    assert.same({"job", "balance"}, df:drop{"age", "y"}.columns)
    local s = df:iloc({2, 3}, {1, 2})
    assert.equal(2, (s:shape()))
    assert.same({"age", "job"}, s.columns)
    assert.same({"technician", "admin."}, s["job"]:totable())
    assert.same({60}, df:iloc(-2)["age"]:totable())
    local yes = df:filter(df["y"]:eq("yes"))
    assert.same({45, 60}, yes["age"]:totable())
    assert.equal(2, (df:head(2):shape()))
    assert.same({60, 22}, df:tail(2)["age"]:totable())
    assert.equal(3, (df:dropna():shape()))
    assert.has_error(function() df:select{"nope"} end,
      "DataFrame:select: no column 'nope' (columns: age, job, balance, y)")
    assert.has_error(function() df:iloc({1, 9}) end)
  end)

  it("makes pandas-style dummies", function()
    local d = df:get_dummies{"job"}
    assert.same({"age", "balance", "y", "job_admin.", "job_retired", "job_student",
      "job_technician"}, d.columns)
    assert.same({1, 0, 1, 0, 0}, d["job_admin."]:totable())
    local all = df:get_dummies()
    assert.same({"age", "balance", "job_admin.", "job_retired", "job_student", "job_technician",
      "y_no", "y_yes"}, all.columns)
    local X = all:to_tensor()
    assert.same({5, 8}, X.shape)
  end)

  it("refuses to_tensor with string columns, naming them", function()
    assert.has_error(function() df:to_tensor() end,
      "DataFrame:to_tensor: columns hold strings: job, y (encode them first: df:get_dummies() or LabelEncoder)")
  end)

  it("prints aligned tables and describe() like pandas", function()
    local s = tostring(df:head(2))
    assert.matches("age%s+job%s+balance%s+y", s)
    assert.matches("1%s+30%s+admin%.%s+100%s+no", s)
    local d = df:describe()
    assert.same({"age", "balance"}, d.columns)
    local txt = tostring(d)
    assert.matches("count%s+4%.000000%s+4%.000000", txt)
    assert.matches("mean%s+39%.250000", txt)
    assert.matches("50%%%s+37%.500000", txt)
  end)

  it("adds columns and builds from tables", function()
    local d = ml.DataFrame({a = {1, 2, 3}, b = {"x", "y", "x"}})
    assert.same({"a", "b"}, d.columns)
    d["c"] = ml.tensor{7, 8, 9}
    assert.same({"a", "b", "c"}, d.columns)
    assert.has_error(function() d["e"] = {1} end)
    local o = ml.DataFrame({a = {1}, b = {2}}, {columns = {"b", "a"}})
    assert.same({"b", "a"}, o.columns)
  end)

  it("writes CSV atomically and reads it back", function()
    local path = os.tmpname()
    df:write_csv(path)
    local back = ml.read_csv(path)
    assert.same(df.columns, back.columns)
    assert.same(df["job"]:totable(), back["job"]:totable())
    assert.same({100, -20, 5.5, 0}, {back["balance"][1], back["balance"][2], back["balance"][3],
      back["balance"][4]})
    assert.is_nil(back["balance"][5])
    local q = ml.DataFrame({s = {'a,"b"', "line\nbreak"}})
    q:write_csv(path)
    assert.same({'a,"b"', "line\nbreak"}, ml.read_csv(path)["s"]:totable())
    os.remove(path)
    assert.has_error(function() df:write_csv("/nonexistent/dir/x.csv") end)
  end)
end)
