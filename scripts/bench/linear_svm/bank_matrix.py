"""The bank-marketing table as a numeric matrix: the 7 numeric columns
standardised, the 9 categorical ones one-hot encoded (categories sorted),
y = 1 for "yes". 45,211 x 51 for bank-full. Used by the linear/SVM benchmark
and by tests/fixtures/make_linear_svm.py; needs only numpy."""
import csv, gzip
import numpy as np

NUMERIC = ["age", "balance", "day", "duration", "campaign", "pdays", "previous"]
CATEGORICAL = ["job", "marital", "education", "default", "housing", "loan", "contact",
               "month", "poutcome"]


def load(path):
    with gzip.open(path, "rt") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    num = np.array([[float(r[c]) for c in NUMERIC] for r in rows])
    num = (num - num.mean(0)) / num.std(0)
    cols = [num]
    for c in CATEGORICAL:
        cats = sorted({r[c] for r in rows})
        cols.append(np.array([[1.0 if r[c] == k else 0.0 for k in cats] for r in rows]))
    X = np.hstack(cols).astype(np.float32)
    y = np.array([1 if r["y"] == "yes" else 0 for r in rows], dtype=np.int64)
    return X, y


def save(X, y, prefix):
    """X as float32 and y as float32 .npy files (ml.load_npy reads both)."""
    np.save(prefix + ".X.npy", X.astype("<f4"))
    np.save(prefix + ".y.npy", y.astype("<f4"))
