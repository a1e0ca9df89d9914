// SemanticEncoder: the STAND-IN for MMAudio's CLIP image encoder (DFN5B-CLIP-ViT-H-14-384, 1024-d per
// frame at 8 fps). A small per-frame CNN of our own, trained jointly with the flow generator:
//
//   frames [B, T8, 3, H, W] or [B, T8, H, W, 3] (uint8 0..255 or float 0..1)
//   -> center square crop, bilinear resize to frame_size, CLIP mean/std normalisation   [B*T8, 3, S, S]
//   -> 4 x (Conv2d k3 stride 2 -> GroupNorm -> SiLU)                                      [B*T8, C4, S/16, S/16]
//   -> global average pool -> Linear(C4, out_dim) -> L2 normalise (CLIP encode_image(normalize=True))
//   -> [B, T8, out_dim]
//
// Every frame is encoded independently (GroupNorm, not BatchNorm), so a clip's features do not depend
// on what else is in the batch. Precomputed real CLIP features can replace it (see conditioner.h).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <string>
#include <vector>

namespace v2a::model {

/// Per-channel normalisation constants of an image encoder.
struct FrameNorm {
    std::array<double, 3> mean;
    std::array<double, 3> std;
    static FrameNorm clip();         // OpenAI CLIP mean/std (open_clip default for DFN5B)
    static FrameNorm synchformer();  // mean = std = 0.5
};

/// Validates and converts a batch of RGB frames: [B, T, 3, H, W] (channels first) or [B, T, H, W, 3]
/// (channels last; dim 2 == 3 is read as channels first), uint8 (0..255) or floating (0..1).
/// Center-crops to a square and resizes (bilinear) to size x size when needed, then normalises:
/// returns float [B * T, 3, size, size]. Throws v2a::Error(Data) naming `what` for a wrong rank, no
/// RGB channel axis, a dtype that is neither uint8 nor floating, or frames smaller than 8 pixels.
torch::Tensor prepare_frames(const torch::Tensor& frames, int64_t size, const FrameNorm& norm,
                             const std::string& what);

struct SemanticEncoderOptions {
    explicit SemanticEncoderOptions(int64_t out_dim) : out_dim_(out_dim) {}
    TORCH_ARG(int64_t, out_dim);                                        // = NetworkConfig::clip_dim
    TORCH_ARG(int64_t, frame_size) = 96;                                // encoder input side, 32..512
    TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{32, 64, 128, 256};  // one per stride-2 block
    TORCH_ARG(bool, l2_normalize) = true;                               // as CLIP encode_image(normalize=True)
    TORCH_ARG(int64_t, chunk_frames) = 32;  // frames per conv pass: small chunks stay in cache (~15x faster on CPU than 800 at once)
};

class SemanticEncoderImpl : public torch::nn::Module {
public:
    /// Throws v2a::Error(Config) for a non-positive out_dim/channel or frame_size outside 32..512.
    explicit SemanticEncoderImpl(const SemanticEncoderOptions& options);

    /// frames [B, T8, 3, H, W] or [B, T8, H, W, 3] -> [B, T8, out_dim]
    torch::Tensor forward(const torch::Tensor& frames);

    SemanticEncoderOptions options;
    torch::nn::Sequential blocks{nullptr};  // per block i: "3i" Conv2d k3 s2, "3i+1" GroupNorm, "3i+2" SiLU
    torch::nn::Linear proj{nullptr};        // C_last -> out_dim
};
TORCH_MODULE(SemanticEncoder);

/// GroupNorm group count used by the stand-in encoders: the largest of 8, 4, 2, 1 dividing `channels`.
int64_t encoder_norm_groups(int64_t channels);

}  // namespace v2a::model
