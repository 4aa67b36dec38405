"""The Flask + PyTorch twin of `mlrun serve` for scripts/bench/serve.sh: the
Keras MNIST CNN rebuilt in PyTorch with the weights mlrun exported (npy
files), behind Flask's threaded server, answering POST /predict with the same
JSON as mlrun.

  /usr/bin/python3 scripts/bench/serve_flask.py WEIGHTS_DIR PORT THREADS
"""
import os, sys

import numpy as np
import torch
import torch.nn as nn
from flask import Flask, jsonify, request

wdir, port, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.d1, self.d2 = nn.Linear(9216, 128), nn.Linear(128, 10)

    def forward(self, x):                       # x: N x 28 x 28 x 1 (mlrun's layout)
        x = x.permute(0, 3, 1, 2)
        x = torch.relu(self.c2(torch.relu(self.c1(x))))
        x = torch.max_pool2d(x, 2).permute(0, 2, 3, 1).flatten(1)   # flatten as NHWC
        return torch.softmax(self.d2(torch.relu(self.d1(x))), 1)


def npy(name):
    return torch.from_numpy(np.load(os.path.join(wdir, name)))


model = CNN()
with torch.no_grad():
    for conv, i in ((model.c1, 1), (model.c2, 2)):
        conv.weight.copy_(npy(f"conv{i}_kernel.npy").permute(3, 2, 0, 1))
        conv.bias.copy_(npy(f"conv{i}_bias.npy"))
    for dense, i in ((model.d1, 1), (model.d2, 2)):
        dense.weight.copy_(npy(f"dense{i}_kernel.npy").t())
        dense.bias.copy_(npy(f"dense{i}_bias.npy"))
model.eval()

app = Flask(__name__)


@app.post("/predict")
def predict():
    body = request.get_json(force=True)
    x = torch.tensor(body["instances"], dtype=torch.float32).reshape(-1, 28, 28, 1)
    with torch.no_grad():
        p = model(x)
    return jsonify(predictions=[{"class": int(r.argmax()), "probabilities": r.tolist()} for r in p])


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=port, threaded=True)
