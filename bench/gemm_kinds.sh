#!/usr/bin/env bash
# SGEMM on each kind of CPU one x86 machine can stand in for, alternating with PyTorch's OpenBLAS:
# AVX-512 (as the JVM finds it), AVX2 (-XX:UseAVX=2 against OPENBLAS_CORETYPE=Haswell) and
# 128-bit vectors (-XX:MaxVectorSize=16, Nodal only). On a machine without AVX-512 the first row
# is AVX2 as well: say so rather than report it as AVX-512.
# Usage: bench/gemm_kinds.sh [rounds] [sizes...]   (default 3 rounds of 256 1024 2048)
# Put Debian's libopenblas0-pthread first on LD_LIBRARY_PATH when PyTorch would load another BLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
sizes=${*:-"256 1024 2048"}
nodal() { NODAL_JAVA_OPTS="$1" ./nodal bench gemm --size "$2" 2>&1 | grep "gemm cpu" | sed 's/ per op.*//;s/gemm cpu: //'; }
torch() { OPENBLAS_CORETYPE=$1 /usr/bin/python3 bench/torch_gemm.py "$2" 2>&1 | tail -1 | sed 's/ per op.*//;s/torch sgemm [0-9]*: //'; }
for r in $(seq "$rounds"); do
  for n in $sizes; do
    echo "round $r, N=$n, default (AVX-512 where present): nodal $(nodal "" "$n") | OpenBLAS SkylakeX $(torch SkylakeX "$n")"
    echo "round $r, N=$n, AVX2:                          nodal $(nodal "-XX:UseAVX=2" "$n") | OpenBLAS Haswell $(torch Haswell "$n")"
    echo "round $r, N=$n, 128-bit:                       nodal $(nodal "-XX:UseAVX=2 -XX:MaxVectorSize=16" "$n")"
  done
done
