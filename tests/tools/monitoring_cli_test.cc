// Performance monitoring as a user reads it: `--profile` on the real Gemma 3 270M (skipped when
// not fetched) — the op times account for the wall time of the generation they profile (within
// 10 %, issue 9) and the JSON form carries every field; `bench --plot` writes an SVG chart.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/cache_dir.h"
#include "tools/cli_run.h"

namespace unicorn {
namespace {

TEST(ProfileCli, RunProfileAccountsForTheWallTime) {
    const std::string model = cached_model_path("gemma-3-270m-Q4_K_M.gguf");
    if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " not fetched";
    const testing::CliRun r =
        testing::run_cli("run -m " + model +
                         " -p 'The capital of France is' -n 16 --temp 0 -t 2 --no-stats "
                         "--profile --json");
    ASSERT_EQ(r.code, 0) << r.out;
    // The JSON object is the last line (stderr, written after the text on stdout is flushed).
    std::istringstream lines(r.out);
    std::string line, last;
    while (std::getline(lines, line))
        if (!line.empty()) last = line;
    const nlohmann::json j = nlohmann::json::parse(last, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j["device"], "cpu");
    double sum = j["device_sync_seconds"].get<double>();
    bool linear = false;
    for (const auto& op : j["ops"]) {
        EXPECT_GT(op["calls"].get<int64_t>(), 0);
        EXPECT_GE(op["seconds"].get<double>(), 0.0);
        EXPECT_EQ(op["cpu_fallbacks"], 0);
        linear |= op["op"] == "linear";
        sum += op["seconds"].get<double>();
    }
    EXPECT_TRUE(linear);
    EXPECT_NEAR(sum, j["total_seconds"].get<double>(), 1e-9);
    const double wall = j["wall_seconds"].get<double>();
    EXPECT_GT(wall, 0.0);
    EXPECT_LE(j["total_seconds"].get<double>(), wall);
    EXPECT_GE(j["total_seconds"].get<double>(), 0.9 * wall) << "op times leave >10 % of wall";
}

TEST(BenchPlot, WritesAnSvgChartWithAPointPerTest) {
    const std::string svg = testing::tmp_path("unicorn_plot", "bench.svg");
    const testing::CliRun r =
        testing::run_cli("bench -m " + testing::test_data("models/llama_smol") +
                         " -p 8,16 -n 4,8 -r 1 -t 2 --plot " + svg);
    ASSERT_EQ(r.code, 0) << r.out;
    std::ifstream in(svg);
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(doc.rfind("<svg ", 0), 0u) << doc.substr(0, 80);
    EXPECT_NE(doc.find("</svg>"), std::string::npos);
    auto count = [&](const std::string& what) {
        size_t n = 0;
        for (size_t at = doc.find(what); at != std::string::npos; at = doc.find(what, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("<polyline"), 2u);  // prefill and decode
    EXPECT_EQ(count("<circle"), 4u);    // pp8, pp16, tg4, tg8
    std::remove(svg.c_str());
    testing::expect_clean_error(
        testing::run_cli("bench -m " + testing::test_data("models/llama_smol") +
                         " -p 8 -n 0 -r 1 --plot /nonexistent/dir/x.svg"),
        "--plot");
}

}  // namespace
}  // namespace unicorn
