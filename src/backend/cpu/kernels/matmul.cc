// matmul: validation, ISA dispatch, activation quantization, cache blocking and threading.
// The per-type arithmetic lives in the kernels behind qdot_kernels.h.
//
// Work decomposition. The output [T, N] is cut into tiles of (up to) kRowBlock weight rows ×
// a token block; the pool takes tiles dynamically. A tile's kernel walks its weight rows a
// few at a time and, for each such group (a few KB, L1-resident), sweeps every token of the
// block, so each weight byte comes from DRAM once per token block instead of once per token,
// and the token block's activations (sized to stay well inside L2) are reused by every row
// group. Decode (T = 1) degenerates to row blocks read once: the weight stream is the traffic.
#include "backend/cpu/kernels/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "backend/cpu/kernels/qdot_kernels.h"
#include "core/check.h"
#include "core/cpu_features.h"

namespace unicorn::cpu {
namespace {

using qdot::Kernel;

Kernel pick_kernel(DType w) {
    const IsaLevel isa = active_isa();
    if (isa == IsaLevel::kAvx512) {
        if (Kernel k = qdot::avx512_float_kernel(w)) return k;
        // The integer kernels are written for VNNI (vpdpbusd/vpdpwssd); AVX-512 CPUs without
        // it (Skylake-X) use the AVX2 ones.
        if (cpu_features().avx512vnni) {
            if (Kernel k = qdot::avx512_legacy_kernel(w)) return k;
            if (Kernel k = qdot::avx512_kquant_kernel(w)) return k;
        }
    }
    if (isa >= IsaLevel::kAvx2) {
        if (Kernel k = qdot::avx2_float_kernel(w)) return k;
        if (Kernel k = qdot::avx2_legacy_kernel(w)) return k;
        if (Kernel k = qdot::avx2_kquant_kernel(w)) return k;
    }
    return qdot::scalar_kernel(w);
}

// Per-thread scratch for quantized activations, 64-byte aligned, grown on demand and kept:
// a decode step calls matmul hundreds of times with the same sizes.
uint8_t* act_scratch(size_t bytes) {
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    thread_local std::unique_ptr<uint8_t, Free> buf;
    thread_local size_t cap = 0;
    if (bytes > cap) {
        cap = qdot::align64(std::max(bytes, cap + cap / 2));
        buf.reset(static_cast<uint8_t*>(std::aligned_alloc(64, cap)));
        UNI_CHECK_MSG(buf != nullptr, "matmul: cannot allocate {} bytes of activation scratch",
                      cap);
    }
    return buf.get();
}

// Rows of a [..., cols] tensor: the product of the outer dimensions (Shape::rows() divides
// numel by cols, which says 0 when cols is 0).
int64_t outer_rows(const Tensor& t) {
    int64_t r = 1;
    for (int i = 0; i + 1 < t.shape().rank(); ++i) r *= t.shape()[i];
    return r;
}

constexpr int64_t kRowBlock = 64;               // weight rows per tile (a multiple of every R)
constexpr size_t kTokenBlockBytes = 384 << 10;  // activation bytes per token block (≪ L2)

}  // namespace

bool matmul_supports(DType w) {
    switch (w) {
        case DType::kF32:
        case DType::kF16:
        case DType::kBF16:
        case DType::kQ4_0:
        case DType::kQ4_1:
        case DType::kQ5_0:
        case DType::kQ5_1:
        case DType::kQ8_0:
        case DType::kQ2_K:
        case DType::kQ3_K:
        case DType::kQ4_K:
        case DType::kQ5_K:
        case DType::kQ6_K:
            return true;
        default:
            return false;
    }
}

void matmul(ThreadPool& pool, const Tensor& x, const Tensor& w, const Tensor& y) {
    const int64_t t_rows = outer_rows(x), k = x.cols(), n = outer_rows(w);
    UNI_CHECK_MSG(x.dtype() == DType::kF32 && y.dtype() == DType::kF32,
                  "matmul: x and y must be F32 (x {}, y {})", x.describe(), y.describe());
    UNI_CHECK_MSG(matmul_supports(w.dtype()), "matmul: weight type {} not supported", w.describe());
    UNI_CHECK_MSG(w.cols() == k && y.cols() == n && outer_rows(y) == t_rows,
                  "matmul: shapes do not match: x {} w {} y {}", x.describe(), w.describe(),
                  y.describe());
    UNI_CHECK_MSG(k % dtype_block_size(w.dtype()) == 0, "matmul: K={} not a multiple of {}'s block",
                  k, dtype_name(w.dtype()));
    UNI_CHECK(y.row_stride() % sizeof(float) == 0 && x.row_stride() % sizeof(float) == 0);
    if (t_rows == 0 || n == 0) return;
    const size_t y_stride = y.row_stride() / sizeof(float);
    float* y_data = y.data_as<float>();
    if (k == 0) {
        for (int64_t t = 0; t < t_rows; ++t) std::fill_n(y_data + t * y_stride, n, 0.0f);
        return;
    }

    const Kernel kernel = pick_kernel(w.dtype());
    UNI_CHECK(kernel);

    // Activations: quantized once per call (every tile reuses them), or x as is.
    const uint8_t* act = static_cast<const uint8_t*>(x.data());
    size_t act_stride = x.row_stride();
    if (kernel.quantize != nullptr) {
        act_stride = qdot::align64(kernel.act_row_bytes(k));
        uint8_t* buf = act_scratch(act_stride * t_rows);
        const auto quantize_rows = [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t)
                kernel.quantize(x.row<const float>(t), buf + t * act_stride, k);
        };
        if (t_rows * k < (1 << 16)) {
            quantize_rows(0, t_rows);
        } else {
            pool.parallel_for(t_rows, std::max<int64_t>(1, (1 << 14) / k), quantize_rows);
        }
        act = buf;
    }

    // Tiles: token blocks sized for L2, row blocks of kRowBlock; shrink both when there are
    // too few tiles to keep every thread busy (small N, or prefill of a narrow projection).
    const int64_t threads = pool.size();
    int64_t tok_block = std::min<int64_t>(
        std::max<int64_t>(static_cast<int64_t>(kTokenBlockBytes / act_stride), 4), t_rows);
    int64_t row_block = kRowBlock;
    const auto n_tiles = [&] {
        return ((n + row_block - 1) / row_block) * ((t_rows + tok_block - 1) / tok_block);
    };
    while (n_tiles() < 4 * threads && row_block > 16) row_block /= 2;
    while (n_tiles() < 2 * threads && tok_block > 4) tok_block = (tok_block + 1) / 2;
    const int64_t n_rb = (n + row_block - 1) / row_block;

    const uint8_t* w_data = static_cast<const uint8_t*>(w.data());
    const size_t w_stride = w.row_stride();
    pool.parallel_for(n_tiles(), 1, [&](int64_t begin, int64_t end) {
        for (int64_t tile = begin; tile < end; ++tile) {
            // Tiles of one token block are adjacent, so concurrent threads share it.
            const int64_t r0 = (tile % n_rb) * row_block, t0 = (tile / n_rb) * tok_block;
            qdot::TileArgs a;
            a.w = w_data + r0 * w_stride;
            a.w_stride = w_stride;
            a.n_rows = std::min(row_block, n - r0);
            a.act = act + t0 * act_stride;
            a.act_stride = act_stride;
            a.n_tok = std::min(tok_block, t_rows - t0);
            a.y = y_data + t0 * y_stride + r0;
            a.y_stride = y_stride;
            a.k = k;
            kernel.tile(a);
        }
    });
}

}  // namespace unicorn::cpu
