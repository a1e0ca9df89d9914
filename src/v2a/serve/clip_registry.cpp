#include "v2a/serve/clip_registry.h"

#include <cstdio>
#include <fstream>

#include "v2a/core/error.h"
#include "v2a/core/fs.h"
#include "v2a/core/log.h"
#include "v2a/io/manifest.h"
#include "v2a/io/media.h"

namespace v2a::serve {

namespace stdfs = std::filesystem;

namespace {

uint64_t fnv1a64(const char* data, size_t n, uint64_t h = 1469598103934665603ULL) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(data[i])) * 1099511628211ULL;
    return h;
}

std::string hex16(uint64_t h) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

bool newer_than(const stdfs::path& target, const stdfs::path& source) {
    return stdfs::exists(target) && stdfs::last_write_time(target) >= stdfs::last_write_time(source);
}

/// The row's video with its generated audio muxed in, cached under a name derived from the id (ids
/// may hold characters a file name must not).
stdfs::path muxed_media(const io::ManifestRow& row, const stdfs::path& cache) {
    V2A_CHECK(!cache.empty(), Usage, "clips: row ", row.id, " has an audio column but no media cache folder was given");
    const auto out = cache / (hex16(fnv1a64(row.id.data(), row.id.size())) + ".mp4");
    if (newer_than(out, row.video) && newer_than(out, *row.audio)) return out;
    fs::ensure_dir(cache);
    const auto info = io::probe(*row.audio);
    io::AudioDecodeOptions ao;
    ao.sample_rate = info.audio_sample_rate > 0 ? info.audio_sample_rate : 16000;
    io::mux_audio_into_video(row.video, io::decode_audio(*row.audio, ao), out);
    return out;
}

}  // namespace

std::pair<std::string, std::string> split_clip_id(const std::string& id) {
    const auto at = id.rfind("__");
    if (at == std::string::npos || at == 0 || at + 2 == id.size()) return {id, ""};
    return {id.substr(0, at), id.substr(at + 2)};
}

std::string file_fingerprint(const stdfs::path& path) {
    std::ifstream in(path, std::ios::binary);
    V2A_CHECK(in, IO, path.string(), ": cannot open media file");
    uint64_t h = 1469598103934665603ULL;
    std::vector<char> buf(1 << 16);
    while (in) {
        in.read(buf.data(), std::streamsize(buf.size()));
        h = fnv1a64(buf.data(), size_t(in.gcount()), h);
    }
    return hex16(h);
}

ClipRegistry ClipRegistry::load(const ClipRegistryOptions& options) {
    const auto manifest = io::read_manifest(options.manifest, {true});
    V2A_CHECK(!manifest.rows.empty(), Data, options.manifest.string(), ": no clips");
    std::vector<Clip> clips;
    size_t muxed = 0;
    for (const auto& row : manifest.rows) {
        Clip c;
        c.id = row.id;
        std::tie(c.group, c.variant) = split_clip_id(row.id);
        c.caption = row.caption;
        c.media = row.audio ? muxed_media(row, options.media_cache) : row.video;
        muxed += row.audio.has_value();
        c.bytes = int64_t(stdfs::file_size(c.media));
        c.version = file_fingerprint(c.media);
        clips.push_back(std::move(c));
    }
    if (muxed) V2A_LOG_INFO("serve: %zu clips muxed with their audio column into %s", muxed, options.media_cache.c_str());
    return ClipRegistry(std::move(clips));
}

ClipRegistry::ClipRegistry(std::vector<Clip> clips) : clips_(std::move(clips)) {
    std::map<std::string, std::vector<size_t>> members;
    std::vector<std::string> order;
    for (size_t i = 0; i < clips_.size(); ++i) {
        const auto& c = clips_[i];
        V2A_CHECK(by_id_.emplace(c.id, i).second, Data, "clips: duplicate id ", c.id);
        auto& m = members[c.group];
        if (m.empty()) order.push_back(c.group);
        m.push_back(i);
    }
    for (const auto& g : order) {
        if (members[g].size() >= 2) groups_.push_back(members[g]);
    }
}

const Clip* ClipRegistry::find(const std::string& id) const {
    const auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &clips_[it->second];
}

}  // namespace v2a::serve
