// `unicorn quantize` as a user runs it: a plain progress log and a summary on success; on bad
// input one clear error line, exit code 1, and nothing left behind — neither the output nor a
// temporary file, even when the failure comes after part of the file was written.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "tools/cli_run.h"

namespace unicorn {
namespace {

namespace fs = std::filesystem;

using testing::CliRun;

// `unicorn quantize ARGS`.
CliRun run(const std::string& args) { return testing::run_cli("quantize " + args); }

std::string smol() { return std::string(UNICORN_TEST_DATA) + "/models/llama_smol.gguf"; }

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// One directory per test; every test ends by checking that only the files it made itself are
// there (no output, no OUT.tmp-<pid>, no OUT.tmp-<pid>.tmp).
class QuantizeCli : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("unicorn_quantize_cli_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    std::vector<std::string> files() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
        std::sort(out.begin(), out.end());
        return out;
    }

    // A copy of llama_smol.gguf with its tensors changed by `edit` (which may drop one by
    // returning false).
    std::string edited_smol(const std::string& name,
                            const std::function<bool(const io::GgufTensorInfo&, Tensor*)>& edit) {
        auto src = io::GgufFile::open(smol());
        EXPECT_TRUE(src.ok());
        io::GgufWriter w;
        for (const auto& [k, v] : src->metadata()) w.set(k, v);
        for (const io::GgufTensorInfo& t : src->tensors()) {
            Tensor copy = Tensor::empty(t.dtype, t.shape);
            std::memcpy(copy.data(), t.data, t.nbytes);
            if (!edit(t, &copy)) continue;
            EXPECT_TRUE(w.add_tensor(t.name, copy).ok());
        }
        EXPECT_TRUE(w.write(path(name)).ok());
        return path(name);
    }

    fs::path dir_;
};

// A user-facing failure: exit 1, the last line starts "unicorn: error:" and names the problem.
void expect_error(const CliRun& r, const std::string& needle, bool only_line = true) {
    EXPECT_EQ(r.code, 1) << r.out;
    const size_t last = r.out.rfind("unicorn: error: ");
    ASSERT_NE(last, std::string::npos) << r.out;
    if (only_line) {
        EXPECT_EQ(last, 0u) << r.out;
    }
    EXPECT_EQ(r.out.find('\n', last), r.out.size() - 1) << r.out;
    EXPECT_NE(r.out.find(needle, last), std::string::npos)
        << "expected '" << needle << "' in: " << r.out;
}

TEST_F(QuantizeCli, WritesTheFileWithAPlainProgressLogAndASummary) {
    CliRun r = run(smol() + " " + path("out.gguf") + " q8_0 -t 2");
    ASSERT_EQ(r.code, 0) << r.out;
    // stderr is a pipe here: one line per tensor, not a redrawn bar.
    EXPECT_NE(r.out.find("[   1/29] output_norm.weight"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("F32 → Q8_0"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\r'), std::string::npos);
    EXPECT_NE(r.out.find("as Q8_0 in"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("bits/weight: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("smaller than BF16"), std::string::npos) << r.out;
    auto f = io::GgufFile::open(path("out.gguf"));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f->get_u32("general.file_type"), 7u);  // LLAMA_FTYPE_MOSTLY_Q8_0
    EXPECT_EQ(*f->get_u32("general.quantization_version"), 2u);
    EXPECT_EQ(files(), std::vector<std::string>{"out.gguf"});
}

TEST_F(QuantizeCli, UnknownTypesListTheValidOnes) {
    expect_error(run(smol() + " " + path("out.gguf") + " Q4_K_XL"),
                 "unknown quantization type 'Q4_K_XL' (valid: F32, F16, BF16, Q8_0, Q6_K,");
    expect_error(run(smol() + " " + path("out.gguf") + " Q4_0 --output-tensor-type Q9"),
                 "--output-tensor-type: unknown tensor type 'Q9' (valid: F32,");
    EXPECT_TRUE(files().empty());
}

TEST_F(QuantizeCli, UnsupportedArchitecture) {
    io::GgufWriter w;
    w.set_string("general.architecture", "gpt2");
    w.set_u32("gpt2.block_count", 1);
    const float x[64] = {};
    ASSERT_TRUE(w.add_tensor("token_embd.weight", DType::kF32, Shape{2, 32}, x, sizeof(x)).ok());
    ASSERT_TRUE(w.write(path("gpt2.gguf")).ok());
    expect_error(run(path("gpt2.gguf") + " " + path("out.gguf") + " Q8_0"),
                 "architecture 'gpt2' is not supported");
    EXPECT_EQ(files(), std::vector<std::string>{"gpt2.gguf"});
}

TEST_F(QuantizeCli, MissingTensorIsNamed) {
    const std::string in = edited_smol("no_q.gguf", [](const io::GgufTensorInfo& t, Tensor*) {
        return t.name != "blk.1.attn_q.weight";
    });
    expect_error(run(in + " " + path("out.gguf") + " Q4_0"), "blk.1.attn_q.weight");
    EXPECT_EQ(files(), std::vector<std::string>{"no_q.gguf"});
}

TEST_F(QuantizeCli, ARowLengthNoTypeFitsIsRefused) {
    // llama_smol's rows have 64 elements: not a whole number of Q4_K's 256-element blocks, and
    // llama.cpp has no fallback for an explicit embedding type.
    expect_error(run(smol() + " " + path("out.gguf") + " Q4_0 --token-embedding-type q4_k"),
                 "--token-embedding-type Q4_K does not fit tensor 'token_embd.weight'");
    EXPECT_TRUE(files().empty());
}

TEST_F(QuantizeCli, UnwritableOutputAndSameFile) {
    expect_error(run(smol() + " " + path("no/such/dir/out.gguf") + " Q8_0"), "does not exist");
    expect_error(run(smol() + " " + dir_.string() + " Q8_0"), "is a directory");
    fs::copy_file(smol(), path("model.gguf"));
    const std::vector<uint8_t> before = file_bytes(path("model.gguf"));
    expect_error(run(path("model.gguf") + " " + path("model.gguf") + " Q8_0"),
                 "input and output are the same file");
    // Through another spelling of the same path, too.
    expect_error(run(path("model.gguf") + " " + (dir_ / "." / "model.gguf").string() + " Q8_0"),
                 "input and output are the same file");
    EXPECT_TRUE(file_bytes(path("model.gguf")) == before);
    EXPECT_EQ(files(), std::vector<std::string>{"model.gguf"});
}

TEST_F(QuantizeCli, RequantizingNeedsTheFlag) {
    ASSERT_EQ(run(smol() + " " + path("q8.gguf") + " Q8_0").code, 0);
    expect_error(run(path("q8.gguf") + " " + path("q4.gguf") + " Q4_0"), "--allow-requantize");
    CliRun ok = run(path("q8.gguf") + " " + path("q4.gguf") + " Q4_0 --allow-requantize");
    EXPECT_EQ(ok.code, 0) << ok.out;
    EXPECT_EQ(files(), (std::vector<std::string>{"q4.gguf", "q8.gguf"}));
}

// A NaN in the last tensor written: the header and the tensors before it are already in the
// temporary file when the error comes, and the file must go.
TEST_F(QuantizeCli, AFailureAfterWritingStartedLeavesNoFile) {
    const std::string in = edited_smol("nan.gguf", [](const io::GgufTensorInfo& t, Tensor* x) {
        if (t.name == "blk.2.ffn_up.weight") x->data_as<float>()[3 * 64 + 5] = NAN;
        return true;
    });
    expect_error(run(in + " " + path("out.gguf") + " Q4_0 -t 3"),
                 "tensor 'blk.2.ffn_up.weight' row 3 holds a NaN or infinity",
                 /*only_line=*/false);
    EXPECT_EQ(files(), std::vector<std::string>{"nan.gguf"});
}

}  // namespace
}  // namespace unicorn
