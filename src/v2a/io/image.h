// Still images for reports: PNG written by FFmpeg's own PNG encoder (libavcodec, already a
// dependency for video), so no image library is added.
#pragma once
#include <torch/types.h>

#include <filesystem>

namespace v2a::io {

/// Writes RGB pixels [H, W, 3] uint8 as a PNG, atomically (temp file + rename). Throws
/// v2a::Error(Usage) on a bad tensor and v2a::Error(IO) naming the file when encoding or writing fails.
void write_png(const std::filesystem::path& path, const torch::Tensor& rgb);

}  // namespace v2a::io
