"""PyTorch eager twin of scripts/bench/autograd.lua (mode autograd): the same
2-layer MLP in raw tensor ops, the same batches and loop (zero_grad, forward,
loss.backward(), SGD step).

  /usr/bin/python3 scripts/bench/autograd_torch.py --config mnist|small --threads N
Prints: RESULT <config> torch <threads> <us per step> <final loss>
"""
import argparse, gzip, os, struct, time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", choices=["mnist", "small"], required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    xs, ys = [], []
    if a.config == "mnist":
        d = os.path.join(ROOT, "data", "mnist-10k")
        x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).float().div_(255)
        y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).long()
        x = x.reshape(x.shape[0], -1)[:8000]
        y = y[:8000]
        din, dh, dout = 784, 128, 10
        for s in range(0, x.shape[0], 128):
            xs.append(x[s:s + 128].contiguous())
            ys.append(y[s:s + 128].contiguous())
        steps = 3 * len(xs)
    else:
        din, dh, dout = 20, 32, 4
        for _ in range(50):
            xs.append(torch.randn(32, din))
            ys.append(torch.randint(0, dout, (32,)))
        steps = 2000

    def glorot(fi, fo):
        lim = (6.0 / (fi + fo)) ** 0.5
        return (torch.rand(fi, fo) * 2 * lim - lim).requires_grad_()
    w1, b1 = glorot(din, dh), torch.zeros(dh, requires_grad=True)
    w2, b2 = glorot(dh, dout), torch.zeros(dout, requires_grad=True)
    opt = torch.optim.SGD([w1, b1, w2, b2], lr=0.1)
    cols = [yb.reshape(-1, 1) for yb in ys]

    def step(b):
        opt.zero_grad()
        h = (xs[b] @ w1 + b1).relu()
        logits = h @ w2 + b2
        loss = -logits.log_softmax(1).gather(1, cols[b]).mean()
        loss.backward()
        opt.step()
        return loss

    def run(n):
        loss = None
        for s in range(n):
            loss = step(s % len(xs))
        return loss
    run(20)
    t0 = time.process_time()  # CPU time, as the Lua twin
    loss = run(steps)
    dt = time.process_time() - t0
    print("RESULT %s torch %d %.1f %.4f" % (a.config, a.threads, dt / steps * 1e6, loss.item()))


if __name__ == "__main__":
    main()
