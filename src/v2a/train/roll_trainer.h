// Training and evaluating Chain-of-Perform's Roll Predictor (model/roll_predictor.h) on the piano
// benchmark (`v2a synth --task piano`): random (clip, frame) samples, the middle frame's 88 keys as
// targets (held = 1), Audeo's MSE on sigmoid outputs (or BCE), AdamW, the shared TrainLoop (JSONL,
// curves, atomic checkpoints, exact resume). Evaluation: frame-level P / R / Acc / F1 of the thresholded
// predictions (Audeo: sigmoid >= 0.4) against the ground-truth roll, in Audeo's convention and mir_eval's.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "v2a/io/manifest.h"
#include "v2a/metrics/frame_transcription.h"
#include "v2a/model/roll_predictor.h"

namespace v2a::train {

/// The decoded clips of one split: grayscale frames and the ground-truth roll (clips/<id>.roll.safetensors).
struct PianoFrames {
    std::vector<std::string> ids;
    std::vector<torch::Tensor> frames;  // per clip [T, H, W, 3] uint8
    std::vector<torch::Tensor> rolls;   // per clip [T, 88] uint8 (velocity)
    int64_t height = 0, width = 0;
    int64_t total_frames() const;
};

/// Loads the split's clips (the first max_clips when > 0). Throws v2a::Error(Data) naming a clip without
/// a roll file or with a roll whose frame count is not its video's.
PianoFrames load_piano_frames(const io::Manifest& manifest, io::Split split, int64_t max_clips = 0);

struct RollEval {
    metrics::FrameScores audeo, mir_eval;
    int64_t frames = 0;
    nlohmann::json to_json() const;
};

/// Predicts every frame of every clip and scores the thresholded predictions.
RollEval evaluate_roll_predictor(model::RollPredictor& model, const PianoFrames& clips, double threshold = 0.4,
                                 int64_t batch = 32);
/// The predicted roll [T, 88] (sigmoid probabilities) of one clip's frames [T, H, W, 3].
torch::Tensor predict_roll(model::RollPredictor& model, const torch::Tensor& frames, int64_t batch = 32);

struct RollTrainOptions {
    std::filesystem::path manifest, run_dir;
    model::RollPredictorOptions model;   // height / width are taken from the data
    int64_t steps = 2000, batch_size = 16;
    double lr = 1e-3;
    int64_t warmup = 50, log_every = 10, val_every = 250, checkpoint_every = 250;
    std::string loss = "mse";            // mse (Audeo) | bce
    double threshold = 0.4;              // Audeo's
    int64_t max_train_clips = 0, max_val_clips = 0;
    uint64_t seed = 0;
    bool resume = false;
};

struct RollTrainResult {
    std::filesystem::path model_path;    // <run>/model.safetensors
    RollEval val;
    double seconds = 0.0;
};

/// Trains, validates (val split) every val_every updates and at the end, writes <run>/model.safetensors
/// and <run>/result.json. Throws v2a::Error(Usage) naming a bad option.
RollTrainResult train_roll_predictor(const RollTrainOptions& options);

/// A Roll Predictor written by train_roll_predictor.
model::RollPredictor load_roll_predictor(const std::filesystem::path& path);

}  // namespace v2a::train
