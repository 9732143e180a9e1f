// `unicorn quantize IN OUT hybrid --target-kld X` end to end on the tiny Gemma 3n fixture (F32,
// with a tokenizer): sensitivity runs, the plan, the file and the held-out measurement, in
// about a second; and the preset's bad requests.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "io/gguf.h"
#include "tools/cli_run.h"

namespace unicorn {
namespace {

using testing::CliRun;

CliRun run(const std::string& args) { return testing::run_cli(args); }
std::string data(const std::string& rel) { return testing::test_data(rel); }
std::string tmp(const std::string& name) { return testing::tmp_path("unicorn_hybrid", name); }

const std::string kModel = data("models/gemma3n_tiny.llamacpp.gguf");
const std::string kText = data("real/text_512.txt");
const std::string kSmall = " --ctx 64 --calib-chunks 2 --eval-chunks 2 -t 2";

double number_after(const std::string& s, const std::string& label) {
    std::smatch m;
    if (!std::regex_search(s, m, std::regex(label + " ([0-9.]+)"))) return -1;
    return std::stod(m[1]);
}

TEST(HybridCli, MeetsTheTargetItPredictsAndRecordsThePlan) {
    const std::string out = tmp("h.gguf");
    const CliRun r = run("quantize " + kModel + " " + out + " hybrid --target-kld 0.02 --calib " +
                         kText + " --eval-text " + kText + kSmall);
    ASSERT_EQ(r.code, 0) << r.out;
    // One sensitivity line per group, the plan under the target, the held-out measurement.
    EXPECT_NE(r.out.find("[  92/92]"), std::string::npos) << r.out;
    const double predicted = number_after(r.out, "plan: predicted KLD");
    EXPECT_GE(predicted, 0.0) << r.out;
    EXPECT_LE(predicted, 0.02) << r.out;
    EXPECT_EQ(r.out.find("NOT met"), std::string::npos) << r.out;
    const double measured = number_after(r.out, "KLD");
    EXPECT_GE(measured, 0.0);
    EXPECT_NE(r.out.find("held-out: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("top-1 agreement"), std::string::npos) << r.out;

    auto f = io::GgufFile::open(out);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    const io::GgufValue* types = f->find("quantize.hybrid.types");
    ASSERT_NE(types, nullptr);
    EXPECT_NE(types->as_string().value().find("blk.0.attn_q="), std::string::npos);
    // Smaller than the F32 input, and a tighter target costs bytes.
    const auto loose = std::filesystem::file_size(out);
    EXPECT_LT(loose, std::filesystem::file_size(kModel));
    const CliRun tight = run("quantize " + kModel + " " + out +
                             " hybrid --target-kld 0.002 --calib " + kText + kSmall);
    ASSERT_EQ(tight.code, 0) << tight.out;
    EXPECT_GT(std::filesystem::file_size(out), loose);
    std::filesystem::remove(out);
}

TEST(HybridCli, BadRequestsGiveOneClearLine) {
    const std::string out = tmp("bad.gguf");
    auto expect_error = [&](const std::string& args, const std::string& needle) {
        const CliRun r = run(args);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
        EXPECT_FALSE(std::filesystem::exists(out));
    };
    expect_error("quantize " + kModel + " " + out + " hybrid --calib " + kText, "--target-kld");
    expect_error("quantize " + kModel + " " + out + " Q4_0 --target-kld 0.1",
                 "--target-kld applies only to TYPE hybrid");
    expect_error("quantize " + kModel + " " + out + " hybrid --target-kld 0.1 --calib /nonexistent",
                 "calibration text /nonexistent does not exist");
    // A quantized base: the preset measures against its input, which must be unquantized.
    const std::string q = tmp("q8.gguf");
    ASSERT_EQ(run("quantize " + kModel + " " + q + " Q8_0").code, 0);
    expect_error("quantize " + q + " " + out + " hybrid --target-kld 0.1 --calib " + kText,
                 "needs an F32/F16/BF16 base");
    std::filesystem::remove(q);
}

}  // namespace
}  // namespace unicorn
