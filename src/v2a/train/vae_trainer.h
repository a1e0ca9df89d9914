// `v2a train-vae`: fits the mel VAE on the ground-truth audio of a manifest's train split, then
// records the per-channel statistics of the latents that the generator normalises with.
#pragma once
#include <filesystem>
#include <string>

#include "v2a/audio/any_vae.h"
#include "v2a/audio/vae.h"
#include "v2a/io/clip_dataset.h"

namespace v2a::train {

struct VaeTrainOptions {
    std::string preset = "bench";
    int64_t steps = 1500;
    int64_t batch_size = 16;
    double lr = 1e-3;
    int64_t warmup = 100;
    uint64_t seed = 0;
    bool resume = false;
    int64_t checkpoint_every = 250;
    std::filesystem::path run_dir;
};

struct VaeTrainResult {
    double val_l1 = 0.0;          // mean |log10 mel - reconstruction| on the validation clips
    double train_seconds = 0.0;
    std::filesystem::path model_path;
};

/// Trains and writes <run_dir>/vae.safetensors (config + mel/latent statistics inside).
VaeTrainResult train_vae(const io::ClipDataset& train, const io::ClipDataset& val, const VaeTrainOptions& options);

/// Posterior means/stds of every clip: [n, C, N] each, computed in batches without gradients.
std::pair<torch::Tensor, torch::Tensor> encode_dataset(audio::AnyVae& vae, const io::ClipDataset& data,
                                                       int64_t batch_size = 32);

/// Per-channel mean and std of posterior means [n, C, N] over clips and time: what the generator
/// normalises latents with (MMAudio's latent_mean / latent_std). [C] each.
std::pair<torch::Tensor, torch::Tensor> latent_channel_stats(const torch::Tensor& means);

}  // namespace v2a::train
