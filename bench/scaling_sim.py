"""Step time and efficiency of synchronous data-parallel training, simulated from measurements.

Feeds measured per-step compute times into a model of the link, of the copy path and of the sum
Nodal uses (RingCollective: a ring all-reduce, reduce-scatter then all-gather, in buckets of
BucketedSum.BUCKET_FLOATS), with stragglers drawn from the measured spread of step times, and,
for Spark, the per-epoch costs measured on this machine.

Inputs, each measured on the 2-core AMD EPYC machine (AVX-512) of docs/SCALING.md:
- bench/scaling/*.json: `./nodal bench mlp --device cpu --batch B --repeats 200 --inner 1
  --json FILE` (and `--hidden 7000,7000 --repeats 40` for the large model), every step's time;
- COPY_BYTES_PER_S: the ring's bus bandwidth on loopback, `RingTiming 2 4194304` (median);
- SPARK_EPOCH_S: what a Spark epoch costs beyond its steps, from SparkTrainer's epoch lines.

Run:  python3 bench/scaling_sim.py      (no dependencies)
"""
import json
import pathlib

LINK_BYTES_PER_S = 1.25e9     # 10 GbE
LATENCY_S = 50e-6             # per message on a 10 GbE TCP hop
COPY_BYTES_PER_S = 1.20e9     # the ring's bus bandwidth on loopback, two ranks, 4M floats, median of 3 rounds
BUCKET_FLOATS = 1 << 20       # BucketedSum.BUCKET_FLOATS
SPARK_EPOCH_S = (0.15, 1.2)   # a Spark epoch beyond its steps (scheduling, barrier, ring, collect): low, high
SPARK_SAVE_S = 0.2            # the driver's test evaluation and checkpoint, each epoch
EXAMPLES = 60_000             # Fashion-MNIST's training set
GLOBAL_BATCH = 128
HERE = pathlib.Path(__file__).parent / "scaling"


def load():
    """{model name: (parameters, {batch: sorted step times in ms})} from the bench files."""
    models = {}
    for f in sorted(HERE.glob("*.json")):
        r = json.loads(f.read_text())[0]
        hidden = r["hidden"]
        widths = [784, *hidden, 10]
        params = sum(a * b + b for a, b in zip(widths, widths[1:]))
        name = "MLP " + "-".join(map(str, widths)) + f" ({params:,} parameters)"
        models.setdefault(name, (params, {}))[1][r["batch"]] = sorted(r["runs_ms"])
    return models


def median(runs):
    return runs[len(runs) // 2]


def slowest_of(runs, workers):
    """Expected maximum of `workers` independent draws from the measured step times."""
    n = len(runs)
    return sum(x * (((k + 1) / n) ** workers - (k / n) ** workers) for k, x in enumerate(runs))


def ring_sum_s(floats, workers):
    """Nodal's sum: per bucket, 2 (workers - 1) steps of a 1/workers share, each at the slower of
    the link and the copy path, plus one message's latency."""
    if workers == 1:
        return 0.0
    rate = min(LINK_BYTES_PER_S, COPY_BYTES_PER_S)
    total, left = 0.0, floats
    while left > 0:
        bucket = min(BUCKET_FLOATS, left)
        total += 2 * (workers - 1) * (LATENCY_S + 4 * bucket / workers / rate)
        left -= bucket
    return total


def runs_at(measured, batch):
    """The measured runs at this batch; below the smallest measured batch, the smallest's."""
    known = sorted(measured)
    return measured[max([b for b in known if b <= batch], default=known[0])]


for name, (params, measured) in load().items():
    one = median(measured[GLOBAL_BATCH])
    steps = EXAMPLES // GLOBAL_BATCH
    print(f"\n{name}: a global batch of {GLOBAL_BATCH} split over the workers; one worker "
          f"{one:.2f} ms per step (median)")
    print(f"{'workers':>7} {'slice':>5} {'compute':>8} {'slowest':>8} {'sum':>7} {'step':>8} {'speed-up':>8} "
          f"{'eff.':>5} {'no straggler':>12} {'overlapped':>10} {'Spark epoch s':>14}")
    for workers in (2, 8, 32):
        slice_ = max(1, GLOBAL_BATCH // workers)
        runs = runs_at(measured, slice_)
        compute, slowest = median(runs), slowest_of(runs, workers)
        comm = ring_sum_s(params, workers) * 1e3
        step = slowest + comm
        overlapped = max(slowest, comm)  # the best case: the whole sum behind backward
        spark = [steps * step / 1e3 + extra + SPARK_SAVE_S for extra in SPARK_EPOCH_S]
        print(f"{workers:>7} {slice_:>5} {compute:>8.2f} {slowest:>8.2f} {comm:>7.2f} {step:>8.2f} "
              f"{one / step:>7.2f}x {one / step / workers:>5.2f} {compute + comm:>12.2f} {overlapped:>10.2f} "
              f"{spark[0]:>7.1f}-{spark[1]:<6.1f}")
    print(f"(one worker, one process: {steps * one / 1e3:.1f} s of steps an epoch; on Spark, one task: "
          f"{steps * one / 1e3 + SPARK_EPOCH_S[0] + SPARK_SAVE_S:.1f}-{steps * one / 1e3 + SPARK_EPOCH_S[1] + SPARK_SAVE_S:.1f} s)")

    print(f"{name}: each worker keeps a batch of {GLOBAL_BATCH} (the global batch grows with the workers)")
    print(f"{'workers':>7} {'slowest':>8} {'step':>8} {'examples/s speed-up':>20} {'eff.':>5} {'overlapped':>10}")
    for workers in (2, 8, 32):
        slowest = slowest_of(measured[GLOBAL_BATCH], workers)
        comm = ring_sum_s(params, workers) * 1e3
        step = slowest + comm
        print(f"{workers:>7} {slowest:>8.2f} {step:>8.2f} {workers * one / step:>19.2f}x {one / step:>5.2f} "
              f"{workers * one / max(slowest, comm):>9.2f}x")
