#include "io/hf_config.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "io/json_util.h"
#include "io/mapped_file.h"

namespace unicorn::io {

using nlohmann::json;

struct HfConfig::Impl {
    json root;
    std::string source;
};

namespace {

// Where a key was found, for lookups and for naming it in messages.
struct Found {
    const json* value = nullptr;  // nullptr when absent; never points at a JSON null
    std::string name;             // "hidden_size" or "text_config.hidden_size"
};

Found lookup(const json& root, const std::string& key) {
    auto text = root.find("text_config");
    if (text != root.end() && text->is_object()) {
        auto it = text->find(key);
        if (it != text->end()) return {it->is_null() ? nullptr : &*it, "text_config." + key};
    }
    auto it = root.find(key);
    if (it != root.end()) return {it->is_null() ? nullptr : &*it, key};
    return {nullptr, key};
}

Status type_error(const std::string& source, const std::string& name, const char* expected,
                  const json& v) {
    return corrupt(fmt::format("{}: '{}' must be {}, found {}", source, name, expected,
                               detail::describe_json(v)));
}

// JSON number → int64, accepting integral floats; nullopt if it is not one.
std::optional<int64_t> as_int(const json& v) {
    if (v.is_number_unsigned()) {
        const auto u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return static_cast<int64_t>(u);
    }
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && d >= -9223372036854775808.0 &&
            d < 9223372036854775808.0) {
            return static_cast<int64_t>(d);
        }
    }
    return std::nullopt;
}

}  // namespace

Result<HfConfig> HfConfig::load(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string file = path;
    if (fs::is_directory(path, ec)) {
        file = (fs::path(path) / "config.json").string();
        if (!fs::exists(file, ec)) return not_found(fmt::format("no config.json in '{}'", path));
    }
    UNI_ASSIGN_OR_RETURN(auto mapped, MappedFile::open(file));
    return parse(std::string_view(reinterpret_cast<const char*>(mapped->data()), mapped->size()),
                 file);
}

Result<HfConfig> HfConfig::parse(std::string_view json_text, const std::string& source) {
    UNI_ASSIGN_OR_RETURN(json root, detail::parse_json(json_text, source));
    if (!root.is_object())
        return corrupt(fmt::format("{}: expected a JSON object, found {}", source,
                                   detail::describe_json(root)));
    HfConfig c;
    c.impl_ = std::make_shared<const Impl>(Impl{std::move(root), source});
    return c;
}

const std::string& HfConfig::source() const { return impl_->source; }

bool HfConfig::has_text_config() const {
    auto it = impl_->root.find("text_config");
    return it != impl_->root.end() && it->is_object();
}

bool HfConfig::has(const std::string& key) const {
    return lookup(impl_->root, key).value != nullptr;
}

namespace {
Status missing(const std::string& source, const std::string& key) {
    return not_found(fmt::format("{}: '{}' is missing", source, key));
}
}  // namespace

Result<int64_t> HfConfig::get_int(const std::string& key) const {
    const Found f = lookup(impl_->root, key);
    if (f.value == nullptr) return missing(source(), key);
    if (f.value->is_number_unsigned() && !as_int(*f.value)) {
        return out_of_range(fmt::format("{}: '{}' = {} does not fit in int64", source(), f.name,
                                        f.value->get<uint64_t>()));
    }
    const auto v = as_int(*f.value);
    if (!v) return type_error(source(), f.name, "an integer", *f.value);
    return *v;
}

Result<double> HfConfig::get_double(const std::string& key) const {
    const Found f = lookup(impl_->root, key);
    if (f.value == nullptr) return missing(source(), key);
    if (!f.value->is_number()) return type_error(source(), f.name, "a number", *f.value);
    return f.value->get<double>();
}

Result<std::string> HfConfig::get_string(const std::string& key) const {
    const Found f = lookup(impl_->root, key);
    if (f.value == nullptr) return missing(source(), key);
    if (!f.value->is_string()) return type_error(source(), f.name, "a string", *f.value);
    return f.value->get<std::string>();
}

Result<bool> HfConfig::get_bool(const std::string& key) const {
    const Found f = lookup(impl_->root, key);
    if (f.value == nullptr) return missing(source(), key);
    if (!f.value->is_boolean()) return type_error(source(), f.name, "true or false", *f.value);
    return f.value->get<bool>();
}

Result<std::vector<int64_t>> HfConfig::get_int_list(const std::string& key) const {
    const Found f = lookup(impl_->root, key);
    if (f.value == nullptr) return missing(source(), key);
    if (const auto v = as_int(*f.value)) return std::vector<int64_t>{*v};
    if (!f.value->is_array()) return type_error(source(), f.name, "a list of integers", *f.value);
    std::vector<int64_t> out;
    for (size_t i = 0; i < f.value->size(); ++i) {
        const auto v = as_int((*f.value)[i]);
        if (!v)
            return type_error(source(), fmt::format("{}[{}]", f.name, i), "an integer",
                              (*f.value)[i]);
        out.push_back(*v);
    }
    return out;
}

Result<std::vector<int64_t>> HfConfig::get_int_list(const std::string& key, size_t n) const {
    UNI_ASSIGN_OR_RETURN(std::vector<int64_t> v, get_int_list(key));
    const Found f = lookup(impl_->root, key);
    if (!f.value->is_array()) return std::vector<int64_t>(n, v[0]);
    if (v.size() != n) {
        return corrupt(fmt::format("{}: '{}' has {} entries, expected {} (one per layer)", source(),
                                   f.name, v.size(), n));
    }
    return v;
}

Result<std::vector<double>> HfConfig::get_double_list(const std::string& key) const {
    const Found f = lookup(impl_->root, key);
    if (f.value == nullptr) return missing(source(), key);
    if (!f.value->is_array()) return type_error(source(), f.name, "a list of numbers", *f.value);
    std::vector<double> out;
    for (size_t i = 0; i < f.value->size(); ++i) {
        const json& e = (*f.value)[i];
        if (!e.is_number())
            return type_error(source(), fmt::format("{}[{}]", f.name, i), "a number", e);
        out.push_back(e.get<double>());
    }
    return out;
}

Result<std::vector<std::string>> HfConfig::get_string_list(const std::string& key) const {
    const Found f = lookup(impl_->root, key);
    if (f.value == nullptr) return missing(source(), key);
    if (!f.value->is_array()) return type_error(source(), f.name, "a list of strings", *f.value);
    std::vector<std::string> out;
    for (size_t i = 0; i < f.value->size(); ++i) {
        const json& e = (*f.value)[i];
        if (!e.is_string())
            return type_error(source(), fmt::format("{}[{}]", f.name, i), "a string", e);
        out.push_back(e.get<std::string>());
    }
    return out;
}

Result<int64_t> HfConfig::get_int_or(const std::string& key, int64_t def) const {
    return has(key) ? get_int(key) : Result<int64_t>(def);
}
Result<double> HfConfig::get_double_or(const std::string& key, double def) const {
    return has(key) ? get_double(key) : Result<double>(def);
}
Result<std::string> HfConfig::get_string_or(const std::string& key, const std::string& def) const {
    return has(key) ? get_string(key) : Result<std::string>(def);
}
Result<bool> HfConfig::get_bool_or(const std::string& key, bool def) const {
    return has(key) ? get_bool(key) : Result<bool>(def);
}

std::vector<std::string> HfConfig::architectures() const {
    std::vector<std::string> out;
    auto it = impl_->root.find("architectures");
    if (it == impl_->root.end() || !it->is_array()) return out;
    for (const json& e : *it) {
        if (e.is_string()) out.push_back(e.get<std::string>());
    }
    return out;
}

std::string HfConfig::model_type() const {
    auto it = impl_->root.find("model_type");
    return it != impl_->root.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// ---------------------------------------------------------------------------------------
// RoPE

namespace {

// Reads one number field of a RoPE dict into *out (left alone when absent or null).
Status read_number(const std::string& source, const json& dict, const std::string& where,
                   const char* key, double* out) {
    auto it = dict.find(key);
    if (it == dict.end() || it->is_null()) return ok_status();
    if (!it->is_number()) return type_error(source, where + "." + key, "a number", *it);
    *out = it->get<double>();
    return ok_status();
}

// The scaling fields shared by `rope_scaling` and `rope_parameters` dicts. Older configs
// spell the type "type", newer ones "rope_type".
Status read_scaling(const std::string& source, const json& dict, const std::string& where,
                    RopeParams* p) {
    for (const char* type_key : {"rope_type", "type"}) {
        auto it = dict.find(type_key);
        if (it == dict.end() || it->is_null()) continue;
        if (!it->is_string()) return type_error(source, where + "." + type_key, "a string", *it);
        p->type = it->get<std::string>();
        break;
    }
    UNI_RETURN_IF_ERROR(read_number(source, dict, where, "factor", &p->factor));
    UNI_RETURN_IF_ERROR(read_number(source, dict, where, "low_freq_factor", &p->low_freq_factor));
    UNI_RETURN_IF_ERROR(read_number(source, dict, where, "high_freq_factor", &p->high_freq_factor));
    auto it = dict.find("original_max_position_embeddings");
    if (it != dict.end() && !it->is_null()) {
        const auto v = as_int(*it);
        if (!v || *v < 0) {
            return type_error(source, where + ".original_max_position_embeddings",
                              "a non-negative integer", *it);
        }
        p->original_max_position_embeddings = *v;
    }
    if (!std::isfinite(p->factor) || p->factor <= 0) {
        return corrupt(
            fmt::format("{}: '{}.factor' must be positive, found {}", source, where, p->factor));
    }
    return ok_status();
}

Status check_theta(const std::string& source, const std::string& where, double theta) {
    if (!std::isfinite(theta) || theta <= 0) {
        return corrupt(
            fmt::format("{}: '{}' must be a positive number, found {}", source, where, theta));
    }
    return ok_status();
}

}  // namespace

Result<std::optional<RopeParams>> HfConfig::find_rope_params(const std::string& layer_type) const {
    const std::string& src = source();
    const json& root = impl_->root;
    const Found top_theta = lookup(root, "rope_theta");

    const Found rp = lookup(root, "rope_parameters");
    if (rp.value != nullptr) {
        if (!rp.value->is_object()) return type_error(src, rp.name, "an object", *rp.value);
        // Keyed by layer type when it holds no RoPE field of its own and every entry is a dict.
        bool keyed = !rp.value->empty() && !rp.value->contains("rope_theta") &&
                     !rp.value->contains("rope_type") && !rp.value->contains("type");
        for (const auto& [k, v] : rp.value->items()) keyed = keyed && v.is_object();

        const json* dict = rp.value;
        std::string where = rp.name;
        if (keyed) {
            const std::string key = layer_type.empty() ? "full_attention" : layer_type;
            auto it = rp.value->find(key);
            if (it == rp.value->end()) return std::optional<RopeParams>();
            dict = &*it;
            where += "." + key;
        }
        RopeParams p;
        auto theta = dict->find("rope_theta");
        if (theta != dict->end() && !theta->is_null()) {
            if (!theta->is_number())
                return type_error(src, where + ".rope_theta", "a number", *theta);
            p.theta = theta->get<double>();
        } else if (top_theta.value != nullptr) {
            // Some 5.x configs keep rope_theta beside rope_parameters rather than inside it.
            if (!top_theta.value->is_number())
                return type_error(src, top_theta.name, "a number", *top_theta.value);
            p.theta = top_theta.value->get<double>();
        } else {
            return corrupt(fmt::format("{}: '{}' has no 'rope_theta'", src, where));
        }
        UNI_RETURN_IF_ERROR(check_theta(src, where + ".rope_theta", p.theta));
        UNI_RETURN_IF_ERROR(read_scaling(src, *dict, where, &p));
        return std::optional<RopeParams>(p);
    }

    // Older keys. Sliding layers: transformers' Gemma 3 builds their rotary embedding from
    // rope_local_base_freq with rope_scaling replaced by "default", so no scaling here.
    if (layer_type == "sliding_attention") {
        const Found local = lookup(root, "rope_local_base_freq");
        if (local.value == nullptr) return std::optional<RopeParams>();
        if (!local.value->is_number()) return type_error(src, local.name, "a number", *local.value);
        RopeParams p;
        p.theta = local.value->get<double>();
        UNI_RETURN_IF_ERROR(check_theta(src, local.name, p.theta));
        return std::optional<RopeParams>(p);
    }

    const Found scaling = lookup(root, "rope_scaling");
    if (top_theta.value == nullptr) {
        if (scaling.value != nullptr)
            return corrupt(fmt::format("{}: has '{}' but no 'rope_theta'", src, scaling.name));
        return std::optional<RopeParams>();
    }
    if (!top_theta.value->is_number())
        return type_error(src, top_theta.name, "a number", *top_theta.value);
    RopeParams p;
    p.theta = top_theta.value->get<double>();
    UNI_RETURN_IF_ERROR(check_theta(src, top_theta.name, p.theta));
    if (scaling.value != nullptr) {
        if (!scaling.value->is_object())
            return type_error(src, scaling.name, "an object", *scaling.value);
        UNI_RETURN_IF_ERROR(read_scaling(src, *scaling.value, scaling.name, &p));
    }
    return std::optional<RopeParams>(p);
}

Result<RopeParams> HfConfig::rope_params(const std::string& layer_type) const {
    UNI_ASSIGN_OR_RETURN(std::optional<RopeParams> p, find_rope_params(layer_type));
    if (!p) {
        return not_found(
            fmt::format("{}: no RoPE parameters for {} layers", source(),
                        layer_type.empty() ? std::string("the model's") : "'" + layer_type + "'"));
    }
    return *p;
}

}  // namespace unicorn::io
