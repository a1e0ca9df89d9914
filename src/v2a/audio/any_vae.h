// A VAE of either kind behind the one interface training, pairs and generation use: ours (MelVae, what
// `v2a train-vae` writes) or a converted MMAudio VAE (MMAudioVae, what `v2a convert` writes from v1-16.pth).
// Which one a file holds is in its safetensors metadata ("kind" = "mmaudio_vae"); both map log-mel
// [B, M, F] <-> latents [B, C, F / downsample].
// Latent statistics (what the generator normalises latents with): ours stores them, computed over its
// training set; MMAudio keeps them in its network, not its VAE, so an MMAudio VAE has none and a new
// generator computes them from its own training latents (train/sft_trainer).
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <optional>
#include <utility>

#include "v2a/audio/mmaudio_vae.h"
#include "v2a/audio/vae.h"

namespace v2a::audio {

class AnyVae {
public:
    explicit AnyVae(MelVae ours);
    explicit AnyVae(MMAudioVae mmaudio);
    /// Either kind, by the file's metadata; frozen and in eval mode.
    static AnyVae load(const std::filesystem::path& path);

    /// log-mel [B, M, F] (F divisible by downsample()) -> posterior over [B, C, F / downsample()]
    VaePosterior encode(const torch::Tensor& log_mel);
    /// latent [B, C, N] -> log-mel [B, M, N * downsample()]
    torch::Tensor decode(const torch::Tensor& latent);

    int64_t n_mels() const;
    int64_t latent_dim() const;
    int64_t downsample() const;
    /// Per-channel latent statistics [C] each, or nothing (an MMAudio VAE).
    std::optional<std::pair<torch::Tensor, torch::Tensor>> latent_stats() const;
    bool is_mmaudio() const { return !ours_; }
    const char* kind_name() const { return ours_ ? "v2a" : "MMAudio"; }

private:
    MelVae ours_{nullptr};
    MMAudioVae mmaudio_{nullptr};
};

/// Metadata "kind" of a VAE file: true for a converted MMAudio VAE.
bool is_mmaudio_vae_file(const std::filesystem::path& path);

}  // namespace v2a::audio
