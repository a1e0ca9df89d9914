// `v2a report`: the results as a static, self-contained site that opens from disk (file://, no
// network, no server): for chosen test clips, one row per clip and one column per system (the
// ground truth first), each cell the clip's video muxed with that system's audio plus its mel
// spectrogram; metric tables with 95% bootstrap intervals (and paired differences from the first
// system) from `v2a eval` JSON; the committed result tables (docs/results/*.json, the issue-14 row
// schema); training / Flow-DPO curves from runs' metrics.jsonl; AudioScore's reliability diagram and
// confusion matrix. Every link is relative; clip pages hold at most `page_size` rows, videos load on
// demand (preload="none", poster thumbnails) and images lazily.
//
//   out/index.html            systems, metric tables, result tables, curves, AudioScore, page links
//   out/clips_<k>.html        k = 1.. : clip rows
//   out/media/<system>/<clip>.mp4|.mel.png, out/media/poster/<clip>.png, out/curves/*.svg
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace v2a::report {

/// One column of clips: generated audio files `<audio_dir>/<clip id>.wav` (or .flac), and optionally
/// the `v2a eval` JSON of exactly that folder (metrics, per-clip values).
struct SystemInput {
    std::string name;
    std::filesystem::path audio_dir;
    std::filesystem::path eval_json;  // empty: no metrics for this system
};

struct SiteOptions {
    std::filesystem::path manifest;            // the clips' videos, captions and ground-truth audio
    std::string split = "test";
    std::vector<std::string> clip_ids;         // empty: the first `clips` of the split every system has
    int64_t clips = 8;
    int64_t page_size = 12;                    // clip rows per page
    bool ground_truth = true;                  // a "ground truth" column from the manifest's audio
    std::vector<SystemInput> systems;
    std::vector<std::filesystem::path> runs;   // training / DPO run folders (metrics.jsonl): curves
    std::vector<std::filesystem::path> tables; // result tables (list of {"system","metrics",...} rows)
    std::filesystem::path audioscore;          // AudioScore report (<model>.report.json or demo.json)
    std::filesystem::path out;
    std::string title = "v2a results";
    uint64_t seed = 0;                         // bootstrap resampling
};

struct SiteSummary {
    std::filesystem::path index;
    int64_t clips = 0, pages = 0, media_files = 0, curves = 0;
};

/// Writes the site (every file atomically; existing media are reused when newer than their inputs,
/// so re-running after adding a system only encodes the new column). Throws v2a::Error naming the
/// file and the problem: unknown split or clip ids, a system without a clip's audio, unreadable JSON.
SiteSummary write_site(const SiteOptions& options);

/// The kind of a path given to `v2a report --runs`: an eval JSON (its "pred" folder holds the
/// audio), a folder of generated audio (its eval JSON `<folder>.json` beside it when present), or a
/// training run (metrics.jsonl). "name=path" names it. Throws v2a::Error(Usage) naming the path
/// when it is none of these.
enum class InputKind { System, Run };
struct ClassifiedInput {
    InputKind kind = InputKind::System;
    SystemInput system;                  // kind == System
    std::filesystem::path run;           // kind == Run
};
ClassifiedInput classify_input(const std::string& spec);

/// Percentile bootstrap of the mean: {mean, lo, hi} at 95% over `resamples` draws (seeded).
struct Interval {
    double mean = 0, lo = 0, hi = 0;
};
Interval bootstrap_mean(const std::vector<double>& values, uint64_t seed, int resamples = 1000);

/// Text safe inside HTML elements and attribute values.
std::string html_escape(const std::string& text);

}  // namespace v2a::report
