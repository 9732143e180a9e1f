// StepRecorder: the CUDA backend's ops do not launch at once; they are recorded and run when the
// host next needs a result (to_host), i.e. once per forward step. A step whose launches are
// identical to an earlier step's — the same kernels with the same arguments, which is what every
// decode step is while the KV cache grows inside a power of two — runs as a CUDA graph: one
// launch for the ~1000 kernels of a Gemma 3n token instead of one each, which is what bounds
// small-model decode on a fast GPU (performance-anchors §1c).
//
// What changes between such steps (token ids, positions, KV row indices, key counts, host-gathered
// embedding rows) is never a launch argument: ops stage it (stage()) into an arena of pinned host
// memory that is copied to a device arena just before the step runs, and kernels read it there.
// The arena hands out offsets rounded to powers of two, so a growing array keeps its place.
//
// A step shape seen for the first time runs launch by launch; the second time it is captured
// into a graph, later times the graph is replayed. Launches are compared exactly (every argument
// word), never by hash alone. A long step is cut into segments of kSegmentLaunches launches,
// each matched and replayed on its own and started as soon as it is recorded, so the GPU runs
// one segment while the host records the next (recording costs ~1.5 µs per op: about half of a
// Gemma 3n decode step's GPU time).
#pragma once

#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace unicorn::cuda {

class StepRecorder {
  public:
    // `graphs`: replay recurring steps as CUDA graphs (else every launch is direct).
    StepRecorder(cudaStream_t stream, bool graphs);
    ~StepRecorder();
    StepRecorder(const StepRecorder&) = delete;
    StepRecorder& operator=(const StepRecorder&) = delete;

    // Copies `bytes` of host data into the step's arena; returns where they will be in device
    // memory when the step runs. An identical array staged earlier in the step is shared.
    Result<const void*> stage(const void* host, size_t bytes);
    // Arena space the caller fills on the host (for host-gathered rows): {host, device}.
    struct Space {
        void* host;
        void* device;
    };
    Result<Space> stage_space(size_t bytes);

    // Adds a launch; `words` are every argument it passes that is not staged memory; `name`
    // (a string literal) names it in UNICORN_CUDA_GRAPH_DEBUG=1's report of why a step did not
    // match the step before it.
    using Launch = std::function<Status(cudaStream_t)>;
    void record(const char* name, Launch launch, const uint64_t* words, size_t n_words);

    // Runs the rest of the step's launches (uploading the arena first) in stream order, then
    // starts a new step. Returns the step's first error (a segment's included); the launches are
    // dropped either way.
    Status flush();
    static constexpr size_t kSegmentLaunches = 128;
    bool pending() const { return !launches_.empty(); }

    // How the steps' segments ran so far (tests and `bench` read these).
    struct Counts {
        int64_t direct = 0, captured = 0, replayed = 0;
        int64_t launches = 0;  // recorded, over all steps
        // Host time: recording (first launch of a step to its flush) and inside flush().
        double record_s = 0, flush_s = 0;
    };
    const Counts& counts() const { return counts_; }

  private:
    struct Chunk {
        void* host = nullptr;  // pinned
        void* device = nullptr;
        size_t size = 0, used = 0;
        size_t uploaded = 0;  // bytes already sent by this step's earlier segments
    };
    struct Shape {
        std::vector<uint64_t> words;
        cudaGraphExec_t exec = nullptr;
    };
    Status ensure_reusable();  // waits until the previous step's arena upload is done
    Status run_segment();      // uploads the new arena bytes, runs the pending launches
    Status run_direct();
    Status capture(Shape& shape);
    void evict_if_full();
    void report_difference(size_t segment, const std::vector<uint64_t>& words) const;

    cudaStream_t stream_;
    bool graphs_;
    std::vector<Chunk> chunks_;
    cudaEvent_t uploaded_ = nullptr;
    bool upload_pending_ = false;
    // This step's staged blobs by content hash (dedup).
    struct Blob {
        const void* source;  // the caller's array
        const void* host;
        const void* device;
        size_t bytes;
    };
    std::unordered_multimap<uint64_t, Blob> blobs_;
    std::vector<Launch> launches_;
    std::vector<uint64_t> words_;
    std::vector<const char*> names_;
    bool debug_ = false;
    std::unordered_map<std::string_view, int64_t> launches_by_name_;  // debug: printed at exit
    std::vector<std::vector<uint64_t>> prev_words_;  // debug: the last step's, by segment
    std::vector<std::vector<const char*>> prev_names_;
    size_t segment_ = 0;                          // of the current step
    Status segment_error_;                        // a failed segment's error, reported by flush()
    std::unordered_map<uint64_t, Shape> shapes_;  // by hash of words (compared exactly)
    std::list<uint64_t> lru_;
    Counts counts_;
    std::chrono::steady_clock::time_point step_start_;
};

}  // namespace unicorn::cuda
