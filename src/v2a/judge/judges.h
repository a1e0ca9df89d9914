// The set of frozen judges used for scoring: loading the stand-in networks from a directory
// (DIR/<kind>.safetensors, written by `v2a train-judges`), adapters that expose them through the
// abstract interfaces, and the judges' own quality measures (classifier top-1, sync accuracy,
// retrieval recall) used for DIR/judges.json and the tests.
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"
#include "v2a/judge/interfaces.h"
#include "v2a/judge/networks.h"

namespace v2a::judge {

/// Any judge network (the module behind a JudgeConfig kind).
std::shared_ptr<JudgeModuleImpl> make_judge_module(const JudgeConfig& config);
/// Writes DIR/<kind>.safetensors (config in the metadata) atomically.
void save_judge(const std::filesystem::path& path, JudgeModuleImpl& module);
/// Loads a judge file, strict; eval mode, gradients off. Throws v2a::Error naming the file.
std::shared_ptr<JudgeModuleImpl> load_judge_module(const std::filesystem::path& path);

/// Every judge role; a null pointer means "not available" and the metrics needing it are skipped.
struct Judges {
    std::shared_ptr<AudioEmbedder> av_audio;        // IB-score audio side
    std::shared_ptr<VideoEmbedder> av_video;        // IB-score video side
    std::shared_ptr<AudioEmbedder> text_audio;      // CLAP audio side
    std::shared_ptr<TextEmbedder> text;             // CLAP text side
    std::shared_ptr<SyncJudge> sync;
    std::shared_ptr<AudioClassifier> cnn;           // PANNs role
    std::shared_ptr<AudioClassifier> transformer;   // PaSST role
    /// Names of the judges loaded (for reports).
    std::vector<std::string> loaded;
};

/// Adapters from a judge module to the interfaces (share the module).
Judges judges_from_modules(const std::vector<std::shared_ptr<JudgeModuleImpl>>& modules);
/// Loads every DIR/<kind>.safetensors that exists. Throws v2a::Error(IO) naming DIR when it holds none.
Judges load_judges(const std::filesystem::path& dir);

// ---------------------------------------------------------------------------------------------
// Batched helpers (no gradients; rows in input order)

/// audio [N, S] -> embeddings [N, D], `batch` rows at a time.
torch::Tensor embed_audio_batched(AudioEmbedder& judge, const torch::Tensor& audio, int64_t batch = 32);
torch::Tensor embed_video_batched(VideoEmbedder& judge, const torch::Tensor& frames, int64_t batch = 16);
/// Logits and embeddings of audio [N, S].
AudioClassifier::Output classify_batched(AudioClassifier& judge, const torch::Tensor& audio, int64_t batch = 32);

/// The first and the last scoring window of a clip of `duration` seconds: start times (seconds).
std::vector<double> sync_window_starts(double duration, double window);
/// Frames [T, H, W, 3] and audio [S] (16 kHz) of one window starting at `start` s (video at 25 fps).
std::pair<torch::Tensor, torch::Tensor> cut_window(const torch::Tensor& frames, const torch::Tensor& audio,
                                                   double start, double window);
/// Video window [start, start + window) and audio window [start + offset, ...): the audio runs ahead
/// of the video by `offset` seconds (the sync judge's class for this pair is offset).
std::pair<torch::Tensor, torch::Tensor> shifted_window(const torch::Tensor& frames, const torch::Tensor& audio,
                                                       double start, double offset, double window);
/// Sync logits [N, W, K] of the first and last windows of each clip (frames [N, T, H, W, 3], audio [N, S]).
torch::Tensor sync_logits_first_last(SyncJudge& judge, const torch::Tensor& frames, const torch::Tensor& audio,
                                     int64_t batch = 16);
/// The judge's offsets (seconds, grid[argmax]) of those windows: [N, W] float64. DeSync is the mean
/// of their absolute values (over windows, then clips).
torch::Tensor sync_offsets_first_last(SyncJudge& judge, const torch::Tensor& frames, const torch::Tensor& audio,
                                      int64_t batch = 16);

// ---------------------------------------------------------------------------------------------
// Judge quality

struct Retrieval {
    double r1 = 0.0, r5 = 0.0;
    int64_t n = 0;
    double chance_r1 = 0.0, chance_r5 = 0.0;   // 1/n, 5/n
};
/// Query i's correct key is key i; rank by cosine similarity (ties count against the query).
Retrieval retrieval_recall(const torch::Tensor& queries, const torch::Tensor& keys);

/// Top-1 accuracy of logits [N, C] against targets [N] (int64).
double top1_accuracy(const torch::Tensor& logits, const torch::Tensor& targets);

/// Each item's label as an index into `classes` (-1 when unknown).
torch::Tensor class_targets(const io::ClipDataset& data, const std::vector<std::string>& classes);

struct SyncAccuracy {
    double exact = 0.0, within_one = 0.0;   // argmax == true class / |argmax - true| <= 1
    int64_t n = 0;
    double chance_exact = 0.0, chance_within_one = 0.0;
};
/// Cuts one window per (clip, grid class) with the audio shifted by that class's offset (audio taken
/// from start + offset, the window placed in the middle of its valid range) and classifies it.
SyncAccuracy sync_accuracy(SyncJudge& judge, const io::ClipDataset& data, int64_t batch = 32);

/// Window start (video) for a given offset within a clip: the middle of the valid range, on the 25 fps grid.
/// Throws v2a::Error(Data) when the clip is too short for the window plus the offset.
double centred_window_start(double duration, double window, double offset);

}  // namespace v2a::judge
