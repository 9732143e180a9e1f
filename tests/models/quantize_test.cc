// `unicorn quantize` against llama.cpp's llama-quantize (commit 0c1e57098): for three tiny
// models and every scheme, the file we write must have the tensor types llama.cpp chooses and
// the very bytes it writes — per tensor for Q4_0, Q8_0 and Q4_K_M, and for the whole file for
// every scheme. References: tests/data/quantize/*.refs.json, made by
// tools/make_quantize_refs.py; the two generated fixtures come from committed headers through
// make_random_like (bench/random_like), run here in-process with the script's seed.
#define MAKE_RANDOM_LIKE_NO_MAIN
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../../bench/random_like/make_random_like.cc"
#include "io/gguf.h"
#include "models/quantize_model.h"
#include "models/registry.h"
#include "sha256.h"

namespace unicorn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string data_path(const std::string& rel) { return std::string(UNICORN_TEST_DATA) + "/" + rel; }

fs::path temp_dir() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("unicorn_quantize_" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

const json& refs(const std::string& fixture) {
    static std::map<std::string, json> cache;
    auto it = cache.find(fixture);
    if (it == cache.end()) {
        std::ifstream f(data_path("quantize/" + fixture + ".refs.json"));
        it = cache.emplace(fixture, json::parse(f)).first;
    }
    return it->second;
}

// The F32 input the references were made from: a committed file, or make_random_like of a
// committed header with the recorded seed.
std::string fixture_path(const std::string& fixture) {
    static std::map<std::string, std::string> cache;
    if (auto it = cache.find(fixture); it != cache.end()) return it->second;
    const json& src = refs(fixture)["fixture"];
    std::string path;
    if (src.contains("file")) {
        path = data_path("quantize/" + src["file"].get<std::string>());
    } else {
        path = (temp_dir() / (fixture + ".gguf")).string();
        std::vector<std::string> args = {"make_random_like",
                                         "--seed",
                                         std::to_string(src["seed"].get<int>()),
                                         "-o",
                                         path,
                                         data_path("quantize/" + src["header"].get<std::string>())};
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        EXPECT_EQ(random_like::tool_main(static_cast<int>(argv.size()), argv.data()), 0);
    }
    const std::vector<uint8_t> bytes = file_bytes(path);
    EXPECT_EQ(testing::sha256_hex(bytes.data(), bytes.size()), src["sha256"].get<std::string>())
        << path << " is not the input the references were made from; rerun "
        << "tools/make_quantize_refs.py if make_random_like changed";
    cache.emplace(fixture, path);
    return path;
}

Result<QuantizeSummary> quantize(const std::string& in, const std::string& out,
                                 const std::string& scheme, int threads, bool requantize = false) {
    QuantizeOptions o;
    o.input = in;
    o.output = out;
    UNI_ASSIGN_OR_RETURN(o.request.scheme, find_quant_scheme(scheme));
    o.allow_requantize = requantize;
    o.threads = threads;
    return quantize_model(o);
}

std::vector<std::string> split(const std::string& s) {
    std::istringstream in(s);
    return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

// (fixture, output): every scheme, and the Q4_K_M file requantized to F16 and Q4_0.
std::vector<std::tuple<std::string, std::string>> cases() {
    std::vector<std::tuple<std::string, std::string>> out;
    for (const char* f : {"tiny_llama", "tiny_gemma3", "gemma3n_tiny"}) {
        for (const QuantScheme& s : quant_schemes()) out.emplace_back(f, s.name);
        for (const char* t : {"F16", "Q4_0"}) out.emplace_back(f, std::string("Q4_K_M>") + t);
    }
    return out;
}

class MatchesLlamaQuantize : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
};

TEST_P(MatchesLlamaQuantize, SameTensorTypesAndBytes) {
    const auto& [fixture, output] = GetParam();
    const json& r = refs(fixture);
    ASSERT_TRUE(r["outputs"].contains(output)) << "no reference for " << output;
    const json& want = r["outputs"][output];
    const std::string in = fixture_path(fixture);
    const std::string out = (temp_dir() / (fixture + "-" + output + ".gguf")).string();
    // The thread count varies with the case: the bytes must not depend on it.
    const int threads = 1 + static_cast<int>(output.size() % 3);
    Result<QuantizeSummary> s = Status();
    if (const size_t gt = output.find('>'); gt != std::string::npos) {
        const std::string base = out + ".base.gguf";
        ASSERT_TRUE(quantize(in, base, output.substr(0, gt), threads).ok());
        s = quantize(base, out, output.substr(gt + 1), threads, /*requantize=*/true);
        fs::remove(base);
    } else {
        s = quantize(in, out, output, threads);
    }
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ(s->n_fallback, want["n_fallback"].get<int>());

    // Our reader takes it, and so does our loader.
    auto f = io::GgufFile::open(out);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_TRUE(load_model(out).ok()) << load_model(out).status().to_string();
    const std::vector<std::string> types = split(want["types"].get<std::string>());
    const json& table = r["tensors"];
    ASSERT_EQ(f->tensors().size(), table.size());
    ASSERT_EQ(types.size(), table.size());
    for (size_t i = 0; i < table.size(); ++i) {
        const io::GgufTensorInfo& t = f->tensors()[i];
        const std::string& name = table[i][0].get_ref<const std::string&>();
        ASSERT_EQ(t.name, name) << "tensor " << i << ": llama.cpp writes " << name << " here";
        std::vector<int64_t> shape;
        for (int d = 0; d < t.shape.rank(); ++d) shape.push_back(t.shape[d]);
        EXPECT_EQ(shape, table[i][1].get<std::vector<int64_t>>()) << name;
        EXPECT_EQ(dtype_name(t.dtype), types[i]) << name;
        if (want.contains("sha256")) {
            EXPECT_EQ(testing::sha256_hex(t.data, t.nbytes), want["sha256"][i].get<std::string>())
                << name << " (" << dtype_name(t.dtype) << ") differs from llama.cpp's bytes";
        }
    }
    // The whole file: metadata (keys, order, general.file_type), layout, padding and data.
    const std::vector<uint8_t> bytes = file_bytes(out);
    EXPECT_EQ(bytes.size(), want["file_bytes"].get<size_t>());
    EXPECT_EQ(testing::sha256_hex(bytes.data(), bytes.size()),
              want["file_sha256"].get<std::string>());
    EXPECT_EQ(s->output_file_bytes, bytes.size());
    fs::remove(out);
}

INSTANTIATE_TEST_SUITE_P(AllSchemes, MatchesLlamaQuantize, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                             std::string n =
                                 std::get<0>(info.param) + "_" + std::get<1>(info.param);
                             for (char& c : n)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

// With an importance matrix (llama-quantize --imatrix): the same tensor types (Q4_0/Q5_0 give
// the first ffn_down Q4_1/Q5_1), every tensor's bytes, and the quantize.imatrix.* keys.
const json& imatrix_refs(const std::string& fixture) {
    static std::map<std::string, json> cache;
    auto it = cache.find(fixture);
    if (it == cache.end()) {
        std::ifstream f(data_path("quantize/" + fixture + ".imatrix.refs.json"));
        it = cache.emplace(fixture, json::parse(f)).first;
    }
    return it->second;
}

std::vector<std::tuple<std::string, std::string>> imatrix_cases() {
    std::vector<std::tuple<std::string, std::string>> out;
    for (const char* f : {"tiny_llama", "tiny_gemma3"})
        for (const auto& [scheme, ref] : imatrix_refs(f)["outputs"].items())
            out.emplace_back(f, scheme);
    return out;
}

class MatchesLlamaQuantizeImatrix
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(MatchesLlamaQuantizeImatrix, SameTensorTypesBytesAndKeys) {
    const auto& [fixture, scheme] = GetParam();
    const json& r = imatrix_refs(fixture);
    const json& want = r["outputs"][scheme];
    const std::string imatrix = data_path("quantize/" + r["imatrix"].get<std::string>());
    const std::vector<uint8_t> im = file_bytes(imatrix);
    ASSERT_EQ(testing::sha256_hex(im.data(), im.size()), r["imatrix_sha256"].get<std::string>());
    const std::string out = (temp_dir() / (fixture + "-imatrix-" + scheme + ".gguf")).string();
    QuantizeOptions o;
    o.input = fixture_path(fixture);
    o.output = out;
    o.request.scheme = *find_quant_scheme(scheme);
    o.imatrix_path = imatrix;
    o.threads = 2;
    auto s = quantize_model(o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_GT(s->n_weighted, 0);
    auto f = io::GgufFile::open(out);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_TRUE(load_model(out).ok());
    const std::vector<std::string> types = split(want["types"].get<std::string>());
    ASSERT_EQ(f->tensors().size(), types.size());
    for (size_t i = 0; i < types.size(); ++i) {
        const io::GgufTensorInfo& t = f->tensors()[i];
        EXPECT_EQ(dtype_name(t.dtype), types[i]) << t.name;
        EXPECT_EQ(testing::sha256_hex(t.data, t.nbytes), want["sha256"][i].get<std::string>())
            << t.name << " (" << dtype_name(t.dtype) << ") differs from llama.cpp's bytes";
    }
    EXPECT_EQ(f->find("quantize.imatrix.file")->as_string().value(), imatrix);
    for (const auto& [key, value] : want["imatrix_keys"].items()) {
        const io::GgufValue* v = f->find(key);
        ASSERT_NE(v, nullptr) << key;
        if (value.is_string())
            EXPECT_EQ(v->as_string().value(), value.get<std::string>()) << key;
        else
            EXPECT_EQ(v->as_i64().value(), value.get<int64_t>()) << key;
    }
    fs::remove(out);
}

INSTANTIATE_TEST_SUITE_P(WithImatrix, MatchesLlamaQuantizeImatrix,
                         ::testing::ValuesIn(imatrix_cases()), [](const auto& info) {
                             return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

TEST(Quantize, ImatrixOfAnotherModelIsRefused) {
    // tiny_gemma3's imatrix has rows of 256 for ffn_down; tiny_llama's are 288.
    QuantizeOptions o;
    o.input = fixture_path("tiny_llama");
    o.output = (temp_dir() / "wrong-imatrix.gguf").string();
    o.request.scheme = *find_quant_scheme("Q4_K_M");
    o.imatrix_path = data_path("quantize/tiny_gemma3.imatrix.gguf");
    auto s = quantize_model(o);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("not made for this model"), std::string::npos)
        << s.status().message();
    EXPECT_FALSE(fs::exists(o.output));
    // Not an imatrix at all.
    o.imatrix_path = fixture_path("tiny_llama");
    s = quantize_model(o);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("not an importance matrix"), std::string::npos)
        << s.status().message();
}

TEST(Quantize, BytesDoNotDependOnTheThreadCount) {
    const std::string in = fixture_path("tiny_gemma3");
    const std::string a = (temp_dir() / "t1.gguf").string(), b = (temp_dir() / "t7.gguf").string();
    ASSERT_TRUE(quantize(in, a, "Q3_K_M", 1).ok());
    ASSERT_TRUE(quantize(in, b, "Q3_K_M", 7).ok());
    EXPECT_TRUE(file_bytes(a) == file_bytes(b));
    fs::remove(a);
    fs::remove(b);
}

// An HF directory goes through the converter without a temporary file, and gives the same file
// as converting first and quantizing the GGUF.
TEST(Quantize, HfDirectoryEqualsConvertThenQuantize) {
    const std::string dir = data_path("models/gemma3_tiny");
    const std::string direct = (temp_dir() / "hf-direct.gguf").string();
    const std::string converted = (temp_dir() / "hf-converted.gguf").string();
    const std::string two_step = (temp_dir() / "hf-two-step.gguf").string();
    auto s = quantize(dir, direct, "Q8_0", 2);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    ASSERT_TRUE(convert_to_gguf(dir, converted).ok());
    ASSERT_TRUE(quantize(converted, two_step, "Q8_0", 2).ok());
    EXPECT_TRUE(file_bytes(direct) == file_bytes(two_step));
    EXPECT_GT(s->n_converted, 0);
    EXPECT_TRUE(load_model(direct).ok());
    for (const auto& p : {direct, converted, two_step}) fs::remove(p);
}

TEST(Quantize, RequantizingNeedsPermission) {
    const std::string in = fixture_path("tiny_llama");
    const std::string q = (temp_dir() / "rq-q8.gguf").string();
    const std::string out = (temp_dir() / "rq-q4.gguf").string();
    ASSERT_TRUE(quantize(in, q, "Q8_0", 2).ok());
    auto s = quantize(q, out, "Q4_0", 2);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("--allow-requantize"), std::string::npos)
        << s.status().message();
    EXPECT_FALSE(fs::exists(out));
    // The same type again copies the bytes: nothing is requantized, so no permission needed.
    ASSERT_TRUE(quantize(q, out, "Q8_0", 2).ok());
    EXPECT_TRUE(file_bytes(q) == file_bytes(out));
    fs::remove(q);
    fs::remove(out);
}

}  // namespace
}  // namespace unicorn
