// Multi-head attention for the MM-DiT blocks. LibTorch 1.13 has no public fused
// scaled_dot_product_attention, so `attention` is the math form softmax(q k^T / sqrt(d)) v with one
// batched matmul per product over all heads (no mask: all streams have fixed lengths).
// SelfAttention holds the qkv projection and the per-head q/k RMSNorms; the attention itself is
// done by the caller so that JointBlock can attend over several streams at once.
// Ref: hkchengrex/MMAudio mmaudio/model/transformer_layers.py (attention, SelfAttention)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "v2a/model/rms_norm.h"

namespace v2a::model {

/// q, k, v: [B, H, N, Dh] (k and v may have another length M) -> [B, N, H * Dh]. `q_scaled`: q already
/// holds q / sqrt(Dh) (SelfAttention::pre_attention does that under bf16 autocast).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool q_scaled = false);

/// Per-head projections, each [B, H, N, Dh]. Under bf16 autocast q, k and v are bf16 and q is
/// pre-scaled by 1 / sqrt(Dh) (q_scaled): the joint attention concatenates and multiplies half the bytes
/// and never rounds an unscaled q (D16). In fp32 they are exactly the reference's tensors.
struct QKV {
    torch::Tensor q, k, v;
    bool q_scaled = false;
};

struct SelfAttentionOptions {
    SelfAttentionOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
    TORCH_ARG(int64_t, dim);
    TORCH_ARG(int64_t, num_heads);
};

class SelfAttentionImpl : public torch::nn::Module {
public:
    explicit SelfAttentionImpl(const SelfAttentionOptions& options);
    /// x: [B, N, D]; rot: RoPE table [1, N, Dh/2, 2, 2] or undefined (no positions, e.g. text).
    QKV pre_attention(const torch::Tensor& x, const torch::Tensor& rot);
    /// Plain self-attention: [B, N, D] -> [B, N, D].
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rot = {});

    SelfAttentionOptions options;
    torch::nn::Linear qkv{nullptr};  // D -> 3D with bias; output channels ordered (head, dim, q/k/v)
    RMSNorm q_norm{nullptr};         // over Dh
    RMSNorm k_norm{nullptr};
};
TORCH_MODULE(SelfAttention);

}  // namespace v2a::model
