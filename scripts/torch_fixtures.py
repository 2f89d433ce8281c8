"""Generates PyTorch reference values that the Java tests compare against (the tests never run Python).

Writes, deterministically (float32 tensors, floats as Python's repr of the float32 value):
  src/test/resources/fixtures/torch-optimizers.json   SGD / Adam / AdamW steps (with and without
      gradient-norm clipping), their final state, and StepLR / CosineAnnealingLR / LinearLR schedules,
      and ChainedScheduler(LinearLR, CosineAnnealingLR) warm-ups into a cosine with and without eta_min
  src/test/resources/fixtures/torch-activations.json  gelu(tanh), leaky_relu, sigmoid and tanh values and gradients
  src/test/resources/fixtures/torch-losses.json       log_softmax, softmax and nll_loss values and gradients
  src/test/resources/fixtures/torch-concat.json       cat along dimension 1, values and gradients
  src/test/resources/fixtures/torch-reduce-slice.json sum and mean over axes (keepdim or not), slices with
      negative bounds, split and cat along several axes, values and gradients
  src/test/resources/fixtures/torch-conv2d.json       conv2d (stride, padding, dilation, groups, bias), values and gradients
  src/test/resources/fixtures/torch-pool2d.json       max_pool2d and avg_pool2d, values and gradients
  src/test/resources/fixtures/torch-batch-norm.json   BatchNorm1d/2d: training values, gradients and running
      statistics, then evaluation values
  src/test/resources/fixtures/torch-cnn-blocks.json   embedding (repeated indices), global average pooling,
      values and gradients
  src/test/resources/fixtures/torch-layer-norm.json   layer_norm and RMS norm (its formula: torch 1.13 has no
      RMSNorm) over the last axis, with and without affine parameters, values and gradients
  src/test/resources/fixtures/torch-softmax-nd.json   softmax and log_softmax along the last axis at rank 3 and 4,
      causal softmax (masked_fill(-inf) above the diagonal Tk - Tq), permute at rank 3 and 4, values and gradients
  src/test/resources/fixtures/torch-broadcast.json    add, sub, mul and div with broadcasting, values and gradients
  src/test/resources/fixtures/torch-matmul.json       matmul on batched, broadcast and transposed operands, a weight
      tied between an embedding and an output projection, x @ x^T; values and gradients
  src/test/resources/fixtures/torch-attention.json    scaled dot-product attention written out (causal or not, Tq != Tk,
      a given scale), values and gradients of q, k and v
  src/test/resources/fixtures/torch-sequence.json     embedding of token ids [N, T] and cross_entropy / nll_loss of
      logits [N, T, V] against targets [N, T] (flattened to rows, mean over all N*T), values and gradients

Run from the project root: /usr/bin/python3 scripts/torch_fixtures.py
"""
import json
import os

import torch

GENERATOR = "scripts/torch_fixtures.py"
OUT_DIR = os.path.join("src", "test", "resources", "fixtures")
STEPS = 6
# Scale of the gradient at each step: some large so that clipping to norm 0.5 / 1.0 bites,
# some small so that it does not.
GRAD_SCALES = [1.0, 3.0, 0.05, 2.0, 0.1, 3.0]


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def uniform(gen, n, scale):
    return (torch.rand(n, generator=gen, dtype=torch.float32) * 2 - 1) * scale


gen = torch.Generator().manual_seed(20240607)
INIT = {"a": uniform(gen, 7, 1.0), "b": uniform(gen, 3, 1.0)}
GRADS = [{"a": uniform(gen, 7, s), "b": uniform(gen, 3, s)} for s in GRAD_SCALES]

CASES = [
    ("sgd_momentum", "sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=False), None),
    ("sgd_nesterov", "sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True), None),
    ("sgd_clipped", "sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.0, nesterov=False), 0.5),
    ("adam", "adam", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0), None),
    ("adam_l2", "adam", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1), None),
    ("adamw", "adamw", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1), None),
    ("adamw_clipped", "adamw", dict(lr=0.01, beta1=0.9, beta2=0.98, eps=1e-6, weight_decay=0.05), 1.0),
]


def make_optimizer(kind, h, params):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=h["lr"], momentum=h["momentum"], dampening=0,
                               weight_decay=h["weight_decay"], nesterov=h["nesterov"],
                               maximize=False, foreach=False)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    return cls(params, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"],
               weight_decay=h["weight_decay"], amsgrad=False, maximize=False, foreach=False)


def run_case(name, kind, h, clip):
    a = INIT["a"].clone().requires_grad_(True)
    b = INIT["b"].clone().requires_grad_(True)
    opt = make_optimizer(kind, h, [a, b])
    after = []
    for g in GRADS:
        a.grad = g["a"].clone()
        b.grad = g["b"].clone()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([a, b], clip, norm_type=2.0)
        opt.step()
        after.append({"a": floats(a), "b": floats(b)})
    slots = ["momentum_buffer"] if kind == "sgd" else ["exp_avg", "exp_avg_sq"]
    state = {pn: {s: floats(opt.state[p][s]) for s in slots} for pn, p in (("a", a), ("b", b))}
    step = None
    if kind != "sgd":
        steps = {int(float(opt.state[p]["step"])) for p in (a, b)}
        assert len(steps) == 1
        step = steps.pop()
    return {"name": name, "optimizer": kind, "hyper": h, "clip_norm": clip,
            "after": after, "state": state, "step": step}


SCHEDULES = [
    ("step", "step", {"step_size": 3, "gamma": 0.5},
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ("cosine", "cosine", {"t_max": 10, "eta_min": 0.001},
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("warmup_linear", "linear", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 4},
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=4)),
]


def run_schedule(name, kind, h, make):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, foreach=False)
    sched = make(opt)
    lrs = []
    for _ in range(12):
        lrs.append(float(opt.param_groups[0]["lr"]))
        p.grad = torch.zeros(1)
        opt.step()
        sched.step()
    return {"name": name, "kind": kind, "hyper": h, "lr": lrs}


# ChainedScheduler([LinearLR, CosineAnnealingLR]): what `--schedule cosine` with warmup_steps is.
# Warm-ups shorter than, equal to and longer than T_max; eta_min zero and not; runs past T_max, so
# that CosineAnnealingLR's restarts at T_max + 1 + 2k*T_max are met.
WARMUP_COSINE = [
    dict(warmup_steps=5, warmup_start=0.1, t_max=20, min_lr=0.01, steps=48),
    dict(warmup_steps=5, warmup_start=0.1, t_max=15, min_lr=0.0, steps=20),
    dict(warmup_steps=10, warmup_start=0.25, t_max=10, min_lr=0.001, steps=25),
    dict(warmup_steps=3, warmup_start=0.5, t_max=40, min_lr=0.02, steps=40),
    dict(warmup_steps=8, warmup_start=0.1, t_max=5, min_lr=0.01, steps=24),
    dict(warmup_steps=4, warmup_start=1.0, t_max=6, min_lr=0.05, steps=30),
    dict(warmup_steps=1000, warmup_start=0.01, t_max=3000, min_lr=0.0001, steps=1200),
]


def run_warmup_cosine(h, base=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base, foreach=False)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=h["warmup_start"], end_factor=1.0,
                                             total_iters=h["warmup_steps"])
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=h["t_max"], eta_min=h["min_lr"])
    sched = torch.optim.lr_scheduler.ChainedScheduler([warm, cos])
    lrs = []
    for _ in range(h["steps"]):
        lrs.append(float(opt.param_groups[0]["lr"]))
        p.grad = torch.zeros(1)
        opt.step()
        sched.step()
    return {"hyper": h, "base": base, "lr": lrs}


def activations():
    x = torch.cat([torch.linspace(-6, 6, 33, dtype=torch.float32),
                   torch.tensor([-0.0, 0.0, 1e-4, -1e-4, 20.0, -20.0, 0.5, -0.5], dtype=torch.float32)])
    dy = torch.cos(1.7 * torch.arange(x.numel(), dtype=torch.float64)).to(torch.float32)
    fns = [
        ("gelu_tanh", lambda t: torch.nn.functional.gelu(t, approximate="tanh")),
        ("leaky_relu_0.01", lambda t: torch.nn.functional.leaky_relu(t, 0.01)),
        ("leaky_relu_0.2", lambda t: torch.nn.functional.leaky_relu(t, 0.2)),
        ("sigmoid", torch.sigmoid),
        ("tanh", torch.tanh),
    ]
    cases = []
    for name, f in fns:
        xi = x.clone().requires_grad_(True)
        y = f(xi)
        (dx,) = torch.autograd.grad((y * dy).sum(), xi)
        cases.append({"name": name, "y": floats(y), "dx": floats(dx)})
    return {"generator": GENERATOR, "torch": torch.__version__,
            "x": floats(x), "dy": floats(dy), "cases": cases}


def losses():
    gen = torch.Generator().manual_seed(31)
    x = ((torch.rand(5, 4, generator=gen) * 2 - 1) * 4).requires_grad_(True)
    y = torch.tensor([2, 0, 3, 3, 1])
    dy = torch.cos(torch.arange(20, dtype=torch.float32) * 0.7).reshape(5, 4)
    z = torch.nn.functional.log_softmax(x, dim=1)
    (dx,) = torch.autograd.grad((z * dy).sum(), x)
    p = torch.nn.functional.softmax(x, dim=1)
    (dxp,) = torch.autograd.grad((p * dy).sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    loss = torch.nn.functional.nll_loss(torch.nn.functional.log_softmax(x2, dim=1), y)
    (dx2,) = torch.autograd.grad(loss, x2)
    return {"generator": GENERATOR, "torch": torch.__version__, "x": floats(x), "labels": y.tolist(),
            "dy": floats(dy), "log_softmax": {"z": floats(z), "dx": floats(dx)},
            "softmax": {"z": floats(p), "dx": floats(dxp)},
            "nll_of_log_softmax": {"loss": float(loss), "dx": floats(dx2)}}


def concat():
    gen = torch.Generator().manual_seed(41)
    a = torch.rand(2, 3, 2, generator=gen).requires_grad_(True)
    b = torch.rand(2, 1, 2, generator=gen).requires_grad_(True)
    z = torch.cat([a, b], dim=1)
    dy = torch.sin(torch.arange(z.numel(), dtype=torch.float32)).reshape(z.shape)
    da, db = torch.autograd.grad((z * dy).sum(), [a, b])
    return {"generator": GENERATOR, "torch": torch.__version__, "a": floats(a), "a_shape": list(a.shape),
            "b": floats(b), "b_shape": list(b.shape), "dy": floats(dy), "z": floats(z), "da": floats(da),
            "db": floats(db)}


def reduce_slice():
    """Cases of one or more inputs and one or more outputs: each output's upstream gradient dy, and
    each input's gradient of sum(output * dy). 'batch' marks cases whose first axis the Java test
    feeds as the batch of an input."""
    gen = torch.Generator().manual_seed(67)
    cases = []

    def case(name, op, shapes, f, batch=False, **attrs):
        xs = [(torch.rand(*sh, generator=gen) * 2 - 1).requires_grad_(True) for sh in shapes]
        zs = f(xs)
        zs = list(zs) if isinstance(zs, (tuple, list)) else [zs]
        dys = [torch.cos(torch.arange(z.numel(), dtype=torch.float32) * (0.37 + 0.11 * i)).reshape(z.shape)
               for i, z in enumerate(zs)]
        dxs = torch.autograd.grad(sum((z * dy).sum() for z, dy in zip(zs, dys)), xs)
        c = {"name": name, "op": op, "batch": batch}
        c.update(attrs)
        c["inputs"] = [{"shape": list(x.shape), "x": floats(x), "dx": floats(dx)} for x, dx in zip(xs, dxs)]
        c["outputs"] = [{"shape": list(z.shape), "z": floats(z), "dy": floats(dy)} for z, dy in zip(zs, dys)]
        cases.append(c)

    for op, fn in (("sum", torch.sum), ("mean", torch.mean)):
        for shape, dims, keep, batch in [((2, 3, 4), [1], False, True), ((2, 3, 4), [0, 2], True, False),
                                         ((2, 3, 4), [-1], False, True), ((2, 3, 4, 5), [-3, -1], True, True),
                                         ((2, 3, 4, 5), [1, 3], False, False), ((3, 4), [0, 1], False, False),
                                         ((2, 3, 4), [0, 1, 2], True, False), ((1, 5, 2), [2], False, True)]:
            name = "%s %s dims %s%s" % (op, list(shape), dims, " keepdim" if keep else "")
            case(name, op, [shape], lambda xs, fn=fn, dims=dims, keep=keep: fn(xs[0], dim=dims, keepdim=keep),
                 batch=batch, axes=dims, keep_dims=keep)
    for shape, axis, start, end, batch in [((3, 5, 4), 1, 1, 4, True), ((3, 5, 4), -1, -3, -1, True),
                                           ((4, 3), 0, -2, None, False), ((2, 3, 4), 2, 1, 100, True),
                                           ((2, 5, 3), -2, -100, 2, False), ((2, 2, 3, 4), 3, 0, -1, True)]:
        sl = [slice(None)] * len(shape)
        sl[axis] = slice(start, end)
        name = "slice %s axis %d [%s:%s]" % (list(shape), axis, start, "" if end is None else end)
        case(name, "slice", [shape], lambda xs, sl=tuple(sl): xs[0][sl], batch=batch, axis=axis, start=start,
             end=end)
    case("split [2, 6, 3] axis 1 sizes [1, 2, 3]", "split", [(2, 6, 3)],
         lambda xs: torch.split(xs[0], [1, 2, 3], dim=1), batch=True, axis=1, sizes=[1, 2, 3])
    case("split [2, 3, 6] axis -1 into 3", "split", [(2, 3, 6)],
         lambda xs: torch.chunk(xs[0], 3, dim=-1), batch=True, axis=-1, parts=3)
    for shapes, axis, batch in [([(2, 3, 4), (1, 3, 4)], 0, False), ([(2, 1, 4), (2, 3, 4)], 1, True),
                                ([(2, 3, 1), (2, 3, 2), (2, 3, 4)], 2, True), ([(2, 2, 3, 1), (2, 2, 3, 3)], -1, True)]:
        name = "concat %s axis %d" % (" ".join(str(list(sh)) for sh in shapes), axis)
        case(name, "concat", shapes, lambda xs, axis=axis: torch.cat(xs, dim=axis), batch=batch, axis=axis)
    return {"generator": GENERATOR, "torch": torch.__version__, "cases": cases}


def conv2d():
    gen = torch.Generator().manual_seed(53)
    cases = []
    for name, kw, xs, ws, bias in [
            ("plain", dict(), (2, 3, 5, 4), (4, 3, 3, 3), True),
            ("strided_padded_dilated_grouped", dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
             (2, 4, 7, 6), (6, 2, 3, 2), True),
            ("no_bias", dict(padding=(1, 1)), (1, 2, 4, 4), (3, 2, 2, 2), False)]:
        x = (torch.rand(*xs, generator=gen) * 2 - 1).requires_grad_(True)
        w = (torch.rand(*ws, generator=gen) * 2 - 1).requires_grad_(True)
        b = (torch.rand(ws[0], generator=gen) * 2 - 1).requires_grad_(True) if bias else None
        z = torch.nn.functional.conv2d(x, w, b, **kw)
        dy = torch.cos(torch.arange(z.numel(), dtype=torch.float32) * 0.37).reshape(z.shape)
        grads = torch.autograd.grad((z * dy).sum(), [x, w] + ([b] if bias else []))
        case = {"name": name, "stride": list(kw.get("stride", (1, 1))), "padding": list(kw.get("padding", (0, 0))),
                "dilation": list(kw.get("dilation", (1, 1))), "groups": kw.get("groups", 1), "bias": bias,
                "x_shape": list(xs), "w_shape": list(ws), "x": floats(x), "w": floats(w), "z_shape": list(z.shape),
                "z": floats(z), "dy": floats(dy), "dx": floats(grads[0]), "dw": floats(grads[1])}
        if bias:
            case["b"] = floats(b)
            case["db"] = floats(grads[2])
        cases.append(case)
    return {"generator": GENERATOR, "torch": torch.__version__, "cases": cases}


def pool2d():
    gen = torch.Generator().manual_seed(61)
    x0 = torch.rand(2, 3, 7, 6, generator=gen) * 2 - 1
    cases = []
    for name, fn, k, st, pd in [("max_3_2_1", torch.nn.functional.max_pool2d, 3, 2, 1),
                                ("max_2_2_0", torch.nn.functional.max_pool2d, 2, 2, 0),
                                ("avg_3_2_1", torch.nn.functional.avg_pool2d, 3, 2, 1),
                                ("avg_2_1_0", torch.nn.functional.avg_pool2d, 2, 1, 0)]:
        x = x0.clone().requires_grad_(True)
        z = fn(x, k, st, pd)
        dy = torch.cos(torch.arange(z.numel(), dtype=torch.float32) * 0.53).reshape(z.shape)
        (dx,) = torch.autograd.grad((z * dy).sum(), x)
        cases.append({"name": name, "max": name.startswith("max"), "kernel": k, "stride": st, "padding": pd,
                      "z_shape": list(z.shape), "z": floats(z), "dy": floats(dy), "dx": floats(dx)})
    return {"generator": GENERATOR, "torch": torch.__version__, "x_shape": list(x0.shape), "x": floats(x0),
            "cases": cases}


def batch_norm():
    gen = torch.Generator().manual_seed(67)
    cases = []
    for name, shape in [("bn2d", (3, 4, 5, 3)), ("bn1d", (6, 5)), ("bn2d_batch1", (1, 2, 3, 4))]:
        c = shape[1]
        x = (torch.rand(*shape, generator=gen) * 4 - 1).requires_grad_(True)
        bn = (torch.nn.BatchNorm2d(c) if len(shape) == 4 else torch.nn.BatchNorm1d(c))
        with torch.no_grad():
            bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)
            bn.bias.copy_(torch.rand(c, generator=gen) - 0.5)
        bn.train()
        z = bn(x)
        dy = torch.cos(torch.arange(z.numel(), dtype=torch.float32) * 0.41).reshape(z.shape)
        dx, dgamma, dbeta = torch.autograd.grad((z * dy).sum(), [x, bn.weight, bn.bias])
        bn.eval()
        with torch.no_grad():
            z_eval = bn(x)
        cases.append({"name": name, "shape": list(shape), "momentum": bn.momentum, "eps": bn.eps, "x": floats(x),
                      "gamma": floats(bn.weight), "beta": floats(bn.bias), "z": floats(z), "dy": floats(dy),
                      "dx": floats(dx), "dgamma": floats(dgamma), "dbeta": floats(dbeta),
                      "running_mean": floats(bn.running_mean), "running_var": floats(bn.running_var),
                      "z_eval": floats(z_eval)})
    return {"generator": GENERATOR, "torch": torch.__version__, "cases": cases}


def cnn_blocks():
    gen = torch.Generator().manual_seed(71)
    weight = (torch.rand(7, 3, generator=gen) * 2 - 1).requires_grad_(True)
    idx = torch.tensor([[1, 4, 1], [6, 0, 1]])  # index 1 three times: its gradient sums
    z = torch.nn.functional.embedding(idx, weight)
    dy = torch.cos(torch.arange(z.numel(), dtype=torch.float32) * 0.29).reshape(z.shape)
    (dw,) = torch.autograd.grad((z * dy).sum(), weight)
    embedding = {"indices_shape": list(idx.shape), "indices": [float(v) for v in idx.reshape(-1).tolist()],
                 "weight_shape": list(weight.shape), "weight": floats(weight), "z": floats(z), "dy": floats(dy),
                 "dweight": floats(dw)}
    x = (torch.rand(2, 3, 5, 4, generator=gen) * 2 - 1).requires_grad_(True)
    g = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
    dg = torch.cos(torch.arange(g.numel(), dtype=torch.float32) * 0.31).reshape(g.shape)
    (dx,) = torch.autograd.grad((g * dg).sum(), x)
    gap = {"x_shape": list(x.shape), "x": floats(x), "z": floats(g), "dy": floats(dg), "dx": floats(dx)}
    return {"generator": GENERATOR, "torch": torch.__version__, "embedding": embedding, "global_avg_pool": gap}


def rms_norm(x, weight, eps):
    """torch.nn.functional.rms_norm (PyTorch 2.4) written out: x / sqrt(mean(x^2) + eps) * weight."""
    z = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return z if weight is None else z * weight


def layer_norm():
    gen = torch.Generator().manual_seed(73)
    cases = []
    for name, kind, shape, eps, affine in [("layer_norm_rank3", "layer_norm", (2, 3, 8), 1e-5, True),
                                           ("layer_norm_batch1", "layer_norm", (1, 5), 1e-3, True),
                                           ("layer_norm_wide", "layer_norm", (3, 70), 1e-5, True),
                                           ("layer_norm_plain", "layer_norm", (4, 2, 6), 1e-5, False),
                                           ("rms_norm_rank3", "rms_norm", (2, 3, 8), 1e-6, True),
                                           ("rms_norm_batch1", "rms_norm", (1, 5), 1e-3, True),
                                           ("rms_norm_wide", "rms_norm", (3, 70), 1e-6, True),
                                           ("rms_norm_plain", "rms_norm", (4, 2, 6), 1e-6, False)]:
        d = shape[-1]
        x = (torch.rand(*shape, generator=gen) * 4 - 1).requires_grad_(True)
        gamma = (torch.rand(d, generator=gen) + 0.5).requires_grad_(True) if affine else None
        beta = (torch.rand(d, generator=gen) - 0.5).requires_grad_(True) if affine and kind == "layer_norm" else None
        if kind == "layer_norm":
            z = torch.nn.functional.layer_norm(x, (d,), gamma, beta, eps)
        else:
            z = rms_norm(x, gamma, eps)
        dy = torch.cos(torch.arange(z.numel(), dtype=torch.float32) * 0.43).reshape(z.shape)
        wrt = [t for t in (x, gamma, beta) if t is not None]
        grads = torch.autograd.grad((z * dy).sum(), wrt)
        case = {"name": name, "kind": kind, "shape": list(shape), "eps": eps, "affine": affine, "x": floats(x),
                "z": floats(z), "dy": floats(dy), "dx": floats(grads[0])}
        if gamma is not None:
            case["gamma"] = floats(gamma)
            case["dgamma"] = floats(grads[1])
        if beta is not None:
            case["beta"] = floats(beta)
            case["dbeta"] = floats(grads[2])
        cases.append(case)
    return {"generator": GENERATOR, "torch": torch.__version__, "cases": cases}


def softmax_nd():
    gen = torch.Generator().manual_seed(67)
    cases = []
    for name, op, shape, causal, axes in [
            ("softmax_rank3", "softmax", (2, 3, 5), False, None),
            ("softmax_rank4", "softmax", (2, 2, 3, 4), False, None),
            ("log_softmax_rank3", "log_softmax", (2, 3, 5), False, None),
            ("log_softmax_rank4", "log_softmax", (1, 2, 3, 6), False, None),
            ("causal_square", "softmax", (2, 4, 4), True, None),
            ("causal_fewer_queries", "softmax", (1, 2, 3, 5), True, None),
            ("permute_rank3_swap", "permute", (2, 3, 4), False, (0, 2, 1)),
            ("permute_rank3_cycle", "permute", (2, 3, 4), False, (2, 0, 1)),
            ("permute_rank4_heads", "permute", (2, 3, 4, 5), False, (0, 2, 1, 3)),
            ("permute_rank4_mixed", "permute", (2, 3, 4, 5), False, (3, 1, 0, 2))]:
        x = (torch.rand(*shape, generator=gen) * 6 - 3).requires_grad_(True)
        if op == "permute":
            z = x.permute(*axes).contiguous()
        elif op == "log_softmax":
            z = torch.log_softmax(x, dim=-1)
        elif causal:
            tq, tk = shape[-2], shape[-1]
            keep = torch.ones(tq, tk).tril(diagonal=tk - tq).bool()
            z = x.masked_fill(~keep, float("-inf")).softmax(dim=-1)
        else:
            z = torch.softmax(x, dim=-1)
        dy = torch.sin(torch.arange(z.numel(), dtype=torch.float32) * 0.73).reshape(z.shape)
        (dx,) = torch.autograd.grad((z * dy).sum(), x)
        case = {"name": name, "op": op, "causal": causal, "x_shape": list(shape), "x": floats(x),
                "z_shape": list(z.shape), "z": floats(z), "dy": floats(dy), "dx": floats(dx)}
        if axes is not None:
            case["axes"] = list(axes)
        cases.append(case)
    return {"generator": GENERATOR, "torch": torch.__version__, "cases": cases}


# (a shape, b shape) pairs: equal, a bias, a scalar, either side repeated, both sides on several axes.
BROADCAST_SHAPES = [
    ("equal", [2, 3], [2, 3]),
    ("bias", [4, 3], [3]),
    ("scalar", [3, 2], []),
    ("a_repeated", [1], [2, 3]),
    ("both_sides", [2, 1, 4], [3, 1]),
    ("rank4", [2, 3, 1, 5], [3, 4, 1]),
    ("alternating", [2, 1, 3, 1], [1, 4, 1, 2]),
]


def broadcast():
    gen = torch.Generator().manual_seed(43)
    cases = []
    for name, a_shape, b_shape in BROADCAST_SHAPES:
        a = (torch.rand(a_shape, generator=gen) * 2 - 1).requires_grad_(True)
        # b divides: magnitudes in [0.5, 1.5), either sign
        magnitude = torch.rand(b_shape, generator=gen) + 0.5
        sign = torch.where(torch.rand(b_shape, generator=gen) < 0.5, -1.0, 1.0)
        b = (magnitude * sign).requires_grad_(True)
        out_shape = torch.broadcast_shapes(a.shape, b.shape)
        dy = torch.sin(torch.arange(out_shape.numel(), dtype=torch.float32) * 0.7 + 0.3).reshape(out_shape)
        case = {"name": name, "a_shape": a_shape, "b_shape": b_shape, "a": floats(a), "b": floats(b), "dy": floats(dy)}
        for op, f in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("div", torch.div)]:
            z = f(a, b)
            da, db = torch.autograd.grad((z * dy).sum(), [a, b])
            case[op] = {"z": floats(z), "da": floats(da), "db": floats(db)}
        cases.append(case)
    return {"generator": GENERATOR, "torch": torch.__version__, "cases": cases}


def matmul():
    """torch.matmul on batched, broadcast and transposed operands (a and b as stored; trans_a/trans_b
    read them as .transpose(-1, -2)), and a weight tied between an embedding and an output projection."""
    gen = torch.Generator().manual_seed(67)
    cases = []
    for name, a_shape, b_shape, trans_a, trans_b in [
            ("plain_2d", (3, 4), (4, 5), False, False),
            ("batched", (2, 3, 4), (2, 4, 5), False, False),
            ("batch_1", (1, 3, 4), (1, 4, 2), False, False),
            ("broadcast_weight", (2, 3, 4, 5), (5, 6), False, False),
            ("broadcast_left", (3, 4), (2, 4, 5), False, False),
            ("broadcast_both", (2, 1, 3, 4), (3, 4, 2), False, False),
            ("trans_a", (2, 4, 3), (2, 4, 5), True, False),
            ("trans_b", (2, 3, 4, 5), (6, 5), False, True),
            ("trans_a_trans_b", (4, 3), (2, 5, 4), True, True)]:
        a = (torch.rand(*a_shape, generator=gen) * 2 - 1).requires_grad_(True)
        b = (torch.rand(*b_shape, generator=gen) * 2 - 1).requires_grad_(True)
        z = torch.matmul(a.transpose(-1, -2) if trans_a else a, b.transpose(-1, -2) if trans_b else b)
        dy = torch.cos(torch.arange(z.numel(), dtype=torch.float32) * 0.41).reshape(z.shape)
        da, db = torch.autograd.grad((z * dy).sum(), [a, b])
        cases.append({"name": name, "trans_a": trans_a, "trans_b": trans_b, "a_shape": list(a_shape),
                      "b_shape": list(b_shape), "z_shape": list(z.shape), "a": floats(a), "b": floats(b),
                      "z": floats(z), "dy": floats(dy), "da": floats(da), "db": floats(db)})
    w = (torch.rand(7, 4, generator=gen) * 2 - 1).requires_grad_(True)
    indices = torch.tensor([3, 0, 3, 6, 1])
    logits = torch.matmul(torch.nn.functional.embedding(indices, w), w.t())
    dy = torch.sin(torch.arange(logits.numel(), dtype=torch.float32) * 0.29).reshape(logits.shape)
    (dw,) = torch.autograd.grad((logits * dy).sum(), w)
    tied = {"w": floats(w), "w_shape": list(w.shape), "indices": indices.tolist(), "z": floats(logits),
            "dy": floats(dy), "dw": floats(dw)}
    x = (torch.rand(2, 3, 4, generator=gen) * 2 - 1).requires_grad_(True)
    scores = torch.matmul(x, x.transpose(-1, -2))
    dy = torch.cos(torch.arange(scores.numel(), dtype=torch.float32) * 0.23).reshape(scores.shape)
    (dx,) = torch.autograd.grad((scores * dy).sum(), x)
    gram = {"x": floats(x), "x_shape": list(x.shape), "z": floats(scores), "dy": floats(dy), "dx": floats(dx)}
    return {"generator": GENERATOR, "torch": torch.__version__, "cases": cases, "tied": tied, "gram": gram}


def sequence():
    """What a language model does with token ids [N, T]: embedding gives [N, T, D]; the loss of logits
    [N, T, V] against next-token targets [N, T] is cross_entropy (and nll_loss of log_softmax) of the
    flattened rows, averaged over all N*T positions."""
    gen = torch.Generator().manual_seed(71)
    n, t, d, v = 2, 3, 4, 5
    w = (torch.rand(v, d, generator=gen) * 2 - 1).requires_grad_(True)
    ids = torch.tensor([[3, 0, 3], [4, 1, 3]])
    z = torch.nn.functional.embedding(ids, w)
    dy = torch.cos(torch.arange(z.numel(), dtype=torch.float32) * 0.37).reshape(z.shape)
    (dw,) = torch.autograd.grad((z * dy).sum(), w)
    embedding = {"w": floats(w), "w_shape": list(w.shape), "ids": ids.reshape(-1).tolist(),
                 "ids_shape": list(ids.shape), "z": floats(z), "dy": floats(dy), "dw": floats(dw)}
    x = ((torch.rand(n, t, v, generator=gen) * 2 - 1) * 3).requires_grad_(True)
    y = torch.tensor([[1, 4, 0], [2, 2, 3]])
    ce = torch.nn.functional.cross_entropy(x.reshape(-1, v), y.reshape(-1))
    (dce,) = torch.autograd.grad(ce, x)
    nll = torch.nn.functional.nll_loss(torch.nn.functional.log_softmax(x, dim=-1).reshape(-1, v), y.reshape(-1))
    (dnll,) = torch.autograd.grad(nll, x)
    loss = {"x": floats(x), "x_shape": list(x.shape), "targets": y.reshape(-1).tolist(),
            "cross_entropy": {"loss": float(ce), "dx": floats(dce)}, "nll": {"loss": float(nll), "dx": floats(dnll)}}
    return {"generator": GENERATOR, "torch": torch.__version__, "embedding": embedding, "loss": loss}


def write(name, obj):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)  # json writes floats with repr(): full precision
        f.write("\n")
    print("wrote", path)


def attention():
    """Scaled dot-product attention written out (torch 1.13 has no fused one):
    softmax(scale * q @ k^T masked causally, -1) @ v, scale 1/sqrt(D) unless given."""
    gen = torch.Generator().manual_seed(71)
    cases = []
    for name, q_shape, tk, dv, causal, scale in [
            ("plain_rank4", (2, 2, 5, 4), 5, 3, False, None),
            ("causal_rank4", (2, 2, 5, 4), 5, 3, True, None),
            ("causal_fewer_queries", (1, 2, 3, 6), 7, 4, True, None),
            ("batch1_rank3_scaled", (1, 4, 3), 6, 2, False, 0.5),
            ("causal_past_a_tile", (1, 20, 5), 20, 3, True, None),
            ("more_queries_than_keys", (2, 18, 5), 9, 7, False, None)]:
        d = q_shape[-1]
        k_shape = q_shape[:-2] + (tk, d)
        v_shape = q_shape[:-2] + (tk, dv)
        q = (torch.rand(*q_shape, generator=gen) * 2 - 1).requires_grad_(True)
        k = (torch.rand(*k_shape, generator=gen) * 2 - 1).requires_grad_(True)
        v = (torch.rand(*v_shape, generator=gen) * 2 - 1).requires_grad_(True)
        scores = (scale if scale is not None else d ** -0.5) * q @ k.transpose(-1, -2)
        if causal:
            tq = q_shape[-2]
            keep = torch.ones(tq, tk).tril(diagonal=tk - tq).bool()
            scores = scores.masked_fill(~keep, float("-inf"))
        z = scores.softmax(dim=-1) @ v
        dy = torch.cos(torch.arange(z.numel(), dtype=torch.float32) * 0.37).reshape(z.shape)
        dq, dk, dv_ = torch.autograd.grad((z * dy).sum(), [q, k, v])
        cases.append({"name": name, "causal": causal, "scale": scale or 0.0, "q_shape": list(q_shape),
                      "k_shape": list(k_shape), "v_shape": list(v_shape), "z_shape": list(z.shape), "q": floats(q),
                      "k": floats(k), "v": floats(v), "z": floats(z), "dy": floats(dy), "dq": floats(dq),
                      "dk": floats(dk), "dv": floats(dv_)})
    return {"generator": GENERATOR, "torch": torch.__version__, "cases": cases}


def main():
    torch.use_deterministic_algorithms(True)
    optimizers = {
        "generator": GENERATOR,
        "torch": torch.__version__,
        "params": {k: floats(v) for k, v in INIT.items()},
        "grads": [{k: floats(v) for k, v in g.items()} for g in GRADS],
        "cases": [run_case(*c) for c in CASES],
        "schedules": [run_schedule(*s) for s in SCHEDULES],
        "warmup_cosine": [run_warmup_cosine(h) for h in WARMUP_COSINE],
    }
    write("torch-optimizers.json", optimizers)
    write("torch-activations.json", activations())
    write("torch-losses.json", losses())
    write("torch-concat.json", concat())
    write("torch-reduce-slice.json", reduce_slice())
    write("torch-conv2d.json", conv2d())
    write("torch-pool2d.json", pool2d())
    write("torch-batch-norm.json", batch_norm())
    write("torch-cnn-blocks.json", cnn_blocks())
    write("torch-layer-norm.json", layer_norm())
    write("torch-softmax-nd.json", softmax_nd())
    write("torch-broadcast.json", broadcast())
    write("torch-matmul.json", matmul())
    write("torch-sequence.json", sequence())
    write("torch-attention.json", attention())


if __name__ == "__main__":
    main()
