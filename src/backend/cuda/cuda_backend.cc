#include "backend/cuda/cuda_backend.h"

#include <cuda_runtime.h>
#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <tuple>
#include <unordered_map>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "quant/quantize.h"

namespace unicorn::cuda {
namespace {

ConstView cview(const Tensor& t) {
    return {static_cast<const float*>(t.data()), t.rows(), t.cols(),
            static_cast<int64_t>(t.row_stride() / sizeof(float))};
}
View view(const Tensor& t) {
    return {static_cast<float*>(t.data()), t.rows(), t.cols(),
            static_cast<int64_t>(t.row_stride() / sizeof(float))};
}

// Activations must already be in device memory: ops receive them from earlier ops.
Status expect_device(const Tensor& t, const char* op) {
    if (t.on_device() || t.numel() == 0) return ok_status();
    return internal_error(
        fmt::format("cuda {}: an activation {} is in host memory", op, t.describe()));
}

}  // namespace

// Buffers by power-of-two size class; a tensor's owner returns its buffer to the free list.
// Reuse is safe without events because every op runs in order on one stream.
struct CudaBackend::Pool {
    std::mutex mu;
    std::unordered_map<size_t, std::vector<void*>> free;
    ~Pool() {
        for (auto& [size, list] : free)
            for (void* p : list) cudaFree(p);
    }
};

bool CudaBackend::WeightKey::operator<(const WeightKey& o) const {
    return std::tie(data, rows, cols, stride, dtype) <
           std::tie(o.data, o.rows, o.cols, o.stride, o.dtype);
}

Result<std::unique_ptr<Backend>> CudaBackend::create(int device) {
    UNI_ASSIGN_OR_RETURN(std::vector<CudaDeviceInfo> devs, cuda_devices());
    if (device < 0 || device >= static_cast<int>(devs.size()))
        return invalid_argument(fmt::format("no CUDA device {} (found {})", device, devs.size()));
    UNI_RETURN_IF_ERROR(cuda_status(cudaSetDevice(device), "cudaSetDevice"));
    std::unique_ptr<CudaBackend> b(new CudaBackend(device));
    b->pool_ = std::make_shared<Pool>();
    b->scratch_.resize(kStageSlots);
    b->staged_.resize(kStageSlots);
    return std::unique_ptr<Backend>(std::move(b));
}

CudaBackend::~CudaBackend() {
    cudaDeviceSynchronize();  // outstanding kernels may still read cached weights
}

std::string CudaBackend::name() const { return fmt::format("cuda:{}", device_); }

bool CudaBackend::supports(OpKind op, DType weight) const {
    switch (op) {
        case OpKind::kLinear:
            return matvec_supports(weight);
        case OpKind::kEmbedding:  // device gather for matvec types, host gather for the rest
            return quant::has_reference(weight);
        default:
            return weight == DType::kF32;
    }
}

Result<Tensor> CudaBackend::alloc(DType dtype, Shape shape) {
    const size_t bytes = std::max<size_t>(
        256, dtype_row_bytes(dtype, shape.cols()) * static_cast<size_t>(shape.rows()));
    const size_t cls = std::bit_ceil(bytes);
    void* p = nullptr;
    {
        std::lock_guard<std::mutex> lock(pool_->mu);
        auto& list = pool_->free[cls];
        if (!list.empty()) {
            p = list.back();
            list.pop_back();
        }
    }
    if (p == nullptr) {
        const cudaError_t e = cudaMalloc(&p, cls);
        if (e != cudaSuccess)
            return resource_exhausted(
                fmt::format("cuda: out of device memory allocating {} bytes "
                            "({})",
                            cls, cudaGetErrorString(e)));
    }
    std::weak_ptr<Pool> pool = pool_;
    std::shared_ptr<void> owner(p, [pool, cls](void* q) {
        if (auto pl = pool.lock()) {
            std::lock_guard<std::mutex> lock(pl->mu);
            pl->free[cls].push_back(q);
        } else {
            cudaFree(q);
        }
    });
    return Tensor::device_view(dtype, shape, p, std::move(owner));
}

Result<const void*> CudaBackend::stage(const void* host, size_t bytes, int slot) {
    DeviceBuffer& b = scratch_[static_cast<size_t>(slot)];
    std::vector<uint8_t>& last = staged_[static_cast<size_t>(slot)];
    // Every layer passes the same positions: an unchanged array is not uploaded again (each
    // upload from pageable memory waits for the stream, which would serialize every op).
    if (b.data() != nullptr && last.size() == bytes && std::memcmp(last.data(), host, bytes) == 0)
        return static_cast<const void*>(b.data());
    if (b.bytes() < bytes) {
        UNI_ASSIGN_OR_RETURN(b, DeviceBuffer::alloc(std::bit_ceil(std::max<size_t>(bytes, 256))));
    }
    if (bytes > 0) UNI_RETURN_IF_ERROR(b.upload(host, bytes));
    last.assign(static_cast<const uint8_t*>(host), static_cast<const uint8_t*>(host) + bytes);
    return static_cast<const void*>(b.data());
}

Result<Tensor> CudaBackend::device_copy(const Tensor& t) {
    if (t.on_device()) return t;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = weights_.find(WeightKey::of(t));
    if (it == weights_.end()) {
        const size_t row = t.row_bytes(), bytes = row * static_cast<size_t>(t.rows());
        UNI_ASSIGN_OR_RETURN(DeviceBuffer buf, DeviceBuffer::alloc(std::max<size_t>(bytes, 16)));
        UNI_RETURN_IF_ERROR(
            cuda_status(cudaMemcpy2D(buf.data(), row, t.data(), t.row_stride(), row,
                                     static_cast<size_t>(t.rows()), cudaMemcpyHostToDevice),
                        "weight upload"));
        weight_bytes_ += bytes;
        it = weights_.emplace(WeightKey::of(t), std::make_shared<DeviceBuffer>(std::move(buf)))
                 .first;
    }
    std::shared_ptr<DeviceBuffer> buf = it->second;
    return Tensor::device_view(t.dtype(), t.shape(), buf->data(), buf);
}

Status CudaBackend::copy_rows(const Tensor& src, std::span<const int64_t> src_rows,
                              const Tensor& dst, std::span<const int64_t> dst_rows, int64_t n) {
    UNI_RETURN_IF_ERROR(expect_device(src, "copy_rows"));
    UNI_RETURN_IF_ERROR(expect_device(dst, "copy_rows"));
    if (n == 0) return ok_status();
    const int64_t* s = nullptr;
    const int64_t* d = nullptr;
    if (!src_rows.empty()) {
        UNI_ASSIGN_OR_RETURN(const void* p, stage(src_rows.data(), src_rows.size_bytes(), 2));
        s = static_cast<const int64_t*>(p);
    }
    if (!dst_rows.empty()) {
        UNI_ASSIGN_OR_RETURN(const void* p, stage(dst_rows.data(), dst_rows.size_bytes(), 3));
        d = static_cast<const int64_t*>(p);
    }
    return cuda::copy_rows(src.data(), src.row_stride(), dst.data(), dst.row_stride(),
                           src.row_bytes(), s, d, n);
}

Result<Tensor> CudaBackend::to_host(const Tensor& t) {
    if (!t.on_device()) return t;
    Tensor h = Tensor::empty(t.dtype(), t.shape());
    if (t.numel() > 0) {
        UNI_RETURN_IF_ERROR(cuda_status(
            cudaMemcpy2D(h.data(), h.row_stride(), t.data(), t.row_stride(), t.row_bytes(),
                         static_cast<size_t>(t.rows()), cudaMemcpyDeviceToHost),
            "copy to host"));
    }
    return h;
}

Status CudaBackend::embedding(const Tensor& table, std::span<const int32_t> ids,
                              const ops::EmbeddingParams& p, const Tensor& out) {
    UNI_RETURN_IF_ERROR(expect_device(out, "embedding"));
    if (ids.empty()) return ok_status();
    bool on_device = table.on_device();
    if (!on_device) {  // a table also used as a weight (a tied output head) is already uploaded
        std::lock_guard<std::mutex> lock(mu_);
        on_device = weights_.count(WeightKey::of(table)) > 0;
    }
    if (on_device && matvec_supports(table.dtype())) {
        UNI_ASSIGN_OR_RETURN(Tensor t, device_copy(table));
        UNI_ASSIGN_OR_RETURN(const void* d_ids, stage(ids.data(), ids.size_bytes(), 4));
        return cuda::embedding(t.dtype(), t.data(), t.row_stride(),
                               static_cast<const int32_t*>(d_ids), p.scale, view(out));
    }
    // A table that lives on the host (Gemma 3n's per-layer embeddings, or one not uploaded
    // yet): dequantize the batch's rows here and upload only those.
    Tensor rows = Tensor::empty(DType::kF32, Shape{out.rows(), out.cols()});
    for (size_t i = 0; i < ids.size(); ++i) {
        float* r = rows.row<float>(static_cast<int64_t>(i));
        quant::dequantize_row(table.dtype(), table.row_bytes_ptr(ids[i]), r, table.cols());
        for (int64_t c = 0; c < table.cols(); ++c) r[c] *= p.scale;
    }
    return cuda_status(
        cudaMemcpy2D(out.data(), out.row_stride(), rows.data(), rows.row_stride(), rows.row_bytes(),
                     static_cast<size_t>(rows.rows()), cudaMemcpyHostToDevice),
        "embedding rows upload");
}

Status CudaBackend::linear(const Tensor& x, const Tensor& w, const Tensor& y) {
    UNI_RETURN_IF_ERROR(expect_device(x, "linear"));
    UNI_RETURN_IF_ERROR(expect_device(y, "linear"));
    if (!matvec_supports(w.dtype()))
        return unsupported(fmt::format(
            "cuda: no matrix kernel for {} weights (CUDA kernels cover F32, F16, BF16, Q4_0, "
            "Q4_1, Q5_0, Q8_0, Q4_K, Q5_K and Q6_K; the others are issue 5); run this model "
            "with --device cpu",
            dtype_name(w.dtype())));
    UNI_ASSIGN_OR_RETURN(Tensor dw, device_copy(w));
    return matvec(dw.dtype(), dw.data(), dw.rows(), dw.cols(), dw.row_stride(),
                  static_cast<const float*>(x.data()), x.rows(), x.row_stride() / sizeof(float),
                  static_cast<float*>(y.data()), y.row_stride() / sizeof(float));
}

Status CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, const ops::RmsNormParams& p,
                             const Tensor& out) {
    UNI_RETURN_IF_ERROR(expect_device(x, "rms_norm"));
    const float* w = nullptr;
    Tensor dw;
    if (weight.defined() && weight.numel() > 0) {
        UNI_ASSIGN_OR_RETURN(dw, device_copy(weight));
        w = static_cast<const float*>(dw.data());
    }
    return cuda::rms_norm(cview(x), w, view(out), p.eps);
}

Status CudaBackend::rope(const Tensor& x, std::span<const int32_t> positions,
                         const ops::RopeParams& p) {
    UNI_RETURN_IF_ERROR(expect_device(x, "rope"));
    if (x.rows() == 0) return ok_status();
    // The frequency table is model-owned host memory: cached like a weight.
    Tensor freq =
        Tensor::view(DType::kF32, Shape{1, p.rot_dim / 2}, const_cast<float*>(p.inv_freq));
    UNI_ASSIGN_OR_RETURN(Tensor dfreq, device_copy(freq));
    UNI_ASSIGN_OR_RETURN(const void* d_pos, stage(positions.data(), positions.size_bytes(), 0));
    return cuda::rope(view(x), static_cast<const int32_t*>(d_pos), p.n_heads, p.head_dim, p.rot_dim,
                      p.mode == ops::RopeMode::kNeox, static_cast<const float*>(dfreq.data()));
}

Status CudaBackend::attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                              const Tensor& v, std::span<const int32_t> k_pos,
                              const ops::AttentionParams& p, const Tensor& out) {
    for (const Tensor* t : {&q, &k, &v, &out}) UNI_RETURN_IF_ERROR(expect_device(*t, "attention"));
    if (q.rows() == 0) return ok_status();
    UNI_ASSIGN_OR_RETURN(const void* dq, stage(q_pos.data(), q_pos.size_bytes(), 0));
    UNI_ASSIGN_OR_RETURN(const void* dk, stage(k_pos.data(), k_pos.size_bytes(), 1));
    return cuda::attention(cview(q), static_cast<const int32_t*>(dq), cview(k), cview(v),
                           static_cast<const int32_t*>(dk), p.n_heads, p.n_kv_heads, p.head_dim,
                           p.scale, p.window, p.softcap, view(out));
}

Status CudaBackend::gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    return cuda::gelu_tanh_mul(cview(g), cview(u), view(out));
}

Status CudaBackend::silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    return cuda::silu_mul(cview(g), cview(u), view(out));
}

Status CudaBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
    return cuda::add(cview(a), cview(b), view(out));
}

Status CudaBackend::softcap(const Tensor& x, float cap, const Tensor& out) {
    return cuda::softcap(cview(x), cap, view(out));
}

Status CudaBackend::mul(const Tensor& a, const Tensor& b, const Tensor& out) {
    // b may be a model-owned host row (Gemma 3n's correct_output_scale): cached like a weight.
    UNI_ASSIGN_OR_RETURN(Tensor db,
                         device_copy(b.shape().rank() == 1 ? b.reshape(Shape{1, b.numel()}) : b));
    return cuda::mul(cview(a), cview(db), view(out));
}

Status CudaBackend::scale(const Tensor& x, float s, const Tensor& out) {
    return cuda::scale(cview(x), s, view(out));
}

Status CudaBackend::gaussian_topk(const Tensor& x, float z, const Tensor& out) {
    return cuda::gaussian_topk(cview(x), z, view(out));
}

Status CudaBackend::match_magnitude(const Tensor& x, const Tensor& target, float floor,
                                    const Tensor& out) {
    return cuda::match_magnitude(cview(x), cview(target), floor, view(out));
}

Status CudaBackend::altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                                  const Tensor& out) {
    return cuda::altup_predict(cview(streams), cview(coefs), n_streams, view(out));
}

Status CudaBackend::altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                                  int n_streams, const Tensor& out) {
    return cuda::altup_correct(cview(pred), cview(actual), cview(coefs), n_streams, view(out));
}

}  // namespace unicorn::cuda
