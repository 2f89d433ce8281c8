"""PyTorch's training step of `nodal bench cnn` and `nodal bench cnn-bn`: the cnn model (conv3x3 32 -
ReLU - maxpool 2 - conv3x3 64 - ReLU - maxpool 2 - dense 128 - ReLU - dense 10; cnn-bn has
BatchNorm2d between each convolution and its ReLU), batch 256 of random images and
labels, SGD with momentum 0.9 (lr 0.01), cross-entropy; `repeats` timed runs of `inner` steps
after a second of warm-up, minimum and median per step, as `nodal bench` reports them.

Run: OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_cnn_step.py [repeats] [inner] [threads] [batch] [cnn|cnn-bn]
For the AVX2 row on an AVX-512 machine: OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2 (oneDNN runs
the convolutions).
"""
import statistics, sys, time
import torch

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
inner = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 256
model = sys.argv[5] if len(sys.argv) > 5 else "cnn"
if model not in ("cnn", "cnn-bn"):
    sys.exit(f"model {model}: give cnn or cnn-bn")
torch.manual_seed(1)


def block(cin, cout):
    layers = [torch.nn.Conv2d(cin, cout, 3, padding=1)]
    if model == "cnn-bn":
        layers.append(torch.nn.BatchNorm2d(cout))
    return layers + [torch.nn.ReLU(), torch.nn.MaxPool2d(2)]


cnn = torch.nn.Sequential(*block(1, 32), *block(32, 64), torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128),
                          torch.nn.ReLU(), torch.nn.Linear(128, 10))
opt = torch.optim.SGD(cnn.parameters(), lr=0.01, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()
x, y = torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,))


def step():
    opt.zero_grad()
    loss_fn(cnn(x), y).backward()
    opt.step()


end = time.perf_counter() + 1
while time.perf_counter() < end:
    step()
times = []
for _ in range(repeats):
    t = time.perf_counter()
    for _ in range(inner):
        step()
    times.append((time.perf_counter() - t) / inner)
print(f"torch {model} step, batch {batch}: min {min(times) * 1e3:.3f} ms, median {statistics.median(times) * 1e3:.3f} ms "
      f"per step, {torch.get_num_threads()} threads, torch {torch.__version__}")
