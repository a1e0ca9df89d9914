// Append-only JSON Lines log for machine-readable metrics (one object per step / eval).
#pragma once
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json_fwd.hpp>

namespace v2a {

class JsonlWriter {
public:
    /// append=false truncates; a resumed job opens with append=true.
    JsonlWriter(const std::filesystem::path& path, bool append);
    ~JsonlWriter();
    JsonlWriter(const JsonlWriter&) = delete;
    JsonlWriter& operator=(const JsonlWriter&) = delete;

    /// Writes one line and flushes, so a killed job keeps every line it wrote.
    void write(const nlohmann::json& record);
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    std::FILE* file_ = nullptr;
    std::mutex mutex_;
};

/// Reads every JSON object of a JSONL file; throws v2a::Error(Data) naming the line of a bad one.
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path);

}  // namespace v2a
