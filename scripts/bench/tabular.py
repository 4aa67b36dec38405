"""scikit-learn / pandas twin of tabular.lua: one line per case,
"<case> <seconds>". Usage: /usr/bin/python3 scripts/bench/tabular.py THREADS"""
import os, sys, tempfile, time
import numpy as np
import pandas as pd
from sklearn import metrics as M
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.tree import DecisionTreeClassifier


def best(n, f):
    b = float("inf")
    for _ in range(n):
        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
    return b


def report(name, s):
    print("%s %.4f" % (name, s), flush=True)


box = {}
report("read_csv", best(5, lambda: box.__setitem__("df", pd.read_csv("data/bank/bank-full.csv.gz", sep=";"))))
df = box["df"]
report("get_dummies", best(3, lambda: box.__setitem__("X", pd.get_dummies(df.drop(columns="y")).to_numpy(np.float32))))
X = box["X"]
report("describe", best(3, lambda: df.describe()))
y = (df["y"] == "yes").to_numpy().astype(np.float32)
tmp = tempfile.mktemp()
report("write_csv", best(3, lambda: df.to_csv(tmp, index=False)))
os.remove(tmp)

bc = pd.read_csv("data/classic/breast_cancer.csv")
Xb, yb = bc.iloc[:, :-1].to_numpy(np.float32), bc.iloc[:, -1].to_numpy()
report("grid_search_rf", best(1, lambda: GridSearchCV(
    RandomForestClassifier(n_estimators=50, random_state=0),
    {"max_depth": [4, 8], "min_samples_leaf": [1, 5]}, cv=5, n_jobs=2).fit(Xb, yb)))
report("cv_tree_bank", best(1, lambda: cross_val_score(
    DecisionTreeClassifier(max_depth=8, random_state=0), X, y, cv=5, n_jobs=2)))
score = X[:, 3] / 5000
report("roc_auc_45k", best(3, lambda: M.roc_auc_score(y, score)))
report("report_45k", best(3, lambda: M.classification_report(y, score > 0.05)))
