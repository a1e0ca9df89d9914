// Evaluation of generated audio against a benchmark's ground truth, av-benchmark style: every metric
// that applies, computed with the frozen judges (stand-ins unless real encoders are plugged in):
//   FD (both classifiers' embeddings), KL (softmax, av-benchmark convention, both), IS (both),
//   IB-score (x100), CLAP (raw cosine; captioned clips only), DeSync (s; first and last window),
//   AV-Align, SI-SDR (dB) vs the ground-truth audio, onset P/R/F1 (+-100 ms) vs the ground-truth
//   event times of the clip JSON, PESQ (P.862.2 WB) on speech clips.
// Unpaired mode computes FD and IS only (the prediction set need not match the ground-truth ids).
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"
#include "v2a/judge/judges.h"

namespace v2a::judge {

struct EvalOptions {
    bool unpaired = false;
    bool progress = true;
    int64_t batch_size = 16;
    bool allow_silent = false;        // score silent predictions instead of rejecting them
    double silence_peak = 1e-4;       // a prediction whose |peak| is below this is silent
    double onset_window = 0.1;        // seconds (onset F1 tolerance)
    bool av_align = true;
    bool pesq = true;
    bool per_clip = true;             // per-clip values in the JSON
};

struct EvalResult {
    std::map<std::string, double> metrics;   // e.g. "fd_cnn", "kl_transformer", "ib_score", "desync"
    std::map<std::string, int64_t> counts;   // clips each metric was computed on
    std::vector<std::string> skipped;        // "metric: reason"
    nlohmann::json per_clip = nlohmann::json::object();
    nlohmann::json to_json() const;
};

/// `pred`: clip id -> mono audio [S] at 16 kHz. Paired mode: every id must be a ground-truth clip
/// and every ground-truth clip must have a prediction (v2a::Error(Data) listing the offenders);
/// predictions are cropped / zero-padded to the ground-truth length. Silent predictions are an error
/// naming the clip unless options.allow_silent.
EvalResult evaluate(const io::ClipDataset& gt, const std::map<std::string, torch::Tensor>& pred, Judges& judges,
                    const EvalOptions& options = {});

/// Reads DIR/<id>.wav, .flac or .mp4 for each id present (audio track, mono). WAV/FLAC must be at
/// `sample_rate` (v2a::Error(Data) naming the file otherwise) unless `resample`; mp4 audio is
/// resampled. An empty directory or unreadable file is an error naming it.
std::map<std::string, torch::Tensor> read_predictions(const std::filesystem::path& dir, int sample_rate = 16000,
                                                      bool resample = false);

/// The av-benchmark-style table of a result (metric, value, clips), one line per metric.
std::string format_table(const EvalResult& result);

/// Sanity table of the judges (issue 4): evaluates, on `test`, (1) the ground-truth audio, (2) the
/// ground-truth audio shuffled across clips (a seeded derangement), (3) mismatched audio: for each
/// clip a `pool` clip of a different class, (4) a `pool` clip of the same class, and (5) the
/// ground-truth audio delayed by `shift` seconds. Returns {"rows": {name: result}, "checks": {...}}.
nlohmann::json sanity_table(const io::ClipDataset& test, const io::ClipDataset& pool, Judges& judges,
                            const EvalOptions& options = {}, double shift = 0.5, uint64_t seed = 0);

}  // namespace v2a::judge
