#include "io/weight_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace unicorn::io {

namespace fs = std::filesystem;

Result<std::unique_ptr<GgufWeightSource>> GgufWeightSource::open(const std::string& path) {
    UNI_ASSIGN_OR_RETURN(GgufFile f, GgufFile::open(path));
    return std::make_unique<GgufWeightSource>(std::make_shared<const GgufFile>(std::move(f)));
}

std::vector<std::string> GgufWeightSource::list() const {
    std::vector<std::string> out;
    out.reserve(file_->tensors().size());
    for (const GgufTensorInfo& t : file_->tensors()) out.push_back(t.name);
    return out;
}

Result<std::unique_ptr<SafetensorsWeightSource>> SafetensorsWeightSource::open(
    const std::string& path) {
    UNI_ASSIGN_OR_RETURN(SafetensorsModel m, SafetensorsModel::open(path));
    return std::make_unique<SafetensorsWeightSource>(std::move(m));
}

namespace {

Result<std::unique_ptr<WeightSource>> open_gguf(const std::string& path) {
    UNI_ASSIGN_OR_RETURN(auto s, GgufWeightSource::open(path));
    return std::unique_ptr<WeightSource>(std::move(s));
}

Result<std::unique_ptr<WeightSource>> open_safetensors(const std::string& path) {
    UNI_ASSIGN_OR_RETURN(auto s, SafetensorsWeightSource::open(path));
    return std::unique_ptr<WeightSource>(std::move(s));
}

}  // namespace

Result<std::unique_ptr<WeightSource>> open_weights(const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st))
        return not_found(fmt::format("'{}': no such file or directory", path));

    if (fs::is_directory(st)) {
        bool has_safetensors = false;
        std::vector<fs::path> ggufs;
        for (const auto& entry : fs::directory_iterator(path, ec)) {
            const fs::path& p = entry.path();
            if (p.extension() == ".safetensors" || p.filename() == "model.safetensors.index.json") {
                has_safetensors = true;
            } else if (p.extension() == ".gguf") {
                ggufs.push_back(p);
            }
        }
        if (ec) return io_error(fmt::format("cannot list '{}': {}", path, ec.message()));
        // An HF checkpoint folder may also hold a converted .gguf; its safetensors are the
        // canonical weights.
        if (has_safetensors) return open_safetensors(path);
        if (ggufs.size() == 1) return open_gguf(ggufs[0].string());
        if (ggufs.size() > 1) {
            std::sort(ggufs.begin(), ggufs.end());
            return invalid_argument(fmt::format("'{}' holds {} .gguf files ({}, ...); name one",
                                                path, ggufs.size(), ggufs[0].filename().string()));
        }
        return not_found(fmt::format("no .safetensors or .gguf weights in '{}'", path));
    }

    const fs::path p(path);
    if (p.extension() == ".gguf") return open_gguf(path);
    if (p.extension() == ".safetensors" || p.extension() == ".json") return open_safetensors(path);
    // Unknown extension: a GGUF file starts with its magic; anything else is tried as
    // safetensors, whose error then says what is wrong.
    UNI_ASSIGN_OR_RETURN(auto mapped, MappedFile::open(path));
    if (mapped->size() >= 4 && std::memcmp(mapped->data(), "GGUF", 4) == 0) {
        UNI_ASSIGN_OR_RETURN(GgufFile f, GgufFile::parse(std::move(mapped)));
        return std::unique_ptr<WeightSource>(
            std::make_unique<GgufWeightSource>(std::make_shared<const GgufFile>(std::move(f))));
    }
    return open_safetensors(path);
}

}  // namespace unicorn::io
