// A split of a manifest loaded into memory for training and evaluation: per clip, RGB frames on a
// 25 fps grid (the 8 fps semantic stream is an index selection of it), mono audio, caption, label and,
// for benchmark clips, the ground-truth JSON. Decoding goes through the feature cache, so each video
// is decoded once, not every epoch. Loading is parallel with a progress bar.
// T = frames (duration * 25), H = W = frame_size, S = samples (duration * sample_rate)
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "v2a/io/manifest.h"

namespace v2a::io {

struct ClipDatasetOptions {
    double duration = 4.0;        // seconds; longer clips are trimmed, shorter padded (last frame / silence)
    int frame_size = 64;          // frames are decoded to frame_size x frame_size (stretch)
    double fps = 25.0;            // the frame grid (MMAudio's sync stream rate)
    int sample_rate = 16000;
    bool load_frames = true;
    bool load_audio = true;
    bool load_truth = true;       // <video without extension>.json, when it exists
    std::filesystem::path cache_dir;   // empty: no cache
    int workers = 0;              // 0: every core
};

struct ClipItem {
    std::string id, caption, label;
    Split split = Split::Train;
    std::filesystem::path video;
    torch::Tensor frames;         // [T, H, W, 3] uint8 (undefined when not loaded)
    torch::Tensor audio;          // [S] float32 in [-1, 1] (undefined when not loaded)
    std::string truth_json;       // ground truth of a benchmark clip ("" when absent)
};

class ClipDataset {
public:
    /// Loads every row of `manifest` (filter it by split first). Throws v2a::Error naming the clip's
    /// file on a decode failure.
    ClipDataset(const Manifest& manifest, ClipDatasetOptions options, const std::string& what = "dataset");
    /// Wraps already loaded items (tests, generated audio).
    ClipDataset(std::vector<ClipItem> items, ClipDatasetOptions options);

    int64_t size() const { return int64_t(items_.size()); }
    const ClipItem& operator[](int64_t i) const { return items_.at(size_t(i)); }
    const std::vector<ClipItem>& items() const { return items_; }
    const ClipDatasetOptions& options() const { return options_; }

    /// Sorted distinct labels, and each item's index into them.
    const std::vector<std::string>& labels() const { return labels_; }
    int64_t label_index(int64_t i) const { return label_index_.at(size_t(i)); }

    /// Stacks items: [B, T, H, W, 3] uint8 / [B, S] float / [B] int64.
    torch::Tensor frames(const std::vector<int64_t>& indices) const;
    torch::Tensor audio(const std::vector<int64_t>& indices) const;
    torch::Tensor label_indices(const std::vector<int64_t>& indices) const;
    std::vector<std::string> captions(const std::vector<int64_t>& indices) const;

    int64_t n_frames() const;     // T
    int64_t n_samples() const;    // S

private:
    void index_labels();
    ClipDatasetOptions options_;
    std::vector<ClipItem> items_;
    std::vector<std::string> labels_;
    std::vector<int64_t> label_index_;
};

/// Indices into a 25 fps grid that give the frames of an `fps_out` grid by MMAudio's rule (the last
/// source frame at or before each output time): floor(k * fps_in / fps_out), k < duration * fps_out.
std::vector<int64_t> resample_frame_indices(double duration, double fps_in, double fps_out);

}  // namespace v2a::io
