// SyncEncoder: the STAND-IN for MMAudio's Synchformer (25 fps, 16-frame segments with stride 8, 8 tokens
// of 768-d per segment). A small (2+1)-D conv network of our own, trained jointly with the generator:
//
//   frames [B, T25, 3, H, W] or [B, T25, H, W, 3] at 25 fps
//   -> per frame: crop/resize to frame_size, mean/std 0.5 normalisation,
//      stem = 4 x (Conv2d k3 s2 -> GroupNorm -> SiLU)                           [B*T25, C, h, w]
//   -> segments exactly as MMAudio: num_segments = (T25 - 16) / 8 + 1, segment s = frames [8s, 8s + 16)
//                                                                               [B*S, 16, C, h, w]
//   -> append the frame difference f_t - f_(t-1) (0 for a segment's first frame) [B*S, 2C, 16, h, w]
//   -> temporal Conv3d k(3,1,1)            -> GroupNorm per frame -> SiLU        [B*S, Ct, 16, h, w]
//   -> temporal Conv3d k(4,1,1) stride 2   -> GroupNorm per token -> SiLU        [B*S, Ct, 8, h, w]
//   -> spatial mean -> Linear(Ct, out_dim) -> LayerNorm                          [B*S, 8, out_dim]
//   -> [B, S * 8, out_dim]
//
// Uniform layout (the bench default): the same layers over the whole clip instead of per segment
// (frame differences along the clip, temporal conv k3, then the k4 conv at stride 1), and the output
// read by linear interpolation at each token's time (k + 0.5) * T / Ns frames. The sequence is then
// uniform in time, which is what the network's nearest-exact upsampling to the latent length assumes;
// with the Segment layout that upsampling puts a token up to ~0.3-0.4 s away from the frames it saw
// (segments overlap by half, so the flattened sequence runs back and forth in time). Ns is the same.
//
// Optional onset head: Linear(out_dim, 1) per token, the auxiliary training signal (see
// ConditionerConfig::sync_onset_head); it reads the features, it does not change them.
//
// Token j of segment s covers frames 8s + 2j and 8s + 2j + 1 (2 frames per token = 12.5 tokens/s) and
// sees only frames 8s + 2j - 3 .. 8s + 2j + 3 of its own segment: no layer mixes time beyond that
// (norms are per frame / per token, pooling is spatial only), so a visual event moves the tokens at its
// time and nothing far away; segments are encoded independently, as Synchformer does.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <torch/types.h>
#include <utility>
#include <vector>

#include "v2a/core/fp32_norm.h"

namespace v2a::model {

constexpr int64_t kSyncFps = 25;
constexpr int64_t kSyncSegmentFrames = 16;
constexpr int64_t kSyncSegmentStride = 8;
constexpr int64_t kSyncTokensPerSegment = 8;

/// (frames25 - 16) / 8 + 1. Throws v2a::Error(Data) when frames25 < 16 (not one whole segment).
int64_t num_sync_segments(int64_t frames25);
/// [begin, end) frame ranges of the segments: {8s, 8s + 16} for s in [0, num_sync_segments).
std::vector<std::pair<int64_t, int64_t>> sync_segment_ranges(int64_t frames25);
/// Sync tokens for a clip of frames25 frames: num_sync_segments * 8.
int64_t sync_tokens_for_frames(int64_t frames25);
/// Frame index of every segment position: [S * 16] int64, row s = 8s .. 8s + 15.
torch::Tensor sync_segment_index(int64_t frames25);

/// What the S * 8 output tokens describe.
enum class SyncTokenLayout {
    Segment,  // Synchformer's: token j of segment s covers frames 8s + 2j, 8s + 2j + 1 (see above)
    Uniform,  // token k describes clip time (k + 0.5) * duration / Ns: where MMAudio's nearest-exact
              // upsampling of the token sequence to the latent length puts it (D11)
};
std::string to_string(SyncTokenLayout layout);
/// "segment" / "uniform"; throws v2a::Error(Config) naming `what` otherwise.
SyncTokenLayout sync_token_layout_from_string(const std::string& text, const std::string& what = "sync token layout");

struct SyncEncoderOptions {
    explicit SyncEncoderOptions(int64_t out_dim) : out_dim_(out_dim) {}
    TORCH_ARG(int64_t, out_dim);                                                   // = NetworkConfig::sync_dim
    TORCH_ARG(int64_t, frame_size) = 96;                                           // 32..512
    TORCH_ARG(std::vector<int64_t>, stem_channels) = std::vector<int64_t>{16, 32, 64, 64};  // stride-2 blocks
    TORCH_ARG(int64_t, temporal_channels) = 96;
    TORCH_ARG(int64_t, chunk_frames) = 32;
    TORCH_ARG(bool, onset_head) = false;
    TORCH_ARG(SyncTokenLayout, token_layout) = SyncTokenLayout::Segment;    // Linear(out_dim, 1): predict_onsets (aux training signal)  // frames per stem pass: small chunks stay in cache (much faster on CPU)
};

class SyncEncoderImpl : public torch::nn::Module {
public:
    /// Throws v2a::Error(Config) for non-positive sizes or frame_size outside 32..512.
    explicit SyncEncoderImpl(const SyncEncoderOptions& options);

    /// frames [B, T25, 3, H, W] or [B, T25, H, W, 3] (uint8 or float 0..1) -> [B, S * 8, out_dim].
    /// Throws v2a::Error(Data) when T25 < 16.
    torch::Tensor forward(const torch::Tensor& frames);
    /// The onset head on features [B, Ns, out_dim] -> [B, Ns] (onset strength per sync token).
    /// Throws v2a::Error(Config) when the encoder was built without it.
    torch::Tensor predict_onsets(const torch::Tensor& features);
    bool has_onset_head() const { return !onset_head.is_empty(); }
    /// The Uniform layout from stem features f [B, T, C, h, w] -> [B, segments * 8, out_dim].
    torch::Tensor forward_uniform(const torch::Tensor& f, int64_t segments);

    SyncEncoderOptions options;
    torch::nn::Sequential stem{nullptr};        // per block i: "3i" Conv2d k3 s2, "3i+1" GroupNorm, "3i+2" SiLU
    torch::nn::Conv3d temporal{nullptr};        // 2C -> Ct, k (3,1,1)
    Fp32GroupNorm temporal_norm{nullptr};
    torch::nn::Conv3d downsample{nullptr};      // Ct -> Ct, k (4,1,1), stride (2,1,1): 16 -> 8 tokens
    Fp32GroupNorm downsample_norm{nullptr};
    torch::nn::Linear proj{nullptr};            // Ct -> out_dim
    Fp32LayerNorm out_norm{nullptr};
    torch::nn::Linear onset_head{nullptr};      // out_dim -> 1, only with options.onset_head
};
TORCH_MODULE(SyncEncoder);

}  // namespace v2a::model
