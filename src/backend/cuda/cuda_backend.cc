#include "backend/cuda/cuda_backend.h"

#include <cuda_runtime.h>
#include <fmt/format.h>

#include <bit>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <tuple>
#include <type_traits>
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

// Launch arguments as words of a step's identity (StepRecorder::record).
void put(std::vector<uint64_t>& w, const View& v) {
    w.insert(w.end(), {reinterpret_cast<uintptr_t>(v.data), static_cast<uint64_t>(v.rows),
                       static_cast<uint64_t>(v.cols), static_cast<uint64_t>(v.stride)});
}
void put(std::vector<uint64_t>& w, const ConstView& v) {
    w.insert(w.end(), {reinterpret_cast<uintptr_t>(v.data), static_cast<uint64_t>(v.rows),
                       static_cast<uint64_t>(v.cols), static_cast<uint64_t>(v.stride)});
}
void put(std::vector<uint64_t>& w, float f) { w.push_back(std::bit_cast<uint32_t>(f)); }
template <typename T>
requires std::is_integral_v<T> || std::is_enum_v<T>
void put(std::vector<uint64_t>& w, T v) { w.push_back(static_cast<uint64_t>(v)); }
template <typename T>
void put(std::vector<uint64_t>& w, T* p) {
    w.push_back(reinterpret_cast<uintptr_t>(p));
}

// cudaMemcpy2DAsync as a recordable launch (host-gathered rows: arena → activation).
Status copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
               size_t height, void* stream) {
    return cuda_status(
        cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width, height, cudaMemcpyDeviceToDevice,
                          static_cast<cudaStream_t>(stream)),
        "device copy");
}

// GemmContext::gemm as a recordable launch (the context runs on the backend's stream).
Status run_gemm(GemmContext* g, DType type, const void* w, int64_t n, int64_t k, size_t w_stride,
                const float* x, int64_t t, size_t x_stride, float* y, size_t y_stride, void*) {
    return g->gemm(type, w, n, k, w_stride, x, t, x_stride, y, y_stride);
}

// Above this many tokens a linear runs as a GEMM on tensor cores; up to it matvec reads each
// weight once for all tokens (its widest token tile).
constexpr int64_t kMatvecMaxTokens = 8;

// The smallest key bound attention's launch claims (see attention()).
constexpr uint64_t kMinKeyBound = 1024;

bool graphs_enabled() {
    const char* e = std::getenv("UNICORN_CUDA_GRAPHS");
    return e == nullptr || std::strcmp(e, "0") != 0;
}

}  // namespace

template <typename... P, typename... A>
Status CudaBackend::enqueue(const char* name, Status (*fn)(P...), A... args) {
    static_assert(sizeof...(P) == sizeof...(A) + 1, "every argument but the stream");
    words_.clear();
    words_.push_back(reinterpret_cast<uintptr_t>(fn));
    (put(words_, args), ...);
    rec_->record(
        name, [fn, args...](cudaStream_t s) { return fn(args..., static_cast<void*>(s)); },
        words_.data(), words_.size());
    return ok_status();
}

// Buffers by power-of-two size class; a tensor's owner returns its buffer to the free list.
// Reuse is safe without events because every op runs in order on one stream (recorded ops too:
// a buffer freed while a step is recorded is reused by a later launch of the same step).
// The same for pinned host memory (to_host's results: a device→host copy into pinned memory
// runs at full PCIe speed, and a decode step copies its logits every token).
struct CudaBackend::Pool {
    explicit Pool(bool host) : host(host) {}
    const bool host;
    std::mutex mu;
    // Lowest address first: which buffer an allocation gets depends only on which are free,
    // not on the order earlier steps freed them in, so every decode step allocates the same
    // addresses and its launches match the last step's (StepRecorder replays the graph).
    std::unordered_map<size_t, std::set<void*>> free;
    static void release(bool host, void* p) { host ? cudaFreeHost(p) : cudaFree(p); }
    ~Pool() {
        for (auto& [size, list] : free)
            for (void* p : list) release(host, p);
    }

    // A buffer of at least `bytes`, returned to this pool when the last owner goes.
    static Result<std::shared_ptr<void>> take(const std::shared_ptr<Pool>& pool, size_t bytes) {
        const size_t cls = std::bit_ceil(std::max<size_t>(bytes, 256));
        void* p = nullptr;
        {
            std::lock_guard<std::mutex> lock(pool->mu);
            auto& list = pool->free[cls];
            if (!list.empty()) {
                p = *list.begin();
                list.erase(list.begin());
            }
        }
        if (p == nullptr) {
            const cudaError_t e = pool->host ? cudaMallocHost(&p, cls) : cudaMalloc(&p, cls);
            if (e != cudaSuccess)
                return resource_exhausted(
                    fmt::format("cuda: out of {} memory allocating {} bytes ({})",
                                pool->host ? "pinned host" : "device", cls, cudaGetErrorString(e)));
        }
        std::weak_ptr<Pool> weak = pool;
        const bool host = pool->host;
        return std::shared_ptr<void>(p, [weak, cls, host](void* q) {
            if (auto pl = weak.lock()) {
                std::lock_guard<std::mutex> lock(pl->mu);
                pl->free[cls].insert(q);
            } else {
                release(host, q);
            }
        });
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
    b->pool_ = std::make_shared<Pool>(false);
    b->host_pool_ = std::make_shared<Pool>(true);
    // Non-blocking: graph capture needs a stream other than the legacy default one.
    UNI_RETURN_IF_ERROR(cuda_status(cudaStreamCreateWithFlags(&b->stream_, cudaStreamNonBlocking),
                                    "cudaStreamCreate"));
    b->rec_ = std::make_unique<StepRecorder>(b->stream_, graphs_enabled());
    return std::unique_ptr<Backend>(std::move(b));
}

CudaBackend::~CudaBackend() {
    rec_.reset();  // waits for the stream: outstanding kernels may still read cached weights
    gemm_.reset();
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

std::vector<std::pair<std::string, int64_t>> CudaBackend::counters() const {
    const StepRecorder::Counts& c = rec_->counts();
    return {{"steps_direct", c.direct},
            {"steps_captured", c.captured},
            {"steps_replayed", c.replayed},
            {"launches", c.launches},
            {"record_ms", static_cast<int64_t>(c.record_s * 1e3)},
            {"flush_ms", static_cast<int64_t>(c.flush_s * 1e3)},
            {"sync_ms", static_cast<int64_t>(sync_s_ * 1e3)}};
}

std::string CudaBackend::name() const { return fmt::format("cuda:{}", device_); }

int64_t CudaBackend::device_memory_bytes() const {
    size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(device_) != cudaSuccess || cudaMemGetInfo(&free_b, &total_b) != cudaSuccess)
        return 0;
    return static_cast<int64_t>(total_b - free_b);
}

bool CudaBackend::supports(OpKind op, DType weight) const {
    switch (op) {
        case OpKind::kLinear:
            return matvec_supports(weight);
        case OpKind::kEmbedding:  // device gather for matvec types, host gather for the rest
            return quant::has_reference(weight);
        case OpKind::kAltupCoefs:  // the fused kernel for float weights; shapes checked per call
            return altup_coefs_supports(weight, weight, 0, 0);
        default:
            return weight == DType::kF32;
    }
}

Result<Tensor> CudaBackend::alloc(DType dtype, Shape shape) {
    const size_t bytes = dtype_row_bytes(dtype, shape.cols()) * static_cast<size_t>(shape.rows());
    UNI_ASSIGN_OR_RETURN(std::shared_ptr<void> owner, Pool::take(pool_, bytes));
    void* p = owner.get();
    return Tensor::device_view(dtype, shape, p, std::move(owner));
}

Result<Tensor> CudaBackend::device_copy(const Tensor& t) {
    if (t.on_device()) return t;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = weights_.find(WeightKey::of(t));
    if (it == weights_.end()) {
        const size_t row = t.row_bytes(), bytes = row * static_cast<size_t>(t.rows());
        UNI_ASSIGN_OR_RETURN(DeviceBuffer buf, DeviceBuffer::alloc(std::max<size_t>(bytes, 16)));
        // On the stream, ahead of the recorded launches that read it (a pageable source is
        // copied out before the call returns).
        UNI_RETURN_IF_ERROR(cuda_status(
            cudaMemcpy2DAsync(buf.data(), row, t.data(), t.row_stride(), row,
                              static_cast<size_t>(t.rows()), cudaMemcpyHostToDevice, stream_),
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
        UNI_ASSIGN_OR_RETURN(const void* p, stage(src_rows.data(), src_rows.size_bytes()));
        s = static_cast<const int64_t*>(p);
    }
    if (!dst_rows.empty()) {
        UNI_ASSIGN_OR_RETURN(const void* p, stage(dst_rows.data(), dst_rows.size_bytes()));
        d = static_cast<const int64_t*>(p);
    }
    return enqueue("copy_rows", &cuda::copy_rows, static_cast<const void*>(src.data()),
                   src.row_stride(), dst.data(), dst.row_stride(), src.row_bytes(), s, d, n);
}

Result<Tensor> CudaBackend::to_host(const Tensor& t) {
    if (!t.on_device()) return t;
    UNI_RETURN_IF_ERROR(rec_->flush());  // the step that computes t
    UNI_ASSIGN_OR_RETURN(std::shared_ptr<void> owner,
                         Pool::take(host_pool_, t.row_bytes() * static_cast<size_t>(t.rows())));
    void* p = owner.get();
    Tensor h = Tensor::view_owned(t.dtype(), t.shape(), p, std::move(owner));
    if (t.numel() > 0) {
        UNI_RETURN_IF_ERROR(cuda_status(
            cudaMemcpy2DAsync(h.data(), h.row_stride(), t.data(), t.row_stride(), t.row_bytes(),
                              static_cast<size_t>(t.rows()), cudaMemcpyDeviceToHost, stream_),
            "copy to host"));
    }
    const auto t0 = std::chrono::steady_clock::now();
    UNI_RETURN_IF_ERROR(cuda_status(cudaStreamSynchronize(stream_), "cuda step"));
    sync_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
        UNI_ASSIGN_OR_RETURN(const void* d_ids, stage(ids.data(), ids.size_bytes()));
        return enqueue("embedding", &cuda::embedding, t.dtype(), static_cast<const void*>(t.data()),
                       t.row_stride(), static_cast<const int32_t*>(d_ids), p.scale, view(out));
    }
    // A table that lives on the host (Gemma 3n's per-layer embeddings, or one not uploaded
    // yet): dequantize the batch's rows into the step's arena, so only those travel.
    const size_t row_bytes = sizeof(float) * static_cast<size_t>(table.cols());
    UNI_ASSIGN_OR_RETURN(StepRecorder::Space space, rec_->stage_space(row_bytes * ids.size()));
    for (size_t i = 0; i < ids.size(); ++i) {
        float* r = reinterpret_cast<float*>(static_cast<char*>(space.host) + i * row_bytes);
        quant::dequantize_row(table.dtype(), table.row_bytes_ptr(ids[i]), r, table.cols());
        for (int64_t c = 0; c < table.cols(); ++c) r[c] *= p.scale;
    }
    return enqueue("copy_2d", &copy_2d, out.data(), out.row_stride(),
                   static_cast<const void*>(space.device), row_bytes, row_bytes, ids.size());
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
    if (x.rows() > kMatvecMaxTokens && gemm_supports(dw.dtype())) {
        if (!gemm_) {
            UNI_ASSIGN_OR_RETURN(gemm_, GemmContext::create(stream_));
            UNI_RETURN_IF_ERROR(gemm_->reserve_scratch());
        }
        return enqueue("run_gemm", &run_gemm, gemm_.get(), dw.dtype(),
                       static_cast<const void*>(dw.data()), dw.rows(), dw.cols(), dw.row_stride(),
                       static_cast<const float*>(x.data()), x.rows(),
                       x.row_stride() / sizeof(float), static_cast<float*>(y.data()),
                       y.row_stride() / sizeof(float));
    }
    return enqueue("matvec", &cuda::matvec, dw.dtype(), static_cast<const void*>(dw.data()),
                   dw.rows(), dw.cols(), dw.row_stride(), static_cast<const float*>(x.data()),
                   x.rows(), x.row_stride() / sizeof(float), static_cast<float*>(y.data()),
                   y.row_stride() / sizeof(float));
}

Status CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, const ops::RmsNormParams& p,
                             const Tensor& out) {
    UNI_RETURN_IF_ERROR(expect_device(x, "rms_norm"));
    if (p.residual != nullptr) UNI_RETURN_IF_ERROR(expect_device(*p.residual, "rms_norm"));
    const float* w = nullptr;
    Tensor dw;
    if (weight.defined() && weight.numel() > 0) {
        UNI_ASSIGN_OR_RETURN(dw, device_copy(weight));
        w = static_cast<const float*>(dw.data());
    }
    const ConstView res = p.residual != nullptr ? cview(*p.residual) : ConstView{};
    return enqueue("rms_norm", &cuda::rms_norm_add, cview(x), w, res, view(out), p.eps);
}

Status CudaBackend::rope(const Tensor& x, std::span<const int32_t> positions,
                         const ops::RopeParams& p) {
    UNI_RETURN_IF_ERROR(expect_device(x, "rope"));
    if (x.rows() == 0) return ok_status();
    // The frequency table is model-owned host memory: cached like a weight.
    Tensor freq =
        Tensor::view(DType::kF32, Shape{1, p.rot_dim / 2}, const_cast<float*>(p.inv_freq));
    UNI_ASSIGN_OR_RETURN(Tensor dfreq, device_copy(freq));
    UNI_ASSIGN_OR_RETURN(const void* d_pos, stage(positions.data(), positions.size_bytes()));
    return enqueue("rope", &cuda::rope, view(x), static_cast<const int32_t*>(d_pos), p.n_heads,
                   p.head_dim, p.rot_dim, p.mode == ops::RopeMode::kNeox,
                   static_cast<const float*>(dfreq.data()));
}

Status CudaBackend::attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                              const Tensor& v, std::span<const int32_t> k_pos,
                              const ops::AttentionParams& p, const Tensor& out) {
    for (const Tensor* t : {&q, &k, &v, &out}) UNI_RETURN_IF_ERROR(expect_device(*t, "attention"));
    if (q.rows() == 0) return ok_status();
    UNI_ASSIGN_OR_RETURN(const void* dq, stage(q_pos.data(), q_pos.size_bytes()));
    UNI_ASSIGN_OR_RETURN(const void* dk, stage(k_pos.data(), k_pos.size_bytes()));
    // The key count travels in the arena and the views claim a power-of-two bound of at least
    // kMinKeyBound, so the launch stays the same while the cache grows within it (a decode step
    // replays its graph). Without the floor a conversation's first 1024 tokens crossed ten
    // bounds, each costing a step launched kernel by kernel and one captured; the kernel reads
    // only the first *n_keys rows, so the bound decides nothing but the split count.
    const int32_t n_keys = static_cast<int32_t>(k.rows());
    UNI_ASSIGN_OR_RETURN(const void* dn, stage(&n_keys, sizeof n_keys));
    ConstView kb = cview(k), vb = cview(v);
    kb.rows = vb.rows = static_cast<int64_t>(
        std::bit_ceil(std::max<uint64_t>(static_cast<uint64_t>(k.rows()), kMinKeyBound)));
    const int splits = attention_splits(q.rows(), p.n_heads, kb.rows);
    float* partials = nullptr;
    if (splits > 1) {
        // Freed when this returns: later launches reuse it only after this one (stream order).
        UNI_ASSIGN_OR_RETURN(Tensor part,
                             alloc(DType::kF32, Shape{q.rows() * p.n_heads * splits,
                                                      static_cast<int64_t>(p.head_dim) + 2}));
        partials = static_cast<float*>(part.data());
    }
    return enqueue("attention", &cuda::attention, cview(q), static_cast<const int32_t*>(dq), kb, vb,
                   static_cast<const int32_t*>(dk), static_cast<const int32_t*>(dn), p.n_heads,
                   p.n_kv_heads, p.head_dim, p.scale, p.window, p.softcap, splits, partials,
                   view(out));
}

Status CudaBackend::gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    return enqueue("gelu_tanh_mul", &cuda::gelu_tanh_mul, cview(g), cview(u), view(out));
}

Status CudaBackend::silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    return enqueue("silu_mul", &cuda::silu_mul, cview(g), cview(u), view(out));
}

Status CudaBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
    return enqueue("add", &cuda::add, cview(a), cview(b), view(out));
}

Status CudaBackend::softcap(const Tensor& x, float cap, const Tensor& out) {
    return enqueue("softcap", &cuda::softcap, cview(x), cap, view(out));
}

Status CudaBackend::mul(const Tensor& a, const Tensor& b, const Tensor& out) {
    // b may be a model-owned host row (Gemma 3n's correct_output_scale): cached like a weight.
    UNI_ASSIGN_OR_RETURN(Tensor db,
                         device_copy(b.shape().rank() == 1 ? b.reshape(Shape{1, b.numel()}) : b));
    return enqueue("mul", &cuda::mul, cview(a), cview(db), view(out));
}

Status CudaBackend::scale(const Tensor& x, float s, const Tensor& out) {
    return enqueue("scale", &cuda::scale, cview(x), s, view(out));
}

Status CudaBackend::gaussian_topk(const Tensor& x, float z, const Tensor& out) {
    return enqueue("gaussian_topk", &cuda::gaussian_topk, cview(x), z, view(out));
}

Status CudaBackend::match_magnitude(const Tensor& x, const Tensor& target, float floor,
                                    const Tensor& out) {
    return enqueue("match_magnitude", &cuda::match_magnitude, cview(x), cview(target), floor,
                   view(out));
}

Status CudaBackend::altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                                  const Tensor& out) {
    return enqueue("altup_predict", &cuda::altup_predict, cview(streams), cview(coefs), n_streams,
                   view(out));
}

Status CudaBackend::altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                                  int n_streams, const Tensor& out) {
    return enqueue("altup_correct", &cuda::altup_correct, cview(pred), cview(actual), cview(coefs),
                   n_streams, view(out));
}

Status CudaBackend::altup_coefs(const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                                const Tensor& coef_w, float eps, const Tensor& out) {
    UNI_RETURN_IF_ERROR(expect_device(x, "altup_coefs"));
    if (!altup_coefs_supports(router_w.dtype(), coef_w.dtype(), x.cols(), router_w.rows())) {
        // A shape the fused kernel does not take: the four ops it stands for.
        UNI_ASSIGN_OR_RETURN(Tensor h, alloc(DType::kF32, x.shape()));
        UNI_ASSIGN_OR_RETURN(Tensor r, alloc(DType::kF32, Shape{x.rows(), router_w.rows()}));
        UNI_RETURN_IF_ERROR(rms_norm(x, norm_w, ops::RmsNormParams{eps}, h));
        UNI_RETURN_IF_ERROR(linear(h, router_w, r));
        UNI_RETURN_IF_ERROR(softcap(r, 1.0f, r));
        return linear(r, coef_w, out);
    }
    UNI_ASSIGN_OR_RETURN(Tensor dn, device_copy(norm_w.reshape(Shape{1, norm_w.numel()})));
    UNI_ASSIGN_OR_RETURN(Tensor dr, device_copy(router_w));
    UNI_ASSIGN_OR_RETURN(Tensor dc, device_copy(coef_w));
    return enqueue("altup_coefs", &cuda::altup_coefs, cview(x),
                   static_cast<const float*>(dn.data()), eps, dr.dtype(),
                   static_cast<const void*>(dr.data()), dr.row_stride(),
                   static_cast<int>(dr.rows()), dc.dtype(), static_cast<const void*>(dc.data()),
                   dc.row_stride(), view(out));
}

}  // namespace unicorn::cuda
