// `v2a ddpo`: the DDPO baseline of V2A-DPO, on a flow model. Each update:
//   1. K stochastic trajectories per video from the current policy: every Euler step becomes a
//      Gaussian policy step (Flow-GRPO's ODE -> SDE conversion, noise level a = 0.7, flow/sde.h),
//      so each step has a log-probability;
//   2. reward = AudioScore P(Good) of the decoded audio (frozen judges + AudioScore);
//   3. advantage = (r - mean_video) / (std_video + 1e-4), per video over its K samples, clipped at
//      +-5 (DDPO's per-prompt normalisation);
//   4. PPO clipped surrogate on the first timestep_fraction of the steps:
//      max(-A ratio, -A clamp(ratio, 1 - eps, 1 + eps)), ratio = exp(log p_theta - log p_old),
//      eps = 1e-4 (log-probs are per-element means), plus an optional KL to the frozen reference
//      (Flow-GRPO's closed form on the step means).
// The conditioning encoders are not updated by DDPO (their features are computed once per update
// without gradients); the flow network is. One sampling round per update keeps resume exact.
#pragma once
#include <filesystem>

#include "v2a/io/clip_dataset.h"
#include "v2a/train/schedule.h"

namespace v2a::train {

struct DdpoOptions {
    std::filesystem::path init, vae_path, judges_dir, audioscore_path;
    int64_t steps = 50;                // optimizer updates (one sampling round each)
    int64_t videos_per_step = 4;
    int samples_per_video = 4;         // K (the advantage group)
    int sde_steps = 10;                // Flow-GRPO trains on 10 SDE steps
    double noise_level = 0.7;
    double cfg = 4.5;
    double timestep_fraction = 0.99;   // train on the first int(steps * fraction) transitions (>= 1)
    double clip_range = 1e-4;
    double adv_clip = 5.0;
    double kl_weight = 0.0;            // beta_KL; 0 = DDPO (no KL)
    double lr = 1e-5;
    int64_t warmup = 5;
    LrDecay decay;                      // after warmup: constant (default), step or cosine
    uint64_t seed = 0;
    bool resume = false;
    int64_t log_every = 1;
    int64_t checkpoint_every = 10;
    int64_t val_every = 10;
    std::filesystem::path run_dir;
    int64_t stop_after = -1;             // testing aid: return after this many updates (as if killed)
};

struct DdpoResult {
    std::filesystem::path model_path;
    double heldout_loss_init = 0.0, heldout_loss = 0.0;
    double first_reward = 0.0, last_reward = 0.0;   // mean P(Good) of the first / last sampling round
    double seconds = 0.0;
};

/// `videos`: the clips to sample for (their frames, captions and ground-truth audio for PESQ);
/// `val`: real held-out clips for the flow-matching drift measure.
DdpoResult train_ddpo(const io::ClipDataset& videos, const io::ClipDataset& val, const DdpoOptions& options);

}  // namespace v2a::train
