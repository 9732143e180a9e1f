#!/usr/bin/env bash
# Builds what tools/gpu/check.sh runs on the GPU machine — the CUDA-enabled CLI, test and
# benchmark binaries for sm_90 — into .gpu-carry/ (ignored by git; pass it to the device tool's
# `carry`), with the test data and the shared libraries the GPU machine's image lacks, plus
# llama.cpp's llama-quantize (to make a Q4_K_M model there) when bench/peer has built it.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-/tmp/build-cuda}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNICORN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target unicorn unicorn_backend_tests unicorn_models_tests \
  unicorn_cuda_matvec_bench make_random_gemma3n
grep -qx '/.gpu-carry/' .git/info/exclude || echo '/.gpu-carry/' >> .git/info/exclude
rm -rf .gpu-carry/bin .gpu-carry/lib
mkdir -p .gpu-carry/bin .gpu-carry/lib
cp "$BUILD/tools/unicorn/unicorn" "$BUILD/tests/unicorn_backend_tests" \
  "$BUILD/tests/unicorn_models_tests" "$BUILD/bench/unicorn_cuda_matvec_bench" \
  "$BUILD/bench/make_random_gemma3n" .gpu-carry/bin/
PEER=${UNICORN_CACHE:-$HOME/.cache/unicorn}/peer/bin
[ -x "$PEER/llama-quantize" ] && cp "$PEER/llama-quantize" .gpu-carry/bin/
strip .gpu-carry/bin/*
# Non-system shared libraries the binaries use (fmt, OpenMP for llama-quantize).
for lib in $(ldd .gpu-carry/bin/* 2>/dev/null | awk '/=> \// {print $3}' | sort -u |
             grep -E 'fmt|gtest|gmock|gomp'); do
  cp -L "$lib" .gpu-carry/lib/
done
du -sh .gpu-carry
