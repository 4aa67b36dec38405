"""scikit-learn side of scripts/bench/linear_svm.sh: the same fits on the
same float32 matrices (DIR = argv[1]); prints "name wall_seconds cpu_seconds
accuracy" per fit. Thread count from OMP_NUM_THREADS (set by the script)."""
import os, sys, time
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC, LinearSVC
import warnings
warnings.filterwarnings("ignore")

d = sys.argv[1]
only = sys.argv[2] if len(sys.argv) > 2 else None


def load(prefix):
    X = np.load(os.path.join(d, prefix + ".X.npy"))
    y = np.load(os.path.join(d, prefix + ".y.npy"))
    return X.astype(np.float64), y


def timed(name, fn, score):
    w, c = time.perf_counter(), time.process_time()
    m = fn()
    w, c = time.perf_counter() - w, time.process_time() - c
    print("%s %.3f %.3f %.4f" % (name, w, c, score(m)), flush=True)


if only in (None, "logreg"):
    Xb, yb = load("bank")
    timed("logreg_bank", lambda: LogisticRegression(max_iter=100).fit(Xb, yb),
          lambda m: m.score(Xb, yb))
if only != "logreg":
    Xtr, ytr = load("mnist_train")
    Xte, yte = load("mnist_test")
    if only in (None, "svc"):
        timed("svc_rbf_mnist8k", lambda: SVC(kernel="rbf").fit(Xtr, ytr),
              lambda m: m.score(Xte, yte))
    if only in (None, "linsvc"):
        timed("linearsvc_mnist8k", lambda: LinearSVC(random_state=0).fit(Xtr, ytr),
              lambda m: m.score(Xte, yte))
