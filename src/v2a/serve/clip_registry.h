// The clips `v2a serve` shows: the rows of a manifest (`--clips`), each a muxed mp4 of a video with
// its generated audio. Only these files are ever served (by id, never by a path from a request).
//
// Versions of one video (for Compare) share an id prefix: `<clip>__<version>`, e.g. the sample ids
// `<clip>__s<seed>` that `v2a generate --samples-per-clip` writes. An id without `__` is its own
// group. Rows with an `audio` column are muxed (video stream copied + that audio) into the media
// cache once; rows without it are served as they are.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace v2a::serve {

struct Clip {
    std::string id, group, variant, caption;
    std::filesystem::path media;   // the mp4 served at /media/<id>
    int64_t bytes = 0;
    std::string version;           // fingerprint of the media bytes: which file exactly was shown
};

/// `<group>__<variant>` -> {group, variant}; an id without `__` -> {id, ""}.
std::pair<std::string, std::string> split_clip_id(const std::string& id);

struct ClipRegistryOptions {
    std::filesystem::path manifest;
    std::filesystem::path media_cache;   // where rows with an audio column are muxed (created when needed)
};

class ClipRegistry {
public:
    static ClipRegistry load(const ClipRegistryOptions& options);
    /// Registers clips directly (tests, benches).
    explicit ClipRegistry(std::vector<Clip> clips);
    ClipRegistry() = default;

    const std::vector<Clip>& clips() const { return clips_; }
    size_t size() const { return clips_.size(); }
    /// The clip with this id, or nullptr.
    const Clip* find(const std::string& id) const;
    /// Groups with at least two versions: indices into clips(), in manifest order.
    const std::vector<std::vector<size_t>>& groups() const { return groups_; }

private:
    std::vector<Clip> clips_;
    std::map<std::string, size_t> by_id_;
    std::vector<std::vector<size_t>> groups_;
};

/// 16 hex digits of FNV-1a-64 over the file's bytes.
std::string file_fingerprint(const std::filesystem::path& path);

}  // namespace v2a::serve
