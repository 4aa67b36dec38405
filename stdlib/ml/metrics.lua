-- ml.metrics: scikit-learn's metrics on tensors (or Lua lists) of labels.
--
-- Labels are values (numbers or strings), compared as given; the label order
-- of confusion matrices and per-class results is sorted, as scikit-learn's
-- unique_labels. Sums run in double precision over Lua numbers.
local ml = require "ml"
local core = require "ml.core"
local base = require "ml.base"
local raise = require("ml.errors").raise

local M = {}
local is_tensor = ml.is_tensor

local function typename(v) return is_tensor(v) and "tensor" or type(v) end

--- A 1-D list of labels from a tensor (N or N x 1), a Series or a Lua list.
local function labels(who, y, what)
  if type(y) == "table" and y.kind and y.values and y.to_tensor then   -- a DataFrame column
    y = y:totable()
  end
  if is_tensor(y) then
    if y:dim() == 2 and y.shape[2] == 1 then y = y:reshape(-1) end
    if y:dim() ~= 1 then
      raise(string.format("%s: %s must be 1-dimensional, got shape %s", who, what or "y",
        table.concat(y.shape, "x")))
    end
    return y:totable()
  end
  if type(y) ~= "table" then
    raise(string.format("%s: %s expected a tensor or a list, got %s", who, what or "y",
      typename(y)))
  end
  return y
end

local function label_str(v)
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    return string.format("%d", v)
  end
  return tostring(v)
end

-- Class ids are 0-based in data files, Keras and scikit-learn, while
-- argmax positions are 1-based (Lua). When every predicted label is a true
-- label plus (or minus) one and some are not true labels at all, the
-- predictions are almost surely off by one: say so, once per process.
local function check_shift(who, a, b)
  local A, B = {}, {}
  for i = 1, #a do
    local v = a[i]
    if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then return end
    A[v] = true
  end
  local nb = 0
  for i = 1, #b do
    local v = b[i]
    if type(v) ~= "number" then return end
    if not B[v] then B[v] = true; nb = nb + 1 end
  end
  if nb < 2 then return end
  for _, d in ipairs{1, -1} do
    local shifted, outside = true, false
    for v in pairs(B) do
      if not A[v - d] then shifted = false; break end
      if not A[v] then outside = true end
    end
    if shifted and outside then
      local lo, hi = math.huge, -math.huge
      for v in pairs(A) do lo = math.min(lo, v); hi = math.max(hi, v) end
      base.warn_once("label_shift", string.format("%s: y_pred's labels are y_true's shifted by " ..
        "%+d (y_true %s..%s): argmax gives 1-based positions, class ids are 0-based; use " ..
        "x:argmax(2, {base = 0}) or model:predict_classes(x)", who, d, label_str(lo), label_str(hi)))
      return
    end
  end
end

local function pair(who, a, b, classes)
  a, b = labels(who, a, "y_true"), labels(who, b, "y_pred")
  if #a ~= #b then
    raise(string.format("%s: y_true has %d entries but y_pred has %d", who, #a, #b))
  end
  if #a == 0 then raise(who .. ": empty input") end
  if classes then check_shift(who, a, b) end
  return a, b
end

local function lt(a, b)
  if type(a) == type(b) then return a < b end
  return type(a) == "number"   -- numbers before strings
end

--- Sorted distinct labels of the given lists.
function M.unique_labels(...)
  local seen, out = {}, {}
  for _, l in ipairs{...} do
    for _, v in ipairs(l) do if not seen[v] then seen[v] = true; out[#out + 1] = v end end
  end
  table.sort(out, lt)
  return out
end


function M.accuracy_score(y_true, y_pred, opts)
  opts = base.options("accuracy_score", opts, {{"normalize", true, "boolean"}})
  local a, b = pair("accuracy_score", y_true, y_pred, true)
  local hit = 0
  for i = 1, #a do if a[i] == b[i] then hit = hit + 1 end end
  return opts.normalize and hit / #a or hit
end

--- K x K int64 tensor, rows = true label, columns = predicted, labels sorted
--- (or as given in opts.labels); the label list is the second result.
function M.confusion_matrix(y_true, y_pred, opts)
  opts = base.options("confusion_matrix", opts, {{"labels", nil, "table|tensor|nil"}})
  local a, b = pair("confusion_matrix", y_true, y_pred, true)
  local labs = opts.labels and labels("confusion_matrix", opts.labels, "labels")
    or M.unique_labels(a, b)
  local id, K = {}, #labs
  for i, v in ipairs(labs) do id[v] = i end
  local cm = {}
  for i = 1, K do cm[i] = {}; for j = 1, K do cm[i][j] = 0 end end
  for i = 1, #a do
    local r, c = id[a[i]], id[b[i]]
    if r and c then cm[r][c] = cm[r][c] + 1 end
  end
  if K == 0 then return ml.zeros(0, 0):long(), labs end
  return ml.tensor(cm, "int64"), labs
end

-- Per-class counts tp, fp, fn, tn and support over the label list.
local function counts(a, b, labs)
  local id = {}
  for i, v in ipairs(labs) do id[v] = i end
  local tp, fp, fn, sup = {}, {}, {}, {}
  for k = 1, #labs do tp[k], fp[k], fn[k], sup[k] = 0, 0, 0, 0 end
  for i = 1, #a do
    local t, p = id[a[i]], id[b[i]]
    if t then sup[t] = sup[t] + 1 end
    if t and t == p then tp[t] = tp[t] + 1
    else
      if p then fp[p] = fp[p] + 1 end
      if t then fn[t] = fn[t] + 1 end
    end
  end
  local tn = {}
  for k = 1, #labs do tn[k] = #a - tp[k] - fp[k] - fn[k] end
  return tp, fp, fn, tn, sup
end

local function div(n, d, zero) if d == 0 then return zero end return n / d end

local avg_spec = {
  {"average", "binary", {"binary", "macro", "micro", "weighted", "none"}},
  {"pos_label", 1, "number|string"},
  {"labels", nil, "table|tensor|nil"},
  {"zero_division", 0, "number"},
}

-- The shared engine of precision / recall / f1 / specificity: per-class
-- values from (num, den) functions of the counts, then the average.
local function prf(who, y_true, y_pred, opts, kind)
  local o = base.options(who, opts, avg_spec)
  local a, b = pair(who, y_true, y_pred, true)
  local present = M.unique_labels(a, b)
  local labs = o.labels and labels(who, o.labels, "labels") or present
  local average = o.average
  if average == "binary" then
    if #present > 2 then
      raise(string.format("%s: the target is multiclass (%d labels) but average = \"binary\"; "
        .. "choose average = \"macro\", \"micro\", \"weighted\" or \"none\"", who, #present))
    end
    local found = false
    for _, v in ipairs(present) do if v == o.pos_label then found = true end end
    if not found and #present == 2 then
      local ls = {}
      for i, v in ipairs(present) do ls[i] = label_str(v) end
      raise(string.format("%s: pos_label = %s is not a label (labels: %s); pass pos_label",
        who, label_str(o.pos_label), table.concat(ls, ", ")))
    end
    labs = {o.pos_label}
  end
  local tp, fp, fn, tn, sup = counts(a, b, labs)
  local z = o.zero_division
  local function value(k)
    local p = div(tp[k], tp[k] + fp[k], z)
    local r = div(tp[k], tp[k] + fn[k], z)
    if kind == "precision" then return p
    elseif kind == "recall" then return r
    elseif kind == "specificity" then return div(tn[k], tn[k] + fp[k], z)
    else
      if tp[k] + fp[k] == 0 or tp[k] + fn[k] == 0 then
        if p + r == 0 then return z end
      end
      return div(2 * tp[k], 2 * tp[k] + fp[k] + fn[k], z)
    end
  end
  if average == "binary" then return value(1) end
  if average == "micro" then
    local s = {tp = 0, fp = 0, fn = 0, tn = 0}
    for k = 1, #labs do
      s.tp, s.fp, s.fn, s.tn = s.tp + tp[k], s.fp + fp[k], s.fn + fn[k], s.tn + tn[k]
    end
    if kind == "precision" then return div(s.tp, s.tp + s.fp, z)
    elseif kind == "recall" then return div(s.tp, s.tp + s.fn, z)
    elseif kind == "specificity" then return div(s.tn, s.tn + s.fp, z)
    else return div(2 * s.tp, 2 * s.tp + s.fp + s.fn, z) end
  end
  local vals = {}
  for k = 1, #labs do vals[k] = value(k) end
  if average == "none" then return ml.tensor(vals), labs end
  local total, wsum = 0, 0
  for k = 1, #labs do
    local w = average == "weighted" and sup[k] or 1
    total = total + w * vals[k]
    wsum = wsum + w
  end
  return div(total, wsum, z)
end

--- precision_score(y, p, {average = "binary"|"macro"|"micro"|"weighted"|"none",
--- pos_label = 1, labels, zero_division = 0}); "none" returns per-class values
--- (a tensor) and the labels.
function M.precision_score(y, p, opts) return prf("precision_score", y, p, opts, "precision") end
function M.recall_score(y, p, opts) return prf("recall_score", y, p, opts, "recall") end
M.sensitivity_score = M.recall_score
function M.f1_score(y, p, opts) return prf("f1_score", y, p, opts, "f1") end
--- Recall of the negative class: TN / (TN + FP), per class one-vs-rest.
function M.specificity_score(y, p, opts) return prf("specificity_score", y, p, opts, "specificity") end

--- Text report as scikit-learn's classification_report.
function M.classification_report(y_true, y_pred, opts)
  opts = base.options("classification_report", opts,
    {{"digits", 2, "integer"}, {"target_names", nil, "table|nil"}, {"labels", nil, "table|nil"},
     {"zero_division", 0, "number"}})
  local a, b = pair("classification_report", y_true, y_pred, true)
  local present = M.unique_labels(a, b)
  local labs = opts.labels or present
  local names = {}
  for i, v in ipairs(labs) do names[i] = opts.target_names and opts.target_names[i] or label_str(v) end
  local z = opts.zero_division
  local tp, fp, fn, _, sup = counts(a, b, labs)
  local rows = {}
  for k = 1, #labs do
    local p, r = div(tp[k], tp[k] + fp[k], z), div(tp[k], tp[k] + fn[k], z)
    local f = (tp[k] + fp[k] == 0 or tp[k] + fn[k] == 0) and p + r == 0 and z
      or div(2 * tp[k], 2 * tp[k] + fp[k] + fn[k], z)
    rows[k] = {names[k], p, r, f, sup[k]}
  end
  local d = opts.digits
  local width = #"weighted avg"
  for _, nm in ipairs(names) do width = math.max(width, utf8.len(nm) or #nm) end
  width = math.max(width, d)
  local function pad(s, w) return string.rep(" ", w - (utf8.len(s) or #s)) .. s end
  local out = {pad("", width) .. " " .. pad("precision", 10) .. pad("recall", 10) ..
    pad("f1-score", 10) .. pad("support", 10), "", ""}
  local function row(nm, p, r, f, s)
    return pad(nm, width) .. " " .. pad(string.format("%." .. d .. "f", p), 10) ..
      pad(string.format("%." .. d .. "f", r), 10) .. pad(string.format("%." .. d .. "f", f), 10) ..
      pad(string.format("%d", s), 10)
  end
  local lines = {out[1], ""}
  for _, rw in ipairs(rows) do lines[#lines + 1] = row(rw[1], rw[2], rw[3], rw[4], rw[5]) end
  lines[#lines + 1] = ""
  local total = 0
  for k = 1, #labs do total = total + sup[k] end
  local all_present = true
  do
    local set = {}
    for _, v in ipairs(labs) do set[v] = true end
    for _, v in ipairs(present) do if not set[v] then all_present = false end end
  end
  local po = {average = "micro", labels = labs, zero_division = z}
  if all_present then
    local acc = M.accuracy_score(a, b)
    lines[#lines + 1] = pad("accuracy", width) .. " " .. pad("", 10) .. pad("", 10) ..
      pad(string.format("%." .. d .. "f", acc), 10) .. pad(string.format("%d", total), 10)
  else
    lines[#lines + 1] = row("micro avg", M.precision_score(a, b, po), M.recall_score(a, b, po),
      M.f1_score(a, b, po), total)
  end
  for _, avg in ipairs{"macro", "weighted"} do
    po.average = avg
    lines[#lines + 1] = row(avg .. " avg", M.precision_score(a, b, po), M.recall_score(a, b, po),
      M.f1_score(a, b, po), total)
  end
  return table.concat(lines, "\n") .. "\n"
end

-- ---------------------------------------------------------------------------
-- Ranking metrics

local function binary_truth(who, a, pos_label)
  local present = M.unique_labels(a)
  if #present > 2 then
    raise(string.format("%s: y_true has %d labels; a binary target is needed", who, #present))
  end
  if pos_label == nil then
    -- scikit-learn: {0, 1}, {-1, 1}, {1} or {0}, {-1}: pos_label = 1; otherwise required
    for _, v in ipairs(present) do
      if v ~= 0 and v ~= 1 and v ~= -1 then
        raise(string.format("%s: labels are not {0, 1} or {-1, 1}; pass pos_label", who))
      end
    end
    pos_label = 1
  end
  local t = {}
  for i, v in ipairs(a) do t[i] = v == pos_label and 1 or 0 end
  return t
end

-- Scores as a 1-D tensor (passed to C as is) or a Lua list, and their count.
local function scores(who, s)
  if is_tensor(s) then
    if s:dim() == 2 and s.shape[2] == 2 then s = s:select(2, 2) end
    if s:dim() == 2 and s.shape[2] == 1 then s = s:reshape(-1) end
    if s:dim() ~= 1 then
      raise(string.format("%s: y_score must be 1-dimensional, got shape %s", who,
        table.concat(s.shape, "x")))
    end
    return s, s.shape[1]
  end
  s = labels(who, s, "y_score")
  return s, #s
end

-- scikit-learn's _binary_clf_curve: fps, tps, thresholds at distinct scores,
-- scores in decreasing order.
local function clf_curve(t, s)
  return core.data.clf_curve(t, s)   -- runtime/data/curve.c
end

--- fpr, tpr, thresholds as scikit-learn 1.2's roc_curve (thresholds[1] is
--- the highest score + 1; collinear points dropped with drop_intermediate).
function M.roc_curve(y_true, y_score, opts)
  opts = base.options("roc_curve", opts, {{"pos_label", nil, "number|string|nil"},
    {"drop_intermediate", true, "boolean"}})
  local a = labels("roc_curve", y_true, "y_true")
  local s, ns = scores("roc_curve", y_score)
  if #a ~= ns then
    raise(string.format("roc_curve: y_true has %d entries but y_score has %d", #a, ns))
  end
  if #a == 0 then raise("roc_curve: empty input") end
  local t = binary_truth("roc_curve", a, opts.pos_label)
  local fps, tps, thr = clf_curve(t, s)
  if opts.drop_intermediate and #fps > 2 then
    local keep = {1}
    for i = 2, #fps - 1 do
      local d2f = fps[i + 1] - 2 * fps[i] + fps[i - 1]
      local d2t = tps[i + 1] - 2 * tps[i] + tps[i - 1]
      if d2f ~= 0 or d2t ~= 0 then keep[#keep + 1] = i end
    end
    keep[#keep + 1] = #fps
    local f2, t2, h2 = {}, {}, {}
    for k, i in ipairs(keep) do f2[k], t2[k], h2[k] = fps[i], tps[i], thr[i] end
    fps, tps, thr = f2, t2, h2
  end
  table.insert(fps, 1, 0)
  table.insert(tps, 1, 0)
  table.insert(thr, 1, thr[1] + 1)
  local P, N = tps[#tps], fps[#fps]
  local fpr, tpr = {}, {}
  for i = 1, #fps do
    fpr[i] = N > 0 and fps[i] / N or 0 / 0
    tpr[i] = P > 0 and tps[i] / P or 0 / 0
  end
  return ml.tensor(fpr), ml.tensor(tpr), ml.tensor(thr), {fpr = fpr, tpr = tpr, thresholds = thr}
end

local function auc_binary(t, s)
  local fps, tps = clf_curve(t, s)
  local P, N = tps[#tps], fps[#fps]
  if P == 0 or N == 0 then
    raise("roc_auc_score: only one class present in y_true; ROC AUC is not defined")
  end
  local area, pf, pt = 0, 0, 0
  for i = 1, #fps do
    area = area + (fps[i] - pf) * (tps[i] + pt) / 2
    pf, pt = fps[i], tps[i]
  end
  return area / (P * N)
end

--- Area under the ROC curve. Binary: y_score is the positive-class score
--- (N, or N x 2 probabilities). Multiclass: y_score is N x K probabilities
--- in sorted label order, averaged one-vs-rest ("macro", or "weighted").
function M.roc_auc_score(y_true, y_score, opts)
  opts = base.options("roc_auc_score", opts, {{"pos_label", nil, "number|string|nil"},
    {"average", "macro", {"macro", "weighted"}}, {"multi_class", "ovr", {"ovr"}}})
  local a = labels("roc_auc_score", y_true, "y_true")
  if is_tensor(y_score) and y_score:dim() == 2 and y_score.shape[2] > 2 then
    local labs = M.unique_labels(a)
    local K = y_score.shape[2]
    if #labs ~= K then
      raise(string.format("roc_auc_score: y_score has %d columns but y_true has %d labels", K,
        #labs))
    end
    if y_score.shape[1] ~= #a then
      raise(string.format("roc_auc_score: y_true has %d entries but y_score has %d rows", #a,
        y_score.shape[1]))
    end
    local total, wsum = 0, 0
    for k, lab in ipairs(labs) do
      local t, sup = {}, 0
      for i, v in ipairs(a) do t[i] = v == lab and 1 or 0; sup = sup + t[i] end
      local w = opts.average == "weighted" and sup or 1
      total = total + w * auc_binary(t, y_score:select(2, k))
      wsum = wsum + w
    end
    return total / wsum
  end
  local s, ns = scores("roc_auc_score", y_score)
  if #a ~= ns then
    raise(string.format("roc_auc_score: y_true has %d entries but y_score has %d", #a, ns))
  end
  return auc_binary(binary_truth("roc_auc_score", a, opts.pos_label), s)
end

-- ---------------------------------------------------------------------------
-- Regression and probabilistic metrics

local function reg_pair(who, y, p)
  local a, b = pair(who, y, p)
  for i = 1, #a do
    if type(a[i]) ~= "number" or type(b[i]) ~= "number" then
      raise(who .. ": expected numbers")
    end
  end
  return a, b
end

function M.mean_squared_error(y_true, y_pred, opts)
  opts = base.options("mean_squared_error", opts, {{"squared", true, "boolean"}})
  local a, b = reg_pair("mean_squared_error", y_true, y_pred)
  local s = 0
  for i = 1, #a do s = s + (a[i] - b[i]) ^ 2 end
  s = s / #a
  return opts.squared and s or math.sqrt(s)
end

function M.mean_absolute_error(y_true, y_pred)
  local a, b = reg_pair("mean_absolute_error", y_true, y_pred)
  local s = 0
  for i = 1, #a do s = s + math.abs(a[i] - b[i]) end
  return s / #a
end

function M.r2_score(y_true, y_pred)
  local a, b = reg_pair("r2_score", y_true, y_pred)
  local mean = 0
  for i = 1, #a do mean = mean + a[i] end
  mean = mean / #a
  local ss_res, ss_tot = 0, 0
  for i = 1, #a do
    ss_res = ss_res + (a[i] - b[i]) ^ 2
    ss_tot = ss_tot + (a[i] - mean) ^ 2
  end
  if ss_tot == 0 then return ss_res == 0 and 1.0 or 0.0 end
  return 1 - ss_res / ss_tot
end

--- Cross-entropy of probabilities (N, the positive class, or N x K in
--- sorted label order). eps defaults to float32's machine epsilon, which is
--- what scikit-learn 1.2's eps = "auto" gives for float32 input.
function M.log_loss(y_true, y_prob, opts)
  opts = base.options("log_loss", opts, {{"eps", 2 ^ -23, "number"},
    {"labels", nil, "table|tensor|nil"}, {"normalize", true, "boolean"}})
  local a = labels("log_loss", y_true, "y_true")
  local labs = opts.labels and M.unique_labels(labels("log_loss", opts.labels, "labels"))
    or M.unique_labels(a)
  if #labs < 2 then
    raise("log_loss: y_true contains only one label; pass labels = {...}")
  end
  local P
  if is_tensor(y_prob) then
    if y_prob:dim() == 1 then y_prob = y_prob:reshape(-1, 1) end
    P = y_prob:totable()
  elseif type(y_prob) == "table" then
    P = {}
    for i, r in ipairs(y_prob) do P[i] = type(r) == "table" and r or {r} end
  else
    raise("log_loss: y_prob expected a tensor or a list, got " .. typename(y_prob))
  end
  if #P ~= #a then
    raise(string.format("log_loss: y_true has %d entries but y_prob has %d rows", #a, #P))
  end
  local eps = opts.eps
  local id = {}
  for i, v in ipairs(labs) do id[v] = i end
  local total = 0
  for i, row in ipairs(P) do
    local r = row
    if #r == 1 then r = {1 - row[1], row[1]} end
    if #r ~= #labs then
      raise(string.format("log_loss: y_prob has %d columns but there are %d labels", #r, #labs))
    end
    local c, sum = {}, 0
    for k = 1, #r do
      local v = math.min(math.max(r[k], eps), 1 - eps)
      c[k] = v; sum = sum + v
    end
    local k = id[a[i]]
    if not k then
      raise(string.format("log_loss: y_true holds label %s not in labels", label_str(a[i])))
    end
    total = total - math.log(c[k] / sum)
  end
  return opts.normalize and total / #a or total
end

return M
