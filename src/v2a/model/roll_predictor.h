// Chain-of-Perform's Roll Predictor (Audeo's Video2Roll role, issue 18): 5 consecutive frames of a
// piano video -> the 88 keys held down in the middle frame. A small ResNet over the frames stacked as
// channels (grayscale), downsampled in height to the end but only 4x in width, so each key keeps its
// place along the keyboard; the head reads the width-resolved features (mean over height) into 88
// logits. Sizes are options; the defaults suit the piano benchmark's 216 x 96 frames.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <nlohmann/json_fwd.hpp>

namespace v2a::model {

struct RollPredictorOptions {
    int64_t in_frames = 5;    // consecutive frames, the middle one is predicted
    int64_t channels = 32;    // stem width; stages C, 2C, 4C
    int64_t keys = 88;
    int64_t height = 96, width = 216;  // input frame size (pixels)
    nlohmann::json to_json() const;
    static RollPredictorOptions from_json(const nlohmann::json& j);
    /// Throws v2a::Error(Config) naming the bad field.
    void validate() const;
};

/// ResNet basic block: 3x3 conv (stride) - BN - ReLU - 3x3 conv - BN, plus a 1x1 projection shortcut
/// when the shape changes, then ReLU.
class ResidualBlockImpl : public torch::nn::Module {
public:
    ResidualBlockImpl(int64_t in, int64_t out, torch::ExpandingArray<2> stride);
    torch::Tensor forward(const torch::Tensor& x);

private:
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
    torch::nn::Sequential shortcut{nullptr};
};
TORCH_MODULE(ResidualBlock);

class RollPredictorImpl : public torch::nn::Module {
public:
    explicit RollPredictorImpl(RollPredictorOptions options = {});
    /// frames [B, in_frames, H, W] float (grayscale, about zero-centred) -> logits [B, keys].
    torch::Tensor forward(const torch::Tensor& frames);
    const RollPredictorOptions& options() const { return options_; }

private:
    RollPredictorOptions options_;
    torch::nn::Sequential stem{nullptr};
    ResidualBlock stage1{nullptr}, stage2{nullptr}, stage3{nullptr};
    torch::nn::Linear head{nullptr};
};
TORCH_MODULE(RollPredictor);

/// Video frames [T, H, W, 3] uint8 and the frames to predict, centers [N] int64 -> the predictor's input
/// [N, in_frames, H, W]: grayscale in [-0.5, 0.5], center c's window c - in_frames/2 .. c + in_frames/2 clamped
/// at the clip's ends. The one conversion training and inference share.
torch::Tensor roll_predictor_input(const torch::Tensor& frames_rgb, const torch::Tensor& centers, int64_t in_frames);
/// The input for every frame of a clip: roll_predictor_input with centers 0 .. T-1.
torch::Tensor roll_predictor_windows(const torch::Tensor& frames_rgb, int64_t in_frames);

}  // namespace v2a::model
