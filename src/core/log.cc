#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace unicorn {
namespace {

LogLevel level_from_env() {
    const char* env = std::getenv("UNICORN_LOG");
    if (env == nullptr) return LogLevel::kWarn;
    if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
    if (std::strcmp(env, "info") == 0) return LogLevel::kInfo;
    if (std::strcmp(env, "error") == 0) return LogLevel::kError;
    return LogLevel::kWarn;
}

std::atomic<int>& level_storage() {
    static std::atomic<int> level{static_cast<int>(level_from_env())};
    return level;
}

}  // namespace

LogLevel log_level() {
    return static_cast<LogLevel>(level_storage().load(std::memory_order_relaxed));
}
void set_log_level(LogLevel level) { level_storage().store(static_cast<int>(level)); }

void log_message(LogLevel level, const std::string& message) {
    static const char* const kNames[] = {"debug", "info", "warning", "error"};
    std::fprintf(stderr, "unicorn %s: %s\n", kNames[static_cast<int>(level)], message.c_str());
}

}  // namespace unicorn
