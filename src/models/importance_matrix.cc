#include "models/importance_matrix.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <map>

#include "io/gguf.h"

namespace unicorn {
namespace {

constexpr std::string_view kSumSuffix = ".in_sum2";
constexpr std::string_view kCountSuffix = ".counts";

bool strip_suffix(std::string& s, std::string_view suffix) {
    if (s.size() <= suffix.size() ||
        s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0)
        return false;
    s.resize(s.size() - suffix.size());
    return true;
}

std::vector<float> floats_of(const io::GgufTensorInfo& t) {
    std::vector<float> v(t.nbytes / sizeof(float));
    if (!v.empty()) std::memcpy(v.data(), t.data, v.size() * sizeof(float));
    return v;
}

}  // namespace

Result<ImportanceMatrix> load_importance_matrix(const std::string& path) {
    auto opened = io::GgufFile::open(path);
    if (!opened.ok())
        return Status(opened.status().code(),
                      fmt::format("importance matrix '{}': {}", path, opened.status().message()));
    const io::GgufFile& file = *opened;
    const auto bad = [&](const std::string& what) {
        return invalid_argument(fmt::format("importance matrix '{}': {}", path, what));
    };
    const io::GgufValue* datasets = file.find("imatrix.datasets");
    const io::GgufValue* chunks = file.find("imatrix.chunk_count");
    if (datasets == nullptr || chunks == nullptr || !file.has("imatrix.chunk_size"))
        return bad(
            "not an importance matrix in GGUF format (no imatrix.datasets, imatrix.chunk_count "
            "and imatrix.chunk_size; write one with `unicorn eval --imatrix`)");
    ImportanceMatrix m;
    m.path = path;
    if (datasets->is_array()) {
        auto names = datasets->as_string_array();
        if (names.ok()) m.datasets = *names;
    }
    UNI_ASSIGN_OR_RETURN(m.chunk_count, chunks->as_i64());

    std::map<std::string, std::pair<const io::GgufTensorInfo*, const io::GgufTensorInfo*>> pairs;
    for (const io::GgufTensorInfo& t : file.tensors()) {
        std::string name = t.name;
        if (strip_suffix(name, kSumSuffix)) {
            pairs[name].first = &t;
        } else if (strip_suffix(name, kCountSuffix)) {
            pairs[name].second = &t;
        }
    }
    for (const auto& [name, pair] : pairs) {
        const auto [sums, counts] = pair;
        if (sums == nullptr || counts == nullptr)
            return bad(fmt::format("'{}' has {} but no {}", name, sums ? kSumSuffix : kCountSuffix,
                                   sums ? kCountSuffix : kSumSuffix));
        if (sums->dtype != DType::kF32 || counts->dtype != DType::kF32)
            return bad(fmt::format("'{}': sums and counts must be F32", name));
        const std::vector<float> s = floats_of(*sums);
        const std::vector<float> c = floats_of(*counts);
        if (c.empty() || s.size() % c.size() != 0)
            return bad(
                fmt::format("'{}': {} sums do not split into {} counts", name, s.size(), c.size()));
        const size_t per = s.size() / c.size();
        std::vector<float> importance(s.size());
        for (size_t j = 0; j < c.size(); ++j) {
            // llama.cpp rounds the stored count to an integer, then divides in float.
            const auto count = static_cast<float>(std::lround(c[j]));
            for (size_t i = 0; i < per; ++i)
                importance[j * per + i] = count > 0.0f ? s[j * per + i] / count : 1.0f;
        }
        for (size_t i = 0; i < importance.size(); ++i)
            if (!std::isfinite(importance[i]) || importance[i] < 0.0f)
                return bad(fmt::format("'{}' column {} has importance {}", name, i, importance[i]));
        m.entries.emplace(name, std::move(importance));
    }
    if (m.entries.empty()) return bad("it holds no entries");
    return m;
}

}  // namespace unicorn
