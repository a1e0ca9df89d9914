// The parallel dataset writer of `v2a synth`: renders every clip of the train/val/test splits into
// <out>/clips/<id>.{wav,mp4,json}, then <out>/manifest.csv and <out>/summary.json.
// Same options + seed => byte-identical clip files and manifest (clip randomness comes from
// (seed, split, index) only). Resumable: a clip whose json (written last, atomically) is present
// with the same config, next to its wav and mp4, is skipped.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "v2a/synth/spec.h"

namespace v2a::synth {

struct DatasetOptions {
    std::filesystem::path out;
    int64_t n_train = 2000, n_val = 200, n_test = 200;
    ClipConfig config;          // 4 s, 25 fps, 96 px, 16 kHz
    uint64_t seed = 0;
    int workers = 0;            // <= 0: v2a::thread_count()
    std::string classes;        // "a,b,..."; empty = every class
    bool write_video = true;    // false: no mp4 (audio + ground truth only)
};

/// Throws v2a::Error(Usage) naming the option and its valid range.
void validate_options(const DatasetOptions& options);

/// True when clips/<id>.json parses, has the same config block, and the wav (and mp4 if wanted)
/// exist and are non-empty.
bool clip_complete(const std::filesystem::path& clips_dir, const std::string& id, const nlohmann::json& config,
                   bool want_video);

/// Writes the dataset and returns the summary (also written to <out>/summary.json):
/// counts per split and class, rendered/skipped, total duration (s), bytes, elapsed (s), clips/s.
nlohmann::json write_dataset(const DatasetOptions& options);

/// A clip of the dataset by split and index.
struct SplitItem {
    std::string split;
    int64_t index = 0;
};
/// train 0..n_train-1, then val, then test: the order clips are rendered and listed in.
std::vector<SplitItem> split_items(int64_t n_train, int64_t n_val, int64_t n_test);

/// One CSV field, quoted when it holds a comma, quote or newline (RFC 4180).
std::string csv_field(const std::string& value);

}  // namespace v2a::synth
