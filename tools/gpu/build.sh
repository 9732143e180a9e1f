#!/usr/bin/env bash
# Builds what tools/gpu/check.sh runs on the GPU machine — the CUDA-enabled CLI, test and
# benchmark binaries for sm_90 — and packs them into .gpu-carry/pack.tar.xz (ignored by git;
# pass .gpu-carry to the device tool's `carry`) with the shared libraries the GPU machine's
# image lacks, llama.cpp's llama-quantize (to make Q4_K_M models there) and its CUDA
# and Vulkan llama-bench when bench/peer has built them (build-llama-cpp, --cuda, --vulkan), and the
# header of the Gemma 3 270M GGUF (check.sh makes a random-weight copy from it: the real file is
# too large to carry).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-/tmp/build-cuda}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNICORN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target unicorn unicorn_backend_tests unicorn_models_tests \
  unicorn_cuda_matvec_bench unicorn_cuda_gemm_bench make_random_gemma3n make_random_like
EXCLUDE="$(git rev-parse --git-common-dir)/info/exclude"  # a worktree's .git is a file
grep -qx '/.gpu-carry/' "$EXCLUDE" || echo '/.gpu-carry/' >> "$EXCLUDE"
C=.gpu-carry
rm -rf $C/bin $C/lib $C/pack.tar.xz $C/gemma3-270m.header
mkdir -p $C/bin $C/lib
cp "$BUILD/tools/unicorn/unicorn" "$BUILD/tests/unicorn_backend_tests" \
  "$BUILD/tests/unicorn_models_tests" "$BUILD/bench/unicorn_cuda_matvec_bench" \
  "$BUILD/bench/unicorn_cuda_gemm_bench" "$BUILD/bench/make_random_gemma3n" \
  "$BUILD/bench/make_random_like" $C/bin/
PEER=${UNICORN_CACHE:-$HOME/.cache/unicorn}/peer
[ -x "$PEER/bin/llama-quantize" ] && cp "$PEER/bin/llama-quantize" $C/bin/
[ -x "$PEER/bin-cuda/llama-bench" ] && cp "$PEER/bin-cuda/llama-bench" $C/bin/
[ -x "$PEER/bin-cuda/llama-server" ] && cp "$PEER/bin-cuda/llama-server" $C/bin/
[ -x "$PEER/bin-vulkan/llama-bench" ] && cp "$PEER/bin-vulkan/llama-bench" $C/bin/llama-bench-vulkan
strip $C/bin/*
# The host sampling profiler (check.sh PROFILE=1); symbolize against $BUILD's unstripped binaries.
gcc -O2 -shared -fPIC -o $C/lib/libsprof.so tools/gpu/sampling_profiler.c
# Non-system shared libraries the binaries use (fmt, OpenMP for llama-quantize).
for lib in $(ldd $C/bin/* 2>/dev/null | awk '/=> \// {print $3}' | sort -u |
             grep -E 'fmt|gtest|gmock|gomp|httplib|vulkan'); do
  cp -L "$lib" $C/lib/
done
G270=${UNICORN_CACHE:-$HOME/.cache/unicorn}/models/gemma-3-270m-Q4_K_M.gguf
if [ -f "$G270" ]; then
  $C/bin/make_random_like --header-out $C/gemma3-270m.header "$G270" >/dev/null
fi
XZ_OPT="-9 -T2" tar -C $C -cJf $C/pack.tar.xz bin lib $([ -f $C/gemma3-270m.header ] && echo gemma3-270m.header)
rm -rf $C/bin $C/lib $C/gemma3-270m.header $C/llama-convert $C/run_fixtures.sh
du -sh $C/*
