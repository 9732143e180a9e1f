// Subcommands of the `unicorn` binary. Each registers its options on the CLI11 app and
// returns the process exit code from run_*.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace unicorn::cli {

using Runner = std::function<int()>;

Runner add_logits(CLI::App& app);
Runner add_info(CLI::App& app);
Runner add_devices(CLI::App& app);
Runner add_convert(CLI::App& app);
Runner add_bench(CLI::App& app);
Runner add_run(CLI::App& app);
Runner add_chat(CLI::App& app);
Runner add_serve(CLI::App& app);
Runner add_quantize(CLI::App& app);
Runner add_eval(CLI::App& app);

// One clear line on stderr, exit code 1: the convention for every user-facing error.
int fail(const std::string& message);

}  // namespace unicorn::cli
