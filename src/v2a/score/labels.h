// Ratings of generated clips (Good / Medium / Bad), from people (`v2a serve`, exported with
// `v2a labels export`) or from the benchmark's SIMULATED annotator (`v2a labels simulate`), and the
// generated-sample sets they refer to.
//
// Labels file: CSV with header `clip_id,label[,annotator,...]` (extra columns ignored) or JSONL with
// objects {"clip_id": ..., "label": ..., "annotator": ...}; label is good|medium|bad (any case) or
// 0|1|2. `clip_id` names a generated SAMPLE (a row of a samples.csv), not a benchmark clip.
//
// Samples file (`samples.csv`, written by `v2a generate --samples-per-clip K`):
//   sample_id,clip_id,seed,audio          audio path relative to the CSV (16 kHz WAV)
// sample_id = "<clip_id>__s<seed>".
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace v2a::score {

enum class Rating : int { Good = 0, Medium = 1, Bad = 2 };
constexpr int kNumRatings = 3;
std::string rating_name(Rating r);   // "good" | "medium" | "bad"
/// Parses good/medium/bad (case-insensitive) or 0/1/2; throws v2a::Error(Data) naming `where`.
Rating parse_rating(const std::string& text, const std::string& where);

struct LabelRecord {
    std::string clip_id;     // sample id
    Rating rating = Rating::Medium;
    std::string annotator;   // "" when unknown
};

/// Reads CSV (by extension .csv) or JSONL (.jsonl / .json). Errors (v2a::Error(Data)) name the file
/// and line: missing columns, bad label, empty id.
std::vector<LabelRecord> read_labels(const std::filesystem::path& path);
/// Writes CSV (clip_id,label,annotator) atomically.
void write_labels(const std::filesystem::path& path, const std::vector<LabelRecord>& labels);

struct SampleRecord {
    std::string sample_id, clip_id;
    uint64_t seed = 0;
    std::filesystem::path audio;   // absolute (resolved against the CSV's folder when read)
};
std::vector<SampleRecord> read_samples(const std::filesystem::path& path);
void write_samples(const std::filesystem::path& path, const std::vector<SampleRecord>& samples);
std::string sample_id(const std::string& clip_id, uint64_t seed);

}  // namespace v2a::score
