// SyncDPO-style rule-based negatives: the positive is the ground-truth audio latent of a video, the
// negative a temporally distorted copy of it, built on the fly (no sampling, no annotation). The
// paper's exact strategy list is not public; this suite follows ../shared/reference (design §5),
// ordered coarse -> subtle, with a curriculum over difficulty stages.
//
// Latents are [N, C] on the generator's token grid (token_rate tokens per second; 31.25 for
// MMAudio 16 kHz: 16000 / 256 / 2). Every edit keeps the shape.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace v2a::pairs {

enum class Distortion {
    Replace,     // another clip's latent (semantic + temporal)
    Reverse,     // time-reversed
    Shuffle,     // cut into k segments, permuted (amount = k)
    Shift,       // circular shift by amount seconds (sign random)
    Stretch,     // time-stretch by 1 + amount (linear interpolation), cropped / edge-padded
    LocalShift,  // one segment (a quarter of the clip) moved by amount seconds
    Swap,        // two non-adjacent segments of amount seconds swapped
};
std::string distortion_name(Distortion d);

/// One edit. `other` [N, C] is needed by Replace only. Throws v2a::Error(Usage) on a bad latent
/// shape or amount.
torch::Tensor distort(const torch::Tensor& latent, Distortion kind, double amount, double token_rate,
                      const torch::Tensor& other, torch::Generator& rng);

struct NegativeCurriculum {
    int stages = 3;             // 0 = coarse ... stages-1 = subtle
    double token_rate = 31.25;
};

struct Negative {
    torch::Tensor latent;
    Distortion kind = Distortion::Shift;
    double amount = 0.0;
};

/// Draws a strategy and its amount from the band of `stage`:
///   coarse: replace, reverse, shuffle k = 2-3, shift 0.5-1.0 s
///   middle: shuffle k = 4-8, shift 0.2-0.5 s, stretch 0.2-0.5, swap 0.5-1.0 s
///   subtle: shift 0.04-0.16 s, local shift 0.04-0.2 s, stretch 0.05-0.15
/// (with more than 3 stages the middle band repeats; with 1 only the coarse band is used).
Negative sample_negative(const torch::Tensor& latent, int stage, const torch::Tensor& other,
                         const NegativeCurriculum& curriculum, torch::Generator& rng);

/// The stage of training step `step` of `total` with S equal stages.
int negative_stage(int64_t step, int64_t total, int stages);

}  // namespace v2a::pairs
