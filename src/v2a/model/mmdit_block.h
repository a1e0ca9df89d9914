// One MM-DiT stream block with adaLN-Zero conditioning. Split into pre_attention (norm, modulate,
// q/k/v) and post_attention (projection, gated residual, FFN) so JointBlock can run a single
// attention over several streams. pre_only blocks (clip/text in the last joint block) only supply
// k/v: their adaLN produces (shift, scale) and they have no linear1/norm2/ffn.
// Ref: hkchengrex/MMAudio mmaudio/model/transformer_layers.py (MMDitSingleBlock, modulate)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "v2a/model/attention.h"
#include "v2a/model/channel_last_conv1d.h"
#include "v2a/model/mlp.h"

namespace v2a::model {

/// x * (1 + scale) + shift; x: [B, N, D], shift/scale: [B, 1 or N, D].
torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& shift, const torch::Tensor& scale);

/// Sequential("0" SiLU, "1" Linear(dim, n * dim)) = MMAudio's adaLN_modulation.
torch::nn::Sequential make_adaln_modulation(int64_t dim, int64_t n_chunks);

struct MMDitSingleBlockOptions {
    MMDitSingleBlockOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
    TORCH_ARG(int64_t, dim);
    TORCH_ARG(int64_t, num_heads);
    TORCH_ARG(double, mlp_ratio) = 4.0;
    TORCH_ARG(bool, pre_only) = false;
    /// 1 -> Linear projection + MLP (text); k > 1 -> channel-last Conv1d(k) + ConvMLP(k).
    TORCH_ARG(int64_t, kernel_size) = 7;
};

/// Modulation chunks carried from pre_attention to post_attention (undefined when pre_only).
struct BlockModulation {
    torch::Tensor gate_msa, shift_mlp, scale_mlp, gate_mlp;
};

class MMDitSingleBlockImpl : public torch::nn::Module {
public:
    explicit MMDitSingleBlockImpl(const MMDitSingleBlockOptions& options);
    /// x: [B, N, D], c: [B, 1 or N, D], rot: RoPE table or undefined.
    std::pair<QKV, BlockModulation> pre_attention(const torch::Tensor& x, const torch::Tensor& c,
                                                  const torch::Tensor& rot);
    /// x: [B, N, D], attn_out: [B, N, D] -> [B, N, D] (x itself when pre_only).
    torch::Tensor post_attention(const torch::Tensor& x, const torch::Tensor& attn_out,
                                 const BlockModulation& mod);
    /// Self-attention block on one stream: [B, N, D] -> [B, N, D].
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c, const torch::Tensor& rot);

    /// The Linear inside adaLN_modulation (zero-initialised by the network).
    torch::nn::Linear adaln_linear() const;

    MMDitSingleBlockOptions options;
    SelfAttention attn{nullptr};
    torch::nn::Sequential adaLN_modulation{nullptr};
    // Exactly one of each pair is set (kernel_size 1 vs k); both absent when pre_only.
    torch::nn::Linear linear1_linear{nullptr};
    ChannelLastConv1d linear1_conv{nullptr};
    MLP ffn_mlp{nullptr};
    ConvMLP ffn_conv{nullptr};
};
TORCH_MODULE(MMDitSingleBlock);

}  // namespace v2a::model
