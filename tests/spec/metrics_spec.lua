-- ml.metrics against scikit-learn 1.2 on the same labels (tests/fixtures/tabular.json).
local ml = require "ml"
local json = dofile("tests/spec/support/json.lua")
local fx = json.load("tests/fixtures/tabular.json").metrics
local M = ml.metrics

local function near(a, b, tol) return math.abs(a - b) <= (tol or 1e-9) * math.max(1, math.abs(b)) end
local function assert_near(a, b, tol) assert.is_true(near(a, b, tol), tostring(a) .. " vs " .. tostring(b)) end
local function assert_list(t, ref, tol)
  if ml.is_tensor(t) then t = t:totable() end
  assert.equal(#ref, #t)
  for i = 1, #ref do assert_near(t[i], ref[i], tol) end
end

local yt, yp = ml.tensor(fx.yt), ml.tensor(fx.yp)
local bt, bp = ml.tensor(fx.bt), ml.tensor(fx.bp)

describe("classification metrics", function()
  it("accuracy and the confusion matrix", function()
    assert_near(M.accuracy_score(yt, yp), fx.accuracy)
    local cm, labels = M.confusion_matrix(yt, yp)
    assert.equal("int64", cm.dtype)
    assert.same(fx.confusion, cm:totable())
    assert.same({0, 1, 2}, labels)
    assert.equal(math.floor(fx.accuracy * #fx.yt + 0.5), M.accuracy_score(yt, yp, {normalize = false}))
  end)

  it("precision, recall and f1 with every average", function()
    for _, name in ipairs{"precision", "recall", "f1"} do
      local fn = M[name .. "_score"]
      for _, avg in ipairs{"macro", "micro", "weighted"} do
        assert_near(fn(yt, yp, {average = avg}), fx[name .. "_" .. avg])
      end
      assert_list(fn(yt, yp, {average = "none"}), fx[name .. "_none"], 1e-6)
      assert_near(fn(bt, bp), fx[name .. "_binary"])
    end
  end)

  it("specificity is the recall of the negative class", function()
    assert_near(M.specificity_score(bt, bp), fx.specificity_binary)
    assert_near(M.specificity_score(bt, bp), M.recall_score(bt, bp, {pos_label = 0}))
    local per = M.specificity_score(yt, yp, {average = "none"}):totable()
    local cm = fx.confusion
    local n = #fx.yt
    for k = 1, 3 do
      local tp, fp, fn = cm[k][k], 0, 0
      for j = 1, 3 do if j ~= k then fp = fp + cm[j][k]; fn = fn + cm[k][j] end end
      assert_near(per[k], (n - tp - fp - fn) / (n - tp - fp - fn + fp), 1e-6)
    end
  end)

  it("classification_report matches scikit-learn's text", function()
    assert.equal(fx.report, M.classification_report(yt, yp))
    assert.equal(fx.report_digits4, M.classification_report(bt, bp, {digits = 4}))
  end)

  it("works on string labels and Lua lists", function()
    local a = {"yes", "no", "yes", "no"}
    local b = {"yes", "yes", "yes", "no"}
    assert_near(M.precision_score(a, b, {pos_label = "yes"}), 2 / 3)
    assert_near(M.recall_score(a, b, {pos_label = "yes"}), 1)
    local _, labels = M.confusion_matrix(a, b)
    assert.same({"no", "yes"}, labels)
  end)

  it("raises clear errors", function()
    assert.has_error(function() M.f1_score(yt, yp) end,
      'f1_score: the target is multiclass (3 labels) but average = "binary"; choose average = "macro", "micro", "weighted" or "none"')
    assert.has_error(function() M.accuracy_score({1, 2}, {1}) end,
      "accuracy_score: y_true has 2 entries but y_pred has 1")
    assert.has_error(function() M.precision_score({"a", "b"}, {"a", "a"}) end)
    assert.has_error(function() M.f1_score(bt, bp, {average = "mean"}) end)
  end)
end)

describe("ranking metrics", function()
  local score = ml.tensor(fx.score)
  it("roc_curve equals scikit-learn's arrays, with and without drop_intermediate", function()
    local fpr, tpr, thr = M.roc_curve(bt, score)
    assert_list(fpr, fx.roc.fpr, 1e-6)
    assert_list(tpr, fx.roc.tpr, 1e-6)
    assert_list(thr, fx.roc.thresholds, 1e-6)
    fpr, tpr, thr = M.roc_curve(bt, score, {drop_intermediate = false})
    assert_list(fpr, fx.roc_all.fpr, 1e-6)
    assert_list(thr, fx.roc_all.thresholds, 1e-6)
  end)
  it("roc_auc_score binary and one-vs-rest", function()
    assert_near(M.roc_auc_score(bt, score), fx.auc, 1e-9)
    assert_near(M.roc_auc_score(yt, ml.tensor(fx.prob3)), fx.auc_ovr, 1e-6)
    local p2 = ml.stack({1 - score, score}, 2)
    assert_near(M.roc_auc_score(bt, p2), fx.auc, 1e-6)
    assert.has_error(function() M.roc_auc_score({1, 1}, {0.2, 0.3}) end)
  end)
  it("log_loss with float32 eps clipping", function()
    assert_near(M.log_loss(yt, ml.tensor(fx.prob3)), fx.log_loss3, 1e-6)
    assert_near(M.log_loss(bt, score), fx.log_loss_bin, 1e-6)
  end)
end)

describe("regression metrics", function()
  it("mse, mae, r2", function()
    assert_near(M.mean_squared_error(fx.yr, fx.pr), fx.mse, 1e-12)
    assert_near(M.mean_squared_error(fx.yr, fx.pr, {squared = false}), math.sqrt(fx.mse), 1e-12)
    assert_near(M.mean_absolute_error(fx.yr, fx.pr), fx.mae, 1e-12)
    assert_near(M.r2_score(fx.yr, fx.pr), fx.r2, 1e-12)
    assert_near(M.r2_score(ml.tensor(fx.yr), ml.tensor(fx.pr)), fx.r2, 1e-5)
  end)
end)
