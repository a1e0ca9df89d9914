#include "v2a/audio/vae.h"

#include <nlohmann/json.hpp>

#include "v2a/core/distributed.h"
#include "v2a/core/error.h"
#include "v2a/io/checkpoint.h"

namespace v2a::audio {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

VaeOptions VaeOptions::preset(const std::string& name) {
    VaeOptions o;
    if (name == "tiny") {
        o.hidden = 32;
        o.res_blocks = 1;
    } else if (name == "bench") {
        o.hidden = 128;
        o.res_blocks = 2;
    } else if (name == "mmaudio_16k") {
        o.hidden = 384;
        o.res_blocks = 2;
    } else {
        fail(ErrorKind::Config, "vae: unknown preset '", name, "' (expected tiny, bench or mmaudio_16k)");
    }
    return o;
}

std::string VaeOptions::to_json() const {
    return nlohmann::json{{"n_mels", n_mels},         {"latent_dim", latent_dim}, {"hidden", hidden},
                          {"res_blocks", res_blocks}, {"downsample", downsample}, {"kl_weight", kl_weight}}
        .dump();
}

VaeOptions VaeOptions::from_json(const std::string& text) {
    VaeOptions o;
    try {
        auto j = nlohmann::json::parse(text);
        o.n_mels = j.at("n_mels");
        o.latent_dim = j.at("latent_dim");
        o.hidden = j.at("hidden");
        o.res_blocks = j.at("res_blocks");
        o.downsample = j.at("downsample");
        o.kl_weight = j.value("kl_weight", o.kl_weight);
    } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::Config, "vae: bad config JSON (", e.what(), ")");
    }
    o.validate();
    return o;
}

void VaeOptions::validate() const {
    V2A_CHECK(n_mels > 0 && latent_dim > 0, Config, "vae: n_mels and latent_dim must be > 0");
    V2A_CHECK(hidden > 0 && hidden % 8 == 0, Config, "vae: hidden must be a positive multiple of 8 (got ", hidden,
              ")");
    V2A_CHECK(res_blocks >= 0, Config, "vae: res_blocks must be >= 0");
    V2A_CHECK(downsample == 1 || downsample == 2, Config, "vae: downsample must be 1 or 2 (got ", downsample, ")");
    V2A_CHECK(kl_weight >= 0, Config, "vae: kl_weight must be >= 0");
}

ResBlock1dImpl::ResBlock1dImpl(int64_t channels) {
    norm1 = register_module("norm1", Fp32GroupNorm(8, channels));
    conv1 = register_module("conv1", nn::Conv1d(nn::Conv1dOptions(channels, channels, 3).padding(1)));
    norm2 = register_module("norm2", Fp32GroupNorm(8, channels));
    conv2 = register_module("conv2", nn::Conv1d(nn::Conv1dOptions(channels, channels, 3).padding(1)));
    torch::NoGradGuard no_grad;
    conv2->weight.zero_();  // each block starts as the identity: stable early training
    conv2->bias.zero_();
}

torch::Tensor ResBlock1dImpl::forward(const torch::Tensor& x) {
    auto h = conv1(F::silu(norm1(x)));
    h = conv2(F::silu(norm2(h)));
    return x + h;
}

torch::Tensor VaePosterior::sample(torch::Generator generator) const {
    return mean + std * torch::randn(mean.sizes(), generator, mean.options());
}

torch::Tensor VaePosterior::kl() const {
    auto var = std.pow(2);
    auto kl = 0.5 * (mean.pow(2) + var - 1.0 - torch::log(var));
    return kl.flatten(1).mean(1);
}

MelVaeImpl::MelVaeImpl(const VaeOptions& options) : options_(options) {
    options_.validate();
    const int64_t h = options_.hidden, lo = options_.downsample == 2 ? 2 * h : h;
    enc_in = register_module("enc_in", nn::Conv1d(nn::Conv1dOptions(options_.n_mels, h, 3).padding(1)));
    enc_blocks_hi = register_module("enc_blocks_hi", nn::ModuleList());
    enc_blocks_lo = register_module("enc_blocks_lo", nn::ModuleList());
    for (int64_t i = 0; i < options_.res_blocks; ++i) {
        enc_blocks_hi->push_back(ResBlock1d(h));
        enc_blocks_lo->push_back(ResBlock1d(lo));
    }
    // Stride-2 conv halves time (2x downsampling, MMAudio down_layers [0]); stride 1 otherwise.
    enc_down = register_module("enc_down", nn::Conv1d(nn::Conv1dOptions(h, lo, options_.downsample == 2 ? 4 : 3)
                                                          .stride(options_.downsample)
                                                          .padding(1)));
    enc_norm = register_module("enc_norm", Fp32GroupNorm(8, lo));
    enc_out = register_module("enc_out", nn::Conv1d(nn::Conv1dOptions(lo, 2 * options_.latent_dim, 3).padding(1)));

    dec_in = register_module("dec_in", nn::Conv1d(nn::Conv1dOptions(options_.latent_dim, lo, 3).padding(1)));
    dec_blocks_lo = register_module("dec_blocks_lo", nn::ModuleList());
    dec_blocks_hi = register_module("dec_blocks_hi", nn::ModuleList());
    for (int64_t i = 0; i < options_.res_blocks; ++i) {
        dec_blocks_lo->push_back(ResBlock1d(lo));
        dec_blocks_hi->push_back(ResBlock1d(h));
    }
    dec_up = register_module("dec_up", nn::Conv1d(nn::Conv1dOptions(lo, h, 3).padding(1)));
    dec_norm = register_module("dec_norm", Fp32GroupNorm(8, h));
    dec_out = register_module("dec_out", nn::Conv1d(nn::Conv1dOptions(h, options_.n_mels, 3).padding(1)));

    // Input mel statistics default to roughly those of log10 mel of speech/effects at 16 kHz;
    // `v2a train-vae` replaces them with the training set's own.
    mel_mean = register_buffer("mel_mean", torch::full({options_.n_mels}, -2.5));
    mel_std = register_buffer("mel_std", torch::full({options_.n_mels}, 1.5));
    latent_mean = register_buffer("latent_mean", torch::zeros({options_.latent_dim}));
    latent_std = register_buffer("latent_std", torch::ones({options_.latent_dim}));
}

VaePosterior MelVaeImpl::encode(const torch::Tensor& log_mel) {
    V2A_CHECK(log_mel.dim() == 3 && log_mel.size(1) == options_.n_mels, Data, "vae: expected log-mel [B, ",
              options_.n_mels, ", F], got ", log_mel.sizes());
    V2A_CHECK(log_mel.size(2) % options_.downsample == 0, Data, "vae: mel frames (", log_mel.size(2),
              ") must be divisible by ", options_.downsample);
    auto x = (log_mel - mel_mean.view({1, -1, 1})) / mel_std.view({1, -1, 1});
    x = enc_in(x);
    for (auto& block : *enc_blocks_hi) x = block->as<ResBlock1d>()->forward(x);
    x = enc_down(x);  // [B, lo, F / downsample]
    for (auto& block : *enc_blocks_lo) x = block->as<ResBlock1d>()->forward(x);
    x = enc_out(F::silu(enc_norm(x)));
    auto parts = x.chunk(2, 1);
    // Bounded log-variance keeps the posterior from collapsing to a point or exploding early on.
    auto logvar = parts[1].clamp(-30.0, 20.0);
    return {parts[0], torch::exp(0.5 * logvar)};
}

torch::Tensor MelVaeImpl::decode(const torch::Tensor& latent) {
    V2A_CHECK(latent.dim() == 3 && latent.size(1) == options_.latent_dim, Data, "vae: expected latent [B, ",
              options_.latent_dim, ", N], got ", latent.sizes());
    auto x = dec_in(latent);
    for (auto& block : *dec_blocks_lo) x = block->as<ResBlock1d>()->forward(x);
    if (options_.downsample == 2) x = torch::repeat_interleave(x, 2, 2);  // nearest 2x upsampling
    x = dec_up(x);
    for (auto& block : *dec_blocks_hi) x = block->as<ResBlock1d>()->forward(x);
    x = dec_out(F::silu(dec_norm(x)));
    return x * mel_std.view({1, -1, 1}) + mel_mean.view({1, -1, 1});
}

MelVaeImpl::Losses MelVaeImpl::loss(const torch::Tensor& log_mel, torch::Generator generator) {
    auto posterior = encode(log_mel);
    // Data parallel: log_mel is this rank's slice; draw the global batch's noise, keep our rows.
    const int64_t global = posterior.mean.size(0) * dist::world_size();
    auto shape = posterior.mean.sizes().vec();
    shape[0] = global;
    auto eps = dist::shard_rows(torch::randn(shape, generator, posterior.mean.options()));
    auto recon = decode(posterior.mean + posterior.std * eps);
    auto reconstruction = ((recon - log_mel) / mel_std.view({1, -1, 1})).abs().mean();
    auto kl = posterior.kl().mean();
    return {reconstruction + options_.kl_weight * kl, reconstruction, kl};
}

void MelVaeImpl::set_mel_stats(const torch::Tensor& mean, const torch::Tensor& std) {
    V2A_CHECK(mean.numel() == options_.n_mels && std.numel() == options_.n_mels, Data,
              "vae: mel stats must have ", options_.n_mels, " values");
    torch::NoGradGuard no_grad;
    mel_mean.copy_(mean.reshape({-1}));
    mel_std.copy_(std.reshape({-1}).clamp_min(1e-3));
}

void MelVaeImpl::set_latent_stats(const torch::Tensor& mean, const torch::Tensor& std) {
    V2A_CHECK(mean.numel() == options_.latent_dim && std.numel() == options_.latent_dim, Data,
              "vae: latent stats must have ", options_.latent_dim, " values");
    torch::NoGradGuard no_grad;
    latent_mean.copy_(mean.reshape({-1}));
    latent_std.copy_(std.reshape({-1}).clamp_min(1e-4));
}

torch::Tensor MelVaeImpl::normalize_latent(const torch::Tensor& latent) const {
    return (latent - latent_mean.view({1, -1, 1})) / latent_std.view({1, -1, 1});
}

torch::Tensor MelVaeImpl::unnormalize_latent(const torch::Tensor& latent) const {
    return latent * latent_std.view({1, -1, 1}) + latent_mean.view({1, -1, 1});
}

MelVae load_vae(const std::filesystem::path& path) {
    const std::string config = io::read_checkpoint_config(path);
    V2A_CHECK(!config.empty(), Data, path.string(), ": has no VAE config in its metadata");
    MelVae vae(VaeOptions::from_json(config));
    io::load_checkpoint(path, *vae, true);
    vae->eval();
    for (auto& p : vae->parameters()) p.set_requires_grad(false);
    return vae;
}

torch::Tensor trim_mel_frames(const torch::Tensor& log_mel, int64_t multiple) {
    V2A_CHECK(multiple >= 1, Usage, "trim_mel_frames: multiple must be >= 1, got ", multiple);
    const int64_t f = log_mel.size(-1);
    return log_mel.narrow(-1, 0, f - f % multiple);
}

}  // namespace v2a::audio
