#include "v2a/core/jsonl.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"

namespace v2a {

JsonlWriter::JsonlWriter(const std::filesystem::path& path, bool append) : path_(path) {
    if (path.has_parent_path()) fs::ensure_dir(path.parent_path());
    file_ = std::fopen(path.c_str(), append ? "a" : "w");
    V2A_CHECK(file_ != nullptr, IO, path.string(), ": cannot open log (", std::strerror(errno), ")");
}

JsonlWriter::~JsonlWriter() {
    if (file_ != nullptr) std::fclose(file_);
}

void JsonlWriter::write(const nlohmann::json& record) {
    const std::string line = record.dump() + "\n";
    std::lock_guard<std::mutex> lock(mutex_);
    V2A_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size(), IO, path_.string(), ": write failed");
    std::fflush(file_);
}

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
    std::ifstream in(path);
    V2A_CHECK(in.good(), IO, path.string(), ": cannot open (", std::strerror(errno), ")");
    std::vector<nlohmann::json> records;
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            records.push_back(nlohmann::json::parse(line));
        } catch (const nlohmann::json::exception& e) {
            fail(ErrorKind::Data, path.string(), ":", line_no, ": not valid JSON (", e.what(), ")");
        }
    }
    return records;
}

}  // namespace v2a
