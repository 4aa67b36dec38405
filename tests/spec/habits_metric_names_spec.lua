-- issue 10 item 3: compile{metrics = {"acc"}} keeps the user's name in the
-- History (h.acc), logs and evaluate; compile takes accuracy/acc, mae, mse,
-- AUC, precision, recall.
local ml = require "ml"
local nn = ml.nn

local function data()
  ml.seed(1)
  local X = ml.randn(64, 2)
  local y = (X[{{}, 1}] + X[{{}, 2}]):gt(0):float():reshape(-1, 1)
  return X, y
end

local function model(metrics)
  ml.seed(2)
  local m = nn.Sequential{nn.Input{2}, nn.Dense(8, {activation = "relu"}),
    nn.Dense(1, {activation = "sigmoid"})}
  m:compile{optimizer = ml.optim.Adam{lr = 0.05}, loss = "binary_crossentropy", metrics = metrics}
  return m
end

describe("metric names", function()
  it("'acc' is recorded as h.acc (and val_acc), not as accuracy", function()
    local X, y = data()
    local h = model({"acc"}):fit(X, y, {epochs = 3, verbose = 0, validation_split = 0.25})
    assert.equal(3, #h.acc)
    assert.equal(3, #h.val_acc)
    assert.is_nil(h.accuracy)
    local h2 = model({"accuracy"}):fit(X, y, {epochs = 2, verbose = 0})
    assert.equal(2, #h2.accuracy)
    assert.is_nil(h2.acc)
  end)
  it("mae, mse, AUC, precision, recall are computed and named as given", function()
    local X, y = data()
    local m = model({"accuracy", "mae", "mse", "AUC", "precision", "recall"})
    local h = m:fit(X, y, {epochs = 20, verbose = 0, validation_data = {X, y}})
    for _, k in ipairs{"accuracy", "mae", "mse", "AUC", "precision", "recall"} do
      assert.equal(20, #h[k], k)
      assert.equal(20, #h["val_" .. k], k)
    end
    assert.is_true(h.AUC[20] > 0.9)
    local loss, acc, mae, mse, auc, prec, rec = m:evaluate(X, y)
    local p = m:predict(X)
    assert.near((p - y):abs():mean(), mae, 1e-5)
    assert.near((p - y):square():mean(), mse, 1e-5)
    assert.near(ml.metrics.roc_auc_score(y:reshape(-1):long(), p:reshape(-1)), auc, 1e-6)
    local pred = p:gt(0.5)
    local tp = (pred * y):sum()
    assert.near(tp / pred:sum(), prec, 1e-6)
    assert.near(tp / y:sum(), rec, 1e-6)
    assert.near(ml.metrics.accuracy_score(y:reshape(-1):long(), pred:reshape(-1):long()), acc, 1e-6)
    assert.is_true(loss > 0)
  end)
  it("the name survives saving and loading", function()
    local X, y = data()
    local m = model({"acc", "AUC"})
    m:fit(X, y, {epochs = 1, verbose = 0})
    local path = os.tmpname()
    m:save(path)
    local h = ml.load(path):fit(X, y, {epochs = 1, verbose = 0})
    assert.equal(1, #h.acc); assert.equal(1, #h.AUC)
    os.remove(path)
  end)
  it("unknown and repeated metrics are errors", function()
    assert.has_error(function() model({"f1"}) end,
      "compile: unknown metric 'f1' (expected one of: accuracy, acc, mae, mse, AUC, precision, recall)")
    assert.has_error(function() model({"acc", "accuracy"}) end,
      "compile: give accuracy once (\"accuracy\" or \"acc\")")
    assert.has_error(function() model({"mae", "mae"}) end, "compile: metric 'mae' given twice")
  end)
  it("a metric needing output-shaped targets says so", function()
    ml.seed(3)
    local m = nn.Sequential{nn.Input{2}, nn.Dense(3, {activation = "softmax"})}
    m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = {"mae"}}
    local ok, err = pcall(m.fit, m, ml.randn(8, 2), ml.tensor({0, 1, 2, 0, 1, 2, 0, 1}, "int64"),
      {epochs = 1, verbose = 0})
    assert.is_false(ok)
    assert.truthy(tostring(err):find("metric 'mae' needs targets shaped like the outputs", 1, true))
  end)
end)
