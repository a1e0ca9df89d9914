// MMAudio's 1-D mel VAE (EDM2 magnitude-preserving layers), beside our own MelVae (D6), so a converted
// MMAudio VAE (v1-16.pth: 80 mels -> 20 channels; v1-44.pth: 128 -> 40) runs in v2a.
//
//   log-mel [B, M, F] --(x - data_mean) / data_std--> Encoder1D --> moments [B, 2C, F/2] -> mean, logvar
//   latent [B, C, N] --> Decoder1D --> [B, M, 2N] --* data_std + data_mean--> log-mel
//
// Encoder: conv_in -> 3 levels (channels dim*(1, 2, 4), 2 residual blocks each, 2x downsampling after
// level 0) -> mid (block, attention, block) -> mp_silu -> conv_out (gain 1 + learnable_gain). The decoder
// mirrors it with 3 blocks per level and the 2x upsampling after level 1. Activations are clamped to
// +-256 after every block. MMAudio's attn_layers = [3] lies beyond its 3 levels, so the only attention
// is the middle one. Every convolution is an MPConv1D without bias; the checkpoint holds the weights
// BEFORE weight normalisation, which load_state_dict folds in (MMAudio's remove_weight_norm:
// w / (1e-4 + |w_o| / sqrt(fan_in)) / sqrt(fan_in) per output filter o).
//
// Names equal MMAudio's state-dict keys (encoder.down.0.block.1.conv2.weight, decoder.mid.attn_1.qkv.weight,
// data_mean, ...). Ref: hkchengrex/MMAudio mmaudio/ext/autoencoder/{vae,vae_modules,edm2_utils}.py.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <filesystem>
#include <map>
#include <string>

#include "v2a/audio/vae.h"

namespace v2a::audio {

struct MMAudioVaeOptions {
    int64_t data_dim = 80;    // mel bins
    int64_t embed_dim = 20;   // latent channels
    int64_t hidden_dim = 384;  // channels of level 0 (MMAudio 16k: 384, 44k: 512)

    static MMAudioVaeOptions preset(const std::string& name);  // "16k", "44k"
    std::string to_json() const;
    /// Unknown fields and wrong types throw v2a::Error(Config) naming the field.
    static MMAudioVaeOptions from_json(const std::string& text);
    void validate() const;
};

/// Magnitude-preserving convolution: conv1d(x, weight * gain, padding k // 2), no bias.
class MPConv1dImpl : public torch::nn::Module {
public:
    MPConv1dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& gain = {});  // [B, in, L] -> [B, out, L]
    /// MMAudio's remove_weight_norm(), in place.
    void fold_weight_norm();
    torch::Tensor weight;  // [out, in, k]
};
TORCH_MODULE(MPConv1d);

/// x -> pixel-norm over channels -> mp_silu -> conv1 -> mp_silu -> conv2, mp_sum(x_or_shortcut, h, 0.3).
class MPResnetBlock1dImpl : public torch::nn::Module {
public:
    MPResnetBlock1dImpl(int64_t in_dim, int64_t out_dim);
    torch::Tensor forward(const torch::Tensor& x);

    MPConv1d conv1{nullptr}, conv2{nullptr}, nin_shortcut{nullptr};  // nin_shortcut only if in != out
};
TORCH_MODULE(MPResnetBlock1d);

/// One-head self-attention over time, q/k/v normalised per channel group; mp_sum(x, h, 0.3).
class MPAttnBlock1dImpl : public torch::nn::Module {
public:
    explicit MPAttnBlock1dImpl(int64_t channels);
    torch::Tensor forward(const torch::Tensor& x);

    MPConv1d qkv{nullptr}, proj_out{nullptr};
};
TORCH_MODULE(MPAttnBlock1d);

/// block_1 -> attn_1 -> block_2 (MMAudio's "mid").
class MPMidBlock1dImpl : public torch::nn::Module {
public:
    explicit MPMidBlock1dImpl(int64_t channels);
    torch::Tensor forward(const torch::Tensor& x);

    MPResnetBlock1d block_1{nullptr}, block_2{nullptr};
    MPAttnBlock1d attn_1{nullptr};
};
TORCH_MODULE(MPMidBlock1d);

/// 2x downsampling: conv1 (k1) -> average pool 2 -> conv2 (k1).
class MPDownsample1dImpl : public torch::nn::Module {
public:
    explicit MPDownsample1dImpl(int64_t channels);
    torch::Tensor forward(const torch::Tensor& x);  // [B, D, L] -> [B, D, L/2]
    MPConv1d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(MPDownsample1d);

/// 2x upsampling: nearest (= nearest-exact at factor 2) -> conv (k3).
class MPUpsample1dImpl : public torch::nn::Module {
public:
    explicit MPUpsample1dImpl(int64_t channels);
    torch::Tensor forward(const torch::Tensor& x);  // [B, D, L] -> [B, D, 2L]
    MPConv1d conv{nullptr};
};
TORCH_MODULE(MPUpsample1d);

/// One resolution level: residual blocks (each followed by the +-clip_act clamp), then the optional
/// resampling, registered under MMAudio's names "downsample" / "upsample".
class MPLevel1dImpl : public torch::nn::Module {
public:
    enum class Resample { None, Down, Up };
    MPLevel1dImpl(int64_t in_dim, int64_t out_dim, int64_t blocks, Resample resample);
    torch::Tensor forward(torch::Tensor x, double clip_act);

    torch::nn::ModuleList block{nullptr};
    MPDownsample1d downsample{nullptr};
    MPUpsample1d upsample{nullptr};
};
TORCH_MODULE(MPLevel1d);

class MMAudioVaeEncoderImpl : public torch::nn::Module {
public:
    explicit MMAudioVaeEncoderImpl(const MMAudioVaeOptions& o);
    torch::Tensor forward(const torch::Tensor& x);  // normalised mel [B, M, F] -> moments [B, 2C, F/2]

    MPConv1d conv_in{nullptr}, conv_out{nullptr};
    torch::nn::ModuleList down{nullptr};
    MPMidBlock1d mid{nullptr};
    torch::Tensor learnable_gain;  // scalar
};
TORCH_MODULE(MMAudioVaeEncoder);

class MMAudioVaeDecoderImpl : public torch::nn::Module {
public:
    explicit MMAudioVaeDecoderImpl(const MMAudioVaeOptions& o);
    torch::Tensor forward(const torch::Tensor& z);  // [B, C, N] -> normalised mel [B, M, 2N]

    MPConv1d conv_in{nullptr}, conv_out{nullptr};
    torch::nn::ModuleList up{nullptr};  // up[0] is the finest level, as MMAudio's prepend gives
    MPMidBlock1d mid{nullptr};
    torch::Tensor learnable_gain;
};
TORCH_MODULE(MMAudioVaeDecoder);

class MMAudioVaeImpl : public torch::nn::Module {
public:
    explicit MMAudioVaeImpl(const MMAudioVaeOptions& options);

    /// log-mel [B, M, F], F even -> posterior over [B, C, F/2] (logvar clamped to [-30, 20]).
    VaePosterior encode(const torch::Tensor& log_mel);
    /// latent [B, C, N] -> log-mel [B, M, 2N].
    torch::Tensor decode(const torch::Tensor& latent);

    /// Loads MMAudio's state dict as its checkpoints hold it (weight norm not yet removed) by name and
    /// folds the weight normalisation in. Strict: missing / unexpected / reshaped keys throw
    /// v2a::Error(Model) listing them, naming `source`.
    void load_mmaudio_state_dict(const std::map<std::string, torch::Tensor>& tensors,
                                 const std::string& source = "state dict");

    const MMAudioVaeOptions& options() const { return options_; }

    MMAudioVaeEncoder encoder{nullptr};
    MMAudioVaeDecoder decoder{nullptr};
    torch::Tensor data_mean, data_std;  // [1, M, 1] buffers

private:
    MMAudioVaeOptions options_;
};
TORCH_MODULE(MMAudioVae);

/// Metadata "kind" of a converted MMAudio VAE file (v2a convert); the file holds MMAudio's own keys.
inline constexpr const char* kMMAudioVaeKind = "mmaudio_vae";

/// Loads a converted MMAudio VAE (its options in the metadata), folded, frozen, in eval mode.
MMAudioVae load_mmaudio_vae(const std::filesystem::path& path);

}  // namespace v2a::audio
