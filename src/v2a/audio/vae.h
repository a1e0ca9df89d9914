// A 1-D convolutional VAE over log-mel frames: the latent space the generator works in.
// MMAudio 16k: mel 80 -> latent 20 channels at 2x temporal downsampling (250 mel frames / 8 s ->
// 125 latents per 4 s). Our architecture is a plain residual conv VAE (MMAudio's is an EDM2
// magnitude-preserving one); the interface (encode -> mean/std, decode, latent stats) is the same,
// so a converted MMAudio VAE can stand behind it later.
// B = batch, M = mel bins, F = mel frames, C = latent channels, N = latent frames = F / 2
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <utility>

#include "v2a/core/fp32_norm.h"

namespace v2a::audio {

struct VaeOptions {
    int64_t n_mels = 80;
    int64_t latent_dim = 20;
    int64_t hidden = 128;          // channels at full time resolution (MMAudio 16k: 384)
    int64_t res_blocks = 2;        // residual blocks per resolution
    int64_t downsample = 2;        // temporal downsampling factor (1 or 2)
    double kl_weight = 1e-3;       // weight of KL(q(z|x) || N(0, I)) per element

    static VaeOptions preset(const std::string& name);  // "tiny", "bench", "mmaudio_16k"
    std::string to_json() const;
    static VaeOptions from_json(const std::string& text);
    void validate() const;
};

class ResBlock1dImpl : public torch::nn::Module {
public:
    explicit ResBlock1dImpl(int64_t channels);
    torch::Tensor forward(const torch::Tensor& x);  // [B, D, T] -> [B, D, T]

private:
    Fp32GroupNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Conv1d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(ResBlock1d);

struct VaePosterior {
    torch::Tensor mean;  // [B, C, N]
    torch::Tensor std;   // [B, C, N]
    torch::Tensor sample(torch::Generator generator) const;
    /// KL(q || N(0, I)) averaged over elements, per sample: [B]
    torch::Tensor kl() const;
};

class MelVaeImpl : public torch::nn::Module {
public:
    explicit MelVaeImpl(const VaeOptions& options);

    /// log-mel [B, M, F] (F divisible by `downsample`) -> posterior over [B, C, F/downsample]
    VaePosterior encode(const torch::Tensor& log_mel);
    /// latent [B, C, N] -> log-mel [B, M, N * downsample]
    torch::Tensor decode(const torch::Tensor& latent);

    struct Losses {
        torch::Tensor total, reconstruction, kl;  // scalars
    };
    /// Reconstruction (L1 on normalised mel) + kl_weight * KL. Data parallel: log_mel is this rank's
    /// slice of a global batch; the posterior noise is drawn for the whole batch (core/distributed.h).
    Losses loss(const torch::Tensor& log_mel, torch::Generator generator);

    /// Per-mel-bin statistics used to normalise the input (set from training data before training).
    void set_mel_stats(const torch::Tensor& mean, const torch::Tensor& std);  // [M] each
    /// Per-channel statistics of posterior means over the training set: what the generator
    /// normalises latents with (MMAudio's latent_mean / latent_std).
    void set_latent_stats(const torch::Tensor& mean, const torch::Tensor& std);  // [C] each
    torch::Tensor normalize_latent(const torch::Tensor& latent) const;    // [B, C, N]
    torch::Tensor unnormalize_latent(const torch::Tensor& latent) const;  // [B, C, N]

    const VaeOptions& options() const { return options_; }
    /// Per-channel latent statistics [C] each (what set_latent_stats stored).
    std::pair<torch::Tensor, torch::Tensor> latent_stats() const { return {latent_mean, latent_std}; }

private:
    VaeOptions options_;
    torch::nn::Conv1d enc_in{nullptr}, enc_down{nullptr}, enc_out{nullptr};
    torch::nn::Conv1d dec_in{nullptr}, dec_up{nullptr}, dec_out{nullptr};
    torch::nn::ModuleList enc_blocks_hi{nullptr}, enc_blocks_lo{nullptr};
    torch::nn::ModuleList dec_blocks_lo{nullptr}, dec_blocks_hi{nullptr};
    Fp32GroupNorm enc_norm{nullptr}, dec_norm{nullptr};
    torch::Tensor mel_mean, mel_std, latent_mean, latent_std;  // buffers
};
TORCH_MODULE(MelVae);

/// Drops trailing mel frames [..., F] so F is a multiple of `multiple` (encode needs F divisible by
/// the VAE's downsampling; a 4 s clip gives 251 frames -> 250).
torch::Tensor trim_mel_frames(const torch::Tensor& log_mel, int64_t multiple = 2);

/// Loads a VAE checkpoint (config in its metadata), frozen and in eval mode.
MelVae load_vae(const std::filesystem::path& path);

}  // namespace v2a::audio
