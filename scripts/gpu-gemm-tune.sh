#!/usr/bin/env bash
# Tries tile configurations of gemm.cl on the GPU host (after `source .gpu/env.sh`): for each,
# the dense and matmul parity tests (sizes 1-257) and the gemm and MLP benchmarks.
# Carried along as for scripts/gpu-check.sh. Writes $OUT/gemm-tune.txt; prints a summary.
# Usage: scripts/gpu-gemm-tune.sh [tileM,tileN,tileK,wptM,wptN ...] (default: six shapes)
set -u
out=${OUT:-/tmp/nodal-gpu}
mkdir -p "$out"
jar=$(ls cli/target/nodal-cli-*-all.jar | head -n 1)
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=("64,64,16,4,4" "128,128,16,8,8" "128,128,8,8,8" "128,64,16,8,4" "64,128,16,4,8" "128,128,32,8,8")
for cfg in "${configs[@]}"; do
  echo "=== NODAL_GEMM=$cfg"
  NODAL_GEMM=$cfg NODAL_REQUIRE_OPENCL=1 NODAL_TEST_DEVICE=auto timeout 120 java -jar .gpu/junit-console.jar execute \
    -cp "target/test-classes:$jar" --select-method 'dev.nodal.backend.OpParityTest#dense(int, int, int)' \
    --select-method 'dev.nodal.backend.OpParityTest#matmul(int, int, int)' --disable-banner --details=summary 2>&1 \
    | grep -E "tests (successful|failed)"
  for n in 1024 4096; do
    NODAL_GEMM=$cfg java -jar "$jar" bench gemm --size $n --device auto --repeats 10 --inner 5 2>&1 | grep -v INFO
  done
  NODAL_GEMM=$cfg java -jar "$jar" bench mlp --device auto --batch 256 --hidden 1024,1024 --repeats 10 --inner 20 2>&1 | grep -v INFO
  NODAL_GEMM=$cfg java -jar "$jar" bench mlp --device auto --batch 128 --hidden 256,128 --repeats 10 --inner 20 2>&1 | grep -v INFO
done > "$out/gemm-tune.txt" 2>&1
sed -E 's/opencl:1:0 NVIDIA H100 80GB HBM3: //; s/; median ratio.*//' "$out/gemm-tune.txt"
