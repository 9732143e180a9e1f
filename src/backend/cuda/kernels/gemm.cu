// Prefill GEMM on cuBLAS (gemm.h). Weights are row-major [N, K] and activations row-major
// [T, K]; cuBLAS is column-major. Read as column-major, the bytes of
//   W (row-major N×K, row stride ldw)  are  Wc = Wᵀ, K×N with ld = ldw,
//   x (row-major T×K, row stride ldx)  are  Xc = xᵀ, K×T with ld = ldx,
//   y (row-major T×N, row stride ldy)  are  Yc = yᵀ, N×T with ld = ldy.
// y = x·Wᵀ ⇔ yᵀ = W·xᵀ ⇔ Yc = Wcᵀ·Xc: cublasGemmEx(transa = T, transb = N, m = N, n = T, k = K,
// A = W, lda = ldw, B = x, ldb = ldx, C = y, ldc = ldy), the "TN" layout, the tensor-core GEMMs'
// preferred one. A tile of W's rows [n0, n0 + nt) is C's rows [n0, n0 + nt): C = y + n0, same ldc.
//
// Non-F32 weights are dequantized tile by tile into a contiguous F32 scratch (ld = K) with
// dequant.cuh's Quad<T>, matvec's and embedding's decoders, so the block layouts live in one place.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <string>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/dequant.cuh"
#include "backend/cuda/kernels/gemm.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace unicorn::cuda {
namespace {

using dequant::Quad;

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

Status cublas_status(cublasStatus_t s, const char* what) {
    if (s == CUBLAS_STATUS_SUCCESS) return ok_status();
    std::string msg = std::string("cuBLAS: ") + what + " failed: " + cublasGetStatusString(s) +
                      " (" + cublasGetStatusName(s) + ")";
    switch (s) {
        case CUBLAS_STATUS_ALLOC_FAILED:
            return resource_exhausted(std::move(msg));
        case CUBLAS_STATUS_NOT_SUPPORTED:
        case CUBLAS_STATUS_ARCH_MISMATCH:
            return unsupported(std::move(msg));
        default:
            return device_error(std::move(msg));
    }
}

// Four elements per thread (Quad<T>); blockIdx.y (with its grid stride) walks the rows.
template <DType T>
__global__ void dequant_quad_kernel(const uint8_t* __restrict__ w, int64_t n, int64_t k,
                                    size_t w_stride, float* __restrict__ out, size_t out_stride,
                                    bool vec_store) {
    wait_for_inputs();
    const int64_t e = 4 * (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x);
    if (e >= k) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        float v[4];
        Quad<T>::get(w + r * w_stride, e, v);
        float* o = out + r * out_stride + e;
        if (vec_store) {
            *reinterpret_cast<float4*>(o) = make_float4(v[0], v[1], v[2], v[3]);
        } else {
#pragma unroll
            for (int i = 0; i < 4; ++i) o[i] = v[i];
        }
    }
}

// F32 / F16 / BF16 rows that Quad's vector loads cannot read (width not a multiple of 4, or
// rows not 8/16-byte aligned): one element per thread.
template <DType T>
__global__ void dequant_scalar_kernel(const uint8_t* __restrict__ w, int64_t n, int64_t k,
                                      size_t w_stride, float* __restrict__ out, size_t out_stride) {
    wait_for_inputs();
    const int64_t e = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (e >= k) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const uint8_t* row = w + r * w_stride;
        float v;
        if constexpr (T == DType::kF32) {
            v = reinterpret_cast<const float*>(row)[e];
        } else {
            const uint16_t bits = reinterpret_cast<const uint16_t*>(row)[e];
            v = T == DType::kF16 ? dequant::half_at(bits)
                                 : __uint_as_float(static_cast<uint32_t>(bits) << 16);
        }
        out[r * out_stride + e] = v;
    }
}

template <DType T>
Status launch_dequant(const void* w, int64_t n, int64_t k, size_t w_stride, float* out,
                      size_t out_stride, cudaStream_t s) {
    const auto wb = static_cast<const uint8_t*>(w);
    const unsigned rows = static_cast<unsigned>(std::min(n, kMaxGridY));
    if constexpr (T == DType::kF32 || T == DType::kF16 || T == DType::kBF16) {
        const size_t align = T == DType::kF32 ? 16 : 8;  // Quad's load width
        if (k % 4 != 0 || reinterpret_cast<uintptr_t>(w) % align != 0 || w_stride % align != 0) {
            const dim3 grid(static_cast<unsigned>((k + kThreads - 1) / kThreads), rows);
            launch_kernel(dequant_scalar_kernel<T>, grid, kThreads, 0, s, wb, n, k, w_stride, out,
                          out_stride);
            return last_launch("dequantize_rows");
        }
    }
    const bool vec = reinterpret_cast<uintptr_t>(out) % 16 == 0 && out_stride % 4 == 0;
    const dim3 grid(static_cast<unsigned>((k / 4 + kThreads - 1) / kThreads), rows);
    launch_kernel(dequant_quad_kernel<T>, grid, kThreads, 0, s, wb, n, k, w_stride, out, out_stride,
                  vec);
    return last_launch("dequantize_rows");
}

Status check_blocks(const char* what, DType type, int64_t k) {
    if (!gemm_supports(type))
        return unsupported(std::string(what) + ": weight type " + dtype_name(type) +
                           " is not supported");
    if (k < 0 || k % dtype_block_size(type) != 0)
        return invalid_argument(std::string(what) + ": K = " + std::to_string(k) +
                                " is not whole " + dtype_name(type) + " blocks");
    return ok_status();
}

// cuBLAS's limits (int dimensions and leading dimensions, each at least its row) for
// y[T, N] = x[T, K]·W[N, K]ᵀ with W's leading dimension w_ld in elements.
Status check_shape(int64_t n, int64_t k, int64_t t, size_t w_ld, size_t x_stride, size_t y_stride) {
    const auto fits = [](uint64_t v) { return v <= static_cast<uint64_t>(INT_MAX); };
    if (n < 0 || k < 0 || t < 0) return invalid_argument("CUDA gemm: negative shape");
    if (!fits(n) || !fits(t) || !fits(k) || !fits(w_ld) || !fits(x_stride) || !fits(y_stride))
        return out_of_range("CUDA gemm: a dimension or stride exceeds cuBLAS's int range");
    if (w_ld < static_cast<size_t>(k) || x_stride < static_cast<size_t>(k) ||
        y_stride < static_cast<size_t>(n))
        return invalid_argument("CUDA gemm: a row stride is shorter than its row (W " +
                                std::to_string(w_ld) + ", x " + std::to_string(x_stride) + ", y " +
                                std::to_string(y_stride) + " for N = " + std::to_string(n) +
                                ", K = " + std::to_string(k) + ")");
    return ok_status();
}

}  // namespace

// The dequantization kernels use matvec's decoders (dequant.cuh): the same types.
bool gemm_supports(DType type) { return matvec_supports(type); }

Status dequantize_rows(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, float* out,
                       size_t out_stride, void* stream) {
    UNI_RETURN_IF_ERROR(check_blocks("CUDA dequantize_rows", type, k));
    if (n <= 0 || k == 0) return ok_status();
    const auto s = static_cast<cudaStream_t>(stream);
    switch (type) {
#define UNICORN_DEQUANT_CASE(T) \
    case T:                     \
        return launch_dequant<T>(w, n, k, w_stride, out, out_stride, s);
        UNICORN_DEQUANT_CASE(DType::kF32)
        UNICORN_DEQUANT_CASE(DType::kF16)
        UNICORN_DEQUANT_CASE(DType::kBF16)
        UNICORN_DEQUANT_CASE(DType::kQ4_0)
        UNICORN_DEQUANT_CASE(DType::kQ4_1)
        UNICORN_DEQUANT_CASE(DType::kQ5_0)
        UNICORN_DEQUANT_CASE(DType::kQ8_0)
        UNICORN_DEQUANT_CASE(DType::kQ4_K)
        UNICORN_DEQUANT_CASE(DType::kQ5_K)
        UNICORN_DEQUANT_CASE(DType::kQ6_K)
#undef UNICORN_DEQUANT_CASE
        default:
            return internal_error("dequantize_rows: unhandled type");
    }
}

Result<std::unique_ptr<GemmContext>> GemmContext::create(void* stream) {
    std::unique_ptr<GemmContext> c(new GemmContext());
    c->stream_ = stream;
    cublasHandle_t h = nullptr;
    UNI_RETURN_IF_ERROR(cublas_status(cublasCreate(&h), "cublasCreate"));
    c->handle_ = h;
    // cuBLAS's recommended workspace: 32 MiB on Hopper and later, 4 MiB before.
    int device = 0, major = 0;
    UNI_RETURN_IF_ERROR(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
    UNI_RETURN_IF_ERROR(
        cuda_status(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device),
                    "cudaDeviceGetAttribute"));
    const size_t ws = major >= 9 ? size_t{32} << 20 : size_t{4} << 20;
    if (cudaMalloc(&c->workspace_, ws) != cudaSuccess) {
        c->workspace_ = nullptr;
        return resource_exhausted("CUDA: cannot allocate the " + std::to_string(ws) +
                                  "-byte cuBLAS workspace");
    }
    // In this order: cublasSetStream resets the workspace to cuBLAS's own pool, which allocates
    // on first use (illegal inside stream capture).
    const auto s = static_cast<cudaStream_t>(stream);
    UNI_RETURN_IF_ERROR(cublas_status(cublasSetStream(h, s), "cublasSetStream"));
    UNI_RETURN_IF_ERROR(
        cublas_status(cublasSetWorkspace(h, c->workspace_, ws), "cublasSetWorkspace"));
    // TF32 only where a call's compute type asks for it (the F32-weight path stays exact fp32).
    UNI_RETURN_IF_ERROR(
        cublas_status(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), "cublasSetMathMode"));
    return Result<std::unique_ptr<GemmContext>>(std::move(c));
}

GemmContext::~GemmContext() {
    if (scratch_ != nullptr) cudaFreeAsync(scratch_, static_cast<cudaStream_t>(stream_));
    if (handle_ != nullptr) cublasDestroy(static_cast<cublasHandle_t>(handle_));  // synchronizes
    if (workspace_ != nullptr) cudaFree(workspace_);
}

int64_t GemmContext::tile_rows(int64_t n, int64_t k) const {
    const size_t row_bytes = static_cast<size_t>(std::max<int64_t>(k, 1)) * sizeof(float);
    int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(budget_ / row_bytes));
    // Whole 128-row steps where the budget allows: tile edges (C = y + n0) stay 16-byte aligned
    // and line up with cuBLAS's output tiles.
    if (rows >= 128) rows -= rows % 128;
    return std::min(rows, n);
}

Status GemmContext::ensure_scratch(size_t bytes) {
    if (bytes <= scratch_bytes_) return ok_status();
    const auto s = static_cast<cudaStream_t>(stream_);
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    UNI_RETURN_IF_ERROR(cuda_status(cudaStreamIsCapturing(s, &capture), "cudaStreamIsCapturing"));
    if (capture != cudaStreamCaptureStatusNone)
        return internal_error("CUDA gemm: the dequantization scratch must grow from " +
                              std::to_string(scratch_bytes_) + " to " + std::to_string(bytes) +
                              " bytes inside stream capture; run the largest call once first");
    // Stream-ordered: the old buffer is released after the work queued on it, with no host sync.
    if (scratch_ != nullptr) {
        UNI_RETURN_IF_ERROR(cuda_status(cudaFreeAsync(scratch_, s), "cudaFreeAsync"));
        scratch_ = nullptr;
        scratch_bytes_ = 0;
    }
    if (cudaMallocAsync(&scratch_, bytes, s) != cudaSuccess) {
        scratch_ = nullptr;
        cudaGetLastError();  // not sticky; clear it so the next launch check does not see it
        return resource_exhausted("CUDA gemm: cannot allocate " + std::to_string(bytes) +
                                  " bytes of dequantization scratch");
    }
    scratch_bytes_ = bytes;
    return ok_status();
}

Status GemmContext::gemm_f32(const float* w, int64_t n, int64_t k, size_t w_ld, const float* x,
                             int64_t t, size_t x_stride, float* y, size_t y_stride, bool tf32) {
    UNI_RETURN_IF_ERROR(check_shape(n, k, t, w_ld, x_stride, y_stride));
    if (n == 0 || t == 0) return ok_status();
    if (k == 0)  // cuBLAS wants lda ≥ 1; an empty sum is 0
        return cuda_status(cudaMemset2DAsync(y, y_stride * sizeof(float), 0, n * sizeof(float), t,
                                             static_cast<cudaStream_t>(stream_)),
                           "cudaMemset2DAsync");
    const float alpha = 1.0f, beta = 0.0f;  // host pointer mode: read at the call (capture-safe)
    // Derivation at the top of the file: Yc (N×T) = Wcᵀ (N×K) · Xc (K×T).
    return cublas_status(
        cublasGemmEx(static_cast<cublasHandle_t>(handle_), CUBLAS_OP_T, CUBLAS_OP_N,
                     static_cast<int>(n), static_cast<int>(t), static_cast<int>(k), &alpha, w,
                     CUDA_R_32F, static_cast<int>(w_ld), x, CUDA_R_32F, static_cast<int>(x_stride),
                     &beta, y, CUDA_R_32F, static_cast<int>(y_stride),
                     tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

Status GemmContext::gemm(DType type, const void* w, int64_t n, int64_t k, size_t w_stride,
                         const float* x, int64_t t, size_t x_stride, float* y, size_t y_stride) {
    UNI_RETURN_IF_ERROR(check_blocks("CUDA gemm", type, k));
    // The GEMM's W is F32 weights as they are (stride whole floats) or the scratch (ld = K).
    if (type == DType::kF32 && w_stride % sizeof(float) != 0)
        return invalid_argument("CUDA gemm: F32 weight row stride is not whole floats");
    UNI_RETURN_IF_ERROR(check_shape(n, k, t, type == DType::kF32 ? w_stride / sizeof(float) : k,
                                    x_stride, y_stride));
    if (w_stride < dtype_row_bytes(type, k))
        return invalid_argument("CUDA gemm: weight row stride " + std::to_string(w_stride) +
                                " is shorter than a row");
    if (n == 0 || t == 0) return ok_status();
    if (type == DType::kF32) {
        return gemm_f32(static_cast<const float*>(w), n, k, w_stride / sizeof(float), x, t,
                        x_stride, y, y_stride, /*tf32=*/false);
    }
    const int64_t tile = tile_rows(n, k);
    UNI_RETURN_IF_ERROR(ensure_scratch(static_cast<size_t>(tile * k) * sizeof(float)));
    const auto wb = static_cast<const uint8_t*>(w);
    auto* scratch = static_cast<float*>(scratch_);
    for (int64_t n0 = 0; n0 < n; n0 += tile) {
        const int64_t nt = std::min(tile, n - n0);
        UNI_RETURN_IF_ERROR(dequantize_rows(type, wb + static_cast<size_t>(n0) * w_stride, nt, k,
                                            w_stride, scratch, static_cast<size_t>(k), stream_));
        UNI_RETURN_IF_ERROR(gemm_f32(scratch, nt, k, static_cast<size_t>(k), x, t, x_stride, y + n0,
                                     y_stride, /*tf32=*/true));
    }
    return ok_status();
}

}  // namespace unicorn::cuda
