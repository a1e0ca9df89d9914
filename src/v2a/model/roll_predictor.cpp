#include "v2a/model/roll_predictor.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "v2a/core/error.h"

namespace v2a::model {

nlohmann::json RollPredictorOptions::to_json() const {
    return {{"kind", "roll_predictor"}, {"in_frames", in_frames}, {"channels", channels},
            {"keys", keys},             {"height", height},       {"width", width}};
}

RollPredictorOptions RollPredictorOptions::from_json(const nlohmann::json& j) {
    RollPredictorOptions o;
    o.in_frames = j.value("in_frames", o.in_frames);
    o.channels = j.value("channels", o.channels);
    o.keys = j.value("keys", o.keys);
    o.height = j.value("height", o.height);
    o.width = j.value("width", o.width);
    o.validate();
    return o;
}

void RollPredictorOptions::validate() const {
    V2A_CHECK(in_frames >= 1 && in_frames % 2 == 1, Config, "roll predictor: in_frames must be odd and >= 1, got ",
              in_frames);
    V2A_CHECK(channels >= 1 && keys >= 1, Config, "roll predictor: channels and keys must be >= 1");
    V2A_CHECK(height >= 8 && width >= 4, Config, "roll predictor: frames of at least 4 x 8 pixels, got ", width, " x ",
              height);
}

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, torch::ExpandingArray<2> stride) {
    using namespace torch::nn;
    conv1 = register_module("conv1", Conv2d(Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    bn1 = register_module("bn1", BatchNorm2d(out));
    conv2 = register_module("conv2", Conv2d(Conv2dOptions(out, out, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", BatchNorm2d(out));
    if (in != out || (*stride)[0] != 1 || (*stride)[1] != 1) {
        shortcut = register_module(
            "shortcut", Sequential(Conv2d(Conv2dOptions(in, out, 1).stride(stride).bias(false)), BatchNorm2d(out)));
    }
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    return torch::relu(y + (shortcut ? shortcut->forward(x) : x));
}

RollPredictorImpl::RollPredictorImpl(RollPredictorOptions o) : options_(o) {
    options_.validate();
    using namespace torch::nn;
    const int64_t c = o.channels;
    stem = register_module("stem", Sequential(Conv2d(Conv2dOptions(o.in_frames, c, 3).padding(1).bias(false)),
                                              BatchNorm2d(c), Functional(torch::relu)));
    stage1 = register_module("stage1", ResidualBlock(c, c, torch::ExpandingArray<2>({2, 2})));
    stage2 = register_module("stage2", ResidualBlock(c, 2 * c, torch::ExpandingArray<2>({2, 2})));
    stage3 = register_module("stage3", ResidualBlock(2 * c, 4 * c, torch::ExpandingArray<2>({2, 1})));  // width stays at W/4
    const int64_t w = ((o.width + 1) / 2 + 1) / 2;  // two stride-2 convs with padding 1, kernel 3
    head = register_module("head", Linear(4 * c * w, o.keys));
}

torch::Tensor RollPredictorImpl::forward(const torch::Tensor& frames) {
    V2A_CHECK(frames.dim() == 4 && frames.size(1) == options_.in_frames && frames.size(2) == options_.height &&
                  frames.size(3) == options_.width,
              Usage, "roll predictor: frames must be [B, ", options_.in_frames, ", ", options_.height, ", ",
              options_.width, "], got ", frames.sizes());
    auto x = stage3(stage2(stage1(stem->forward(frames))));  // [B, 4C, H/8, W/4]
    return head(x.mean(2).flatten(1));                        // height pooled, width kept: [B, keys]
}

torch::Tensor roll_predictor_input(const torch::Tensor& frames_rgb, const torch::Tensor& centers, int64_t in_frames) {
    V2A_CHECK(frames_rgb.dim() == 4 && frames_rgb.size(3) == 3, Usage, "roll predictor: frames must be [T, H, W, 3], got ",
              frames_rgb.sizes());
    V2A_CHECK(centers.dim() == 1, Usage, "roll predictor: centers must be [N], got ", centers.sizes());
    const int64_t T = frames_rgb.size(0), half = in_frames / 2;
    auto idx = (centers.to(torch::kLong).unsqueeze(1) + torch::arange(-half, half + 1).unsqueeze(0)).clamp(0, T - 1);
    auto gray = frames_rgb.index_select(0, idx.flatten()).to(torch::kFloat).mean(3) / 255.0 - 0.5;  // [N * in, H, W]
    return gray.view({centers.size(0), in_frames, frames_rgb.size(1), frames_rgb.size(2)});
}

torch::Tensor roll_predictor_windows(const torch::Tensor& frames_rgb, int64_t in_frames) {
    V2A_CHECK(frames_rgb.dim() == 4, Usage, "roll predictor: frames must be [T, H, W, 3], got ", frames_rgb.sizes());
    return roll_predictor_input(frames_rgb, torch::arange(frames_rgb.size(0)), in_frames);
}

}  // namespace v2a::model
