"""PyTorch reference for `./nodal train --model cnn|cnn-bn --device cpu --epochs 15`.

The network of ../shared/anchors/torch_cpu_anchor.py (conv3x3 32 - ReLU - maxpool 2 - conv3x3 64 -
ReLU - maxpool 2 - dense 128 - ReLU - dense 10; cnn-bn adds BatchNorm2d after each convolution),
trained as Nodal trains it by default: batch 128, SGD with momentum 0.9, learning rate 0.05 with a
cosine schedule over every step of the run, shuffled each epoch, no augmentation. Prints, per
epoch, the training time, samples/s and the accuracy on the 10,000 test images in evaluation mode.

Set-up (Debian): apt-get install python3-torch libopenblas0-pthread dataset-fashion-mnist
Run:  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_cnn.py cnn 15 2 0
      (model, epochs, threads, weight decay: SGD's L2 term, as `--weight-decay` gives it to Nodal)
"""
import gzip
import statistics
import sys
import time

import numpy as np
import torch

model_name = sys.argv[1] if len(sys.argv) > 1 else "cnn"
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
weight_decay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
D = "/usr/share/datasets/fashion-mnist/"


def idx(name):
    raw = gzip.open(D + name).read()
    if raw[3] == 3:
        n, r, c = np.frombuffer(raw[4:16], ">i4")
        return np.frombuffer(raw[16:], np.uint8).reshape(n, 1, r, c)
    return np.frombuffer(raw[8:], np.uint8)


xtr = torch.tensor(idx("train-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz"), dtype=torch.long)


def block(cin, cout, bn):
    layers = [torch.nn.Conv2d(cin, cout, 3, padding=1)]
    if bn:
        layers.append(torch.nn.BatchNorm2d(cout))
    return layers + [torch.nn.ReLU(), torch.nn.MaxPool2d(2)]


torch.manual_seed(42)
bn = model_name == "cnn-bn"
net = torch.nn.Sequential(*block(1, 32, bn), *block(32, 64, bn), torch.nn.Flatten(),
                          torch.nn.Linear(64 * 7 * 7, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
B = 128
steps = epochs * ((60000 + B - 1) // B)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=weight_decay)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
loss_fn = torch.nn.CrossEntropyLoss()
print(f"{model_name}: torch {torch.__version__}, {torch.get_num_threads()} threads, {epochs} epochs, "
      f"weight decay {weight_decay}")
times = []
for ep in range(epochs):
    net.train()
    perm = torch.randperm(60000)
    t = time.perf_counter()
    for i in range(0, 60000, B):
        j = perm[i:i + B]
        opt.zero_grad()
        loss_fn(net(xtr[j]), ytr[j]).backward()
        opt.step()
        schedule.step()
    s = time.perf_counter() - t
    times.append(s)
    net.eval()
    with torch.no_grad():
        correct = sum((net(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, 10000, 1000))
    print(f"{model_name} epoch {ep + 1}: {s:.2f} s {60000 / s:.0f} samples/s test acc {correct / 10000:.4f}", flush=True)
print(f"{model_name} seconds per epoch: min {min(times):.2f} median {statistics.median(times):.2f} max {max(times):.2f}")
