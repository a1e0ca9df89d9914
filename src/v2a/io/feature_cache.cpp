#include "v2a/io/feature_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"

namespace v2a::io {
namespace {

constexpr const char* kKeyField = "v2a_cache_key";
constexpr const char* kIndexName = "index.jsonl";

std::string exact(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

const char* pad_name(PadPolicy p) {
    switch (p) {
        case PadPolicy::Error: return "error";
        case PadPolicy::RepeatLast: return "repeat_last";
        case PadPolicy::Truncate: return "truncate";
    }
    return "?";
}

}  // namespace

CacheKey CacheKey::for_file(const std::string& clip_id, const stdfs::path& source, const std::string& options) {
    struct stat st {};
    V2A_CHECK(::stat(source.c_str(), &st) == 0, IO, source.string(), ": cannot stat the source of clip '", clip_id,
              "' (", std::strerror(errno), ")");
    CacheKey key;
    key.clip_id = clip_id;
    key.source_size = uint64_t(st.st_size);
    key.source_mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    key.options = options;
    return key;
}

std::string CacheKey::canonical() const {
    // Unit separators keep fields apart even if an id contains spaces or '='.
    return "v1\x1f" + clip_id + "\x1f" + std::to_string(source_size) + "\x1f" + std::to_string(source_mtime_ns) +
           "\x1f" + options;
}

std::string CacheKey::hash() const {
    uint64_t h = 1469598103934665603ull;  // FNV-1a 64
    for (unsigned char c : canonical()) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
    return buf;
}

std::string describe(const VideoDecodeOptions& o) {
    return "video fps=" + exact(o.fps) + " size=" + std::to_string(o.width) + "x" + std::to_string(o.height) +
           " start=" + exact(o.start) + " duration=" + exact(o.duration) +
           " resize=" + (o.resize == ResizeMode::Stretch ? "stretch" : "center_crop") + " pad=" + pad_name(o.pad);
}

std::string describe(const AudioDecodeOptions& o) {
    return "audio sr=" + std::to_string(o.sample_rate) + " start=" + exact(o.start) + " duration=" +
           exact(o.duration) + " pad=" + pad_name(o.pad);
}

FeatureCache::FeatureCache(stdfs::path dir) : dir_(std::move(dir)) { fs::ensure_dir(dir_); }

stdfs::path FeatureCache::entry_path(const CacheKey& key) const {
    const std::string h = key.hash();
    return dir_ / h.substr(0, 2) / (h + ".safetensors");
}

std::optional<TensorMap> FeatureCache::get(const CacheKey& key) {
    const stdfs::path path = entry_path(key);
    std::error_code ec;
    if (!stdfs::exists(path, ec)) {
        ++misses_;
        return std::nullopt;
    }
    try {
        SafetensorsFile file = load_safetensors(path);
        const auto it = file.metadata.find(kKeyField);
        if (it == file.metadata.end() || it->second != key.canonical()) {
            // A colliding or foreign file: a miss; the next put replaces it.
            ++misses_;
            return std::nullopt;
        }
        ++hits_;
        return std::move(file.tensors);
    } catch (const std::exception& e) {
        V2A_LOG_WARN("feature cache: entry %s of clip '%s' is unreadable, recomputing (%s)", path.c_str(),
                     key.clip_id.c_str(), e.what());
        stdfs::remove(path, ec);
        ++corrupt_;
        ++misses_;
        return std::nullopt;
    }
}

void FeatureCache::put(const CacheKey& key, const TensorMap& tensors) {
    const stdfs::path path = entry_path(key);
    MetadataMap metadata = {{kKeyField, key.canonical()}, {"clip_id", key.clip_id}, {"options", key.options}};
    save_safetensors(path, tensors, metadata);
    ++writes_;

    std::error_code ec;
    const uint64_t bytes = stdfs::file_size(path, ec);
    nlohmann::json line = {{"hash", key.hash()},
                           {"clip_id", key.clip_id},
                           {"options", key.options},
                           {"file", path.lexically_relative(dir_).string()},
                           {"bytes", ec ? 0 : bytes}};
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    // One write() with O_APPEND: concurrent writers (threads or processes) never interleave lines.
    std::lock_guard<std::mutex> lock(index_mutex_);
    const stdfs::path index_path = dir_ / kIndexName;
    const int fd = ::open(index_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    V2A_CHECK(fd >= 0, IO, index_path.string(), ": cannot open for appending (", std::strerror(errno), ")");
    const ssize_t n = ::write(fd, text.data(), text.size());
    const int err = errno;
    ::close(fd);
    V2A_CHECK(n == ssize_t(text.size()), IO, index_path.string(), ": append failed (", std::strerror(err), ")");
}

void FeatureCache::remove(const CacheKey& key) {
    std::error_code ec;
    stdfs::remove(entry_path(key), ec);
}

TensorMap FeatureCache::get_or_compute(const CacheKey& key, const ComputeFn& compute) {
    if (auto cached = get(key)) return std::move(*cached);
    TensorMap value = compute();
    try {
        put(key, value);
    } catch (const Error& e) {
        // The cache only saves time: a full disk must not stop training.
        V2A_LOG_WARN("feature cache: cannot store clip '%s' (%s)", key.clip_id.c_str(), e.what());
    }
    return value;
}

std::vector<CacheIndexEntry> FeatureCache::index() const {
    std::lock_guard<std::mutex> lock(index_mutex_);
    const stdfs::path index_path = dir_ / kIndexName;
    std::vector<CacheIndexEntry> out;
    std::error_code ec;
    if (!stdfs::exists(index_path, ec)) return out;
    std::istringstream in(fs::read_text(index_path));
    std::map<std::string, size_t> position;  // hash -> index in out
    std::string line;
    while (std::getline(in, line)) {
        const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!j.is_object() || !j.contains("hash") || !j["hash"].is_string() || !j.contains("file") ||
            !j["file"].is_string())
            continue;  // a line cut short by a killed process, or garbage
        CacheIndexEntry e;
        try {
            e.hash = j["hash"].get<std::string>();
            e.clip_id = j.value("clip_id", "");
            e.options = j.value("options", "");
            e.file = dir_ / j["file"].get<std::string>();
            e.bytes = j.value("bytes", uint64_t(0));
        } catch (const nlohmann::json::exception&) {
            continue;  // fields of the wrong type
        }
        const auto it = position.find(e.hash);
        if (it == position.end()) {
            position[e.hash] = out.size();
            out.push_back(std::move(e));
        } else {
            out[it->second] = std::move(e);
        }
    }
    std::vector<CacheIndexEntry> existing;
    for (auto& e : out)
        if (stdfs::exists(e.file, ec)) existing.push_back(std::move(e));
    return existing;
}

FeatureCacheStats FeatureCache::stats() const {
    FeatureCacheStats s;
    s.hits = hits_;
    s.misses = misses_;
    s.corrupt = corrupt_;
    s.writes = writes_;
    return s;
}

}  // namespace v2a::io
