"""scikit-learn twin of trees.lua: the same fits on the same data and split,
one line per case: "<case> <fit seconds> <test accuracy>".
Usage: /usr/bin/python3 scripts/bench/trees.py THREADS [CASE_REGEX]"""
import gzip, sys, time
import numpy as np
import csv, io, re
from sklearn.tree import DecisionTreeClassifier
from sklearn.ensemble import (RandomForestClassifier, GradientBoostingClassifier,
                              HistGradientBoostingClassifier)

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2


def bank():
    """The table one-hot encoded as pandas.get_dummies does it: number
    columns first, then one 0/1 column per (string column, sorted value)."""
    with gzip.open("data/bank/bank-full.csv.gz", "rt") as f:
        rows = list(csv.reader(f, delimiter=";"))
    head, rows = rows[0], rows[1:]
    cols = list(zip(*rows))
    y = np.array([v == "yes" for v in cols[-1]], dtype=np.float32)
    num, dummies = [], []
    for name, c in zip(head[:-1], cols[:-1]):
        try:
            num.append(np.array(c, dtype=np.float32))
        except ValueError:
            a = np.array(c)
            for v in sorted(set(c)):
                dummies.append((a == v).astype(np.float32))
    return np.stack(num + dummies, axis=1), y


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    a = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    return a.astype(np.float32)


CASES = sys.argv[2] if len(sys.argv) > 2 else ""


def run(name, model, Xtr, ytr, Xte, yte):
    if CASES and not re.search(CASES, name):
        return
    t, c = time.perf_counter(), time.process_time()
    model.fit(Xtr, ytr)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    acc = (model.predict(Xte) == yte).mean()
    print("%s %.4f %.4f %.4f" % (name, dt, acc, dc), flush=True)


X, y = bank()
test = np.arange(len(y)) % 5 == 0
B = (X[~test], y[~test], X[test], y[test])
M = (idx("data/mnist-10k/train-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0,
     idx("data/mnist-10k/train-labels-idx1-ubyte.gz"),
     idx("data/mnist-10k/t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0,
     idx("data/mnist-10k/t10k-labels-idx1-ubyte.gz"))
M = tuple(a.astype(np.float32) for a in M)

run("bank_tree", DecisionTreeClassifier(random_state=0), *B)
run("bank_forest100", RandomForestClassifier(n_estimators=100, n_jobs=threads, random_state=0), *B)
run("bank_gboost100", GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0), *B)
run("bank_histgb100", HistGradientBoostingClassifier(max_iter=100, max_depth=3, early_stopping=False,
                                                     random_state=0), *B)
run("mnist_tree", DecisionTreeClassifier(random_state=0), *M)
run("mnist_forest100", RandomForestClassifier(n_estimators=100, n_jobs=threads, random_state=0), *M)
run("mnist_histgb100", HistGradientBoostingClassifier(max_iter=100, max_depth=3, early_stopping=False,
                                                      random_state=0), *M)
