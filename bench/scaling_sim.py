"""Step time and efficiency of synchronous data-parallel training, simulated from measurements.

Feeds measured per-step compute times (one worker, at the batch slice each worker would get) and
a link model into the collective Nodal uses (RingCollective: a sum passed down the chain of
ranks, then around the ring, pipelined in chunks of 32,768 floats), beside a textbook ring
all-reduce (reduce-scatter plus all-gather) for comparison. Nothing overlaps compute and
communication, as in Nodal today.

Run:  python3 bench/scaling_sim.py      (no dependencies; edit MEASURED to feed other figures)
"""

CHUNK_FLOATS = 32768          # RingCollective.CHUNK
LINK_BYTES_PER_S = 1.25e9     # 10 GbE
LATENCY_S = 50e-6             # per message on a 10 GbE TCP hop

# Medians measured with `./nodal bench mlp --device cpu --batch B [--hidden 7000,7000]` on the
# 2-core AMD EPYC machine of docs/PERFORMANCE.md, 2026-11-27: milliseconds per training step by
# batch size.
MEASURED = {
    "default MLP 784-256-128-10 (235,146 parameters)": (235_146, {128: 1.910, 64: 0.983, 16: 0.340, 4: 0.445}),
    "MLP 784-7000-7000-10 (54.6 million parameters)": (54_573_010, {128: 186.635, 64: 142.178, 16: 113.126, 4: 102.080}),
}
GLOBAL_BATCH = 128


def chain_then_ring(floats, ranks):
    """Nodal's sum: two pipelined passes, each streaming the data over a link once, after the
    pipeline fills (one latency and one chunk per hop beyond the first)."""
    if ranks == 1:
        return 0.0
    chunk = LATENCY_S + 4 * min(floats, CHUNK_FLOATS) / LINK_BYTES_PER_S
    return 2 * (4 * floats / LINK_BYTES_PER_S + LATENCY_S + (ranks - 2) * chunk)


def ring_allreduce(floats, ranks):
    """Reduce-scatter then all-gather: 2 (ranks - 1) steps of a 1/ranks share."""
    if ranks == 1:
        return 0.0
    return 2 * (ranks - 1) * (LATENCY_S + 4 * floats / ranks / LINK_BYTES_PER_S)


def compute_ms(measured, batch):
    """The measured step time at this batch; below the smallest measured batch, the smallest's."""
    known = sorted(measured)
    if batch in measured:
        return measured[batch]
    if batch < known[0]:
        return measured[known[0]]
    lo = max(b for b in known if b <= batch)
    hi = min(b for b in known if b >= batch)
    return measured[lo] + (measured[hi] - measured[lo]) * (batch - lo) / (hi - lo)


for name, (floats, measured) in MEASURED.items():
    one = compute_ms(measured, GLOBAL_BATCH)
    print(f"\n{name}: the same global batch of {GLOBAL_BATCH} split over the workers; one worker {one:.2f} ms per step")
    print(f"{'workers':>7} {'slice':>5} {'compute ms':>10} {'sum ms':>8} {'step ms':>8} {'speed-up':>8} "
          f"{'efficiency':>10} {'(ring all-reduce: step ms, efficiency)':>40}")
    for ranks in (2, 8, 32):
        slice_ = max(1, GLOBAL_BATCH // ranks)
        compute = compute_ms(measured, slice_)
        comm = chain_then_ring(floats, ranks) * 1e3
        step = compute + comm
        ring_step = compute + ring_allreduce(floats, ranks) * 1e3
        print(f"{ranks:>7} {slice_:>5} {compute:>10.2f} {comm:>8.2f} {step:>8.2f} {one / step:>7.2f}x "
              f"{one / step / ranks:>10.2f} {ring_step:>28.2f} ms, {one / ring_step / ranks:.2f}")

    print(f"\n{name}: each worker keeps a batch of {GLOBAL_BATCH} (the global batch grows with the workers)")
    print(f"{'workers':>7} {'step ms':>8} {'examples/s speed-up':>20} {'efficiency':>10} {'(ring all-reduce: speed-up, efficiency)':>42}")
    for ranks in (2, 8, 32):
        step = one + chain_then_ring(floats, ranks) * 1e3
        ring_step = one + ring_allreduce(floats, ranks) * 1e3
        print(f"{ranks:>7} {step:>8.2f} {ranks * one / step:>19.2f}x {one / step:>10.2f} "
              f"{ranks * one / ring_step:>32.2f}x, {one / ring_step:.2f}")
