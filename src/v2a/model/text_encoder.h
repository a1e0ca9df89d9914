// TextEncoder: the STAND-IN for MMAudio's CLIP text encoder (patched encode_text: all 77 last hidden
// states after ln_final, L2-normalised, 77 x 1024). A small transformer of our own, trained jointly with
// the generator, over the hashing Tokenizer:
//
//   texts -> Tokenizer -> ids [B, L]                      (L = seq_len = NetworkConfig::text_seq_len)
//   -> token embedding + learned positions                [B, L, W]
//   -> layers x pre-LN block (self-attention with PAD keys masked, GELU MLP)
//   -> ln_final -> Linear(W, out_dim) when W != out_dim -> L2 normalise per token
//   -> [B, L, out_dim]
//
// PAD keys are masked, so a caption's tokens do not depend on how much padding follows (padding
// positions still get outputs, as CLIP's do). The encoding of "" is the null text condition; since the
// encoder is trained, it changes with the weights: take it from empty_string_features() each time it is
// needed (e.g. refresh MMAudio::empty_string_feat before sampling).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "v2a/core/fp32_norm.h"
#include "v2a/model/tokenizer.h"

namespace v2a::model {

struct TextEncoderOptions {
    explicit TextEncoderOptions(int64_t out_dim) : out_dim_(out_dim) {}
    TORCH_ARG(int64_t, out_dim);        // = NetworkConfig::text_dim
    TORCH_ARG(int64_t, seq_len) = 77;   // = NetworkConfig::text_seq_len
    TORCH_ARG(int64_t, buckets) = 4096; // tokenizer hash buckets
    TORCH_ARG(int64_t, width) = 128;    // transformer width W
    TORCH_ARG(int64_t, heads) = 4;
    TORCH_ARG(int64_t, layers) = 2;
    TORCH_ARG(double, mlp_ratio) = 4.0;
};

/// One pre-LN transformer block. x [B, L, W], pad [B, L] bool (true = ignore that key) -> [B, L, W].
class TextEncoderLayerImpl : public torch::nn::Module {
public:
    TextEncoderLayerImpl(int64_t width, int64_t heads, int64_t hidden);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pad);

    int64_t heads;
    Fp32LayerNorm ln_1{nullptr};
    torch::nn::Linear qkv{nullptr};   // W -> 3W
    torch::nn::Linear out{nullptr};   // W -> W
    Fp32LayerNorm ln_2{nullptr};
    torch::nn::Linear fc{nullptr};    // W -> hidden
    torch::nn::Linear proj{nullptr};  // hidden -> W
};
TORCH_MODULE(TextEncoderLayer);

class TextEncoderImpl : public torch::nn::Module {
public:
    /// Throws v2a::Error(Config) for non-positive sizes or width not divisible by heads.
    explicit TextEncoderImpl(const TextEncoderOptions& options);

    /// tokens [B, L] int64 (Tokenizer ids) -> [B, L, out_dim], every token L2-normalised.
    /// Throws v2a::Error(Data) for a wrong shape or ids outside the vocabulary.
    torch::Tensor forward(const torch::Tensor& tokens);
    /// Tokenizes on the CPU and encodes on this module's device: B texts -> [B, L, out_dim].
    torch::Tensor encode(const std::vector<std::string>& texts);
    /// The null text condition: encoding of "" -> [L, out_dim].
    torch::Tensor empty_string_features();

    const Tokenizer& tokenizer() const { return tokenizer_; }

    TextEncoderOptions options;
    torch::nn::Embedding token_embedding{nullptr};  // [V, W]
    torch::Tensor positional_embedding;             // [L, W] learned
    torch::nn::ModuleList layers{nullptr};          // TextEncoderLayer x layers
    Fp32LayerNorm ln_final{nullptr};
    torch::nn::Linear proj{nullptr};                // W -> out_dim; null when W == out_dim

private:
    Tokenizer tokenizer_;
};
TORCH_MODULE(TextEncoder);

}  // namespace v2a::model
