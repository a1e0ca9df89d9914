// `v2a train`: supervised flow-matching training of the V2A generator (encoders + MMAudio network)
// in the latent space of a frozen mel VAE, MMAudio's recipe scaled to CPU: AdamW (0.9, 0.95, wd 1e-6),
// linear warmup, grad-clip 1.0, EMA weights, condition dropout 0.1, logit-normal t.
#pragma once
#include <filesystem>
#include <string>

#include "v2a/audio/any_vae.h"
#include "v2a/core/precision.h"
#include "v2a/flow/generator.h"
#include "v2a/io/clip_dataset.h"
#include "v2a/train/schedule.h"

namespace v2a::train {

/// Clips ready for flow-matching: VAE posteriors and the frames/captions the encoders need.
struct LatentSet {
    torch::Tensor mean, std;   // [n, N, C] VAE posterior (unnormalised), token-major as the network wants
    const io::ClipDataset* clips = nullptr;
    int64_t size() const { return mean.size(0); }
};

/// Encodes every clip's audio with the VAE (no gradients).
LatentSet make_latent_set(audio::AnyVae& vae, const io::ClipDataset& clips);

/// x1 = normalize(mean + std * noise) for the rows `idx` (MMAudio samples the stored posterior).
torch::Tensor sample_x1(flow::V2AGenerator& generator, const LatentSet& set, const torch::Tensor& idx,
                        torch::Generator& rng);

/// Which frames the held-out loss conditions on.
enum class HeldoutVideo {
    Own,      // each clip's own video
    Swapped,  // clip i gets clip (i + n/2) mod n's video (its own caption): does the model read the video?
    None,     // the learned null video (a model trained without the video condition)
};

/// Row whose video clip `row` of `n` gets under HeldoutVideo::Swapped: (row + n/2) mod n.
inline int64_t swapped_video_row(int64_t row, int64_t n) { return (row + n / 2) % n; }
/// Seed of the (noise, t) draw `draw` for the held-out batch starting at row `batch_start`.
inline uint64_t heldout_draw_seed(uint64_t seed, int64_t batch_start, int draw) {
    return seed * 1000003ULL + uint64_t(batch_start) * 131ULL + uint64_t(draw);
}

/// Held-out flow-matching loss: every clip at K fixed (noise, t) draws from `seed`, no condition
/// dropout, posterior means as data. Deterministic, so runs can be compared (drift from the data),
/// and the same draws whatever `video`, so loss(Swapped) - loss(Own) is the model's use of the video.
double heldout_flow_loss(flow::V2AGenerator& generator, const LatentSet& set, uint64_t seed = 1234,
                         int draws = 4, int64_t batch_size = 16, HeldoutVideo video = HeldoutVideo::Own);

struct SftOptions {
    std::string preset = "bench";
    std::filesystem::path vae_path;
    std::filesystem::path init;         // optional generator checkpoint to continue from (fine-tuning)
    int64_t steps = 3000;
    int64_t batch_size = 8;
    double lr = 3e-4;
    int64_t warmup = 200;
    LrDecay decay;                      // after warmup: constant (default), step or cosine
    double ema_decay = 0.999;
    double dropout = 0.1;               // MMAudio null_condition_probability
    bool video_together = true;         // v1: clip and sync dropped together
    bool video_condition = true;        // false: the video-unconditional baseline (null clip/sync
                                        // features always, text kept; the encoders are not run)
    double sync_onset_weight = 1.0;     // weight of the sync encoder's onset loss (sync_onset.h); used
                                        // when the model has a learned sync stream with an onset head
    Precision precision = Precision::Fp32;  // bf16: forward passes under CPU autocast, fp32 master weights
    uint64_t seed = 0;
    bool resume = false;
    int64_t log_every = 10;
    int64_t checkpoint_every = 250;
    int64_t val_every = 250;
    int64_t stop_after = -1;            // testing aid: return after this many updates (as if killed)
    std::filesystem::path run_dir;
};

struct SftResult {
    std::filesystem::path model_path;   // <run>/generator.safetensors (EMA weights)
    double heldout_loss = 0.0;
    double heldout_loss_swapped = 0.0;  // same draws with swapped videos (0 for a --no-video model)
    double samples_per_second = 0.0;
    double seconds = 0.0;
};

SftResult train_generator(const io::ClipDataset& train, const io::ClipDataset& val, const SftOptions& options);

}  // namespace v2a::train
