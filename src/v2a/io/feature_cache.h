// On-disk cache of decoded clip tensors, so training decodes each video once, not every epoch.
//
// An entry is one safetensors file <dir>/<h[0:2]>/<h>.safetensors, h = 64-bit hash of the key
// (clip id, source file size + mtime, decode options). The full key text is stored in the entry's
// metadata and compared on every read, so a hash collision or a stale file is a miss, never wrong
// data. <dir>/index.jsonl gets one line per stored entry (for listing and housekeeping; lookups do
// not need it). Writes are atomic; an unreadable entry (truncated, garbage) is logged, removed and
// recomputed instead of failing the run.
#pragma once
#include <torch/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "v2a/io/media.h"
#include "v2a/io/safetensors.h"

namespace v2a::io {

struct CacheKey {
    std::string clip_id;
    uint64_t source_size = 0;
    int64_t source_mtime_ns = 0;
    std::string options;              // what was computed and how, e.g. describe(VideoDecodeOptions)

    /// Key for a clip decoded from `source` (stats the file; throws v2a::Error(IO) naming it if missing).
    static CacheKey for_file(const std::string& clip_id, const stdfs::path& source, const std::string& options);
    /// The exact text the entry is matched against.
    std::string canonical() const;
    /// 16 lower-case hex digits (FNV-1a 64 of canonical()).
    std::string hash() const;
};

/// Decode options as key text. Only fields that change the decoded values are included
/// (not the decoder thread count).
std::string describe(const VideoDecodeOptions& options);
std::string describe(const AudioDecodeOptions& options);

struct FeatureCacheStats {
    size_t hits = 0;
    size_t misses = 0;      // includes the corrupt ones
    size_t corrupt = 0;     // entries that failed to load and were recomputed
    size_t writes = 0;
};

struct CacheIndexEntry {
    std::string hash;
    std::string clip_id;
    std::string options;
    stdfs::path file;       // absolute entry path
    uint64_t bytes = 0;
};

class FeatureCache {
public:
    using ComputeFn = std::function<TensorMap()>;

    /// Creates `dir` if needed.
    explicit FeatureCache(stdfs::path dir);

    /// The cached tensors for `key`, or compute() stored and returned. Exceptions from compute()
    /// propagate (nothing is stored). A failure to store is logged, and the computed value returned.
    TensorMap get_or_compute(const CacheKey& key, const ComputeFn& compute);

    /// Cached tensors, or nullopt (absent, other key, or unreadable: then the file is removed).
    std::optional<TensorMap> get(const CacheKey& key);
    /// Stores atomically (replacing any previous entry for the key) and appends to the index.
    void put(const CacheKey& key, const TensorMap& tensors);
    void remove(const CacheKey& key);

    stdfs::path entry_path(const CacheKey& key) const;
    const stdfs::path& dir() const { return dir_; }

    /// Entries named in index.jsonl whose files still exist (last line wins per hash; damaged lines
    /// are skipped).
    std::vector<CacheIndexEntry> index() const;
    FeatureCacheStats stats() const;

private:
    stdfs::path dir_;
    mutable std::mutex index_mutex_;
    std::atomic<size_t> hits_{0}, misses_{0}, corrupt_{0}, writes_{0};
};

}  // namespace v2a::io
