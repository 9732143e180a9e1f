#include "io/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/log.h"
#include "io/json_util.h"

namespace unicorn::io {
namespace {

namespace fs = std::filesystem;
using detail::parse_json;
using nlohmann::json;

// Bits per element of every dtype the safetensors library defines (Dtype in safetensors/src/
// tensor.rs), so offsets can be checked even for tensors Unicorn will not use. 0 = unknown.
int dtype_bits(const std::string& name) {
    static const std::map<std::string, int> kBits = {
        {"BOOL", 8},    {"U8", 8},   {"I8", 8},   {"F8_E5M2", 8}, {"F8_E4M3", 8},
        {"F8_E8M0", 8}, {"I16", 16}, {"U16", 16}, {"F16", 16},    {"BF16", 16},
        {"I32", 32},    {"U32", 32}, {"F32", 32}, {"I64", 64},    {"U64", 64},
        {"F64", 64},    {"C64", 64}, {"F4", 4},   {"F6_E2M3", 6}, {"F6_E3M2", 6},
    };
    auto it = kBits.find(name);
    return it == kBits.end() ? 0 : it->second;
}

std::optional<DType> supported_dtype(const std::string& name) {
    if (name == "F32") return DType::kF32;
    if (name == "F16") return DType::kF16;
    if (name == "BF16") return DType::kBF16;
    return std::nullopt;
}

// One header entry → info; offsets are checked against the data section size.
Status parse_entry(const std::string& name, const json& e, uint64_t data_size,
                   SafetensorsTensorInfo* info) {
    const std::string what = "tensor '" + name + "'";
    if (!e.is_object()) return corrupt(fmt::format("{}: header entry must be an object", what));
    auto dtype = e.find("dtype");
    auto shape = e.find("shape");
    auto offsets = e.find("data_offsets");
    if (dtype == e.end() || !dtype->is_string())
        return corrupt(fmt::format("{}: 'dtype' must be a string", what));
    if (shape == e.end() || !shape->is_array())
        return corrupt(fmt::format("{}: 'shape' must be an array", what));
    if (offsets == e.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
        return corrupt(fmt::format("{}: 'data_offsets' must be two non-negative integers", what));
    }

    info->name = name;
    info->dtype_name = dtype->get<std::string>();
    uint64_t numel = 1;
    for (const json& d : *shape) {
        if (!d.is_number_unsigned())
            return corrupt(fmt::format("{}: shape entries must be non-negative integers", what));
        const auto n = d.get<uint64_t>();
        if (n > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, n, &numel) ||
            numel > static_cast<uint64_t>(INT64_MAX)) {
            return corrupt(fmt::format("{}: shape has too many elements", what));
        }
        info->dims.push_back(static_cast<int64_t>(n));
    }
    info->begin = (*offsets)[0].get<uint64_t>();
    info->end = (*offsets)[1].get<uint64_t>();
    if (info->begin > info->end || info->end > data_size) {
        return corrupt(fmt::format("{}: data_offsets [{}, {}] are outside the {}-byte data section",
                                   what, info->begin, info->end, data_size));
    }

    const int bits = dtype_bits(info->dtype_name);
    if (bits != 0) {
        uint64_t total_bits = 0;
        if (__builtin_mul_overflow(numel, static_cast<uint64_t>(bits), &total_bits) ||
            total_bits / 8 != info->end - info->begin || total_bits % 8 != 0) {
            return corrupt(
                fmt::format("{} ({} with {} elements) needs {} bytes, but data_offsets [{}, {}] "
                            "span {}",
                            what, info->dtype_name, numel, total_bits / 8, info->begin, info->end,
                            info->end - info->begin));
        }
    }

    info->dtype = supported_dtype(info->dtype_name);
    if (!info->dtype) {
        info->unsupported_reason = fmt::format(
            "{} has dtype {}; Unicorn reads F32, F16 and BF16 safetensors", what, info->dtype_name);
    } else if (info->dims.size() > static_cast<size_t>(Shape::kMaxDims)) {
        info->unsupported_reason =
            fmt::format("{} has {} dimensions; Unicorn tensors have at most {}", what,
                        info->dims.size(), Shape::kMaxDims);
    } else {
        for (int64_t d : info->dims) info->shape.push_back(d);
    }
    return ok_status();
}

}  // namespace

class SafetensorsParser {
  public:
    static Result<SafetensorsFile> parse(std::shared_ptr<MappedFile> file) {
        SafetensorsFile f;
        f.file_ = std::move(file);
        const uint8_t* data = f.file_->data();
        const size_t size = f.file_->size();
        if (size < 8)
            return corrupt(
                fmt::format("file of {} bytes is too small for a safetensors header", size));
        uint64_t header_len = 0;
        std::memcpy(&header_len, data, 8);
        if (header_len > kSafetensorsMaxHeaderBytes) {
            return corrupt(fmt::format("header length {} exceeds the safetensors limit of {} bytes",
                                       header_len, kSafetensorsMaxHeaderBytes));
        }
        if (header_len > size - 8) {
            return corrupt(fmt::format("header length {} is larger than the {} bytes after it",
                                       header_len, size - 8));
        }
        const std::string_view text(reinterpret_cast<const char*>(data + 8), header_len);
        // The reference library requires the header to start with '{' (and pads it with
        // spaces); checking first gives a clear message for files that are not safetensors.
        if (text.empty() || text[0] != '{')
            return corrupt("header does not start with '{' (not a safetensors file?)");
        UNI_ASSIGN_OR_RETURN(json header, parse_json(text, "header"));
        if (!header.is_object()) return corrupt("header is not a JSON object");

        f.data_offset_ = 8 + header_len;
        const uint64_t data_size = size - f.data_offset_;
        for (auto it = header.begin(); it != header.end(); ++it) {
            if (it.key() == "__metadata__") continue;  // free-form strings; nothing we use
            SafetensorsTensorInfo info;
            UNI_RETURN_IF_ERROR(parse_entry(it.key(), it.value(), data_size, &info));
            info.data = data + f.data_offset_ + info.begin;
            f.tensors_.push_back(std::move(info));
        }

        std::sort(f.tensors_.begin(), f.tensors_.end(), [](const auto& a, const auto& b) {
            return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
        });
        const SafetensorsTensorInfo* prev = nullptr;
        for (size_t i = 0; i < f.tensors_.size(); ++i) {
            const SafetensorsTensorInfo& t = f.tensors_[i];
            if (t.end == t.begin) continue;  // empty tensors take no bytes
            if (prev != nullptr && prev->end > t.begin) {
                return corrupt(fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap",
                                           prev->name, prev->begin, prev->end, t.name, t.begin,
                                           t.end));
            }
            prev = &t;
        }
        for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
        return f;
    }
};

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    UNI_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
    return parse(std::move(file));
}

Result<SafetensorsFile> SafetensorsFile::parse(std::shared_ptr<MappedFile> file) {
    const std::string path = file->path();
    try {
        auto r = SafetensorsParser::parse(std::move(file));
        if (!r.ok()) return r.status().with_context(path);
        return r;
    } catch (const json::exception& e) {
        // Every access above is type-checked first; this is a last line of defence so a
        // malformed file can never terminate the process.
        return corrupt(fmt::format("{}: malformed header: {}", path, e.what()));
    }
}

Result<SafetensorsFile> SafetensorsFile::parse_bytes(
    std::shared_ptr<const std::vector<uint8_t>> bytes) {
    return parse(MappedFile::from_buffer(std::move(bytes)));
}

const SafetensorsTensorInfo* SafetensorsFile::tensor(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

Result<Tensor> SafetensorsFile::tensor_view(const std::string& name) const {
    const SafetensorsTensorInfo* info = tensor(name);
    if (info == nullptr) return not_found(fmt::format("tensor '{}' not found in {}", name, path()));
    return view(*info);
}

Result<Tensor> SafetensorsFile::view(const SafetensorsTensorInfo& info) const {
    if (!info.unsupported_reason.empty())
        return unsupported(fmt::format("{}: {}", path(), info.unsupported_reason));
    const size_t elem = dtype_block_bytes(*info.dtype);
    if (reinterpret_cast<uintptr_t>(info.data) % elem == 0) {
        // Read-only mapping; see GgufFile::view.
        return Tensor::view_owned(*info.dtype, info.shape, const_cast<void*>(info.data), file_);
    }
    // Writers pad the header to 8 bytes so this does not happen with files from the reference
    // library; a hand-made file still must not hand kernels a misaligned float pointer.
    log_warn("{}: tensor '{}' is not {}-byte aligned; copying it", path(), info.name, elem);
    Tensor t = Tensor::empty(*info.dtype, info.shape);
    std::memcpy(t.data(), info.data, info.nbytes());
    return t;
}

// ---------------------------------------------------------------------------------------
// Index and multi-file checkpoints

Result<std::vector<std::pair<std::string, std::string>>> parse_safetensors_index(
    std::string_view json_text, const std::string& source) {
    try {
        auto parsed = parse_json(json_text, source);
        if (!parsed.ok()) return parsed.status();
        const json& j = *parsed;
        if (!j.is_object()) return corrupt(source + ": not a JSON object");
        auto map = j.find("weight_map");
        if (map == j.end() || !map->is_object())
            return corrupt(source + ": 'weight_map' must be an object");
        std::vector<std::pair<std::string, std::string>> out;
        for (auto it = map->begin(); it != map->end(); ++it) {
            if (!it.value().is_string()) {
                return corrupt(
                    fmt::format("{}: weight_map entry '{}' must be a file name", source, it.key()));
            }
            const std::string shard = it.value().get<std::string>();
            const fs::path p(shard);
            bool escapes = shard.empty() || p.is_absolute();
            for (const auto& part : p) escapes = escapes || part == "..";
            if (escapes) {
                return corrupt(fmt::format(
                    "{}: weight_map entry '{}' names shard '{}', which is not a file in the "
                    "checkpoint folder",
                    source, it.key(), shard));
            }
            out.emplace_back(it.key(), shard);
        }
        return out;
    } catch (const json::exception& e) {
        return corrupt(fmt::format("{}: malformed: {}", source, e.what()));
    }
}

Status SafetensorsModel::add_file(SafetensorsFile file, bool duplicates_are_errors) {
    const size_t fi = files_.size();
    for (size_t ti = 0; ti < file.tensors().size(); ++ti) {
        const std::string& name = file.tensors()[ti].name;
        auto [it, inserted] = index_.emplace(name, std::make_pair(fi, ti));
        if (!inserted && duplicates_are_errors) {
            return corrupt(fmt::format("tensor '{}' appears in both {} and {}", name,
                                       files_[it->second.first].path(), file.path()));
        }
    }
    files_.push_back(std::move(file));
    return ok_status();
}

Result<SafetensorsModel> SafetensorsModel::open(const std::string& path) {
    SafetensorsModel m;
    m.path_ = path;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st))
        return not_found(fmt::format("'{}': no such file or directory", path));

    fs::path index_path;
    std::vector<fs::path> singles;
    if (fs::is_directory(st)) {
        const fs::path dir(path);
        if (fs::exists(dir / "model.safetensors.index.json", ec)) {
            index_path = dir / "model.safetensors.index.json";
        } else if (fs::exists(dir / "model.safetensors", ec)) {
            singles.push_back(dir / "model.safetensors");
        } else {
            for (const auto& entry : fs::directory_iterator(dir, ec)) {
                if (entry.path().extension() == ".safetensors") singles.push_back(entry.path());
            }
            if (ec) return io_error(fmt::format("cannot list '{}': {}", path, ec.message()));
            std::sort(singles.begin(), singles.end());
            if (singles.empty())
                return not_found(fmt::format("no .safetensors files in '{}'", path));
        }
    } else if (fs::path(path).extension() == ".json") {
        index_path = path;
    } else {
        singles.push_back(path);
    }

    if (index_path.empty()) {
        for (const fs::path& p : singles) {
            UNI_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::open(p.string()));
            UNI_RETURN_IF_ERROR(m.add_file(std::move(f), /*duplicates_are_errors=*/true));
        }
        return m;
    }

    UNI_ASSIGN_OR_RETURN(auto index_file, MappedFile::open(index_path.string()));
    const std::string_view text(reinterpret_cast<const char*>(index_file->data()),
                                index_file->size());
    UNI_ASSIGN_OR_RETURN(auto weight_map, parse_safetensors_index(text, index_path.string()));
    const fs::path dir = index_path.parent_path();
    std::map<std::string, size_t> shard_file;  // shard name → index in files_
    for (const auto& [name, shard] : weight_map) {
        if (shard_file.count(shard) != 0) continue;
        auto f = SafetensorsFile::open((dir / shard).string());
        if (!f.ok()) {
            return f.status().with_context(
                fmt::format("{} lists shard '{}'", index_path.string(), shard));
        }
        shard_file[shard] = m.files_.size();
        // Shards may repeat a tensor; the weight_map below says which copy counts.
        UNI_RETURN_IF_ERROR(m.add_file(std::move(f).value(), /*duplicates_are_errors=*/false));
    }
    for (const auto& [name, shard] : weight_map) {
        const size_t fi = shard_file[shard];
        const SafetensorsFile& f = m.files_[fi];
        const SafetensorsTensorInfo* info = f.tensor(name);
        if (info == nullptr) {
            return corrupt(fmt::format("{} maps tensor '{}' to {}, which does not contain it",
                                       index_path.string(), name, f.path()));
        }
        m.index_[name] = {fi, static_cast<size_t>(info - f.tensors().data())};
    }
    return m;
}

std::vector<std::string> SafetensorsModel::names() const {
    std::vector<std::string> out;
    out.reserve(index_.size());
    for (const auto& [name, loc] : index_) out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

const SafetensorsTensorInfo* SafetensorsModel::tensor(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) return nullptr;
    return &files_[it->second.first].tensors()[it->second.second];
}

Result<Tensor> SafetensorsModel::tensor_view(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end())
        return not_found(fmt::format("tensor '{}' not found in {}", name, path_));
    const SafetensorsFile& f = files_[it->second.first];
    return f.view(f.tensors()[it->second.second]);
}

}  // namespace unicorn::io
