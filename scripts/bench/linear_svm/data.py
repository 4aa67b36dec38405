"""Writes the benchmark matrices for scripts/bench/linear_svm.sh to DIR
(argument) as .npy: bank-full one-hot + standardised (45,211 x 51), and
MNIST 8k train / 2k test (pixels / 255), float32."""
import gzip, os, sys
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bank_matrix  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
X, y = bank_matrix.load(os.path.join(ROOT, "data", "bank", "bank-full.csv.gz"))
bank_matrix.save(X, y, os.path.join(out, "bank"))


def idx(path):
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


mn = os.path.join(ROOT, "data", "mnist-10k")
for split, prefix in (("train", "mnist_train"), ("t10k", "mnist_test")):
    Xm = idx(os.path.join(mn, split + "-images-idx3-ubyte.gz")).reshape(-1, 784) / 255.0
    ym = idx(os.path.join(mn, split + "-labels-idx1-ubyte.gz"))
    bank_matrix.save(Xm.astype(np.float32), ym, os.path.join(out, prefix))
print("wrote", out)
