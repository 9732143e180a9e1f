// Matrix × matrix for prefill (many tokens) on cuBLAS: y[T, N] = x[T, K] · W[N, K]ᵀ. F32 weights
// run one plain-fp32 GEMM; every other weight type is dequantized to F32 into a scratch buffer,
// N-tile by N-tile, each tile followed by a GEMM on TF32 tensor cores (TF32 has F16's 10-bit
// mantissa but F32's exponent range, so large activations cannot overflow as they could in F16).
// No CUDA types in this header: streams are cudaStream_t passed as void*.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/dtype.h"
#include "core/status.h"

namespace unicorn::cuda {

// The weight types gemm reads: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K.
bool gemm_supports(DType type);

// out row r (out + r·out_stride floats) = dequantized W row r, for r < n. W rows of `type`,
// w_stride bytes apart (K a whole number of blocks). On `stream`; no allocation.
Status dequantize_rows(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, float* out,
                       size_t out_stride, void* stream = nullptr);

// A cuBLAS context for one device and stream: the cuBLAS handle, its workspace (set explicitly
// with cublasSetWorkspace, so the calls need no allocation and are legal inside CUDA-graph
// stream capture) and the dequantization scratch. Created lazily by its owner on the current
// device; not thread-safe. Destroy it before its stream.
class GemmContext {
  public:
    // Default cap on the dequantization scratch: a 262144 × 2048 output head dequantizes in
    // 8192-row tiles rather than needing 2 GiB.
    static constexpr size_t kDefaultScratchBudget = size_t{64} << 20;

    static Result<std::unique_ptr<GemmContext>> create(void* stream = nullptr);
    GemmContext(const GemmContext&) = delete;
    GemmContext& operator=(const GemmContext&) = delete;
    ~GemmContext();

    // y[t][n] = Σ_k x[t][k]·W[n][k]: W [N, K] of `type`, rows w_stride bytes apart (K a whole
    // number of blocks); x [T, K] and y [T, N] F32 with row strides in elements (y may be a
    // column range of a wider matrix: nothing outside its N columns is written). Everything runs
    // on the context's stream without host synchronization. The scratch grows (stream-ordered
    // allocation) only when a call needs more than any call before it; such a call must not be
    // inside stream capture (it is refused there): make the largest call once before capturing.
    Status gemm(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
                int64_t t, size_t x_stride, float* y, size_t y_stride);

    // The GEMM alone on F32 weights (w_ld in elements): plain fp32, or TF32 tensor cores (what
    // gemm() runs after dequantizing). For benchmarks.
    Status gemm_f32(const float* w, int64_t n, int64_t k, size_t w_ld, const float* x, int64_t t,
                    size_t x_stride, float* y, size_t y_stride, bool tf32);

    // Cap on the dequantization scratch, in bytes (tests force several N tiles with a small
    // one). A tile has at least one row, whatever the budget.
    void set_scratch_budget(size_t bytes) { budget_ = bytes; }
    // Allocates the whole budget now, so the scratch never moves: CUDA graphs captured with it
    // stay valid (the backend calls this once, outside capture).
    Status reserve_scratch() { return ensure_scratch(budget_); }
    size_t scratch_budget() const { return budget_; }
    // Rows of W dequantized per tile for a given K.
    int64_t tile_rows(int64_t n, int64_t k) const;

  private:
    GemmContext() = default;
    Status ensure_scratch(size_t bytes);

    void* stream_ = nullptr;     // cudaStream_t
    void* handle_ = nullptr;     // cublasHandle_t
    void* workspace_ = nullptr;  // cuBLAS workspace (cudaMalloc)
    void* scratch_ = nullptr;    // dequantized W tile (cudaMallocAsync on stream_)
    size_t scratch_bytes_ = 0;
    size_t budget_ = kDefaultScratchBudget;
};

}  // namespace unicorn::cuda
