#!/usr/bin/env bash
# The GPU host's check, run in the project root after `source .gpu/env.sh`:
# devices, native-check, the OpenCL test suites on the first GPU, benchmarks, and the
# PyTorch anchor on the same GPU. Needs: target/nodal-*-all.jar, target/test-classes and
# .gpu/junit-console.jar (the JUnit console launcher) carried along. Writes logs to $OUT.
set -u
out=${OUT:-/tmp/nodal-gpu}
mkdir -p "$out"
jar=$(ls target/nodal-*-all.jar | head -n 1)
run() { echo "### $*"; "$@"; echo "### exit $?"; }
{
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv 2>&1
  run java -jar "$jar" devices
  run java -jar "$jar" native-check
} > "$out/native-check.txt" 2>&1
NODAL_REQUIRE_OPENCL=1 NODAL_TEST_DEVICE=auto timeout 240 java -jar .gpu/junit-console.jar execute \
  -cp "target/test-classes:$jar" --select-package dev.nodal.backend --disable-banner --details=summary \
  > "$out/tests.txt" 2>&1
echo "tests exit $?" >> "$out/tests.txt"
{
  for n in 1024 2048 4096; do run java -jar "$jar" bench gemm --size "$n" --device auto --repeats 10 --inner 5; done
  run java -jar "$jar" bench mlp --device auto --batch 256 --hidden 1024,1024 --repeats 10 --inner 20
  run java -jar "$jar" bench mlp --device auto --batch 1024 --hidden 4096,4096 --repeats 5 --inner 5
  run java -jar "$jar" bench mlp --device auto --batch 128 --hidden 256,128 --repeats 10 --inner 20
  run timeout 120 python3 .gpu/torch_gpu_anchor.py
} > "$out/bench.txt" 2>&1
grep -E "^  (PASS|FAIL)|fix:" "$out/native-check.txt"
grep -E "tests (successful|failed|aborted|skipped)|tests exit|MethodSource|=>" "$out/tests.txt" | head -40
grep -vE "^###" "$out/bench.txt"
