#include "models/common/model_files.h"

#include <fmt/format.h>

#include <filesystem>

#include "io/gguf.h"
#include "io/hf_config.h"
#include "io/weight_source.h"
#include "quant/quantize.h"

namespace unicorn {

ModelFiles::~ModelFiles() = default;

Result<std::shared_ptr<ModelFiles>> ModelFiles::open(const std::string& path) {
    std::shared_ptr<ModelFiles> f(new ModelFiles());
    f->path_ = path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        UNI_ASSIGN_OR_RETURN(io::HfConfig cfg, io::HfConfig::load(path));
        f->hf_ = std::make_unique<io::HfConfig>(std::move(cfg));
        // text_config's model_type first ("gemma3_text" inside a multimodal "gemma3").
        auto mt = f->hf_->get_string("model_type");
        if (!mt.ok()) return mt.status().with_context(path);
        f->arch_ = *mt;
        UNI_ASSIGN_OR_RETURN(f->weights_, io::open_weights(path));
        return f;
    }
    if (!std::filesystem::exists(path, ec))
        return not_found(fmt::format("model '{}' does not exist", path));
    UNI_ASSIGN_OR_RETURN(io::GgufFile g, io::GgufFile::open(path));
    f->gguf_ = std::make_unique<io::GgufFile>(std::move(g));
    auto arch = f->gguf_->get_string("general.architecture");
    if (!arch.ok()) return arch.status().with_context(path);
    f->arch_ = *arch;
    return f;
}

Result<std::optional<int64_t>> ModelFiles::gguf_int(const std::string& key) const {
    const io::GgufValue* v = gguf_ ? gguf_->find(key) : nullptr;
    if (v == nullptr) return std::optional<int64_t>();
    auto r = v->as_i64();
    if (!r.ok())
        return corrupt(fmt::format("key '{}' must be an integer, found {}", key, v->to_string()));
    return std::optional<int64_t>(*r);
}

Result<std::optional<double>> ModelFiles::gguf_float(const std::string& key) const {
    const io::GgufValue* v = gguf_ ? gguf_->find(key) : nullptr;
    if (v == nullptr) return std::optional<double>();
    auto r = v->as_f64();
    if (!r.ok())
        return corrupt(fmt::format("key '{}' must be a number, found {}", key, v->to_string()));
    return std::optional<double>(*r);
}

Result<std::optional<std::string>> ModelFiles::gguf_string(const std::string& key) const {
    const io::GgufValue* v = gguf_ ? gguf_->find(key) : nullptr;
    if (v == nullptr) return std::optional<std::string>();
    auto r = v->as_string();
    if (!r.ok())
        return corrupt(fmt::format("key '{}' must be a string, found {}", key, v->to_string()));
    return std::optional<std::string>(*r);
}

Result<int64_t> ModelFiles::gguf_int_required(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(std::optional<int64_t> v, gguf_int(key));
    if (!v) return corrupt(fmt::format("required key '{}' is missing", key));
    return *v;
}

Result<std::optional<std::vector<bool>>> ModelFiles::gguf_bool_array(const std::string& key) const {
    const io::GgufValue* v = gguf_ ? gguf_->find(key) : nullptr;
    if (v == nullptr) return std::optional<std::vector<bool>>();
    std::vector<bool> out;
    for (size_t i = 0; v->is_array() && i < v->size(); ++i) {
        auto b = v->at(i).as_bool();
        if (!b.ok()) break;
        out.push_back(*b);
    }
    if (!v->is_array() || out.size() != v->size())
        return corrupt(
            fmt::format("key '{}' must be an array of booleans, found {}", key, v->to_string()));
    return std::optional<std::vector<bool>>(std::move(out));
}

Result<std::optional<std::vector<double>>> ModelFiles::gguf_numbers(const std::string& key) const {
    const io::GgufValue* v = gguf_ ? gguf_->find(key) : nullptr;
    if (v == nullptr) return std::optional<std::vector<double>>();
    Result<std::vector<double>> r = std::vector<double>{};
    if (v->is_array()) {
        r = v->as_f64_array();
    } else if (auto d = v->as_f64(); d.ok()) {
        r = std::vector<double>{*d};
    } else {
        r = d.status();
    }
    if (!r.ok())
        return corrupt(fmt::format("key '{}' must be a number or an array of numbers, found {}",
                                   key, v->to_string()));
    return std::optional<std::vector<double>>(std::move(*r));
}

bool ModelFiles::has_tensor(const std::string& name) const {
    if (gguf_) return gguf_->tensor(name) != nullptr;
    return weights_->has(name);
}

Result<Tensor> ModelFiles::tensor(const std::string& name, std::optional<Shape> expect) const {
    Result<Tensor> t = gguf_ ? gguf_->tensor_view(name) : weights_->get(name);
    if (!t.ok()) return t.status();
    if (expect && t->shape() != *expect)
        return corrupt(fmt::format("tensor '{}' has shape {}, expected {}", name,
                                   t->shape().to_string(), expect->to_string()));
    return t;
}

std::vector<std::string> ModelFiles::tensor_names() const {
    std::vector<std::string> out;
    if (gguf_) {
        for (const auto& t : gguf_->tensors()) out.push_back(t.name);
    } else {
        out = weights_->list();
    }
    return out;
}

Result<Tensor> load_norm(const ModelFiles& f, const std::string& name, int64_t n, float offset) {
    UNI_ASSIGN_OR_RETURN(Tensor t, f.tensor(name));
    if (t.numel() != n)
        return corrupt(fmt::format("tensor '{}' has {} elements, expected {}", name, t.numel(), n));
    if (!quant::has_reference(t.dtype()) || n % dtype_block_size(t.dtype()) != 0)
        return unsupported(
            fmt::format("tensor '{}' has unsupported type {}", name, dtype_name(t.dtype())));
    Tensor out = Tensor::empty(DType::kF32, Shape{n});
    quant::dequantize_row(t.dtype(), t.data(), out.data_as<float>(), n);
    for (int64_t i = 0; i < n; ++i) out.data_as<float>()[i] += offset;
    return out;
}

}  // namespace unicorn
