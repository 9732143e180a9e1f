#include "backend/plugin_backend.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>

#include "unicorn/backend_plugin.h"

namespace unicorn {

// The C enums are the ABI; the C++ ones may be reordered by engine work. Every value the ABI
// names is pinned here, so a change on either side fails to compile instead of mis-dispatching.
#define UNI_SAME_DTYPE(c, cc) \
    static_assert(static_cast<int>(UNICORN_DTYPE_##c) == static_cast<int>(DType::cc))
UNI_SAME_DTYPE(F32, kF32);
UNI_SAME_DTYPE(F16, kF16);
UNI_SAME_DTYPE(Q4_0, kQ4_0);
UNI_SAME_DTYPE(Q4_1, kQ4_1);
UNI_SAME_DTYPE(Q5_0, kQ5_0);
UNI_SAME_DTYPE(Q5_1, kQ5_1);
UNI_SAME_DTYPE(Q8_0, kQ8_0);
UNI_SAME_DTYPE(Q8_1, kQ8_1);
UNI_SAME_DTYPE(Q2_K, kQ2_K);
UNI_SAME_DTYPE(Q3_K, kQ3_K);
UNI_SAME_DTYPE(Q4_K, kQ4_K);
UNI_SAME_DTYPE(Q5_K, kQ5_K);
UNI_SAME_DTYPE(Q6_K, kQ6_K);
UNI_SAME_DTYPE(Q8_K, kQ8_K);
UNI_SAME_DTYPE(I8, kI8);
UNI_SAME_DTYPE(I16, kI16);
UNI_SAME_DTYPE(I32, kI32);
UNI_SAME_DTYPE(I64, kI64);
UNI_SAME_DTYPE(F64, kF64);
UNI_SAME_DTYPE(BF16, kBF16);
#undef UNI_SAME_DTYPE
#define UNI_SAME_OP(c, cc) \
    static_assert(static_cast<int>(UNICORN_OP_##c) == static_cast<int>(OpKind::cc))
UNI_SAME_OP(EMBEDDING, kEmbedding);
UNI_SAME_OP(LINEAR, kLinear);
UNI_SAME_OP(RMS_NORM, kRmsNorm);
UNI_SAME_OP(ROPE, kRope);
UNI_SAME_OP(ATTENTION, kAttention);
UNI_SAME_OP(GELU_TANH_MUL, kGeluTanhMul);
UNI_SAME_OP(SILU_MUL, kSiluMul);
UNI_SAME_OP(ADD, kAdd);
UNI_SAME_OP(SOFTCAP, kSoftcap);
UNI_SAME_OP(MUL, kMul);
UNI_SAME_OP(SCALE, kScale);
UNI_SAME_OP(GAUSSIAN_TOPK, kGaussianTopk);
UNI_SAME_OP(MATCH_MAGNITUDE, kMatchMagnitude);
UNI_SAME_OP(ALTUP_PREDICT, kAltupPredict);
UNI_SAME_OP(ALTUP_CORRECT, kAltupCorrect);
UNI_SAME_OP(ALTUP_COEFS, kAltupCoefs);
UNI_SAME_OP(COUNT, kCount);  // a new OpKind needs a new ABI version
#undef UNI_SAME_OP
static_assert(static_cast<int>(UNICORN_ROPE_NORMAL) == static_cast<int>(ops::RopeMode::kNormal));
static_assert(static_cast<int>(UNICORN_ROPE_NEOX) == static_cast<int>(ops::RopeMode::kNeox));
static_assert(UNICORN_TENSOR_MAX_RANK == Shape::kMaxDims);
static_assert(UNICORN_PLUGIN_ABI_VERSION == 1, "this file speaks ABI version 1");

namespace {

constexpr const char* kPathVariable = "UNICORN_BACKEND_PATH";

struct Loaded {
    PluginInfo info;
    const unicorn_plugin_v1* table = nullptr;
};

// Libraries that passed the checks, by canonical path; never unloaded (see the header).
std::mutex& cache_mutex() {
    static std::mutex m;
    return m;
}
std::map<std::string, Loaded>& cache() {
    static auto* c = new std::map<std::string, Loaded>();
    return *c;
}

bool valid_name(const char* name) {
    if (name == nullptr || *name == 0) return false;
    for (const char* p = name; *p != 0; ++p) {
        const char c = *p;
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

Result<Loaded> load_checked(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st))
        return not_found(fmt::format("backend plugin {}: no such file", path));
    if (fs::is_directory(st))
        return invalid_argument(fmt::format("backend plugin {}: a folder, not a .so file", path));
    fs::path canonical = fs::canonical(path, ec);
    if (ec) return io_error(fmt::format("backend plugin {}: {}", path, ec.message()));
    const std::string key = canonical.string();

    std::lock_guard<std::mutex> lock(cache_mutex());
    if (auto it = cache().find(key); it != cache().end()) {
        Loaded l = it->second;
        l.info.path = path;
        return l;
    }
    // RTLD_LOCAL: the plugin's symbols never satisfy anyone else's (it may carry its own copy
    // of code the engine also has). The path holds a '/', so dlopen does not search for it.
    void* handle = dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        return invalid_argument(
            fmt::format("backend plugin {}: cannot load it as a shared library ({})", path,
                        why != nullptr ? why : "unknown reason"));
    }
    auto fail = [&](Status s) {
        dlclose(handle);
        return s;
    };
    dlerror();
    void* sym = dlsym(handle, UNICORN_PLUGIN_ENTRY_SYMBOL);
    if (sym == nullptr)
        return fail(invalid_argument(
            fmt::format("backend plugin {}: not a Unicorn backend plugin (it does not export {})",
                        path, UNICORN_PLUGIN_ENTRY_SYMBOL)));
    auto entry = reinterpret_cast<unicorn_backend_plugin_fn>(sym);
    const unicorn_plugin_v1* table = entry(UNICORN_PLUGIN_ABI_VERSION);
    if (table == nullptr)
        return fail(unsupported(
            fmt::format("backend plugin {}: it offers no plugin table for ABI version {}", path,
                        UNICORN_PLUGIN_ABI_VERSION)));
    // abi_version is the first member in every version, so reading it is safe whatever the
    // plugin was built for.
    if (table->abi_version != UNICORN_PLUGIN_ABI_VERSION)
        return fail(unsupported(fmt::format(
            "backend plugin {} was built for plugin ABI version {}, but this engine speaks "
            "version {}; rebuild it against this engine's include/unicorn/backend_plugin.h",
            path, table->abi_version, UNICORN_PLUGIN_ABI_VERSION)));
    if (!valid_name(table->name))
        return fail(invalid_argument(
            fmt::format("backend plugin {}: its name is missing or not [A-Za-z0-9_.-]+", path)));
    if (table->create == nullptr || table->destroy == nullptr)
        return fail(invalid_argument(fmt::format(
            "backend plugin {} ({}): create or destroy is missing", path, table->name)));
    Loaded l;
    l.info = PluginInfo{path, table->name, table->description ? table->description : ""};
    l.table = table;
    cache().emplace(key, l);
    return l;
}

// A Tensor as the ABI's descriptor; an undefined Tensor (an absent optional argument) → NULL.
class Desc {
  public:
    explicit Desc(const Tensor& t) : present_(t.defined()) {
        d_.dtype = static_cast<int32_t>(t.dtype());
        d_.rank = t.shape().rank();
        for (int i = 0; i < UNICORN_TENSOR_MAX_RANK; ++i)
            d_.shape[i] = i < d_.rank ? t.shape()[i] : 0;
        d_.row_stride_bytes = static_cast<int64_t>(t.row_stride());
        d_.data = t.data();
    }
    const unicorn_tensor* get() const { return present_ ? &d_ : nullptr; }

  private:
    unicorn_tensor d_{};
    bool present_;
};

class PluginBackend final : public Backend {
  public:
    PluginBackend(const Loaded& l, void* state) : info_(l.info), t_(*l.table), state_(state) {}
    ~PluginBackend() override { t_.destroy(state_); }
    PluginBackend(const PluginBackend&) = delete;
    PluginBackend& operator=(const PluginBackend&) = delete;

    std::string name() const override { return "plugin:" + info_.name; }
    bool supports(OpKind op, DType weight) const override {
        if (!has(op)) return false;
        return t_.supports == nullptr ||
               t_.supports(state_, static_cast<int32_t>(op), static_cast<int32_t>(weight)) != 0;
    }

    Status embedding(const Tensor& table, std::span<const int32_t> ids,
                     const ops::EmbeddingParams& p, const Tensor& out) override {
        if (!t_.embedding) return missing(OpKind::kEmbedding);
        const unicorn_embedding_params cp{p.scale};
        return check(OpKind::kEmbedding,
                     t_.embedding(state_, Desc(table).get(), ids.data(),
                                  static_cast<int64_t>(ids.size()), &cp, Desc(out).get()));
    }
    Status linear(const Tensor& x, const Tensor& w, const Tensor& y) override {
        if (!t_.linear) return missing(OpKind::kLinear);
        return check(OpKind::kLinear,
                     t_.linear(state_, Desc(x).get(), Desc(w).get(), Desc(y).get()));
    }
    Status rms_norm(const Tensor& x, const Tensor& weight, const ops::RmsNormParams& p,
                    const Tensor& out) override {
        if (!t_.rms_norm) return missing(OpKind::kRmsNorm);
        const Desc residual(p.residual != nullptr ? *p.residual : Tensor());
        const unicorn_rms_norm_params cp{p.eps, residual.get()};
        return check(OpKind::kRmsNorm,
                     t_.rms_norm(state_, Desc(x).get(), Desc(weight).get(), &cp, Desc(out).get()));
    }
    Status rope(const Tensor& x, std::span<const int32_t> positions,
                const ops::RopeParams& p) override {
        if (!t_.rope) return missing(OpKind::kRope);
        const unicorn_rope_params cp{p.n_heads, p.head_dim, p.rot_dim, static_cast<int32_t>(p.mode),
                                     p.inv_freq};
        return check(OpKind::kRope, t_.rope(state_, Desc(x).get(), positions.data(),
                                            static_cast<int64_t>(positions.size()), &cp));
    }
    Status attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                     const Tensor& v, std::span<const int32_t> k_pos, const ops::AttentionParams& p,
                     const Tensor& out) override {
        if (!t_.attention) return missing(OpKind::kAttention);
        const unicorn_attention_params cp{p.n_heads, p.n_kv_heads, p.head_dim,
                                          p.scale,   p.window,     p.softcap};
        return check(
            OpKind::kAttention,
            t_.attention(state_, Desc(q).get(), q_pos.data(), static_cast<int64_t>(q_pos.size()),
                         Desc(k).get(), Desc(v).get(), k_pos.data(),
                         static_cast<int64_t>(k_pos.size()), &cp, Desc(out).get()));
    }
    Status gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out) override {
        if (!t_.gelu_tanh_mul) return missing(OpKind::kGeluTanhMul);
        return check(OpKind::kGeluTanhMul,
                     t_.gelu_tanh_mul(state_, Desc(g).get(), Desc(u).get(), Desc(out).get()));
    }
    Status silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) override {
        if (!t_.silu_mul) return missing(OpKind::kSiluMul);
        return check(OpKind::kSiluMul,
                     t_.silu_mul(state_, Desc(g).get(), Desc(u).get(), Desc(out).get()));
    }
    Status add(const Tensor& a, const Tensor& b, const Tensor& out) override {
        if (!t_.add) return missing(OpKind::kAdd);
        return check(OpKind::kAdd, t_.add(state_, Desc(a).get(), Desc(b).get(), Desc(out).get()));
    }
    Status softcap(const Tensor& x, float cap, const Tensor& out) override {
        if (!t_.softcap) return missing(OpKind::kSoftcap);
        return check(OpKind::kSoftcap, t_.softcap(state_, Desc(x).get(), cap, Desc(out).get()));
    }
    Status mul(const Tensor& a, const Tensor& b, const Tensor& out) override {
        if (!t_.mul) return missing(OpKind::kMul);
        return check(OpKind::kMul, t_.mul(state_, Desc(a).get(), Desc(b).get(), Desc(out).get()));
    }
    Status scale(const Tensor& x, float s, const Tensor& out) override {
        if (!t_.scale) return missing(OpKind::kScale);
        return check(OpKind::kScale, t_.scale(state_, Desc(x).get(), s, Desc(out).get()));
    }
    Status gaussian_topk(const Tensor& x, float z, const Tensor& out) override {
        if (!t_.gaussian_topk) return missing(OpKind::kGaussianTopk);
        return check(OpKind::kGaussianTopk,
                     t_.gaussian_topk(state_, Desc(x).get(), z, Desc(out).get()));
    }
    Status match_magnitude(const Tensor& x, const Tensor& target, float floor,
                           const Tensor& out) override {
        if (!t_.match_magnitude) return missing(OpKind::kMatchMagnitude);
        return check(
            OpKind::kMatchMagnitude,
            t_.match_magnitude(state_, Desc(x).get(), Desc(target).get(), floor, Desc(out).get()));
    }
    Status altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                         const Tensor& out) override {
        if (!t_.altup_predict) return missing(OpKind::kAltupPredict);
        return check(OpKind::kAltupPredict,
                     t_.altup_predict(state_, Desc(streams).get(), Desc(coefs).get(), n_streams,
                                      Desc(out).get()));
    }
    Status altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                         int n_streams, const Tensor& out) override {
        if (!t_.altup_correct) return missing(OpKind::kAltupCorrect);
        return check(OpKind::kAltupCorrect,
                     t_.altup_correct(state_, Desc(pred).get(), Desc(actual).get(),
                                      Desc(coefs).get(), n_streams, Desc(out).get()));
    }
    Status altup_coefs(const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                       const Tensor& coef_w, float eps, const Tensor& out) override {
        if (!t_.altup_coefs) return missing(OpKind::kAltupCoefs);
        return check(OpKind::kAltupCoefs,
                     t_.altup_coefs(state_, Desc(x).get(), Desc(norm_w).get(), Desc(router_w).get(),
                                    Desc(coef_w).get(), eps, Desc(out).get()));
    }

  private:
    bool has(OpKind op) const {
        switch (op) {
            case OpKind::kEmbedding:
                return t_.embedding != nullptr;
            case OpKind::kLinear:
                return t_.linear != nullptr;
            case OpKind::kRmsNorm:
                return t_.rms_norm != nullptr;
            case OpKind::kRope:
                return t_.rope != nullptr;
            case OpKind::kAttention:
                return t_.attention != nullptr;
            case OpKind::kGeluTanhMul:
                return t_.gelu_tanh_mul != nullptr;
            case OpKind::kSiluMul:
                return t_.silu_mul != nullptr;
            case OpKind::kAdd:
                return t_.add != nullptr;
            case OpKind::kSoftcap:
                return t_.softcap != nullptr;
            case OpKind::kMul:
                return t_.mul != nullptr;
            case OpKind::kScale:
                return t_.scale != nullptr;
            case OpKind::kGaussianTopk:
                return t_.gaussian_topk != nullptr;
            case OpKind::kMatchMagnitude:
                return t_.match_magnitude != nullptr;
            case OpKind::kAltupPredict:
                return t_.altup_predict != nullptr;
            case OpKind::kAltupCorrect:
                return t_.altup_correct != nullptr;
            case OpKind::kAltupCoefs:
                return t_.altup_coefs != nullptr;
            case OpKind::kCount:
                return false;
        }
        return false;
    }
    Status missing(OpKind op) const {
        return unsupported(fmt::format("{} does not run {}", name(), op_name(op)));
    }
    Status check(OpKind op, int32_t rc) const {
        if (rc == UNICORN_PLUGIN_OK) return ok_status();
        const char* why = t_.last_error != nullptr ? t_.last_error(state_) : nullptr;
        const std::string msg =
            fmt::format("{} {}: {}", name(), op_name(op), why != nullptr ? why : "no message");
        switch (rc) {
            case UNICORN_PLUGIN_UNSUPPORTED:
                return unsupported(msg);
            case UNICORN_PLUGIN_OUT_OF_MEMORY:
                return resource_exhausted(msg);
            case UNICORN_PLUGIN_INVALID:
                return internal_error(msg);
            default:
                return device_error(msg);
        }
    }

    PluginInfo info_;
    const unicorn_plugin_v1& t_;
    void* state_;
};

Result<std::unique_ptr<Backend>> instantiate(const Loaded& l, int n_threads) {
    char error[512] = {};
    void* state = nullptr;
    const int32_t rc = l.table->create(n_threads, &state, error, sizeof(error));
    error[sizeof(error) - 1] = 0;
    if (rc != UNICORN_PLUGIN_OK) {
        const std::string msg =
            fmt::format("backend plugin {} ({}) failed to start: {}", l.info.name, l.info.path,
                        error[0] != 0 ? error : "no message");
        return rc == UNICORN_PLUGIN_UNSUPPORTED ? unsupported(msg) : device_error(msg);
    }
    return std::unique_ptr<Backend>(std::make_unique<PluginBackend>(l, state));
}

std::string path_variable() {
    const char* env = std::getenv(kPathVariable);
    return env != nullptr ? env : "";
}

}  // namespace

std::vector<std::string> backend_plugin_files(const std::string& path_list,
                                              std::vector<std::string>* problems) {
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    size_t begin = 0;
    while (begin <= path_list.size()) {
        size_t end = path_list.find(':', begin);
        if (end == std::string::npos) end = path_list.size();
        const std::string entry = path_list.substr(begin, end - begin);
        begin = end + 1;
        if (entry.empty()) continue;
        std::error_code ec;
        if (fs::is_directory(entry, ec)) {
            std::vector<std::string> found;
            for (const fs::directory_entry& e : fs::directory_iterator(entry, ec)) {
                std::error_code fec;
                if (e.path().extension() == ".so" && e.is_regular_file(fec))
                    found.push_back(e.path().string());
            }
            if (ec && problems != nullptr)
                problems->push_back(fmt::format("{} entry {}: cannot list it ({})", kPathVariable,
                                                entry, ec.message()));
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else if (fs::exists(entry, ec)) {
            files.push_back(entry);
        } else if (problems != nullptr) {
            problems->push_back(
                fmt::format("{} entry {}: no such file or folder", kPathVariable, entry));
        }
    }
    return files;
}

Result<PluginInfo> load_backend_plugin(const std::string& path) {
    auto l = load_checked(path);
    if (!l.ok()) return l.status();
    return l->info;
}

std::vector<DeviceInfo> plugin_devices() {
    std::vector<DeviceInfo> out;
    std::vector<std::string> problems;
    std::map<std::string, std::string> seen;  // name → first path
    for (const std::string& file : backend_plugin_files(path_variable(), &problems)) {
        auto l = load_checked(file);
        if (!l.ok()) {
            out.push_back({"plugin", file, false, l.status().message()});
            continue;
        }
        const PluginInfo& p = l->info;
        if (auto [it, fresh] = seen.emplace(p.name, p.path); !fresh) {
            out.push_back({"plugin:" + p.name, p.path, false,
                           fmt::format("{}: a plugin named {} came earlier in {} ({})", p.path,
                                       p.name, kPathVariable, it->second)});
            continue;
        }
        const std::string what = p.description.empty() ? "backend plugin" : p.description;
        out.push_back(
            {"plugin:" + p.name,
             fmt::format("{} — {} (plugin ABI v{})", what, p.path, UNICORN_PLUGIN_ABI_VERSION),
             true, ""});
    }
    for (const std::string& p : problems) out.push_back({"plugin", "", false, p});
    return out;
}

Result<std::unique_ptr<Backend>> create_plugin_backend(const std::string& spec, int n_threads) {
    if (spec.empty())
        return invalid_argument("expected plugin:NAME (a plugin found through " +
                                std::string(kPathVariable) + ") or plugin:/path/to/plugin.so");
    if (spec.find('/') != std::string::npos) {
        auto l = load_checked(spec);
        if (!l.ok()) return l.status();
        return instantiate(*l, n_threads);
    }
    const std::string path_list = path_variable();
    std::vector<std::string> problems, names;
    for (const std::string& file : backend_plugin_files(path_list, &problems)) {
        auto l = load_checked(file);
        if (!l.ok()) {
            problems.push_back(l.status().message());
            continue;
        }
        if (l->info.name == spec) return instantiate(*l, n_threads);
        names.push_back(l->info.name);
    }
    std::string detail;
    if (path_list.empty()) {
        detail = fmt::format("{} is not set", kPathVariable);
    } else {
        detail = fmt::format("{}={}; found: {}", kPathVariable, path_list,
                             names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
        for (const std::string& p : problems) detail += "; skipped " + p;
    }
    return not_found(fmt::format("no backend plugin named '{}' ({})", spec, detail));
}

}  // namespace unicorn
