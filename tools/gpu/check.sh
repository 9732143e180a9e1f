#!/usr/bin/env bash
# The GPU machine's one command (run from the repository root there, with .gpu-carry carried):
# the CUDA kernel and model tests, the matvec bandwidth benchmark, and `unicorn bench` on a
# random-weight Gemma 3n E2B-shape Q4_K_M model made there, on the GPU and on its CPU. Logs and
# tables go to $OUT (or ./gpu-out). Binaries come from tools/gpu/build.sh (built on the
# development machine: the GPU machine has no Debian packages such as fmt or GoogleTest).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
B=.gpu-carry/bin
export LD_LIBRARY_PATH=$PWD/.gpu-carry/lib:${LD_LIBRARY_PATH:-}
export UNICORN_TEST_DATA=$PWD/tests/data
SHAPES=${SHAPES:-/tmp/shapes}
{
  echo "== nvidia-smi"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  echo "== unicorn devices"; "$B/unicorn" devices
  echo "== CUDA kernel tests"
  "$B/unicorn_backend_tests" --gtest_filter='CudaKernel*' --gtest_brief=1
  echo "== CUDA model tests (transformers goldens on the GPU)"
  "$B/unicorn_models_tests" --gtest_filter='*CudaModel*' --gtest_brief=1 \
    --gtest_output="xml:$OUT/cuda_models.xml"
  echo "== matvec bandwidth"
  "$B/unicorn_cuda_matvec_bench"
  if [ "${SKIP_MODEL_BENCH:-0}" != 1 ] && [ -x "$B/llama-quantize" ]; then
    echo "== Gemma 3n E2B shape, Q4_K_M, unicorn bench"
    mkdir -p "$SHAPES"
    [ -f "$SHAPES/e2b-bf16.gguf" ] || "$B/make_random_gemma3n" --variant E2B --type BF16 \
      --tokenizer-from none -o "$SHAPES/e2b-bf16.gguf" 2>&1 | tail -1
    [ -f "$SHAPES/e2b-q4km.gguf" ] || "$B/llama-quantize" "$SHAPES/e2b-bf16.gguf" \
      "$SHAPES/e2b-q4km.gguf" Q4_K_M "$(nproc)" > "$OUT/quantize.log" 2>&1
    "$B/unicorn" bench -m "$SHAPES/e2b-q4km.gguf" --device cuda -p 512 -n 128 -r 3
    "$B/unicorn" bench -m "$SHAPES/e2b-q4km.gguf" --device cpu -p 512 -n 128 -r 1 -t "$(nproc)"
  fi
} 2>&1 | tee "$OUT/check.log"
