"""nn_layers.py - PyTorch twin of nn_layers.lua: forward + backward of the
MNIST CNN's layers for one batch, per layer and in total. Prints only.
usage: python3 scripts/bench/nn_layers.py [threads] [batch] [reps]"""
import sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
torch.set_num_threads(threads)
torch.manual_seed(1)
layers = [nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
          nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
          nn.Linear(128, 10)]
model = nn.Sequential(*layers).train()
x = torch.rand(batch, 1, 28, 28)
y = torch.arange(batch) % 10

def step():
    model.zero_grad(set_to_none=False)
    loss = F.cross_entropy(model(x), y)
    loss.backward()

for _ in range(3):
    step()
times = []
cpu0 = time.process_time()
for _ in range(reps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
cpu = (time.process_time() - cpu0) / reps * 1000
times.sort()
print("torch  threads=%d batch=%d: %.1f ms per forward+backward (median; min %.1f; cpu %.1f ms)"
      % (threads, batch, times[len(times) // 2] * 1000, times[0] * 1000, cpu))
