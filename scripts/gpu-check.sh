#!/usr/bin/env bash
# The GPU host's check, run in the project root after `source .gpu/env.sh`:
# devices, native-check, the OpenCL test suites on the first GPU, parity, benchmarks,
# a short real training run on the GPU with its checkpoint evaluated on the CPU and by
# PyTorch (through Python's safetensors), and the PyTorch anchor on the same GPU.
# Carried along: cli/target/nodal-cli-*-all.jar (the library, the command line and Logback),
# target/test-classes and cli/target/test-classes, and in .gpu/ the JUnit console launcher
# (junit-console.jar), the anchor script, and data/ (Fashion-MNIST: 10,000 training images and
# the full test set). Writes logs to $OUT.
set -u
out=${OUT:-/tmp/nodal-gpu}
mkdir -p "$out"
jar=$(ls cli/target/nodal-cli-*-all.jar | head -n 1)
nodal() { NODAL_JAR="$jar" ./nodal "$@"; }   # ./nodal preloads libjsig (signal chaining)
run() { echo "### $*"; "$@"; echo "### exit $?"; }
{
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv 2>&1
  run nodal devices
  run nodal native-check
  run nodal parity --device auto --batch 128
} > "$out/native-check.txt" 2>&1
LD_PRELOAD="$JAVA_HOME/lib/libjsig.so" NODAL_REQUIRE_OPENCL=1 NODAL_TEST_DEVICE=auto timeout 240 java -jar .gpu/junit-console.jar execute \
  -cp "target/test-classes:cli/target/test-classes:$jar" --select-package dev.nodal.backend --disable-banner --details=summary \
  > "$out/tests.txt" 2>&1
echo "tests exit $?" >> "$out/tests.txt"
{
  run nodal train --device auto --data .gpu/data --out /tmp/gpu-run --epochs 3
  run nodal eval --checkpoint /tmp/gpu-run --device cpu --data .gpu/data
  run nodal eval --checkpoint /tmp/gpu-run --device auto --data .gpu/data
  cp /tmp/gpu-run/metrics.csv "$out/gpu-run-metrics.csv"
  run python3 scripts/safetensors_check.py "$out/python-written.safetensors" /tmp/gpu-run .gpu/data
} > "$out/train.txt" 2>&1
{
  for n in 1024 2048 4096; do run nodal bench gemm --size "$n" --device auto --repeats 10 --inner 5; done
  run nodal bench mlp --device auto --batch 256 --hidden 1024,1024 --repeats 10 --inner 20
  run nodal bench mlp --device auto --batch 1024 --hidden 4096,4096 --repeats 5 --inner 5
  run nodal bench mlp --device auto --batch 128 --hidden 256,128 --repeats 10 --inner 20
  run nodal bench gpt --device auto --repeats 10 --inner 5
  run timeout 120 python3 bench/torch_gpt.py step --device cuda
  run timeout 120 python3 .gpu/torch_gpu_anchor.py
} > "$out/bench.txt" 2>&1
grep -E "^  (PASS|FAIL)|fix:|first divergence|all nodes match" "$out/native-check.txt"
grep -E "tests (successful|failed|aborted|skipped)|tests exit" "$out/tests.txt"
grep -E "epoch|accuracy|fixture|tensors|###.*exit [1-9]" "$out/train.txt"
grep -vE "^###" "$out/bench.txt"
