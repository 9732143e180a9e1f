#include "backend/cuda/step_recorder.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backend/cuda/cuda_status.h"

namespace unicorn::cuda {
namespace {

constexpr size_t kMinChunk = size_t{1} << 20;
// Step shapes remembered (graphs kept) at once: a Gemma 3n step is ~9 segments and a long
// conversation crosses a few key bounds, so 64 evicted the first bounds' graphs before the next
// conversation needed them again (each new sequence then re-captured them all).
constexpr size_t kMaxShapes = 512;

uint64_t mix(uint64_t h, uint64_t w) {
    h ^= w + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

uint64_t hash_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, b + i, 8);
        h = mix(h, w);
    }
    for (; i < n; ++i) h = mix(h, b[i]);
    return h;
}

}  // namespace

StepRecorder::StepRecorder(cudaStream_t stream, bool graphs) : stream_(stream), graphs_(graphs) {
    const char* d = std::getenv("UNICORN_CUDA_GRAPH_DEBUG");
    debug_ = d != nullptr && std::strcmp(d, "0") != 0;
}

// The first launch where this segment differs from the previous step's, on stderr.
void StepRecorder::report_difference(size_t segment, const std::vector<uint64_t>& words) const {
    const std::vector<uint64_t>& prev_words = prev_words_[segment];
    const std::vector<const char*>& prev_names = prev_names_[segment];
    size_t i = 0, j = 0, launch = 0;
    while (i < words.size() && j < prev_words.size()) {
        const uint64_t n = words[i], m = prev_words[j];
        const char* name = launch < names_.size() ? names_[launch] : "?";
        const char* prev = launch < prev_names.size() ? prev_names[launch] : "?";
        if (n != m || std::strcmp(name, prev) != 0) {
            std::fprintf(stderr,
                         "cuda graphs: segment %zu launch %zu is %s (%llu words), was %s (%llu)\n",
                         segment, launch, name, static_cast<unsigned long long>(n), prev,
                         static_cast<unsigned long long>(m));
            return;
        }
        for (uint64_t w = 1; w <= n; ++w)
            if (words[i + w] != prev_words[j + w]) {
                std::fprintf(stderr,
                             "cuda graphs: launch %zu (%s) argument word %llu: %llx, was %llx\n",
                             launch, name, static_cast<unsigned long long>(w - 1),
                             static_cast<unsigned long long>(words[i + w]),
                             static_cast<unsigned long long>(prev_words[j + w]));
                return;
            }
        i += n + 1, j += n + 1, ++launch;
    }
    std::fprintf(stderr, "cuda graphs: segment %zu has %zu launches, was %zu\n", segment,
                 names_.size(), prev_names.size());
}

StepRecorder::~StepRecorder() {
    if (debug_ && counts_.launches > 0) {  // which kernels a run launched, most frequent first
        std::vector<std::pair<std::string_view, int64_t>> v(launches_by_name_.begin(),
                                                            launches_by_name_.end());
        std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
        std::fprintf(stderr, "cuda launches by kernel (%lld in all):\n",
                     static_cast<long long>(counts_.launches));
        for (auto& [name, n] : v)
            std::fprintf(stderr, "  %-18.*s %lld\n", static_cast<int>(name.size()), name.data(),
                         static_cast<long long>(n));
    }
    if (stream_ != nullptr) cudaStreamSynchronize(stream_);
    for (auto& [h, s] : shapes_)
        if (s.exec != nullptr) cudaGraphExecDestroy(s.exec);
    for (Chunk& c : chunks_) {
        cudaFreeHost(c.host);
        cudaFree(c.device);
    }
    if (uploaded_ != nullptr) cudaEventDestroy(uploaded_);
}

Status StepRecorder::ensure_reusable() {
    if (!upload_pending_) return ok_status();
    upload_pending_ = false;
    return cuda_status(cudaEventSynchronize(uploaded_), "waiting for the step arena upload");
}

Result<StepRecorder::Space> StepRecorder::stage_space(size_t bytes) {
    UNI_RETURN_IF_ERROR(ensure_reusable());
    // Slots of fixed sizes: an array that grows step by step (a KV cache's positions) keeps its
    // offset, and so do the blobs after it, until it outgrows its slot — 64 bytes for the small
    // fixed ones (a token's id, position, key count), else a power of two of at least 4 KiB
    // (1024 positions, matching attention's smallest key bound), so a conversation's first
    // 1024 tokens change the step's layout once, at 17 keys.
    const size_t slot = bytes <= 64 ? 64 : std::bit_ceil(std::max<size_t>(bytes, 4096));
    Chunk* c = nullptr;
    for (Chunk& ch : chunks_)
        if (ch.size - ch.used >= slot) {
            c = &ch;
            break;
        }
    if (c == nullptr) {
        // Chunks are never freed while graphs may point into them.
        Chunk ch;
        ch.size = std::max(kMinChunk, slot);
        UNI_RETURN_IF_ERROR(cuda_status(cudaMallocHost(&ch.host, ch.size), "cudaMallocHost"));
        if (cudaError_t e = cudaMalloc(&ch.device, ch.size); e != cudaSuccess) {
            cudaFreeHost(ch.host);
            return resource_exhausted(fmt::format("cuda: cannot allocate a {}-byte step arena: {}",
                                                  ch.size, cudaGetErrorString(e)));
        }
        chunks_.push_back(ch);
        c = &chunks_.back();
    }
    Space s{static_cast<char*>(c->host) + c->used, static_cast<char*>(c->device) + c->used};
    c->used += slot;
    return s;
}

Result<const void*> StepRecorder::stage(const void* host, size_t bytes) {
    // Shared only when staged again from the same host array with the same contents (every layer
    // passing the step's positions): sharing equal contents from different arrays would make
    // a step's pointers depend on coincidences of values, and no two steps would match.
    const uint64_t h = mix(hash_bytes(host, bytes), reinterpret_cast<uintptr_t>(host));
    auto [lo, hi] = blobs_.equal_range(h);
    for (auto it = lo; it != hi; ++it)
        if (it->second.source == host && it->second.bytes == bytes &&
            std::memcmp(it->second.host, host, bytes) == 0)
            return it->second.device;
    UNI_ASSIGN_OR_RETURN(Space s, stage_space(bytes));
    if (bytes > 0) std::memcpy(s.host, host, bytes);
    blobs_.emplace(h, Blob{host, s.host, s.device, bytes});
    return static_cast<const void*>(s.device);
}

void StepRecorder::record(const char* name, Launch launch, const uint64_t* words, size_t n_words) {
    if (launches_.empty()) step_start_ = std::chrono::steady_clock::now();
    launches_.push_back(std::move(launch));
    if (debug_) {
        names_.push_back(name);
        launches_by_name_[name]++;
    }
    counts_.launches++;
    words_.push_back(n_words);
    words_.insert(words_.end(), words, words + n_words);
    // A long step runs in segments: the GPU executes one while the host records the next.
    if (launches_.size() >= kSegmentLaunches && segment_error_.ok()) segment_error_ = run_segment();
}

Status StepRecorder::run_direct() {
    for (Launch& l : launches_) UNI_RETURN_IF_ERROR(l(stream_));
    return ok_status();
}

Status StepRecorder::capture(Shape& shape) {
    UNI_RETURN_IF_ERROR(cuda_status(
        cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "graph capture"));
    Status run = run_direct();
    cudaGraph_t graph = nullptr;
    Status end = cuda_status(cudaStreamEndCapture(stream_, &graph), "graph capture end");
    UNI_RETURN_IF_ERROR(run);
    UNI_RETURN_IF_ERROR(end);
    Status inst = cuda_status(cudaGraphInstantiate(&shape.exec, graph, 0), "graph instantiate");
    cudaGraphDestroy(graph);
    return inst;
}

void StepRecorder::evict_if_full() {
    while (shapes_.size() >= kMaxShapes && !lru_.empty()) {
        auto it = shapes_.find(lru_.back());
        if (it != shapes_.end()) {
            if (it->second.exec != nullptr) cudaGraphExecDestroy(it->second.exec);
            shapes_.erase(it);
        }
        lru_.pop_back();
    }
}

Status StepRecorder::run_segment() {
    if (launches_.empty()) return ok_status();
    const auto t0 = std::chrono::steady_clock::now();
    counts_.record_s += std::chrono::duration<double>(t0 - step_start_).count();
    std::vector<uint64_t> words = std::move(words_);
    words_.clear();
    Status s = ok_status();
    // The arena bytes staged since the last segment go up first, in stream order before the
    // kernels that read them (earlier segments' bytes are already there).
    for (Chunk& c : chunks_) {
        if (c.used == c.uploaded || !s.ok()) continue;
        s = cuda_status(cudaMemcpyAsync(static_cast<char*>(c.device) + c.uploaded,
                                        static_cast<char*>(c.host) + c.uploaded,
                                        c.used - c.uploaded, cudaMemcpyHostToDevice, stream_),
                        "step arena upload");
        c.uploaded = c.used;
    }
    if (debug_) {
        if (prev_words_.size() <= segment_) prev_words_.resize(segment_ + 1);
        if (prev_names_.size() <= segment_) prev_names_.resize(segment_ + 1);
        if (!prev_words_[segment_].empty() && words != prev_words_[segment_])
            report_difference(segment_, words);
        prev_words_[segment_] = words;
        prev_names_[segment_] = names_;
    }
    names_.clear();
    segment_++;
    if (s.ok()) {
        const uint64_t h = hash_bytes(words.data(), words.size() * sizeof(uint64_t));
        auto it = shapes_.find(h);
        if (it != shapes_.end() && it->second.words != words) {  // a hash collision: start over
            if (it->second.exec != nullptr) cudaGraphExecDestroy(it->second.exec);
            shapes_.erase(it);
            it = shapes_.end();
        }
        if (!graphs_) {
            s = run_direct();
            counts_.direct++;
        } else if (it == shapes_.end()) {
            evict_if_full();
            Shape shape;
            shape.words = std::move(words);
            shapes_.emplace(h, std::move(shape));
            lru_.push_front(h);
            s = run_direct();
            counts_.direct++;
        } else {
            Shape& shape = it->second;
            lru_.remove(h);
            lru_.push_front(h);
            if (shape.exec == nullptr) {
                s = capture(shape);
                counts_.captured++;
            } else {
                counts_.replayed++;
            }
            if (s.ok()) s = cuda_status(cudaGraphLaunch(shape.exec, stream_), "cudaGraphLaunch");
        }
    }
    launches_.clear();
    counts_.flush_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return s;
}

Status StepRecorder::flush() {
    Status s = std::move(segment_error_);
    segment_error_ = ok_status();
    Status last = run_segment();
    if (s.ok()) s = std::move(last);
    // The step is over: the arena starts again once its uploads are done (ensure_reusable()).
    segment_ = 0;
    blobs_.clear();
    bool any = false;
    for (Chunk& c : chunks_) {
        any |= c.used > 0;
        c.used = c.uploaded = 0;
    }
    if (any && s.ok()) {
        if (uploaded_ == nullptr)
            s = cuda_status(cudaEventCreateWithFlags(&uploaded_, cudaEventDisableTiming),
                            "cudaEventCreate");
        if (s.ok()) s = cuda_status(cudaEventRecord(uploaded_, stream_), "cudaEventRecord");
        upload_pending_ = s.ok();
    }
    return s;
}

}  // namespace unicorn::cuda
