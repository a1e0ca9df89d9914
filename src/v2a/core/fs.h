// File helpers: whole-file reads with named errors, and atomic writes (temp file + rename) so a
// crash or a kill never leaves a half-written checkpoint, dataset or manifest behind.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace v2a::fs {

namespace stdfs = std::filesystem;

std::vector<uint8_t> read_bytes(const stdfs::path& path);
std::string read_text(const stdfs::path& path);

/// Writes `bytes` to `path` through `path.tmp.<pid>` + fsync + rename.
void write_atomic(const stdfs::path& path, const void* data, size_t size);
void write_atomic(const stdfs::path& path, const std::string& text);

/// Runs `writer(tmp_path)` and renames the result onto `path`; removes the temp file if the writer
/// throws. For writers that need a file name (FFmpeg, libsndfile).
void write_atomic_with(const stdfs::path& path, const std::function<void(const stdfs::path& tmp)>& writer);

/// A temp-file name next to `path` that keeps its extension (FFmpeg picks the container by it).
stdfs::path temp_path_for(const stdfs::path& path);

/// Deletes the temp files (temp_path_for's names, `<stem>.tmp<pid>_<n><ext>`) in `dir` (not recursive)
/// whose writing process no longer runs: what a SIGKILL in the middle of write_atomic leaves behind. A
/// live writer's temp file (another rank, another shard) is kept. Returns how many were deleted.
int remove_stale_temp_files(const stdfs::path& dir);

/// Creates `dir` and its parents; throws v2a::Error(IO) naming the directory on failure.
void ensure_dir(const stdfs::path& dir);

}  // namespace v2a::fs
