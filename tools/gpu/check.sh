#!/usr/bin/env bash
# The GPU machine's one command (run from the repository root there, with .gpu-carry carried):
# the CUDA kernel and model tests, the matvec/GEMM benchmarks, then `unicorn bench` against
# llama.cpp's CUDA build (llama-bench, built from source by bench/peer/build-llama-cpp --cuda)
# on the same GGUF files: Gemma 3n E2B- and E4B-shape Q4_K_M made there from random weights,
# and Gemma 3 270M Q4_K_M — the real file when it was carried, else a random-weight copy with
# the same tensors made there from the real file's header (.gpu-carry/gemma3-270m.header).
# Logs and tables go to $OUT (or ./gpu-out). Binaries come from tools/gpu/build.sh (built on
# the development machine: the GPU machine has no Debian packages such as fmt or GoogleTest).
#
# Environment: SKIP_KERNEL_BENCH=1 (no matvec/GEMM benchmarks),
# SKIP_MODEL_BENCH=1 (tests and kernel benchmarks only), SKIP_TESTS=1 (model
# benchmarks only), MODELS="g270 e2b e4b" (which model benchmarks), REPS (default 3),
# SERVE=1 (the server throughput table: bench/serve-throughput at 1, 4, 16 and 64 streams on the
# E2B-shape Q4_K_M, unicorn serve --device cuda and llama.cpp's CUDA llama-server side by side),
# DEVICES="cuda vulkan" (which backends: Vulkan runs its op and model tests on the GPU through
# NVIDIA's Vulkan driver and benchmarks against llama.cpp's Vulkan build, llama-bench-vulkan,
# when it was carried), BENCH_DEVICES (which of them the model benchmarks run on; DEVICES),
# PROFILE=1 (after each pair, a decode-only run under the host sampling profiler —
# tools/gpu/sampling_profiler.c; report with tools/gpu/sprof_report.py on the build machine — and
# under nsys when the machine has it).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
C=.gpu-carry
# build.sh packs the binaries (xz) to stay under the device tool's transfer limit.
[ -f $C/pack.tar.xz ] && { rm -rf $C/bin $C/lib $C/gemma3-270m.header; tar -C $C -xJf $C/pack.tar.xz; }
B=$C/bin
export LD_LIBRARY_PATH=$PWD/$C/lib:${LD_LIBRARY_PATH:-}
# cuBLAS (and llama-bench's cudart/NCCL): the toolkit's, then what PyTorch's wheels bring.
for d in /usr/local/cuda/lib64 \
  $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, "*/lib") for p in nvidia.__path__))' 2>/dev/null); do
  for dd in $d; do [ -d "$dd" ] && LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$dd; done
done
export LD_LIBRARY_PATH
export UNICORN_TEST_DATA=$PWD/tests/data
SHAPES=${SHAPES:-/tmp/shapes}
REPS=${REPS:-3}
MODELS=${MODELS:-g270 e2b e4b}
DEVICES=${DEVICES:-cuda}
BENCH_DEVICES=${BENCH_DEVICES:-$DEVICES}
has_device() { case " $DEVICES " in *" $1 "*) return 0 ;; esac; return 1; }
benches_on() { case " $BENCH_DEVICES " in *" $1 "*) return 0 ;; esac; return 1; }

# NVIDIA's Vulkan driver: the installed manifest (icd.d/nvidia_icd.json) names libGLX_nvidia.so.0,
# whose vkCreateInstance fails in a headless container ("Could not get 'vkCreateInstance' via
# 'vk_icdGetInstanceProcAddr'"; the H200 machine has no /dev/nvidia-modeset). libEGL_nvidia.so.0
# exports the same ICD entry points and works there, so point the loader at it when needed.
vulkan_ok() { "$B/unicorn" devices 2>/dev/null | grep -q '^vulkan:0'; }
setup_vulkan() {
  if vulkan_ok; then echo "Vulkan: the installed driver manifest works"; return 0; fi
  local lib
  for lib in libEGL_nvidia.so.0 libGLX_nvidia.so.0; do
    ldconfig -p 2>/dev/null | grep -q "$lib" || continue
    printf '{"file_format_version":"1.0.1","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' \
      "$lib" > /tmp/unicorn_nvidia_icd.json
    export VK_ICD_FILENAMES=/tmp/unicorn_nvidia_icd.json VK_DRIVER_FILES=/tmp/unicorn_nvidia_icd.json
    if vulkan_ok; then echo "Vulkan: using $lib as the driver (/tmp/unicorn_nvidia_icd.json)"; return 0; fi
  done
  unset VK_ICD_FILENAMES VK_DRIVER_FILES
  echo "Vulkan: no working driver; NVIDIA libraries here:"
  ldconfig -p 2>/dev/null | grep -i nvidia | awk '{print "  " $1}' | sort -u | head -n 40
  VK_LOADER_DEBUG=error "$B/unicorn" devices 2>&1 | grep -i error | head -n 5
  return 1
}

vulkan_bench_pair() {  # name gguf: unicorn --device vulkan and llama.cpp's Vulkan build
  local name=$1 gguf=$2
  echo "== $name: unicorn bench --device vulkan"
  "$B/unicorn" bench -m "$gguf" --device vulkan -p 512 -n 128 -r "$REPS" 2>&1 | tee "$OUT/vk-bench-$name-unicorn.md"
  if [ -x "$B/llama-bench-vulkan" ]; then
    echo "== $name: llama-bench (Vulkan, -ngl 99)"
    "$B/llama-bench-vulkan" -m "$gguf" -ngl 99 -p 512 -n 128 -r "$REPS" -o md 2>&1 |
      grep -v '^ggml_vulkan: [0-9] = ' | tee "$OUT/vk-bench-$name-llama.md"
  fi
}

bench_pair() {  # name gguf: unicorn (cuda) and llama.cpp (CUDA, all layers on the GPU)
  local name=$1 gguf=$2
  echo "== $name: unicorn bench --device cuda"
  "$B/unicorn" bench -m "$gguf" --device cuda -p 512 -n 128 -r "$REPS" 2>&1 | tee "$OUT/bench-$name-unicorn.md"
  if [ -x "$B/llama-bench" ]; then
    echo "== $name: llama-bench (CUDA, -ngl 99)"
    "$B/llama-bench" -m "$gguf" -ngl 99 -p 512 -n 128 -r "$REPS" -o md 2>&1 |
      grep -v '^ggml_cuda_init\|^  Device' | tee "$OUT/bench-$name-llama.md"
  fi
  [ "${PROFILE:-0}" = 1 ] || return 0
  echo "== $name: launches by kernel (prefill 16 + decode 32 tokens, once, after a warm-up)"
  UNICORN_CUDA_GRAPH_DEBUG=1 "$B/unicorn" bench -m "$gguf" --device cuda -p 16 -n 32 -r 1 2>&1 |
    sed -n '/launches by kernel/,$p'
  echo "== $name: decode under the sampling profiler"
  SPROF_OUT="$OUT/sprof-$name.txt" LD_PRELOAD=$PWD/$C/lib/libsprof.so \
    "$B/unicorn" bench -m "$gguf" --device cuda -p 0 -n 256 -r 2 2>&1 | tail -4
  tar -C "$OUT" -czf "$OUT/sprof-$name.tgz" "sprof-$name.txt" "sprof-$name.txt.maps" &&
    rm -f "$OUT/sprof-$name.txt" "$OUT/sprof-$name.txt.maps"
  if command -v ncu >/dev/null; then
    echo "== $name: GPU time by kernel (ncu, kernels of the first decode steps, graph nodes one by one)"
    ncu --graph-profiling node --metrics gpu__time_duration.sum --csv --launch-count "${NCU_LAUNCHES:-3000}" \
      "$B/unicorn" bench -m "$gguf" --device cuda -p 0 -n 4 -r 1 > "/tmp/ncu-$name.csv" 2>/dev/null
    python3 tools/gpu/ncu_summary.py "/tmp/ncu-$name.csv" 2>&1 | tee "$OUT/ncu-$name.txt" | head -30
  fi
  if command -v nsys >/dev/null; then
    echo "== $name: nsys (GPU time by kernel, graphs traced by node)"
    nsys profile -o "/tmp/nsys-$name" --force-overwrite true -t cuda --cuda-graph-trace=node \
      "$B/unicorn" bench -m "$gguf" --device cuda -p 0 -n 128 -r 1 >/dev/null 2>&1
    nsys stats -r cuda_gpu_kern_sum,cuda_api_sum -f csv -o "$OUT/nsys-$name" "/tmp/nsys-$name.nsys-rep" >/dev/null 2>&1
    ls "$OUT" | grep nsys || echo "nsys stats produced nothing"
  fi
}

bench_devices() {
  if benches_on cuda; then bench_pair "$@"; fi
  if benches_on vulkan && [ "$VK_OK" = 1 ]; then vulkan_bench_pair "$@"; fi
}

{
  echo "== nvidia-smi"; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  echo "== unicorn devices"; "$B/unicorn" devices
  echo "== profilers here: $(for t in nsys ncu perf gdb; do command -v $t >/dev/null && echo -n "$t "; done)"
  VK_OK=0
  if has_device vulkan && setup_vulkan; then
    VK_OK=1
    echo "== unicorn devices (Vulkan loader set up)"; "$B/unicorn" devices
    if [ "${SKIP_TESTS:-0}" != 1 ]; then
      echo "== Vulkan op tests"
      "$B/unicorn_backend_tests" --gtest_filter='Vulkan*' --gtest_brief=1
      echo "== Vulkan model tests (transformers goldens and greedy vs the CPU)"
      "$B/unicorn_models_tests" --gtest_filter='*Vulkan*:*DeviceFallback*vulkan*' --gtest_brief=1 \
        --gtest_output="xml:$OUT/vulkan_models.xml"
      echo "== same, shared-memory reductions instead of subgroup operations"
      UNICORN_VULKAN_SUBGROUPS=0 "$B/unicorn_models_tests" --gtest_filter='*Vulkan*' --gtest_brief=1
    fi
  fi
  if has_device cuda && [ "${SKIP_TESTS:-0}" != 1 ]; then
    echo "== CUDA kernel tests"
    "$B/unicorn_backend_tests" --gtest_filter='Cuda*' --gtest_brief=1
    echo "== CUDA model tests (transformers goldens on the GPU)"
    "$B/unicorn_models_tests" --gtest_filter='*CudaModel*:*DeviceFallback*cuda*' --gtest_brief=1 \
      --gtest_output="xml:$OUT/cuda_models.xml"
    if [ "${SKIP_KERNEL_BENCH:-0}" != 1 ]; then
      echo "== matvec bandwidth"
      "$B/unicorn_cuda_matvec_bench"
      [ -x "$B/unicorn_cuda_gemm_bench" ] && { echo "== GEMM (prefill)"; "$B/unicorn_cuda_gemm_bench"; }
    fi
  fi
  if [ "${SKIP_MODEL_BENCH:-0}" != 1 ]; then
    mkdir -p "$SHAPES"
    G270=$C/gemma-3-270m-Q4_K_M.gguf
    if [ ! -f "$G270" ] && [ -f $C/gemma3-270m.header ]; then
      G270=$SHAPES/gemma3-270m-random.gguf
      [ -f "$G270" ] || "$B/make_random_like" -o "$G270" $C/gemma3-270m.header
    fi
    case " $MODELS " in *" g270 "*) [ -f "$G270" ] && bench_devices gemma3-270m-q4km "$G270" ;; esac
    for v in E2B E4B; do
      lc=$(echo $v | tr A-Z a-z)
      case " $MODELS " in *" $lc "*) ;; *) continue ;; esac
      # llama.cpp loads a model only with its tokenizer: take Gemma's from the 270M copy.
      TOK=none
      [ -f "$SHAPES/gemma3-270m-random.gguf" ] && TOK=$SHAPES/gemma3-270m-random.gguf
      [ -f "$SHAPES/$lc-q4km.gguf" ] || {
        "$B/make_random_gemma3n" --variant $v --type BF16 --tokenizer-from "$TOK" \
          -o "$SHAPES/$lc-bf16.gguf" 2>&1 | tail -1
        "$B/llama-quantize" "$SHAPES/$lc-bf16.gguf" "$SHAPES/$lc-q4km.gguf" Q4_K_M "$(nproc)" \
          > "$OUT/quantize-$lc.log" 2>&1
        rm -f "$SHAPES/$lc-bf16.gguf"
      }
      bench_devices "gemma3n-$lc-shape-q4km" "$SHAPES/$lc-q4km.gguf"
    done
  fi
  if [ "${SERVE:-0}" = 1 ] && [ -f "$SHAPES/e2b-q4km.gguf" ]; then
    ST=(python3 bench/serve-throughput -m "$SHAPES/e2b-q4km.gguf" --device cuda --parallel 64
        --streams "${STREAMS:-1,4,16,64}" -n 64 --seconds "${SERVE_SECONDS:-15}" -t 8)
    echo "== server throughput, E2B shape Q4_K_M: unicorn serve --device cuda"
    "${ST[@]}" --unicorn "$B/unicorn" 2>&1 | tee "$OUT/serve-e2b-unicorn.md"
    if [ -x "$B/llama-server" ]; then
      echo "== server throughput, E2B shape Q4_K_M: llama-server -ngl 99 (CUDA)"
      "${ST[@]}" --llama-server "$B/llama-server" 2>&1 | tee "$OUT/serve-e2b-llama.md"
    fi
  fi
} 2>&1 | tee "$OUT/check.log"
