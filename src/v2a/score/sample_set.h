// Generated samples (samples.csv) joined with the benchmark clips they were generated for: loading
// those clips, reading a sample's audio, and AudioScore's raw scores of many samples in chunks (a
// chunk's frames are [chunk, T, H, W, 3], so a whole sample set never sits in memory at once).
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"
#include "v2a/io/manifest.h"
#include "v2a/judge/judges.h"
#include "v2a/score/labels.h"

namespace v2a::score {

/// The manifest rows (any split) that `samples` refer to, loaded with `options`. Throws
/// v2a::Error(Data) naming `samples_file` and the first clip id the manifest lacks.
io::ClipDataset load_sample_clips(const io::Manifest& manifest, const std::vector<SampleRecord>& samples,
                                  const io::ClipDatasetOptions& options, const std::string& samples_file);

/// clip id -> row of `clips`.
std::map<std::string, int64_t> clip_rows(const io::ClipDataset& clips);

/// A sample's audio as 16 kHz mono [n] (resampled if the file is at another rate; cropped or
/// zero-padded to n). Throws v2a::Error naming the file when it is missing or unreadable.
torch::Tensor read_sample_audio(const SampleRecord& sample, int64_t n);

struct SampleScoreOptions {
    int64_t chunk = 32;        // samples per call of compute_raw_scores
    bool progress = true;
};

/// Raw AudioScore inputs [indices.size(), 5] of samples[indices] against their clips (frames, caption,
/// ground-truth audio for PESQ, speech flag from the ground truth), quality measured against
/// `class_marginal` [C].
torch::Tensor score_samples(judge::Judges& judges, const io::ClipDataset& clips,
                            const std::vector<SampleRecord>& samples, const std::vector<int64_t>& indices,
                            const torch::Tensor& class_marginal, const SampleScoreOptions& options = {});

/// The classifier marginal over samples[indices] (their audio), `chunk` at a time: [C] float64.
torch::Tensor sample_class_marginal(judge::Judges& judges, const io::ClipDataset& clips,
                                    const std::vector<SampleRecord>& samples, const std::vector<int64_t>& indices,
                                    int64_t chunk = 32);

}  // namespace v2a::score
