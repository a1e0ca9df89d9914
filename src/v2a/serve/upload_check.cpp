#include "v2a/serve/upload_check.h"

#include "v2a/core/error.h"
#include "v2a/serve/request_error.h"

namespace v2a::serve {

io::MediaInfo check_upload(const std::filesystem::path& file, const UploadLimits& limits) {
    const auto bytes = int64_t(std::filesystem::file_size(file));
    V2A_REQUIRE(bytes > 0, 400, "upload: empty file");
    V2A_REQUIRE(bytes <= limits.max_bytes, 413, "upload: ", bytes, " bytes is over the limit of ", limits.max_bytes);
    io::MediaInfo info;
    try {
        info = io::probe(file);
    } catch (const Error& e) {
        request_fail(400, "upload: not a video FFmpeg can read (", e.what(), ")");
    }
    V2A_REQUIRE(info.has_video, 400, "upload: the file has no video stream");
    V2A_REQUIRE(info.width > 0 && info.height > 0 && info.width <= limits.max_side && info.height <= limits.max_side,
                413, "upload: frame size ", info.width, "x", info.height, " is outside 1..", limits.max_side);
    V2A_REQUIRE(info.duration <= limits.max_seconds, 413, "upload: ", info.duration, " s is longer than the limit of ",
                limits.max_seconds, " s");
    // The container can claim anything: decode the first frames to prove the stream is real.
    io::VideoDecodeOptions o;
    o.width = o.height = 16;
    o.duration = std::min(1.0, std::max(0.04, info.duration));
    o.pad = io::PadPolicy::Truncate;
    size_t frames = 0;
    try {
        frames = size_t(io::decode_video(file, o).frames.size(0));
    } catch (const Error& e) {
        request_fail(400, "upload: the video stream does not decode (", e.what(), ")");
    }
    V2A_REQUIRE(frames > 0, 400, "upload: the video stream holds no frame");
    return info;
}

}  // namespace v2a::serve
