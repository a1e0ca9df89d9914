// Demo uploads are checked by decoding, never trusted by name or extension: the file must hold a
// video stream FFmpeg decodes into at least one frame, within the size, duration and frame-size
// limits. A failure is a RequestError (400 not a video, 413 too large / too long).
#pragma once
#include <cstdint>
#include <filesystem>

#include "v2a/io/media.h"

namespace v2a::serve {

struct UploadLimits {
    int64_t max_bytes = 64ll << 20;   // also the HTTP payload limit of the demo upload
    double max_seconds = 30.0;
    int max_side = 4096;              // width or height, against decompression bombs
};

/// The probed facts of a valid upload; throws RequestError naming the problem otherwise.
io::MediaInfo check_upload(const std::filesystem::path& file, const UploadLimits& limits);

}  // namespace v2a::serve
