// Running the unicorn binary as a user does, for the CLI tests: its output and exit code, paths
// of test data and of per-process temporary files, and the one-line error convention.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace unicorn::testing {

struct CliRun {
    int code = -1;
    std::string out;  // stdout (+ stderr unless kept apart)
};

// `unicorn ARGS` through the shell; stderr joins stdout unless with_stderr is false (dropped).
inline CliRun run_cli(const std::string& args, bool with_stderr = true) {
    const std::string cmd =
        std::string(UNICORN_BINARY) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
    CliRun r;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    std::array<char, 4096> buf;
    while (fgets(buf.data(), buf.size(), p) != nullptr) r.out += buf.data();
    const int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

inline std::string test_data(const std::string& rel) {
    return std::string(UNICORN_TEST_DATA) + "/" + rel;
}

// A path in the temporary directory, unique to this process and `prefix`.
inline std::string tmp_path(const std::string& prefix, const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            (prefix + "_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

// A user-facing failure: exit 1, and the output is one line starting "unicorn: error:".
inline void expect_clean_error(const CliRun& r, const std::string& needle) {
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(r.out.rfind("unicorn: error: ", 0), 0u) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.out;
}

}  // namespace unicorn::testing
