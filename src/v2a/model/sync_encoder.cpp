// B = batch, T = frames per clip (25 fps), S = segments, N = B * S, C = stem channels,
// Ct = temporal channels, D = out_dim, h x w = stem output size
#include "v2a/model/sync_encoder.h"

#include "v2a/core/error.h"
#include "v2a/model/semantic_encoder.h"

namespace v2a::model {

int64_t num_sync_segments(int64_t frames25) {
    V2A_CHECK(frames25 >= kSyncSegmentFrames, Data, "sync encoder: a clip of ", frames25,
              " frames at 25 fps is shorter than one ", kSyncSegmentFrames, "-frame segment (0.64 s)");
    return (frames25 - kSyncSegmentFrames) / kSyncSegmentStride + 1;
}

std::vector<std::pair<int64_t, int64_t>> sync_segment_ranges(int64_t frames25) {
    const int64_t S = num_sync_segments(frames25);
    std::vector<std::pair<int64_t, int64_t>> out;
    for (int64_t s = 0; s < S; ++s) {
        out.emplace_back(s * kSyncSegmentStride, s * kSyncSegmentStride + kSyncSegmentFrames);
    }
    return out;
}

int64_t sync_tokens_for_frames(int64_t frames25) { return num_sync_segments(frames25) * kSyncTokensPerSegment; }

torch::Tensor sync_segment_index(int64_t frames25) {
    const int64_t S = num_sync_segments(frames25);
    const auto starts = torch::arange(S, torch::kLong).mul(kSyncSegmentStride).view({S, 1});
    return (starts + torch::arange(kSyncSegmentFrames, torch::kLong).view({1, kSyncSegmentFrames})).view({-1});
}

std::string to_string(SyncTokenLayout layout) { return layout == SyncTokenLayout::Uniform ? "uniform" : "segment"; }

SyncTokenLayout sync_token_layout_from_string(const std::string& text, const std::string& what) {
    if (text == "segment") return SyncTokenLayout::Segment;
    if (text == "uniform") return SyncTokenLayout::Uniform;
    fail(ErrorKind::Config, what, ": '", text, "' is not a sync token layout (segment | uniform)");
}

namespace {

// GroupNorm over channels (and space) separately for every time step: x [N, C, T, h, w].
torch::Tensor norm_per_step(Fp32GroupNorm& norm, const torch::Tensor& x) {
    const int64_t N = x.size(0), C = x.size(1), T = x.size(2), h = x.size(3), w = x.size(4);
    auto y = x.transpose(1, 2).reshape({N * T, C, h, w});
    y = norm(y);
    return y.view({N, T, C, h, w}).transpose(1, 2);
}

}  // namespace

SyncEncoderImpl::SyncEncoderImpl(const SyncEncoderOptions& options_) : options(options_) {
    V2A_CHECK(options.out_dim() > 0, Config, "sync encoder: out_dim must be > 0, got ", options.out_dim());
    V2A_CHECK(options.frame_size() >= 32 && options.frame_size() <= 512, Config,
              "sync encoder: frame_size must be in 32..512, got ", options.frame_size());
    V2A_CHECK(!options.stem_channels().empty(), Config, "sync encoder: stem_channels is empty");
    V2A_CHECK(options.temporal_channels() > 0, Config, "sync encoder: temporal_channels must be > 0, got ",
              options.temporal_channels());
    V2A_CHECK(options.chunk_frames() > 0, Config, "sync encoder: chunk_frames must be > 0");
    namespace nn = torch::nn;
    stem = nn::Sequential();
    int64_t in = 3;
    for (int64_t c : options.stem_channels()) {
        V2A_CHECK(c > 0, Config, "sync encoder: channel counts must be > 0, got ", c);
        stem->push_back(nn::Conv2d(nn::Conv2dOptions(in, c, 3).stride(2).padding(1)));
        stem->push_back(Fp32GroupNorm(nn::GroupNormOptions(encoder_norm_groups(c), c)));
        stem->push_back(nn::SiLU());
        in = c;
    }
    stem = register_module("stem", stem);
    const int64_t ct = options.temporal_channels();
    temporal = register_module(
        "temporal", nn::Conv3d(nn::Conv3dOptions(2 * in, ct, {3, 1, 1}).padding({1, 0, 0})));
    temporal_norm = register_module("temporal_norm", Fp32GroupNorm(nn::GroupNormOptions(encoder_norm_groups(ct), ct)));
    // (16 + 2 - 4) / 2 + 1 = 8 tokens; token j reads positions 2j - 1 .. 2j + 2.
    downsample = register_module(
        "downsample", nn::Conv3d(nn::Conv3dOptions(ct, ct, {4, 1, 1}).stride({2, 1, 1}).padding({1, 0, 0})));
    downsample_norm =
        register_module("downsample_norm", Fp32GroupNorm(nn::GroupNormOptions(encoder_norm_groups(ct), ct)));
    proj = register_module("proj", nn::Linear(ct, options.out_dim()));
    out_norm = register_module("out_norm", Fp32LayerNorm(nn::LayerNormOptions({options.out_dim()})));
    if (options.onset_head()) onset_head = register_module("onset_head", nn::Linear(options.out_dim(), 1));
}

torch::Tensor SyncEncoderImpl::predict_onsets(const torch::Tensor& features) {
    V2A_CHECK(has_onset_head(), Config, "sync encoder: built without an onset head (sync_onset_head false)");
    V2A_CHECK(features.dim() == 3 && features.size(2) == options.out_dim(), Data,
              "sync encoder: onset head expects features [B, Ns, ", options.out_dim(), "], got ", features.sizes());
    return onset_head(features).squeeze(-1);
}

torch::Tensor SyncEncoderImpl::forward(const torch::Tensor& frames) {
    const auto x = prepare_frames(frames, options.frame_size(), FrameNorm::synchformer(), "sync encoder");
    const int64_t B = frames.size(0), T = frames.size(1);
    const int64_t S = num_sync_segments(T);

    // Stem once per frame (a frame shared by two segments is encoded once).
    std::vector<torch::Tensor> parts;
    for (const auto& chunk : x.split(options.chunk_frames())) parts.push_back(stem->forward(chunk));
    auto f = torch::cat(parts, 0);  // [B*T, C, h, w]
    const int64_t C = f.size(1), h = f.size(2), w = f.size(3);
    f = f.view({B, T, C, h, w});

    if (options.token_layout() == SyncTokenLayout::Uniform) return forward_uniform(f, S);

    // Segments: [B, S*16, C, h, w] -> [N, 16, C, h, w]
    const auto index = sync_segment_index(T).to(f.device());
    auto seg = f.index_select(1, index).view({B * S, kSyncSegmentFrames, C, h, w});

    // Motion: difference to the previous frame of the same segment (zero at the segment start).
    const int64_t L = kSyncSegmentFrames - 1;
    const auto diff = torch::cat({torch::zeros_like(seg.narrow(1, 0, 1)), seg.narrow(1, 1, L) - seg.narrow(1, 0, L)}, 1);
    auto y = torch::cat({seg, diff}, 2).permute({0, 2, 1, 3, 4});  // [N, 2C, 16, h, w]

    y = torch::silu(norm_per_step(temporal_norm, temporal(y)));      // [N, Ct, 16, h, w]
    y = torch::silu(norm_per_step(downsample_norm, downsample(y)));  // [N, Ct, 8, h, w]
    y = y.mean({3, 4}).transpose(1, 2);                               // [N, 8, Ct]
    y = out_norm(proj(y));                                            // [N, 8, D]
    return y.reshape({B, S * kSyncTokensPerSegment, options.out_dim()});
}

torch::Tensor SyncEncoderImpl::forward_uniform(const torch::Tensor& f, int64_t segments) {
    const int64_t B = f.size(0), T = f.size(1), C = f.size(2), h = f.size(3), w = f.size(4);
    const int64_t Ns = segments * kSyncTokensPerSegment;
    const int64_t L = T - 1;
    const auto diff = torch::cat({torch::zeros_like(f.narrow(1, 0, 1)), f.narrow(1, 1, L) - f.narrow(1, 0, L)}, 1);
    auto y = torch::cat({f, diff}, 2).permute({0, 2, 1, 3, 4});  // [B, 2C, T, h, w]
    y = torch::silu(norm_per_step(temporal_norm, temporal(y)));  // [B, Ct, T, h, w]
    // The k4 conv at stride 1 with padding 1: output p reads frames p - 1 .. p + 2, centred on p + 0.5.
    namespace F = torch::nn::functional;
    y = F::conv3d(y, downsample->weight,
                  F::Conv3dFuncOptions().bias(downsample->bias).padding(std::vector<int64_t>{1, 0, 0}).stride(1));
    y = torch::silu(norm_per_step(downsample_norm, y));           // [B, Ct, T - 1, h, w]
    y = y.mean({3, 4});                                            // [B, Ct, T - 1]
    // Token k sits at frame coordinate (k + 0.5) * T / Ns - 0.5 (frame f's centre is f), i.e. output
    // position p = that - 0.5; linear interpolation between the two nearest positions.
    const int64_t P = y.size(2);
    const auto pos = ((torch::arange(Ns, torch::kDouble) + 0.5) * double(T) / double(Ns) - 1.0).clamp(0.0, double(P - 1));
    const auto lo = pos.floor().to(torch::kLong).clamp_max(P - 1), hi = (lo + 1).clamp_max(P - 1);
    const auto frac = (pos - lo.to(torch::kDouble)).to(y.scalar_type()).to(y.device()).view({1, 1, Ns});
    y = y.index_select(2, lo.to(y.device())) * (1 - frac) + y.index_select(2, hi.to(y.device())) * frac;  // [B, Ct, Ns]
    return out_norm(proj(y.transpose(1, 2)));  // [B, Ns, D]
}

}  // namespace v2a::model
