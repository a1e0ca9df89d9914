// B = batch, T = frames per clip, F = B * T frames, S = frame_size, C = channels, D = out_dim
#include "v2a/model/semantic_encoder.h"

#include "v2a/core/error.h"
#include "v2a/core/fp32_norm.h"

namespace v2a::model {

FrameNorm FrameNorm::clip() {
    return {{0.48145466, 0.4578275, 0.40821073}, {0.26862954, 0.26130258, 0.27577711}};
}

FrameNorm FrameNorm::synchformer() { return {{0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}}; }

int64_t encoder_norm_groups(int64_t channels) {
    for (int64_t g : {8, 4, 2}) {
        if (channels % g == 0) return g;
    }
    return 1;
}

torch::Tensor prepare_frames(const torch::Tensor& frames, int64_t size, const FrameNorm& norm,
                             const std::string& what) {
    V2A_CHECK(frames.defined(), Data, what, ": no frames given");
    V2A_CHECK(frames.dim() == 5, Data, what, ": frames must be [B, T, 3, H, W] or [B, T, H, W, 3], got ",
              frames.sizes());
    torch::Tensor x;
    if (frames.size(2) == 3) {
        x = frames;  // [B, T, 3, H, W]
    } else {
        V2A_CHECK(frames.size(4) == 3, Data, what, ": frames must have 3 (RGB) channels at dim 2 or 4, got ",
                  frames.sizes());
        x = frames.permute({0, 1, 4, 2, 3});  // [B, T, H, W, 3] -> [B, T, 3, H, W]
    }
    const int64_t B = x.size(0), T = x.size(1), H = x.size(3), W = x.size(4);
    V2A_CHECK(B > 0 && T > 0, Data, what, ": empty frame batch ", frames.sizes());
    V2A_CHECK(H >= 8 && W >= 8, Data, what, ": frames of ", H, "x", W, " pixels are too small (need >= 8x8)");
    double scale = 1.0;
    if (x.scalar_type() == torch::kByte) {
        scale = 1.0 / 255.0;
    } else {
        V2A_CHECK(torch::isFloatingType(x.scalar_type()), Data, what, ": frames must be uint8 or floating, got ",
                  x.scalar_type());
    }
    // Center square crop (as CLIP / Synchformer preprocessing: resize short side + crop).
    const int64_t side = std::min(H, W);
    if (H != W) x = x.narrow(3, (H - side) / 2, side).narrow(4, (W - side) / 2, side);
    // contiguous() while still uint8; to() may alias a float input, so no in-place op until the next copy.
    x = x.reshape({B * T, 3, side, side}).contiguous().to(torch::kFloat);
    if (side != size) {
        namespace F = torch::nn::functional;
        x = F::interpolate(x, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{size, size})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
    }
    // (x * scale - mean) / std as one multiply and one in-place add per element.
    const auto& m = norm.mean;
    const auto& s = norm.std;
    const auto a = torch::tensor({scale / s[0], scale / s[1], scale / s[2]}, x.options()).view({1, 3, 1, 1});
    const auto b = torch::tensor({-m[0] / s[0], -m[1] / s[1], -m[2] / s[2]}, x.options()).view({1, 3, 1, 1});
    auto y = x * a;
    y.add_(b);
    return y;  // [F, 3, S, S], contiguous
}

SemanticEncoderImpl::SemanticEncoderImpl(const SemanticEncoderOptions& options_) : options(options_) {
    V2A_CHECK(options.out_dim() > 0, Config, "semantic encoder: out_dim must be > 0, got ", options.out_dim());
    V2A_CHECK(options.frame_size() >= 32 && options.frame_size() <= 512, Config,
              "semantic encoder: frame_size must be in 32..512, got ", options.frame_size());
    V2A_CHECK(!options.channels().empty(), Config, "semantic encoder: channels is empty");
    V2A_CHECK(options.chunk_frames() > 0, Config, "semantic encoder: chunk_frames must be > 0");
    namespace nn = torch::nn;
    blocks = nn::Sequential();
    int64_t in = 3;
    for (int64_t c : options.channels()) {
        V2A_CHECK(c > 0, Config, "semantic encoder: channel counts must be > 0, got ", c);
        blocks->push_back(nn::Conv2d(nn::Conv2dOptions(in, c, 3).stride(2).padding(1)));
        blocks->push_back(Fp32GroupNorm(nn::GroupNormOptions(encoder_norm_groups(c), c)));
        blocks->push_back(nn::SiLU());
        in = c;
    }
    blocks = register_module("blocks", blocks);
    proj = register_module("proj", nn::Linear(in, options.out_dim()));
}

torch::Tensor SemanticEncoderImpl::forward(const torch::Tensor& frames) {
    const auto x = prepare_frames(frames, options.frame_size(), FrameNorm::clip(), "semantic encoder");  // [F, 3, S, S]
    const int64_t B = frames.size(0), T = frames.size(1);
    std::vector<torch::Tensor> pooled;
    for (const auto& chunk : x.split(options.chunk_frames())) {
        pooled.push_back(blocks->forward(chunk).mean({2, 3}));  // [f, C] global average pool
    }
    auto y = proj(torch::cat(pooled, 0));  // [F, D]
    if (options.l2_normalize()) y = y / y.norm(2, -1, true).clamp_min(1e-6);
    return y.view({B, T, options.out_dim()});
}

}  // namespace v2a::model
