// Training pieces of the stand-in judges that do not depend on the training loop: a fresh judge for
// a dataset (classes, front-end statistics), the loss of one mini-batch of ground-truth clips, and
// the quality report on held-out clips. `v2a train-judges` (judge/train_judges.h) drives these
// through train::TrainLoop; the tests drive them with a plain optimizer loop.
#pragma once
#include <torch/types.h>

#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "v2a/io/clip_dataset.h"
#include "v2a/judge/networks.h"

namespace v2a::judge {

struct JudgeSetup {
    OffsetGrid grid;                // sync judge
    double sync_window = 2.0;       // seconds
    int64_t frame_size = 32;        // video_audio judge input
    int64_t sync_frame_size = 16;   // sync judge input (50 frames per window: kept small)
    int64_t embed_dim = 128;
};

/// A new, randomly initialised judge of `kind` for `train` (classes = its sorted labels, front-end
/// statistics = mean/std of its log-mels). Throws v2a::Error(Data) when the data cannot train it
/// (no frames for a video judge, no captions for the text judge, clips shorter than the sync window
/// plus the largest offset, fewer than 2 classes for a classifier).
std::shared_ptr<JudgeModuleImpl> new_judge(const std::string& kind, const io::ClipDataset& train,
                                           const JudgeSetup& setup = {});

/// Indices of the clips a judge trains on (the text judge skips empty captions; others take all).
std::vector<int64_t> trainable_indices(const std::string& kind, const io::ClipDataset& data);

/// Loss of one mini-batch of clips `indices` (ground truth only), with augmentation (random gain;
/// random offsets and windows for the sync judge) drawn from `gen`. `metrics` receives batch
/// accuracy where it applies.
torch::Tensor judge_loss(JudgeModuleImpl& module, const io::ClipDataset& data, const std::vector<int64_t>& indices,
                         torch::Generator& gen, std::map<std::string, double>* metrics = nullptr);

/// The judge's quality on held-out clips, as in DIR/judges.json: classifiers {"top1", "chance_top1"},
/// video_audio {"video_to_audio_r1", ..._r5, chance, "ib_score_paired", "ib_score_mismatched"},
/// text_audio {"text_to_audio_r1", ..., "clap_paired", "clap_mismatched"}, sync {"exact", "within_one",
/// chance}. The module is switched to eval mode and back.
nlohmann::json judge_quality(JudgeModuleImpl& module, const io::ClipDataset& data);

/// A short loss that is easy to evaluate without gradients (mean over `indices`, deterministic
/// windows), for validation curves.
double validation_loss(JudgeModuleImpl& module, const io::ClipDataset& data, int64_t max_items = 64);

}  // namespace v2a::judge
