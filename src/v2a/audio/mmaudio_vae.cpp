#include "v2a/audio/mmaudio_vae.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "v2a/core/error.h"
#include "v2a/io/checkpoint.h"

namespace v2a::audio {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

constexpr double kClipAct = 256.0;

/// EDM2 normalize(): x / (eps + |x|_dims * sqrt(|dims| / numel)), i.e. unit RMS over `dims`; the norm in fp32.
torch::Tensor mp_normalize(const torch::Tensor& x, std::vector<int64_t> dims, double eps = 1e-4) {
    auto norm = x.to(torch::kFloat).pow(2).sum(dims, /*keepdim=*/true).sqrt();
    const double alpha = std::sqrt(static_cast<double>(norm.numel()) / static_cast<double>(x.numel()));
    return x / (norm * alpha + eps).to(x.scalar_type());
}

torch::Tensor mp_silu(const torch::Tensor& x) { return torch::silu(x) / 0.596; }

/// Magnitude-preserving blend: lerp(a, b, t) / sqrt((1 - t)^2 + t^2).
torch::Tensor mp_sum(const torch::Tensor& a, const torch::Tensor& b, double t) {
    return a.lerp(b, t) / std::sqrt((1 - t) * (1 - t) + t * t);
}

}  // namespace

// ---- options -----------------------------------------------------------------------------------

MMAudioVaeOptions MMAudioVaeOptions::preset(const std::string& name) {
    MMAudioVaeOptions o;
    if (name == "16k") return o;
    if (name == "44k") {
        o.data_dim = 128;
        o.embed_dim = 40;
        o.hidden_dim = 512;
        return o;
    }
    fail(ErrorKind::Config, "mmaudio vae: unknown preset '", name, "' (expected 16k or 44k)");
}

std::string MMAudioVaeOptions::to_json() const {
    return nlohmann::json{{"data_dim", data_dim}, {"embed_dim", embed_dim}, {"hidden_dim", hidden_dim}}.dump();
}

MMAudioVaeOptions MMAudioVaeOptions::from_json(const std::string& text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::Config, "mmaudio vae: config is not JSON (", e.what(), ")");
    }
    V2A_CHECK(j.is_object(), Config, "mmaudio vae: config must be a JSON object");
    MMAudioVaeOptions o;
    static const std::set<std::string> known = {"data_dim", "embed_dim", "hidden_dim"};
    for (auto it = j.begin(); it != j.end(); ++it) {
        V2A_CHECK(known.count(it.key()) > 0, Config, "mmaudio vae: unknown config field '", it.key(), "'");
        V2A_CHECK(it->is_number_integer(), Config, "mmaudio vae: field '", it.key(), "' must be an integer, got ",
                  it->dump());
    }
    o.data_dim = j.value("data_dim", o.data_dim);
    o.embed_dim = j.value("embed_dim", o.embed_dim);
    o.hidden_dim = j.value("hidden_dim", o.hidden_dim);
    o.validate();
    return o;
}

void MMAudioVaeOptions::validate() const {
    V2A_CHECK(data_dim > 0 && embed_dim > 0 && hidden_dim > 0, Config,
              "mmaudio vae: data_dim, embed_dim and hidden_dim must be > 0 (got ", data_dim, ", ", embed_dim, ", ",
              hidden_dim, ")");
}

// ---- layers ------------------------------------------------------------------------------------

MPConv1dImpl::MPConv1dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size) {
    weight = register_parameter("weight", torch::randn({out_channels, in_channels, kernel_size}));
}

torch::Tensor MPConv1dImpl::forward(const torch::Tensor& x, const torch::Tensor& gain) {
    auto w = gain.defined() ? weight * gain : weight;
    return F::conv1d(x, w, F::Conv1dFuncOptions().padding(weight.size(2) / 2));
}

void MPConv1dImpl::fold_weight_norm() {
    torch::NoGradGuard no_grad;
    auto w = mp_normalize(weight.to(torch::kFloat), {1, 2});
    w = w / std::sqrt(static_cast<double>(weight.size(1) * weight.size(2)));
    weight.copy_(w.to(weight.scalar_type()));
}

MPResnetBlock1dImpl::MPResnetBlock1dImpl(int64_t in_dim, int64_t out_dim) {
    conv1 = register_module("conv1", MPConv1d(in_dim, out_dim, 3));
    conv2 = register_module("conv2", MPConv1d(out_dim, out_dim, 3));
    if (in_dim != out_dim) nin_shortcut = register_module("nin_shortcut", MPConv1d(in_dim, out_dim, 1));
}

torch::Tensor MPResnetBlock1dImpl::forward(const torch::Tensor& input) {
    const auto x = mp_normalize(input, {1});  // the shortcut takes the normalised input too (MMAudio)
    auto h = conv2(mp_silu(conv1(mp_silu(x))));
    return mp_sum(nin_shortcut ? nin_shortcut(x) : x, h, 0.3);
}

MPAttnBlock1dImpl::MPAttnBlock1dImpl(int64_t channels) {
    qkv = register_module("qkv", MPConv1d(channels, 3 * channels, 1));
    proj_out = register_module("proj_out", MPConv1d(channels, channels, 1));
}

torch::Tensor MPAttnBlock1dImpl::forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), C = x.size(1), L = x.size(2);
    // qkv channels are laid out (channel, q|k|v): [B, 3C, L] -> [B, C, 3, L], normalised over C.
    auto y = mp_normalize(qkv(x).reshape({B, C, 3, L}), {1});
    auto q = y.select(2, 0).transpose(1, 2);  // [B, L, C]
    auto k = y.select(2, 1).transpose(1, 2);
    auto v = y.select(2, 2).transpose(1, 2);
    auto att = torch::softmax(torch::bmm(q, k.transpose(1, 2)) / std::sqrt(static_cast<double>(C)), -1);
    auto h = torch::bmm(att, v).transpose(1, 2);  // [B, C, L]
    return mp_sum(x, proj_out(h), 0.3);
}

MPMidBlock1dImpl::MPMidBlock1dImpl(int64_t channels) {
    block_1 = register_module("block_1", MPResnetBlock1d(channels, channels));
    attn_1 = register_module("attn_1", MPAttnBlock1d(channels));
    block_2 = register_module("block_2", MPResnetBlock1d(channels, channels));
}

torch::Tensor MPMidBlock1dImpl::forward(const torch::Tensor& x) {
    return block_2(attn_1(block_1(x))).clamp(-kClipAct, kClipAct);
}

MPDownsample1dImpl::MPDownsample1dImpl(int64_t channels) {
    conv1 = register_module("conv1", MPConv1d(channels, channels, 1));
    conv2 = register_module("conv2", MPConv1d(channels, channels, 1));
}

torch::Tensor MPDownsample1dImpl::forward(const torch::Tensor& x) {
    return conv2(F::avg_pool1d(conv1(x), F::AvgPool1dFuncOptions(2).stride(2)));
}

MPUpsample1dImpl::MPUpsample1dImpl(int64_t channels) { conv = register_module("conv", MPConv1d(channels, channels, 3)); }

torch::Tensor MPUpsample1dImpl::forward(const torch::Tensor& x) { return conv(x.repeat_interleave(2, /*dim=*/2)); }

MPLevel1dImpl::MPLevel1dImpl(int64_t in_dim, int64_t out_dim, int64_t blocks, Resample resample) {
    block = register_module("block", nn::ModuleList());
    for (int64_t i = 0; i < blocks; ++i) block->push_back(MPResnetBlock1d(i == 0 ? in_dim : out_dim, out_dim));
    if (resample == Resample::Down) downsample = register_module("downsample", MPDownsample1d(out_dim));
    if (resample == Resample::Up) upsample = register_module("upsample", MPUpsample1d(out_dim));
}

torch::Tensor MPLevel1dImpl::forward(torch::Tensor x, double clip_act) {
    for (const auto& b : *block) x = b->as<MPResnetBlock1dImpl>()->forward(x).clamp(-clip_act, clip_act);
    if (downsample) x = downsample(x);
    if (upsample) x = upsample(x);
    return x;
}

// ---- encoder / decoder (ch_mult (1, 2, 4), 2 residual blocks, resampling at level 0) ----------------

MMAudioVaeEncoderImpl::MMAudioVaeEncoderImpl(const MMAudioVaeOptions& o) {
    const int64_t d = o.hidden_dim;
    conv_in = register_module("conv_in", MPConv1d(o.data_dim, d, 3));
    down = register_module("down", nn::ModuleList());
    down->push_back(MPLevel1d(d, d, 2, MPLevel1dImpl::Resample::Down));
    down->push_back(MPLevel1d(d, 2 * d, 2, MPLevel1dImpl::Resample::None));
    down->push_back(MPLevel1d(2 * d, 4 * d, 2, MPLevel1dImpl::Resample::None));
    mid = register_module("mid", MPMidBlock1d(4 * d));
    conv_out = register_module("conv_out", MPConv1d(4 * d, 2 * o.embed_dim, 3));
    learnable_gain = register_parameter("learnable_gain", torch::zeros({}));
}

torch::Tensor MMAudioVaeEncoderImpl::forward(const torch::Tensor& x) {
    auto h = conv_in(x);
    for (const auto& level : *down) h = level->as<MPLevel1dImpl>()->forward(h, kClipAct);
    return conv_out(mp_silu(mid(h)), learnable_gain + 1);
}

MMAudioVaeDecoderImpl::MMAudioVaeDecoderImpl(const MMAudioVaeOptions& o) {
    const int64_t d = o.hidden_dim;
    conv_in = register_module("conv_in", MPConv1d(o.embed_dim, 4 * d, 3));
    mid = register_module("mid", MPMidBlock1d(4 * d));
    up = register_module("up", nn::ModuleList());
    // up[i] is level i; the data flows 2 -> 1 -> 0 and upsamples after level 1 (encoder level 0 + 1).
    up->push_back(MPLevel1d(2 * d, d, 3, MPLevel1dImpl::Resample::None));
    up->push_back(MPLevel1d(4 * d, 2 * d, 3, MPLevel1dImpl::Resample::Up));
    up->push_back(MPLevel1d(4 * d, 4 * d, 3, MPLevel1dImpl::Resample::None));
    conv_out = register_module("conv_out", MPConv1d(d, o.data_dim, 3));
    learnable_gain = register_parameter("learnable_gain", torch::zeros({}));
}

torch::Tensor MMAudioVaeDecoderImpl::forward(const torch::Tensor& z) {
    auto h = mid(conv_in(z));
    for (int64_t i = static_cast<int64_t>(up->size()) - 1; i >= 0; --i) {
        h = up[i]->as<MPLevel1dImpl>()->forward(h, kClipAct);
    }
    return conv_out(mp_silu(h), learnable_gain + 1);
}

// ---- the VAE -----------------------------------------------------------------------------------------

MMAudioVaeImpl::MMAudioVaeImpl(const MMAudioVaeOptions& options) : options_(options) {
    options_.validate();
    data_mean = register_buffer("data_mean", torch::zeros({1, options_.data_dim, 1}));
    data_std = register_buffer("data_std", torch::ones({1, options_.data_dim, 1}));
    encoder = register_module("encoder", MMAudioVaeEncoder(options_));
    decoder = register_module("decoder", MMAudioVaeDecoder(options_));
}

VaePosterior MMAudioVaeImpl::encode(const torch::Tensor& log_mel) {
    V2A_CHECK(log_mel.dim() == 3 && log_mel.size(1) == options_.data_dim, Data, "mmaudio vae: expected log-mel [B, ",
              options_.data_dim, ", F], got ", log_mel.sizes());
    V2A_CHECK(log_mel.size(2) >= 2 && log_mel.size(2) % 2 == 0, Data,
              "mmaudio vae: the number of mel frames must be even (2x downsampling), got ", log_mel.size(2));
    auto moments = encoder((log_mel - data_mean) / data_std);
    auto parts = moments.chunk(2, 1);
    VaePosterior p;
    p.mean = parts[0];
    p.std = torch::exp(0.5 * parts[1].clamp(-30.0, 20.0));
    return p;
}

torch::Tensor MMAudioVaeImpl::decode(const torch::Tensor& latent) {
    V2A_CHECK(latent.dim() == 3 && latent.size(1) == options_.embed_dim, Data, "mmaudio vae: expected latent [B, ",
              options_.embed_dim, ", N], got ", latent.sizes());
    return decoder(latent) * data_std + data_mean;
}

void MMAudioVaeImpl::load_mmaudio_state_dict(const std::map<std::string, torch::Tensor>& tensors,
                                             const std::string& source) {
    io::load_state_dict(*this, tensors, /*strict=*/true, source);
    for (auto& m : modules(/*include_self=*/false)) {
        if (auto* conv = m->as<MPConv1dImpl>()) conv->fold_weight_norm();
    }
}

MMAudioVae load_mmaudio_vae(const std::filesystem::path& path) {
    auto checkpoint = io::read_checkpoint(path);
    const auto kind = checkpoint.metadata.find("kind");
    V2A_CHECK(kind != checkpoint.metadata.end() && kind->second == kMMAudioVaeKind, Data, path.string(),
              ": not a converted MMAudio VAE (metadata kind '",
              kind == checkpoint.metadata.end() ? std::string("none") : kind->second, "', expected '", kMMAudioVaeKind,
              "'; make one with v2a convert)");
    MMAudioVae vae(MMAudioVaeOptions::from_json(checkpoint.config));
    vae->load_mmaudio_state_dict(checkpoint.tensors, path.string());
    vae->eval();
    for (auto& p : vae->parameters()) p.set_requires_grad(false);
    return vae;
}

}  // namespace v2a::audio
