// Backend plugins (include/unicorn/backend_plugin.h, backend/plugin_backend.h): the loader's
// checks and messages, UNICORN_BACKEND_PATH in list_devices/create_backend, and every op of the
// test plugin built from the CPU backend (tests/plugin/cpu_plugin.cc) against the CPU backend
// itself: the same kernels behind the C ABI, so outputs must be equal bit for bit, including
// strided views, an absent RMSNorm weight, a fused residual and quantized weights.
#include "backend/plugin_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "backend/registry.h"
#include "quant/quantize.h"
#include "test_util.h"
#include "unicorn/backend_plugin.h"

namespace unicorn {
namespace {

using testing::poisoned_f32;
using testing::random_f32;

std::string plugin_dir() {
    const char* env = std::getenv("UNICORN_TEST_PLUGIN_DIR");
    return env != nullptr && *env != 0 ? env : UNICORN_TEST_PLUGIN_DIR;
}
std::string plugin_path(const std::string& variant) {
    return plugin_dir() + "/libunicorn_test_" + variant + "_plugin.so";
}

// Sets UNICORN_BACKEND_PATH for one test (nullptr: unset) and restores it.
class ScopedBackendPath {
  public:
    explicit ScopedBackendPath(const char* value) {
        const char* old = std::getenv(kName);
        had_ = old != nullptr;
        if (had_) old_ = old;
        if (value != nullptr)
            setenv(kName, value, 1);
        else
            unsetenv(kName);
    }
    ~ScopedBackendPath() {
        if (had_)
            setenv(kName, old_.c_str(), 1);
        else
            unsetenv(kName);
    }

  private:
    static constexpr const char* kName = "UNICORN_BACKEND_PATH";
    bool had_ = false;
    std::string old_;
};

std::string create_error(const std::string& device) {
    ThreadPool pool(1);
    auto b = create_backend(device, pool);
    EXPECT_FALSE(b.ok()) << device;
    return b.ok() ? "" : b.status().message();
}

// The number of elements whose bits differ.
int64_t differing(const Tensor& a, const Tensor& b) {
    EXPECT_EQ(a.shape(), b.shape());
    int64_t n = 0;
    for (int64_t r = 0; r < a.rows(); ++r)
        n += a.cols() == 0 ? 0
                           : static_cast<int64_t>(
                                 std::memcmp(a.row<float>(r), b.row<float>(r), a.row_bytes()) != 0);
    return n;
}

TEST(PluginLoader, LoadsTheTestPluginAndReportsItsName) {
    auto info = load_backend_plugin(plugin_path("cpu"));
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(info->name, "test_cpu");
    EXPECT_EQ(info->path, plugin_path("cpu"));
    auto linear = load_backend_plugin(plugin_path("cpu_linear"));
    ASSERT_TRUE(linear.ok()) << linear.status().to_string();
    EXPECT_EQ(linear->name, "test_cpu_linear");
}

TEST(PluginLoader, AMissingFileIsNamed) {
    const std::string path = plugin_dir() + "/libno_such_plugin.so";
    const std::string msg = create_error("plugin:" + path);
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("no such file"), std::string::npos) << msg;
    auto info = load_backend_plugin(path);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), StatusCode::kNotFound);
}

TEST(PluginLoader, AFileThatIsNotASharedObjectIsRefused) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("unicorn_plugin_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "libnot_a_plugin.so").string();
    std::ofstream(path) << "this is text, not an ELF shared object\n";
    const std::string msg = create_error("plugin:" + path);
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("cannot load it as a shared library"), std::string::npos) << msg;
    // A folder in the path with it: listed as unavailable, with the same reason.
    {
        ScopedBackendPath env(dir.string().c_str());
        bool listed = false;
        for (const DeviceInfo& d : list_devices()) {
            if (d.description != path) continue;
            listed = true;
            EXPECT_FALSE(d.available);
            EXPECT_NE(d.unavailable_reason.find("cannot load"), std::string::npos);
        }
        EXPECT_TRUE(listed);
    }
    std::filesystem::remove_all(dir);
}

TEST(PluginLoader, ASharedObjectWithoutTheEntryPointIsRefused) {
    const std::string path = plugin_path("no_entry");
    const std::string msg = create_error("plugin:" + path);
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a Unicorn backend plugin"), std::string::npos) << msg;
    EXPECT_NE(msg.find(UNICORN_PLUGIN_ENTRY_SYMBOL), std::string::npos) << msg;
}

TEST(PluginLoader, AnotherAbiVersionIsRefusedNamingBoth) {
    const std::string path = plugin_path("bad_version");
    const std::string msg = create_error("plugin:" + path);
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("ABI version 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("speaks version 1"), std::string::npos) << msg;
    auto info = load_backend_plugin(path);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), StatusCode::kUnsupported);
}

TEST(PluginLoader, ACreateFailureCarriesThePluginsMessage) {
    const std::string path = plugin_path("create_fails");
    const std::string msg = create_error("plugin:" + path);
    EXPECT_NE(msg.find("test_bad"), std::string::npos) << msg;
    EXPECT_NE(msg.find("failed to start: no test NPU attached (n_threads 1)"), std::string::npos)
        << msg;
}

TEST(PluginLoader, UnknownNamesSayWhatWasSearched) {
    {
        ScopedBackendPath env(nullptr);
        const std::string msg = create_error("plugin:test_cpu");
        EXPECT_NE(msg.find("UNICORN_BACKEND_PATH is not set"), std::string::npos) << msg;
    }
    ScopedBackendPath env(plugin_dir().c_str());
    const std::string msg = create_error("plugin:no_such_name");
    EXPECT_NE(msg.find("no backend plugin named 'no_such_name'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("test_cpu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ABI version 2"), std::string::npos) << msg;  // the skipped file, why
    EXPECT_NE(create_error("plugin:").find("expected plugin:NAME"), std::string::npos);
}

TEST(PluginRegistry, ListsEveryFileOnThePathWithItsState) {
    const std::string path = plugin_dir() + ":/no/such/folder";
    ScopedBackendPath env(path.c_str());
    std::map<std::string, DeviceInfo> by_name;
    std::vector<DeviceInfo> unavailable;
    for (const DeviceInfo& d : list_devices()) {
        if (d.name.rfind("plugin", 0) != 0) continue;
        if (d.available) by_name[d.name] = d;
        if (!d.available) unavailable.push_back(d);
    }
    ASSERT_TRUE(by_name.count("plugin:test_cpu"));
    ASSERT_TRUE(by_name.count("plugin:test_cpu_linear"));
    EXPECT_NE(by_name["plugin:test_cpu"].description.find(plugin_path("cpu")), std::string::npos);
    // create_fails loads (its failure comes at creation); bad_version and no_entry do not; the
    // missing folder is reported too.
    EXPECT_TRUE(by_name.count("plugin:test_bad"));
    std::string reasons;
    for (const DeviceInfo& d : unavailable) reasons += d.unavailable_reason + "\n";
    EXPECT_NE(reasons.find("ABI version 2"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("does not export"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("/no/such/folder: no such file or folder"), std::string::npos)
        << reasons;

    ThreadPool pool(2);
    auto b = create_backend("plugin:test_cpu", pool);
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    EXPECT_EQ((*b)->name(), "plugin:test_cpu");
    EXPECT_FALSE((*b)->is_device());
}

TEST(PluginRegistry, SupportsFollowsTheTable) {
    ThreadPool pool(2);
    CpuBackend cpu(pool);
    auto full = create_backend("plugin:" + plugin_path("cpu"), pool);
    auto linear = create_backend("plugin:" + plugin_path("cpu_linear"), pool);
    ASSERT_TRUE(full.ok() && linear.ok());
    for (int op = 0; op < static_cast<int>(OpKind::kCount); ++op) {
        for (DType t : kWeightDTypes) {
            const auto k = static_cast<OpKind>(op);
            EXPECT_EQ((*full)->supports(k, t), cpu.supports(k, t)) << op_name(k);
            EXPECT_EQ((*linear)->supports(k, t), k == OpKind::kLinear && cpu.supports(k, t))
                << op_name(k);
        }
    }
}

// Every op through the plugin equals the CPU backend's, bit for bit.
class PluginOpsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto b = create_backend("plugin:" + plugin_path("cpu"), pool_);
        ASSERT_TRUE(b.ok()) << b.status().to_string();
        plugin_ = std::move(*b);
    }
    ThreadPool pool_{3};
    CpuBackend cpu_{pool_};
    std::unique_ptr<Backend> plugin_;
    std::mt19937 rng_{77};
};

TEST_F(PluginOpsTest, LinearEveryWeightTypeWithAStridedInput) {
    for (DType t : kWeightDTypes) {
        if (!cpu_.supports(OpKind::kLinear, t)) continue;
        const int64_t in = dtype_block_size(t) * 2, out = 7, rows = 5;
        Tensor f = random_f32(rng_, out, in);
        Tensor w = Tensor::empty(t, Shape{out, in});
        for (int64_t r = 0; r < out; ++r)
            quant::quantize_row(t, f.row<float>(r), w.row_bytes_ptr(r), in);
        Tensor x = random_f32(rng_, rows, in, 1.0f, /*pad_cols=*/3);
        Tensor want = poisoned_f32(rows, out), got = poisoned_f32(rows, out);
        ASSERT_TRUE(cpu_.linear(x, w, want).ok());
        ASSERT_TRUE(plugin_->linear(x, w, got).ok());
        EXPECT_EQ(differing(got, want), 0) << dtype_name(t);
    }
}

TEST_F(PluginOpsTest, EmbeddingRmsNormRopeAttention) {
    const int64_t rows = 7, heads = 2, kv_heads = 1, dim = 16, cols = heads * dim;
    for (DType t : {DType::kF32, DType::kQ8_0, DType::kQ4_K}) {
        const int64_t c = dtype_block_size(t);
        Tensor f = random_f32(rng_, 9, c);
        Tensor table = Tensor::empty(t, Shape{9, c});
        for (int64_t r = 0; r < 9; ++r)
            quant::quantize_row(t, f.row<float>(r), table.row_bytes_ptr(r), c);
        const std::vector<int32_t> ids = {3, 0, 8, 3};
        Tensor want = poisoned_f32(4, c), got = poisoned_f32(4, c);
        ASSERT_TRUE(cpu_.embedding(table, ids, {2.5f}, want).ok());
        ASSERT_TRUE(plugin_->embedding(table, ids, {2.5f}, got).ok());
        EXPECT_EQ(differing(got, want), 0) << dtype_name(t);
    }
    Tensor x = random_f32(rng_, rows, cols, 3.0f, /*pad_cols=*/5);
    Tensor res = random_f32(rng_, rows, cols);
    Tensor w = random_f32(rng_, 1, cols).reshape(Shape{cols});
    for (bool with_weight : {true, false}) {
        for (bool with_residual : {false, true}) {
            const ops::RmsNormParams p{1e-6f, with_residual ? &res : nullptr};
            Tensor want = poisoned_f32(rows, cols), got = poisoned_f32(rows, cols);
            ASSERT_TRUE(cpu_.rms_norm(x, with_weight ? w : Tensor(), p, want).ok());
            ASSERT_TRUE(plugin_->rms_norm(x, with_weight ? w : Tensor(), p, got).ok());
            EXPECT_EQ(differing(got, want), 0) << with_weight << with_residual;
        }
    }
    std::vector<float> freq(dim / 2);
    for (int i = 0; i < dim / 2; ++i) freq[i] = std::pow(10000.0f, -2.0f * i / dim);
    std::vector<int32_t> pos(rows);
    for (int64_t i = 0; i < rows; ++i) pos[i] = static_cast<int32_t>(i * 3 + 1);
    for (auto mode : {ops::RopeMode::kNeox, ops::RopeMode::kNormal}) {
        const ops::RopeParams p{static_cast<int>(heads), static_cast<int>(dim),
                                static_cast<int>(dim), mode, freq.data()};
        Tensor a = random_f32(rng_, rows, cols), b = Tensor::empty(DType::kF32, a.shape());
        std::memcpy(b.data(), a.data(), a.nbytes());
        ASSERT_TRUE(cpu_.rope(a, pos, p).ok());
        ASSERT_TRUE(plugin_->rope(b, pos, p).ok());
        EXPECT_EQ(differing(b, a), 0);
    }
    Tensor q = random_f32(rng_, rows, cols, 1.0f, 3);
    Tensor k = random_f32(rng_, 12, kv_heads * dim, 1.0f, 2);
    Tensor v = random_f32(rng_, 12, kv_heads * dim);
    std::vector<int32_t> kpos(12), qpos(rows);
    for (int i = 0; i < 12; ++i) kpos[i] = (i + 3) % 12;
    for (int64_t i = 0; i < rows; ++i) qpos[i] = static_cast<int32_t>(12 - rows + i);
    const ops::AttentionParams p{static_cast<int>(heads),
                                 static_cast<int>(kv_heads),
                                 static_cast<int>(dim),
                                 0.25f,
                                 4,
                                 20.0f};
    Tensor want = poisoned_f32(rows, cols), got = poisoned_f32(rows, cols);
    ASSERT_TRUE(cpu_.attention(q, qpos, k, v, kpos, p, want).ok());
    ASSERT_TRUE(plugin_->attention(q, qpos, k, v, kpos, p, got).ok());
    EXPECT_EQ(differing(got, want), 0);
}

TEST_F(PluginOpsTest, ElementwiseAndAltup) {
    const int64_t rows = 6, cols = 33, streams = 3;
    Tensor a = random_f32(rng_, rows, cols, 4.0f, 3), b = random_f32(rng_, rows, cols, 2.0f);
    Tensor b1 = random_f32(rng_, 1, cols);
    auto same = [&](const char* what, auto&& fn) {
        Tensor want = poisoned_f32(rows, cols), got = poisoned_f32(rows, cols);
        ASSERT_TRUE(fn(static_cast<Backend&>(cpu_), want).ok()) << what;
        ASSERT_TRUE(fn(*plugin_, got).ok()) << what;
        EXPECT_EQ(differing(got, want), 0) << what;
    };
    same("gelu_tanh_mul", [&](Backend& be, const Tensor& o) { return be.gelu_tanh_mul(a, b, o); });
    same("silu_mul", [&](Backend& be, const Tensor& o) { return be.silu_mul(a, b, o); });
    same("add", [&](Backend& be, const Tensor& o) { return be.add(a, b, o); });
    same("mul", [&](Backend& be, const Tensor& o) { return be.mul(a, b1, o); });
    same("softcap", [&](Backend& be, const Tensor& o) { return be.softcap(a, 3.0f, o); });
    same("scale", [&](Backend& be, const Tensor& o) { return be.scale(a, 0.7f, o); });
    same("gaussian_topk",
         [&](Backend& be, const Tensor& o) { return be.gaussian_topk(a, 1.1f, o); });
    same("match_magnitude",
         [&](Backend& be, const Tensor& o) { return be.match_magnitude(a, b, 1e-6f, o); });

    const int64_t t = rows / streams;  // streams stacked by rows: [A·T, D]
    Tensor s = random_f32(rng_, streams * t, cols);
    Tensor pc = random_f32(rng_, t, streams * streams), cc = random_f32(rng_, t, streams);
    Tensor actual = random_f32(rng_, t, cols);
    same("altup_predict", [&](Backend& be, const Tensor& o) {
        return be.altup_predict(s, pc, static_cast<int>(streams), o);
    });
    same("altup_correct", [&](Backend& be, const Tensor& o) {
        return be.altup_correct(s, actual, cc, static_cast<int>(streams), o);
    });
    // The fused op the plugin leaves out: a clear unsupported error, never a crash.
    Tensor o = poisoned_f32(t, 4);
    const Status st = plugin_->altup_coefs(actual, Tensor(), Tensor(), Tensor(), 1e-6f, o);
    EXPECT_EQ(st.code(), StatusCode::kUnsupported);
    EXPECT_NE(st.message().find("plugin:test_cpu does not run"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace unicorn
