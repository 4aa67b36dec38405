#!/usr/bin/python3
"""scikit-learn twin of scripts/bench/cluster/bench.lua: the same tasks on the same
MNIST 8k float32 data, printing "name seconds quality" (best of REPEAT)."""
import gzip, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA, NMF
from sklearn.neighbors import KNeighborsClassifier
from sklearn.naive_bayes import GaussianNB

DATA = sys.argv[1] if len(sys.argv) > 1 else "data/mnist-10k"
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 3
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 2


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


Xtr = (idx(DATA + "/train-images-idx3-ubyte.gz").reshape(-1, 784) / 255).astype(np.float32)
ytr = idx(DATA + "/train-labels-idx1-ubyte.gz").astype(np.float32)
Xte = (idx(DATA + "/t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255).astype(np.float32)
yte = idx(DATA + "/t10k-labels-idx1-ubyte.gz").astype(np.float32)


def bench(name, f):
    best, q = float("inf"), None
    for _ in range(REPEAT):
        t = time.perf_counter()
        q = f()
        best = min(best, time.perf_counter() - t)
    print("%s %.4f %.6g" % (name, best, q), flush=True)


with threadpool_limits(THREADS):
    bench("kmeans", lambda: KMeans(n_clusters=10, n_init=10, random_state=0).fit(Xtr).inertia_)
    bench("pca50", lambda: PCA(n_components=50).fit(Xtr).explained_variance_ratio_.sum())
    knn = KNeighborsClassifier(n_neighbors=5, n_jobs=THREADS).fit(Xtr, ytr)
    bench("knn_predict", lambda: (knn.predict(Xte) == yte).mean())
    bench("nmf16", lambda: NMF(n_components=16, random_state=0, max_iter=200).fit(Xtr).reconstruction_err_)
    bench("gaussian_nb", lambda: GaussianNB().fit(Xtr, ytr).score(Xte, yte))
