// Dataset manifests: a VGGSound-like CSV with one clip per record,
//   id,video,caption,label,split[,audio][,features][,any other columns (ignored)]
// features: a file of MMAudio's extracted features for the clip (generate with a converted network).
// RFC-4180 quoting (captions hold commas, quotes and even newlines). Paths are relative to the
// manifest's folder. Every problem is a v2a::Error(Data) naming the manifest and the line.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "v2a/io/csv.h"

namespace v2a::io {

namespace stdfs = std::filesystem;

enum class Split { Train, Val, Test };

/// "train" / "val" / "test".
const char* split_name(Split split);
/// Parses "train" / "val" / "test"; std::nullopt otherwise.
std::optional<Split> parse_split(const std::string& text);

struct ManifestRow {
    std::string id;
    stdfs::path video;                  // resolved against the manifest's folder
    std::string caption;
    std::string label;
    Split split = Split::Train;
    std::optional<stdfs::path> audio;   // set when the audio column exists and the cell is not empty
    int line = 0;                       // 1-based line the record starts on (0 = not read from a file)
    std::optional<stdfs::path> features;  // MMAudio feature file (clip/sync/text_features), as audio
};

struct Manifest {
    stdfs::path path;                   // where it was read from (empty when built in memory)
    std::vector<ManifestRow> rows;

    /// Rows of one split, in file order.
    Manifest filter(Split split) const;
    /// Row with this id, or nullptr.
    const ManifestRow* find(const std::string& id) const;
};

struct ManifestOptions {
    bool check_files = false;           // require every video (and audio, features) file to exist
};

/// Reads and validates a manifest file.
/// Ids become file names (`<out-dir>/<id>.wav`, feature caches, pair shards): one rule everywhere an
/// id is read. Throws Data naming `where` unless the id is 1-200 bytes with no '/', '\\', control
/// character or NUL, and is not "." or "..", so no id can name a path outside its folder.
void check_file_id(const std::string& id, const std::string& where);

Manifest read_manifest(const stdfs::path& path, const ManifestOptions& options = {});

/// Parses manifest text; relative paths resolve against `root`; `what` names it in errors.
Manifest parse_manifest(const std::string& text, const stdfs::path& root, const std::string& what,
                        const ManifestOptions& options = {});

/// Writes rows atomically; paths are written relative to the new manifest's folder. The audio (features)
/// column is written when any row has audio (features).
void write_manifest(const stdfs::path& path, const std::vector<ManifestRow>& rows);

/// The CSV text write_manifest would write into folder `dir`.
std::string format_manifest(const std::vector<ManifestRow>& rows, const stdfs::path& dir);

// csv_field (RFC-4180 quoting) is declared in v2a/io/csv.h.

}  // namespace v2a::io
