// MappedFile: a read-only view of a whole file's bytes. Weights are mmapped, never copied: a
// Tensor that views a mapped file keeps the mapping alive through its owner pointer, so the
// file stays mapped exactly as long as some tensor (or parser) still points into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace unicorn::io {

class MappedFile {
  public:
    // mmaps `path` read-only (PROT_READ, MAP_PRIVATE). Errors: not_found for a missing file,
    // invalid_argument for a directory or other non-regular file, corrupt for an empty file
    // (no format we read can be 0 bytes), io_error when the OS refuses to open or map it.
    static Result<std::shared_ptr<MappedFile>> open(const std::string& path);

    // A MappedFile over bytes already in memory (fuzzers, tests, files built in-process).
    // `name` stands in for the path in error messages. An empty buffer is allowed here: the
    // parsers report it as truncated, which is what a fuzzer wants to exercise.
    static std::shared_ptr<MappedFile> from_buffer(
        std::shared_ptr<const std::vector<uint8_t>> bytes, std::string name = "<memory>");

    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

  private:
    MappedFile() = default;

    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    std::string path_;
    bool mmapped_ = false;                                // munmap on destruction
    std::shared_ptr<const std::vector<uint8_t>> buffer_;  // from_buffer's bytes
};

}  // namespace unicorn::io
