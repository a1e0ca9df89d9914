// Per-clip measurements shared by evaluate() and the score stage (AudioScore's raw scores, the
// simulated annotator), so that "onset F1", "speech clip" or "cropped to the ground truth" mean one
// thing everywhere.
#pragma once
#include <torch/types.h>

#include <vector>

#include "v2a/io/clip_dataset.h"

namespace v2a::judge {

/// What the benchmark's ground-truth JSON (docs/BENCHMARK.md) says about a clip.
struct ClipTruth {
    std::vector<double> events;  // onset times (s) of every sounding source (not distractors), sorted
    bool speech = false;         // label == "speech"
    bool present = false;        // the clip has a ground-truth JSON
};
/// Parses item.truth_json; throws v2a::Error(Data) naming the clip when it is not valid JSON.
ClipTruth parse_clip_truth(const io::ClipItem& item);

/// Mono 16 kHz [S] -> 22.05 kHz [S'] (the librosa / AV-Align rate of the onset metrics).
torch::Tensor resample_16k_to_22k(const torch::Tensor& audio16k);
/// librosa-style onset times (s, sorted; librosa defaults at 22.05 kHz) of `audio22k` [S]: the onsets
/// that eval's onset F1 (metrics::onset_f1 against the event times, +-100 ms) is computed on.
std::vector<double> clip_onsets(const torch::Tensor& audio22k);

/// audio [S] or [B, S] cropped or zero-padded to n samples (last dimension).
torch::Tensor crop_or_pad(const torch::Tensor& audio, int64_t n);
/// A float32 copy of any tensor's values (row-major).
std::vector<float> to_float_vector(const torch::Tensor& t);

}  // namespace v2a::judge
