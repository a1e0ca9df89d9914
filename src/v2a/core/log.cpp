#include "v2a/core/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"

namespace v2a::log {
namespace {
Level initial_level() {
    const char* env = std::getenv("V2A_LOG_LEVEL");
    if (env == nullptr) return Level::Info;
    try {
        return parse_level(env);
    } catch (const Error&) {
        return Level::Info;
    }
}
std::atomic<int> g_level{static_cast<int>(initial_level())};
std::mutex g_mutex;
}  // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }
Level level() { return static_cast<Level>(g_level.load()); }

Level parse_level(const std::string& name) {
    if (name == "debug") return Level::Debug;
    if (name == "info") return Level::Info;
    if (name == "warn") return Level::Warn;
    if (name == "error") return Level::Error;
    if (name == "quiet") return Level::Quiet;
    fail(ErrorKind::Usage, "unknown log level '", name, "' (expected debug, info, warn, error or quiet)");
}

void write(Level lvl, const char* fmt, ...) {
    if (static_cast<int>(lvl) < g_level.load()) return;
    // Data parallel: the writer (rank 0) tells the story; other ranks speak only of problems.
    if (lvl <= Level::Info && !dist::is_writer()) return;
    static const char* prefix[] = {"debug: ", "", "warning: ", "error: "};
    char buffer[4096];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    std::lock_guard<std::mutex> lock(g_mutex);
    const std::string who = dist::active() ? "[" + dist::describe() + "] " : std::string();
    std::fprintf(stderr, "%s%s%s\n", who.c_str(), prefix[static_cast<int>(lvl)], buffer);
}

}  // namespace v2a::log
