// The unicorn binary as a user runs it: outputs, exit codes, and one clear error line (never a
// crash) for bad input — truncated or corrupt files, absurd values, unknown flags.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/cache_dir.h"
#include "io/gguf.h"
#include "io/npy.h"
#include "test_util.h"
#include "tools/cli_run.h"

namespace unicorn {
namespace {

using testing::CliRun;
using testing::expect_clean_error;

CliRun run(const std::string& args) { return testing::run_cli(args); }
std::string data(const std::string& rel) { return testing::test_data(rel); }
std::string tmp(const std::string& name) { return testing::tmp_path("unicorn_cli", name); }

TEST(Cli, LogitsWritesNpyAndGreedyJson) {
    const std::string out = tmp("logits.npy");
    CliRun r = run("logits -m " + data("models/llama_smol") +
                   " --tokens 1,5,9,300 --greedy 3 -t 2 -o " + out);
    ASSERT_EQ(r.code, 0) << r.out;
    auto a = io::read_npy_f32(out);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->shape, (std::vector<int64_t>{4, 512}));
    const std::string last = r.out.substr(r.out.rfind('[', r.out.size() - 2));
    EXPECT_EQ(std::count(last.begin(), last.end(), ','), 2) << r.out;
    std::filesystem::remove(out);
}

TEST(Cli, LogitsDumpPrintsEachNamedIntermediateOfOneRow) {
    // gemma3_tiny: 2 layers, d_model 64 (unicorn info); each layer names its attention input,
    // q/k/v, attention, projection, residuals and output.
    const std::string m = data("models/gemma3_tiny.gguf");
    CliRun r0 = run("logits -m " + m + " --tokens 2,5,9 --dump 0");
    CliRun r2 = run("logits -m " + m + " --tokens 2,5,9 --dump 2");
    ASSERT_EQ(r0.code, 0) << r0.out;
    ASSERT_EQ(r2.code, 0) << r2.out;
    for (const char* name : {"layer.0.attn_norm", "layer.0.q", "layer.0.k", "layer.0.v",
                             "layer.0.attn", "layer.0.sa_out", "layer.0.ffn_out", "layer.1.out"})
        EXPECT_NE(r0.out.find(std::string("dump ") + name + " "), std::string::npos) << name << "\n"
                                                                                     << r0.out;
    const std::regex line(R"(dump layer\.1\.out +\[(\d+)\] .* sum=(\S+))");
    std::smatch m0, m2;
    ASSERT_TRUE(std::regex_search(r0.out, m0, line)) << r0.out;
    ASSERT_TRUE(std::regex_search(r2.out, m2, line)) << r2.out;
    EXPECT_EQ(m0[1].str(), m2[1].str());
    EXPECT_NE(m0[2].str(), m2[2].str()) << "rows 0 and 2 must differ";
    expect_clean_error(run("logits -m " + m + " --tokens 2,5 --dump 2"), "only 2 tokens");
}

TEST(Cli, InfoAndDevicesDescribeWhatTheyFind) {
    CliRun info = run("info -m " + data("models/gemma3_tiny.gguf"));
    ASSERT_EQ(info.code, 0) << info.out;
    EXPECT_NE(info.out.find("architecture:   gemma3"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("KV cache:"), std::string::npos);
    CliRun dev = run("devices");
    ASSERT_EQ(dev.code, 0);
    EXPECT_NE(dev.out.find("cpu"), std::string::npos);
}

TEST(Cli, Gemma3nInfoSplitsHostEmbeddingsAndMatFormerFlagsAreChecked) {
    CliRun info = run("info -m " + data("models/gemma3n_tiny.gguf"));
    ASSERT_EQ(info.code, 0) << info.out;
    EXPECT_NE(info.out.find("architecture:   gemma3n"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("per-layer embeddings (host, gathered per token)"), std::string::npos);
    EXPECT_NE(info.out.find("core weights:"), std::string::npos);
    EXPECT_NE(info.out.find("4 layers share another layer's KV"), std::string::npos) << info.out;
    CliRun sliced =
        run("info -m " + data("models/gemma3n_tiny") + " --matformer-skip 1 --matformer-ffn 64");
    ASSERT_EQ(sliced.code, 0) << sliced.out;
    EXPECT_NE(sliced.out.find("layers:         9"), std::string::npos) << sliced.out;
    EXPECT_NE(sliced.out.find("custom slice"), std::string::npos) << sliced.out;
    expect_clean_error(run("info -m " + data("models/gemma3_tiny.gguf") + " --matformer E2B"),
                       "needs a Gemma 3n model");
    expect_clean_error(
        run("logits -m " + data("models/gemma3n_tiny") + " --tokens 2,5 --matformer E9B"),
        "unknown MatFormer preset");
    expect_clean_error(run("logits -m " + data("models/gemma3n_tiny") +
                           " --tokens 2,5 --matformer-skip 5 --matformer-ffn 16"),
                       "producers cannot be skipped");
}

TEST(Cli, HelpReadsWell) {
    for (const char* sub : {"logits", "info", "devices", "convert", "serve"}) {
        CliRun r = run(std::string(sub) + " --help");
        EXPECT_EQ(r.code, 0) << sub;
        EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
    }
}

TEST(Cli, BadArgumentsGiveOneClearLine) {
    CliRun unknown = run("logits --frobnicate");
    EXPECT_NE(unknown.code, 0);
    EXPECT_EQ(unknown.code < 128, true) << "crashed: " << unknown.out;
    expect_clean_error(run("logits -m /nonexistent.gguf --tokens 1"), "does not exist");
    expect_clean_error(run("logits -m " + data("models/llama_smol") + " --tokens 1,x,3"),
                       "'x' is not a token id");
    expect_clean_error(run("logits -m " + data("models/llama_smol") + " --tokens 1,999999"),
                       "outside the vocabulary");
    expect_clean_error(run("logits -m " + data("models/llama_smol") + " --tokens 1 --greedy -2"),
                       "--greedy");
}

TEST(Cli, CorruptModelFilesGiveOneClearLine) {
    // Truncations of a valid GGUF at many points: each a clean error, never a crash.
    std::ifstream in(data("models/gemma3_tiny.gguf"), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    ASSERT_GT(bytes.size(), 1000u);
    const std::string path = tmp("trunc.gguf");
    for (size_t cut :
         {size_t{0}, size_t{3}, size_t{16}, size_t{100}, bytes.size() / 3, bytes.size() - 1}) {
        std::ofstream(path, std::ios::binary)
            .write(bytes.data(), static_cast<std::streamsize>(cut));
        CliRun r = run("logits -m " + path + " --tokens 2,3");
        EXPECT_EQ(r.code, 1) << "cut at " << cut << ": " << r.out;
        EXPECT_EQ(r.out.rfind("unicorn: error: ", 0), 0u) << r.out;
    }
    std::filesystem::remove(path);
}

TEST(Cli, MissingTensorsAndWrongShapesNameTheTensor) {
    const std::string dir = tmp("hf_broken");
    std::filesystem::create_directories(dir);
    // llama_smol with its config claiming a wider model than the weights hold.
    std::ifstream cfg_in(data("models/llama_smol/config.json"));
    std::string cfg((std::istreambuf_iterator<char>(cfg_in)), {});
    const std::string wide = std::regex_replace(cfg, std::regex("\"intermediate_size\": 160"),
                                                "\"intermediate_size\": 192");
    std::ofstream(dir + "/config.json") << wide;
    std::filesystem::copy_file(data("models/llama_smol/model.safetensors"),
                               dir + "/model.safetensors");
    expect_clean_error(run("logits -m " + dir + " --tokens 1,2"), "gate_proj");
    // More layers than the checkpoint has: a missing tensor.
    const std::string deep =
        std::regex_replace(cfg, std::regex("\"num_hidden_layers\": 3"), "\"num_hidden_layers\": 4");
    std::ofstream(dir + "/config.json", std::ios::trunc) << deep;
    expect_clean_error(run("logits -m " + dir + " --tokens 1,2"), "layers.3");
    // An architecture we do not know.
    const std::string alien = std::regex_replace(cfg, std::regex("\"model_type\": \"llama\""),
                                                 "\"model_type\": \"mamba\"");
    std::ofstream(dir + "/config.json", std::ios::trunc) << alien;
    expect_clean_error(run("logits -m " + dir + " --tokens 1,2"), "mamba");
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace unicorn

namespace unicorn {
namespace {

std::string real_model(const char* file) { return cached_model_path(file); }

TEST(CliRun, BadRequestsGiveOneClearLine) {
    expect_clean_error(run("run -m /nonexistent.gguf -p hello"), "does not exist");
    expect_clean_error(run("run -m /nonexistent.gguf -p ''"), "prompt is empty");
    expect_clean_error(run("run -m /nonexistent.gguf -p hi --top-p 0"), "top-p");
    expect_clean_error(run("run -m /nonexistent.gguf -p hi --temp 1000"), "temperature");
    const std::string m = real_model("smollm2-135m-instruct-Q4_1.gguf");
    if (!std::filesystem::exists(m)) GTEST_SKIP() << m << " not fetched (run scripts/fetch-models)";
    expect_clean_error(
        run("run -m " + m +
            " -c 8 -p 'a prompt that is certainly longer than eight tokens, by a margin'"),
        "does not fit the context");
}

TEST(CliRun, GreedyRunIsReproducibleAndSeededRunsRepeat) {
    const std::string m = real_model("smollm2-135m-instruct-Q4_1.gguf");
    if (!std::filesystem::exists(m)) GTEST_SKIP() << m << " not fetched (run scripts/fetch-models)";
    const std::string args = "run -m " + m + " -p 'The capital of France is' -n 12 -t 2 --no-stats";
    CliRun a = run(args + " --temp 0"), b = run(args + " --temp 0");
    ASSERT_EQ(a.code, 0) << a.out;
    EXPECT_EQ(a.out, b.out);
    CliRun s1 = run(args + " --temp 0.9 --seed 11"), s2 = run(args + " --temp 0.9 --seed 11");
    ASSERT_EQ(s1.code, 0) << s1.out;
    EXPECT_EQ(s1.out, s2.out);
}

// Sets an environment variable for the child processes of one scope.
struct ScopedEnv {
    std::string name;
    ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
        setenv(name.c_str(), value.c_str(), 1);
    }
    ~ScopedEnv() { unsetenv(name.c_str()); }
};

TEST(CliRun, ADeviceFailureMidGenerationContinuesOnTheCpuWithTheSameText) {
    const std::string m = real_model("smollm2-135m-instruct-Q4_1.gguf");
    if (!std::filesystem::exists(m)) GTEST_SKIP() << m << " not fetched (run scripts/fetch-models)";
    if (run("devices").out.find("vulkan:0") == std::string::npos)
        GTEST_SKIP() << "no Vulkan device";
    // The CPU's exact path (float activations) computes what the fp32 shaders compute, so the
    // text cannot depend on where each step ran; the fault hits the 4th step (a decode step).
    ScopedEnv isa("UNICORN_ISA", "scalar");
    const std::string args = "run -m " + m + " -p 'The capital of France is' -n 8 -t 2 --temp 0";
    CliRun cpu = testing::run_cli(args + " --device cpu --no-stats", false);
    ASSERT_EQ(cpu.code, 0) << cpu.out;
    ScopedEnv fault("UNICORN_FAULT", "vulkan:4");
    CliRun vk = testing::run_cli(args + " --device vulkan --no-stats", false);
    ASSERT_EQ(vk.code, 0) << vk.out;
    EXPECT_EQ(vk.out, cpu.out);
    ScopedEnv log("UNICORN_LOG", "info");  // ctest runs the tests with UNICORN_LOG=error
    CliRun logged = run(args + " --device vulkan --no-stats");
    EXPECT_NE(logged.out.find("injected fault at step 4"), std::string::npos) << logged.out;
    EXPECT_NE(logged.out.find("re-running the step on the CPU"), std::string::npos) << logged.out;
}

TEST(CliRun, StatsReportLatencyPercentilesAndMemoryPerDevice) {
    const std::string m = real_model("smollm2-135m-instruct-Q4_1.gguf");
    if (!std::filesystem::exists(m)) GTEST_SKIP() << m << " not fetched (run scripts/fetch-models)";
    const std::string args = "run -m " + m + " -p 'The capital of France is' -n 8 -t 2 --temp 0";
    CliRun text = run(args + " --stats");
    ASSERT_EQ(text.code, 0) << text.out;
    for (const char* line : {"first token", "inter-token     p50", "host peak RSS"})
        EXPECT_NE(text.out.find(line), std::string::npos) << line << "\n" << text.out;
    const auto json_of = [](const std::string& out) {
        const size_t at = out.rfind("\n{");
        return nlohmann::json::parse(at == std::string::npos ? out : out.substr(at + 1), nullptr,
                                     false);
    };
    CliRun js = run(args + " --stats --json");
    ASSERT_EQ(js.code, 0) << js.out;
    const nlohmann::json j = json_of(js.out);
    ASSERT_TRUE(j.is_object()) << js.out;
    EXPECT_EQ(j["generated_tokens"], 8);
    EXPECT_GT(j["time_to_first_token_ms"].get<double>(), 0);
    const auto& itl = j["inter_token_ms"];
    EXPECT_EQ(itl["count"], 7);
    EXPECT_GT(itl["p50"].get<double>(), 0);
    EXPECT_LE(itl["p50"].get<double>(), itl["p90"].get<double>());
    EXPECT_LE(itl["p90"].get<double>(), itl["p99"].get<double>());
    EXPECT_LE(itl["p99"].get<double>(), itl["max"].get<double>());
    EXPECT_GT(j["memory"]["host_peak_rss_bytes"].get<int64_t>(), 50 << 20);  // the model is 94 MiB
    EXPECT_EQ(j["memory"]["device"], "cpu");
    EXPECT_EQ(j["memory"]["device_bytes"], 0);
    EXPECT_EQ(j["device_fallbacks"], 0);
    if (run("devices").out.find("vulkan:0") == std::string::npos) return;
    CliRun vk = run("run -m " + m + " -p 'Hi' -n 2 -t 2 --temp 0 --device vulkan --stats --json");
    ASSERT_EQ(vk.code, 0) << vk.out;
    const nlohmann::json v = json_of(vk.out);
    ASSERT_TRUE(v.is_object()) << vk.out;
    EXPECT_EQ(v["memory"]["device"], "vulkan:0");
    EXPECT_GT(v["memory"]["device_bytes"].get<int64_t>(), 50 << 20) << "weights live there";
}

TEST(CliRun, AMalformedFaultSpecIsOneClearError) {
    ScopedEnv fault("UNICORN_FAULT", "vulkan");
    expect_clean_error(run("logits -m " + data("models/llama_smol") + " --tokens 1,2"),
                       "UNICORN_FAULT: fault spec 'vulkan': expected DEVICE:STEP");
}

}  // namespace
}  // namespace unicorn
