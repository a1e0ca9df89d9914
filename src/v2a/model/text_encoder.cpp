// B = batch, L = tokens, W = width, Hd = heads, Dh = W / Hd, D = out_dim
#include "v2a/model/text_encoder.h"

#include <cmath>

#include "v2a/core/error.h"

namespace v2a::model {

TextEncoderLayerImpl::TextEncoderLayerImpl(int64_t width, int64_t heads_, int64_t hidden) : heads(heads_) {
    namespace nn = torch::nn;
    ln_1 = register_module("ln_1", Fp32LayerNorm(nn::LayerNormOptions({width})));
    qkv = register_module("qkv", nn::Linear(width, 3 * width));
    out = register_module("out", nn::Linear(width, width));
    ln_2 = register_module("ln_2", Fp32LayerNorm(nn::LayerNormOptions({width})));
    fc = register_module("fc", nn::Linear(width, hidden));
    proj = register_module("proj", nn::Linear(hidden, width));
}

torch::Tensor TextEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& pad) {
    const int64_t B = x.size(0), L = x.size(1), W = x.size(2), Dh = W / heads;
    auto q_k_v = qkv(ln_1(x)).view({B, L, 3, heads, Dh}).permute({2, 0, 3, 1, 4});  // [3, B, Hd, L, Dh]
    const auto q = q_k_v[0], k = q_k_v[1], v = q_k_v[2];
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(Dh));  // [B, Hd, L, L]
    scores = scores.masked_fill(pad.view({B, 1, 1, L}), -std::numeric_limits<float>::infinity());
    auto a = torch::matmul(torch::softmax(scores, -1), v);  // [B, Hd, L, Dh]
    auto h = x + out(a.transpose(1, 2).reshape({B, L, W}));
    return h + proj(torch::gelu(fc(ln_2(h))));
}

TextEncoderImpl::TextEncoderImpl(const TextEncoderOptions& options_)
    : options(options_), tokenizer_(TokenizerOptions{options_.buckets(), options_.seq_len()}) {
    const int64_t W = options.width();
    V2A_CHECK(options.out_dim() > 0, Config, "text encoder: out_dim must be > 0, got ", options.out_dim());
    V2A_CHECK(W > 0 && options.heads() > 0 && W % options.heads() == 0, Config, "text encoder: width ", W,
              " must be a positive multiple of heads ", options.heads());
    V2A_CHECK(options.layers() >= 0, Config, "text encoder: layers must be >= 0, got ", options.layers());
    V2A_CHECK(options.mlp_ratio() > 0.0, Config, "text encoder: mlp_ratio must be > 0, got ", options.mlp_ratio());
    namespace nn = torch::nn;
    token_embedding = register_module("token_embedding", nn::Embedding(tokenizer_.vocab_size(), W));
    positional_embedding = register_parameter("positional_embedding", torch::empty({options.seq_len(), W}));
    layers = register_module("layers", nn::ModuleList());
    const auto hidden = static_cast<int64_t>(std::lround(options.mlp_ratio() * static_cast<double>(W)));
    for (int64_t i = 0; i < options.layers(); ++i) layers->push_back(TextEncoderLayer(W, options.heads(), hidden));
    ln_final = register_module("ln_final", Fp32LayerNorm(nn::LayerNormOptions({W})));
    if (W != options.out_dim()) proj = register_module("proj", nn::Linear(W, options.out_dim()));
    // CLIP text-tower init: small normal embeddings.
    torch::NoGradGuard no_grad;
    torch::nn::init::normal_(token_embedding->weight, 0.0, 0.02);
    torch::nn::init::normal_(positional_embedding, 0.0, 0.01);
}

torch::Tensor TextEncoderImpl::forward(const torch::Tensor& tokens) {
    V2A_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.size(1) == options.seq_len(), Data,
              "text encoder: tokens must be [B, ", options.seq_len(), "], got ",
              tokens.defined() ? tokens.sizes() : torch::IntArrayRef{});
    V2A_CHECK(tokens.scalar_type() == torch::kLong, Data, "text encoder: tokens must be int64, got ",
              tokens.scalar_type());
    if (tokens.numel() > 0) {
        const auto lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
        V2A_CHECK(lo >= 0 && hi < tokenizer_.vocab_size(), Data, "text encoder: token ids must be in [0, ",
                  tokenizer_.vocab_size(), "), got [", lo, ", ", hi, "]");
    }
    const auto pad = Tokenizer::padding_mask(tokens);                 // [B, L]
    auto x = token_embedding(tokens) + positional_embedding.unsqueeze(0);  // [B, L, W]
    for (const auto& layer : *layers) x = layer->as<TextEncoderLayer>()->forward(x, pad);
    x = ln_final(x);
    if (proj) x = proj(x);                                            // [B, L, D]
    return x / x.norm(2, -1, true).clamp_min(1e-6);
}

torch::Tensor TextEncoderImpl::encode(const std::vector<std::string>& texts) {
    return forward(tokenizer_.encode_batch(texts).to(positional_embedding.device()));
}

torch::Tensor TextEncoderImpl::empty_string_features() { return encode({""})[0]; }

}  // namespace v2a::model
