"""PyTorch's SGEMM timed as `nodal bench gemm` times Nodal's: N x N x N products, `repeats` timed
runs of `inner` products each after one warm-up run, minimum and median per product.

Run: OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_gemm.py [size] [repeats] [inner] [threads]
(the core type where /proc/cpuinfo shows avx512f: OpenBLAS misdetects these virtual CPUs).
"""
import statistics, sys, time
import torch

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
inner = int(sys.argv[3]) if len(sys.argv) > 3 else 5
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
a, b = torch.randn(n, n), torch.randn(n, n)
times = []
for r in range(repeats + 1):
    t = time.perf_counter()
    for _ in range(inner):
        a @ b
    if r > 0:
        times.append((time.perf_counter() - t) / inner)
lo, med = min(times), statistics.median(times)
print(f"torch sgemm {n}: min {lo * 1e3:.3f} ms, median {med * 1e3:.3f} ms per op "
      f"({2 * n ** 3 / lo / 1e9:.1f} GFLOP/s at min), {torch.get_num_threads()} threads, torch {torch.__version__}")
