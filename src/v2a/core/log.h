// Human-readable logging to stderr. Metrics are not log lines: see core/jsonl.h.
#pragma once
#include <string>

namespace v2a::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Quiet = 4 };

void set_level(Level level);
Level level();
/// Parses "debug|info|warn|error|quiet"; throws v2a::Error(Usage) otherwise.
Level parse_level(const std::string& name);

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace v2a::log

#define V2A_LOG_DEBUG(...) ::v2a::log::write(::v2a::log::Level::Debug, __VA_ARGS__)
#define V2A_LOG_INFO(...) ::v2a::log::write(::v2a::log::Level::Info, __VA_ARGS__)
#define V2A_LOG_WARN(...) ::v2a::log::write(::v2a::log::Level::Warn, __VA_ARGS__)
#define V2A_LOG_ERROR(...) ::v2a::log::write(::v2a::log::Level::Error, __VA_ARGS__)
