-- issue 10 item 1: argmax positions are 1-based, class ids 0-based: the
-- off-by-one never passes silently (metrics warn once), argmax{base = 0},
-- predict_classes, and the README's network example shows the idiom.
local ml = require "ml"
local base = require "ml.base"

local y = ml.tensor({0, 1, 2, 1, 0, 2}, "int64")
local p = ml.tensor{{.9, .05, .05}, {.1, .8, .1}, {.1, .1, .8}, {.1, .8, .1}, {.8, .1, .1}, {.1, .1, .8}}

describe("argmax", function()
  it("gives 1-based positions, or 0-based class ids with {base = 0}", function()
    assert.same({1, 2, 3, 2, 1, 3}, p:argmax(2):totable())
    assert.same({0, 1, 2, 1, 0, 2}, p:argmax(2, {base = 0}):totable())
    assert.same({{0}, {1}, {2}, {1}, {0}, {2}}, p:argmax(2, {base = 0, keepdim = true}):totable())
    assert.equal(0, ml.tensor{5, 1}:argmax{base = 0})
    assert.same({1, 0, 0, 0, 1, 0}, p:argmin(2, {base = 0}):totable())
    assert.has_error(function() p:argmax(2, {base = 2}) end, "argmax: option 'base' must be 0 or 1, got 2")
    assert.has_error(function() p:argmax(2, {zero_based = true}) end,
      "argmax: unknown option 'zero_based' (expected one of: base, keepdim)")
  end)
end)

describe("metrics and shifted labels", function()
  before_each(function() base.warned.label_shift = nil end)
  it("warn once when y_pred is y_true shifted by +1", function()
    assert.equal(0, ml.metrics.accuracy_score(y, p:argmax(2)))
    assert.equal("accuracy_score: y_pred's labels are y_true's shifted by +1 (y_true 0..2): argmax " ..
      "gives 1-based positions, class ids are 0-based; use x:argmax(2, {base = 0}) or " ..
      "model:predict_classes(x)", base.warned.label_shift)
    assert.equal(1, ml.metrics.accuracy_score(y, p:argmax(2, {base = 0})))
  end)
  it("warn for the other direction and for the other classification metrics", function()
    ml.metrics.confusion_matrix(y + 1, p:argmax(2, {base = 0}))
    assert.truthy(base.warned.label_shift:find("confusion_matrix: y_pred's labels are y_true's " ..
      "shifted by -1", 1, true))
    base.warned.label_shift = nil
    ml.metrics.f1_score(y, p:argmax(2), {average = "macro"})
    assert.truthy(base.warned.label_shift:find("f1_score", 1, true))
  end)
  it("stay quiet on right predictions, on regression and on strings", function()
    ml.metrics.accuracy_score(y, ml.tensor{0, 1, 1, 1, 0, 2})
    ml.metrics.accuracy_score(ml.tensor{0, 1, 2}, ml.tensor{1, 1, 1})  -- one predicted label: no verdict
    ml.metrics.mean_squared_error(ml.tensor{0, 1, 2}, ml.tensor{1, 2, 3})
    ml.metrics.accuracy_score({"a", "b"}, {"b", "a"})
    assert.is_nil(base.warned.label_shift)
  end)
end)

describe("predict_classes", function()
  it("gives 0-based class ids, as y", function()
    ml.seed(1)
    local nn = ml.nn
    local X = ml.randn(60, 2)
    local t = X[{{}, 1}]:gt(0):long() + X[{{}, 2}]:gt(0):long()   -- classes 0..2
    local m = nn.Sequential{nn.Input{2}, nn.Dense(16, {activation = "relu"}),
      nn.Dense(3, {activation = "softmax"})}
    m:compile{optimizer = ml.optim.Adam{lr = 0.05}, loss = "sparse_categorical_crossentropy"}
    m:fit(X, t, {epochs = 40, verbose = 0})
    local c = m:predict_classes(X)
    assert.equal("int64", c.dtype)
    assert.same(m:predict(X):argmax(2, {base = 0}):totable(), c:totable())
    assert.is_true(ml.metrics.accuracy_score(t, c) > 0.8)
  end)
end)

describe("the README's network example", function()
  it("uses predict_classes / argmax{base = 0} and says MNIST is already scaled", function()
    local f = assert(io.open("README.md")); local text = f:read("a"); f:close()
    local i = text:find("## Networks", 1, true)
    local block = text:sub(i, text:find("```", text:find("```lua", i, true) + 6, true))
    assert.truthy(block:find("model:predict_classes(x_test)", 1, true))
    assert.truthy(block:find("argmax(2, {base = 0})", 1, true))
    assert.truthy(block:find("already scaled to [0, 1]", 1, true))
  end)
end)
