#!/usr/bin/env bash
# The GPU machine's one command: CUDA kernel tests and the matvec bandwidth benchmark, results
# in $OUT (or ./gpu-out). The binaries are built here on the development machine
# (tools/gpu/build.sh, nvcc 13, sm_90) and carried in .gpu-carry/ because the GPU machine has
# no Debian packages (fmt, GoogleTest); if they do not start there, this says so.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
B=.gpu-carry/bin
export LD_LIBRARY_PATH=$PWD/.gpu-carry/lib:${LD_LIBRARY_PATH:-}
{
  echo "== nvidia-smi"; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv
  echo "== unicorn devices"; "$B/unicorn" devices
  echo "== CUDA kernel tests"
  "$B/unicorn_backend_tests" --gtest_filter='CudaKernel*' --gtest_output="xml:$OUT/cuda_tests.xml"
  echo "tests exit code: $?"
  echo "== CPU-only tests still pass with the CUDA build"
  "$B/unicorn_backend_tests" --gtest_brief=1 | tail -3
  echo "== matvec bandwidth"
  "$B/unicorn_cuda_matvec_bench"
  nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv
} 2>&1 | tee "$OUT/check.log"
