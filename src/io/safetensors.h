// safetensors reader (huggingface/safetensors: 8-byte little-endian header length N, N bytes of
// JSON header, then the data section; each header entry is
// {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]} relative to the data section).
//
// Every entry is validated when the file is opened: offsets inside the data section, offsets
// consistent with shape x dtype, no overlaps. Entries whose dtype Unicorn does not compute
// with (anything but F32, F16, BF16) or with more than 4 dimensions are still listed, so a
// checkpoint with an unused integer buffer opens; asking for such a tensor's view is an
// `unsupported` error naming it. Tensor data is mmapped, never copied (except a tensor whose
// bytes are not aligned to its element size, which is copied once so kernels may assume
// natural alignment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "io/mapped_file.h"

namespace unicorn::io {

// safetensors' own limit on the JSON header (MAX_HEADER_SIZE in the reference library).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct SafetensorsTensorInfo {
    std::string name;
    std::string dtype_name;      // as written: "BF16", "I64", ...
    std::optional<DType> dtype;  // F32, F16 or BF16; nullopt for any other dtype
    std::vector<int64_t> dims;   // PyTorch order, any rank
    Shape shape;                 // dims, when rank <= 4
    uint64_t begin = 0;          // data_offsets, relative to the data section
    uint64_t end = 0;
    const void* data = nullptr;  // inside the mapping; end - begin valid bytes
    // Empty when a view can be made; otherwise why not ("dtype I64 is not supported ...").
    std::string unsupported_reason;

    size_t nbytes() const { return static_cast<size_t>(end - begin); }
};

class SafetensorsFile {
  public:
    static Result<SafetensorsFile> open(const std::string& path);
    static Result<SafetensorsFile> parse(std::shared_ptr<MappedFile> file);
    static Result<SafetensorsFile> parse_bytes(std::shared_ptr<const std::vector<uint8_t>> bytes);

    const std::string& path() const { return file_->path(); }
    size_t data_offset() const { return data_offset_; }  // 8 + header length
    // Header order is not meaningful in JSON; tensors() is sorted by data offset.
    const std::vector<SafetensorsTensorInfo>& tensors() const { return tensors_; }
    const SafetensorsTensorInfo* tensor(const std::string& name) const;  // nullptr when absent
    // not_found when absent, unsupported for a dtype/rank Unicorn cannot use.
    Result<Tensor> tensor_view(const std::string& name) const;
    Result<Tensor> view(const SafetensorsTensorInfo& info) const;

  private:
    friend class SafetensorsParser;
    SafetensorsFile() = default;

    std::shared_ptr<MappedFile> file_;
    size_t data_offset_ = 0;
    std::vector<SafetensorsTensorInfo> tensors_;
    std::unordered_map<std::string, size_t> index_;
};

// The weight_map of a `model.safetensors.index.json`: tensor name → shard file name (relative
// to the index's folder; absolute names and ".." are rejected). `source` names the file in
// errors.
Result<std::vector<std::pair<std::string, std::string>>> parse_safetensors_index(
    std::string_view json_text, const std::string& source = "model.safetensors.index.json");

// All the safetensors weights of a checkpoint. open() accepts:
//   - a folder with model.safetensors.index.json (its weight_map decides which shard holds
//     each tensor), or else with model.safetensors, or else with any *.safetensors files
//     (a tensor name found in two of them is an error);
//   - a single .safetensors file;
//   - an index .json file.
class SafetensorsModel {
  public:
    static Result<SafetensorsModel> open(const std::string& path);

    const std::string& path() const { return path_; }
    const std::vector<SafetensorsFile>& files() const { return files_; }
    std::vector<std::string> names() const;  // sorted
    bool has(const std::string& name) const { return index_.count(name) != 0; }
    const SafetensorsTensorInfo* tensor(const std::string& name) const;
    // not_found naming the tensor and the checkpoint; unsupported as SafetensorsFile.
    Result<Tensor> tensor_view(const std::string& name) const;

  private:
    SafetensorsModel() = default;
    Status add_file(SafetensorsFile file, bool duplicates_are_errors);

    std::string path_;
    std::vector<SafetensorsFile> files_;
    // name → (file, tensor) in files_
    std::unordered_map<std::string, std::pair<size_t, size_t>> index_;
};

}  // namespace unicorn::io
