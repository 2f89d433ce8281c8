"""PyTorch reference for `./nodal bench gpt` and `./nodal train --model gpt`.

The byte-level GPT of Nodal's GptModel.DEFAULT (context 64, 4 layers, 4 heads, width 128, no
dropout), written out for torch 1.13, which has no fused attention: token embedding wte [256, C]
normal(0, 0.02), learned positions wpe [T, C] normal(0, 0.01), pre-norm blocks (LayerNorm eps 1e-5;
qkv Linear(C, 3C) with bias; causal attention scaled by 1/sqrt(C/heads); output Linear(C, C); MLP
Linear(C, 4C), GELU in its tanh form, Linear(4C, C); weights normal(0, 0.02), biases zero), a final
LayerNorm and logits h @ wte^T (tied). Trained as `nodal train --model gpt` trains it: AdamW (lr
0.003, betas 0.9 and 0.999, eps 1e-8, weight decay 0.1 on every parameter), gradients clipped to
global norm 1, the rate warming up from 0.1 of it over 100 steps times a cosine over the run, batch
16 windows of 65 bytes at random offsets of the text's first 90% (--batch).

Modes:
  step   times one training step (forward, backward, AdamW update) of the preset at batch 32 on
         random bytes: 2 warm-up runs, then --repeats runs of --inner steps, one line per run (ms per
         step), then the min and the median, as `nodal bench gpt` reports them; on the CPU, or on
         CUDA with --device cuda (timed between synchronisations).
  train  trains for --steps steps on the text and prints the mean loss over the held-out windows
         (up to 256 spread evenly over the last 10%) every --eval-every steps, in nats and bits per
         byte, at the same evaluation points as `nodal train --model gpt`.

Debian's torch multiplies with whatever libblas.so.3 the system selects: the first line printed
names it. The reference BLAS (/usr/lib/x86_64-linux-gnu/blas/) is many times slower than OpenBLAS;
without root, unpack OpenBLAS and put it first:
  apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb openblas
  export LD_LIBRARY_PATH=$PWD/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread

Set-up (Debian): apt-get install python3-torch libopenblas0-pthread fortunes
Run:  OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/torch_gpt.py step
      OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/torch_gpt.py train --steps 1000
"""
import argparse
import math
import os
import time

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("mode", choices=["step", "train"])
p.add_argument("--threads", type=int, default=2, help="torch's and OpenBLAS's threads (default 2)")
p.add_argument("--repeats", type=int, default=10, help="step: timed runs (default 10)")
p.add_argument("--inner", type=int, default=5, help="step: steps per timed run (default 5)")
p.add_argument("--steps", type=int, default=1000, help="train: steps in all (default 1000, nodal's 10 epochs)")
p.add_argument("--eval-every", type=int, default=100, help="train: steps between evaluations (default 100)")
p.add_argument("--data", default="/usr/share/games/fortunes", help="train: a text file or a folder of them")
p.add_argument("--batch", type=int, help="windows per step (default: 32 for step, as nodal bench gpt; 16 for train, "
               "as nodal train --model gpt)")
p.add_argument("--seed", type=int, default=42)
p.add_argument("--device", default="cpu", help="step: cpu (default) or cuda, beside nodal bench gpt on a GPU")
args = p.parse_args()
# Read when the libraries load. Idle OpenMP threads sleep rather than spin: spinning ones starve
# OpenBLAS's threads on a small or busy machine (steps 7x slower on two shared cores).
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

CONTEXT, LAYERS, HEADS, WIDTH, VOCAB = 64, 4, 4, 128, 256
BATCH = args.batch or (32 if args.mode == "step" else 16)
LR, BETAS, EPS, WEIGHT_DECAY, CLIP, WARMUP, WARMUP_START = 0.003, (0.9, 0.999), 1e-8, 0.1, 1.0, 100, 0.1
EVAL_WINDOWS = 256


class Block(torch.nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = torch.nn.LayerNorm(c, eps=1e-5)
        self.qkv = torch.nn.Linear(c, 3 * c)
        self.proj = torch.nn.Linear(c, c)
        self.ln2 = torch.nn.LayerNorm(c, eps=1e-5)
        self.fc = torch.nn.Linear(c, 4 * c)
        self.fc_proj = torch.nn.Linear(4 * c, c)

    def attention(self, x):
        n, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=-1)
        q, k, v = (a.view(n, t, self.heads, c // self.heads).transpose(1, 2) for a in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(c // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        weights = scores.masked_fill(mask, float("-inf")).softmax(-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(n, t, c))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Parameter(torch.randn(VOCAB, WIDTH) * 0.02)
        self.wpe = torch.nn.Parameter(torch.randn(CONTEXT, WIDTH) * 0.01)
        self.blocks = torch.nn.ModuleList(Block(WIDTH, HEADS) for _ in range(LAYERS))
        self.ln_f = torch.nn.LayerNorm(WIDTH, eps=1e-5)
        for m in self.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, 0.0, 0.02)
                torch.nn.init.zeros_(m.bias)

    def forward(self, ids, targets):
        h = self.wte[ids] + self.wpe
        for b in self.blocks:
            h = b(h)
        logits = self.ln_f(h) @ self.wte.t()
        return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))


def optimizer(model, steps):
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)

    def factor(k):  # the warm-up times the cosine over the run, as Nodal's Schedule with min_lr 0
        warm = WARMUP_START + (1 - WARMUP_START) * k / WARMUP if k < WARMUP else 1.0
        return warm * (1 + math.cos(math.pi * k / steps)) / 2

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def step(model, opt, schedule, ids, targets):
    loss = model(ids, targets)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    opt.step()
    schedule.step()
    return loss


def time_step(args):
    device = torch.device(args.device)
    torch.manual_seed(42)
    model = Gpt().to(device)
    opt, schedule = optimizer(model, 1000)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, VOCAB, (BATCH, CONTEXT), generator=g).to(device)
    targets = torch.randint(0, VOCAB, (BATCH, CONTEXT), generator=g).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    runs = []
    for rep in range(-2, args.repeats):
        sync()
        t0 = time.perf_counter()
        for _ in range(args.inner):
            step(model, opt, schedule, ids, targets)
        sync()
        ms = (time.perf_counter() - t0) * 1e3 / args.inner
        if rep >= 0:
            runs.append(ms)
            print(f"run {rep + 1}: {ms:.3f} ms per step", flush=True)
    print(f"gpt torch {device.type}: min {min(runs):.3f} ms, median "
          f"{sorted(runs)[len(runs) // 2]:.3f} ms per step ({BATCH * CONTEXT / (min(runs) * 1e-3):.0f} tokens/s "
          f"at batch {BATCH} x {CONTEXT} at min)")


def read_text(path):
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(path, f) for f in os.listdir(path)
        if not f.endswith(".dat") and os.path.isfile(os.path.join(path, f))
        and not os.path.islink(os.path.join(path, f)))
    return b"".join(open(f, "rb").read() for f in files)


def train(args):
    text = torch.tensor(list(read_text(args.data)), dtype=torch.long)
    train_bytes = len(text) - len(text) // 10
    validation = len(text) - train_bytes
    windows = max(1, min(EVAL_WINDOWS, (validation - 1) // CONTEXT))
    span = validation - CONTEXT - 1
    starts = [train_bytes + (0 if windows == 1 else span * i // (windows - 1)) for i in range(windows)]
    offsets = torch.arange(CONTEXT + 1)
    held_out = text[torch.tensor(starts)[:, None] + offsets]

    torch.manual_seed(args.seed)
    model = Gpt()
    opt, schedule = optimizer(model, args.steps)
    g = torch.Generator().manual_seed(args.seed)
    print(f"gpt: {len(text)} bytes of {args.data} ({train_bytes} train, {validation} held "
          f"out, {windows} windows), {sum(q.numel() for q in model.parameters())} parameters, {args.steps} steps",
          flush=True)
    t0 = time.perf_counter()
    for k in range(1, args.steps + 1):
        batch = text[torch.randint(0, train_bytes - CONTEXT, (BATCH,), generator=g)[:, None] + offsets]
        loss = step(model, opt, schedule, batch[:, :-1], batch[:, 1:])
        if k % args.eval_every == 0 or k == args.steps:
            with torch.no_grad():
                model.eval()
                val = sum(model(w[:, :-1], w[:, 1:]).item() * len(w) for w in held_out.split(BATCH)) / windows
                model.train()
            print(f"step {k}: training loss {loss.item():.4f}, validation loss {val:.4f} nats "
                  f"({val / math.log(2):.3f} bits per byte), {time.perf_counter() - t0:.1f} s", flush=True)


def blas():
    """The BLAS library this process multiplies with, as mapped into it."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.rsplit("/", 1)[-1]}
    return ", ".join(sorted(os.path.realpath(q) for q in paths)) or "none found"


torch.set_num_threads(args.threads)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {blas()}, OPENBLAS_CORETYPE="
      f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}", flush=True)
time_step(args) if args.mode == "step" else train(args)
