"""PyTorch twin of scripts/bench/nn_train.lua: the same models, data, batch
size and thread count, timed the same way (5 warm-up batches, then one full
epoch over the 8,000 training digits of data/mnist-10k; XOR: 1,000 full-batch
steps after 50 warm-up steps).

  /usr/bin/python3 scripts/bench/nn_train_torch.py --model cnn|mlp|xor --threads N
Prints one line: RESULT <model> <threads> <seconds per epoch | us per step>
<images/s | steps/s> <peak MB (VmHWM)>.
"""
import argparse, gzip, os, struct, sys, time

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    t = torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8)
    return t.reshape(dims)


def vmhwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


def mlp():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 128),
        nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["cnn", "mlp", "xor"], required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    if a.model == "xor":
        x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
        y = torch.tensor([[0.], [1.], [1.], [0.]])
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        lossf = nn.BCEWithLogitsLoss()

        def step():
            opt.zero_grad()
            loss = lossf(model(x), y)
            loss.backward()
            opt.step()
            return loss
        for _ in range(50):
            step()
        t0 = time.perf_counter()
        for _ in range(1000):
            loss = step()
        dt = time.perf_counter() - t0
        print("RESULT xor %d %.3f %.0f %.0f loss=%.4f" % (a.threads, dt / 1000 * 1e6, 1000 / dt,
                                                        vmhwm_mb(), loss.item()))
        return
    d = os.path.join(ROOT, "data", "mnist-10k")
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).float().div_(255)
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).long()
    x = x.reshape(-1, 1, 28, 28)
    model = cnn() if a.model == "cnn" else mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    n, bs = x.shape[0], a.batch_size
    model.train()

    def batch(i, perm):
        idx = perm[i:i + bs]
        opt.zero_grad()
        loss = lossf(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        return loss
    perm = torch.randperm(n)
    for i in range(0, 5 * bs, bs):
        batch(i, perm)
    perm = torch.randperm(n)
    t0 = time.perf_counter()
    for i in range(0, n, bs):
        loss = batch(i, perm)
    dt = time.perf_counter() - t0
    print("RESULT %s %d %.3f %.0f %.0f loss=%.4f" % (a.model, a.threads, dt, n / dt, vmhwm_mb(),
                                                   loss.item()))


if __name__ == "__main__":
    main()
