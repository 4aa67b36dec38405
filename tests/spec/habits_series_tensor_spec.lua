-- issue 10 item 4: ml.tensor(df["col"]) and iris[mask] (DataFrame and tensor).
local ml = require "ml"

describe("ml.tensor of pandas-shaped data", function()
  local df = ml.DataFrame({a = {1, 2, 3}, b = {4, 5, 6}, s = {"x", "y", "x"}}, {columns = {"a", "b", "s"}})
  it("takes a Series (its values) and a DataFrame (its number columns)", function()
    assert.same({1, 2, 3}, ml.tensor(df["a"]):totable())
    assert.same({{1, 4}, {2, 5}, {3, 6}}, ml.tensor(df:drop{"s"}):totable())
    assert.equal("int64", ml.tensor(df.a, "int64").dtype)
  end)
  it("refuses a string column, saying how to encode it", function()
    assert.has_error(function() ml.tensor(df.s) end, "tensor: column 's' holds strings; encode " ..
      "it first (ml.LabelEncoder():fit_transform(s) or df:get_dummies())")
    assert.has_error(function() ml.tensor(df) end)
  end)
end)

describe("iris[mask]", function()
  local X = ml.datasets.load_iris()
  it("selects the rows of a tensor with a per-row 0/1 mask", function()
    local mask = X[{{}, 1}]:gt(7)
    local sub = X[mask]
    assert.same({mask:sum(), 4}, sub.shape)
    assert.is_true(sub[{{}, 1}]:gt(7):all())
    assert.has_error(function() return X[ml.arange(150)] end)
  end)
  it("selects the rows of a DataFrame", function()
    local iris = ml.DataFrame{sepal_length = X[{{}, 1}], petal_length = X[{{}, 3}]}
    local sub = iris[iris.sepal_length:gt(7)]
    assert.equal(X[{{}, 1}]:gt(7):sum(), #sub)
    assert.equal(X[{{}, 1}]:gt(7):sum(), #iris[iris["sepal_length"]:gt(7) & iris.petal_length:gt(0)])
  end)
  it("still masks element-wise with a mask of the tensor's shape", function()
    local x = ml.tensor{{1, 2}, {3, 4}}
    assert.same({3, 4}, x[x:gt(2)]:totable())
  end)
end)
