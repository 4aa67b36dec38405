-- bank_logreg.lua - the bank-marketing experiment: will a client subscribe a
-- term deposit? Read the 45k-row table, one-hot encode the categorical
-- columns, scale, split with stratification, fit a logistic regression,
-- report accuracy / precision / recall / F1 / ROC AUC and the confusion
-- matrix, and draw the ROC curve.
--   mlrun scripts/bank_logreg.lua [output_dir]
local ml = require "ml"
local M, S = ml.metrics, ml.model_selection
local out = arg and arg[1] or "."
local now = ml.parallel.now

local t0 = now()
local df = ml.read_csv("data/bank/bank-full.csv.gz")        -- ';' detected, gzip streamed
local rows, cols = df:shape()
print(string.format("read %d rows x %d columns in %.3f s", rows, cols, now() - t0))
print(df:head())
print(df:value_counts("y"))

local y = ml.LabelEncoder():fit_transform(df["y"])            -- no = 0, yes = 1
local X = df:drop{"y"}:get_dummies()                            -- 16 columns -> 51 features
print(string.format("%d features after one-hot encoding (e.g. %s, %s)", #X.columns,
  X.columns[8], X.columns[9]))

local Xtr, Xte, ytr, yte = S.train_test_split(X:to_tensor(), y,
  {test_size = 0.2, random_state = 42, stratify = y})
local scaler = ml.StandardScaler():fit(Xtr)
Xtr, Xte = scaler:transform(Xtr), scaler:transform(Xte)

t0 = now()
local clf = ml.LogisticRegression{C = 1.0, max_iter = 1000}:fit(Xtr, ytr)
print(string.format("LogisticRegression fit on %d x %d in %.3f s", Xtr.shape[1], Xtr.shape[2],
  now() - t0))

local pred = clf:predict(Xte)
local score = clf:predict_proba(Xte):select(2, 2)              -- P(yes)
local auc = M.roc_auc_score(yte, score)
print(string.format("accuracy   %.4f", M.accuracy_score(yte, pred)))
print(string.format("precision  %.4f", M.precision_score(yte, pred)))
print(string.format("recall     %.4f   (sensitivity)", M.recall_score(yte, pred)))
print(string.format("specificity %.4f", M.specificity_score(yte, pred)))
print(string.format("F1         %.4f", M.f1_score(yte, pred)))
print(string.format("ROC AUC    %.4f", auc))
local cm = M.confusion_matrix(yte, pred)
print("confusion matrix (rows: true no/yes, columns: predicted no/yes)")
print(cm)
print(M.classification_report(yte, pred, {target_names = {"no", "yes"}}))

local fpr, tpr = M.roc_curve(yte, score)
ml.plot.roc_curve(fpr, tpr, out .. "/bank_roc.svg", {auc = auc, label = "LogisticRegression"})
ml.plot.confusion_matrix(cm, out .. "/bank_confusion.svg", {labels = {"no", "yes"}})
print("wrote " .. out .. "/bank_roc.svg and " .. out .. "/bank_confusion.svg")
