// Joint MM-DiT block: latent, clip and text streams each have their own weights (MMDitSingleBlock)
// but attend together, in ONE attention over the concatenation [latent | clip | text]. The latent
// stream is conditioned on extended_c (global + per-token sync), clip/text on global_c; latent and
// clip carry RoPE, text has no positions (and kernel 1: Linear/MLP instead of convolutions).
// With pre_only the clip/text streams only supply keys/values and are returned unchanged.
// Ref: hkchengrex/MMAudio mmaudio/model/transformer_layers.py (JointBlock)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "v2a/model/mmdit_block.h"

namespace v2a::model {

struct JointBlockOptions {
    JointBlockOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
    TORCH_ARG(int64_t, dim);
    TORCH_ARG(int64_t, num_heads);
    TORCH_ARG(double, mlp_ratio) = 4.0;
    TORCH_ARG(bool, pre_only) = false;
};

struct JointOutput {
    torch::Tensor latent;  // [B, N, D]
    torch::Tensor clip;    // [B, Nc, D]
    torch::Tensor text;    // [B, Nt, D]
};

class JointBlockImpl : public torch::nn::Module {
public:
    explicit JointBlockImpl(const JointBlockOptions& options);
    /// latent [B, N, D], clip [B, Nc, D], text [B, Nt, D], global_c [B, 1, D], extended_c [B, N, D],
    /// latent_rot [1, N, Dh/2, 2, 2], clip_rot [1, Nc, Dh/2, 2, 2].
    JointOutput forward(const torch::Tensor& latent, const torch::Tensor& clip, const torch::Tensor& text,
                        const torch::Tensor& global_c, const torch::Tensor& extended_c,
                        const torch::Tensor& latent_rot, const torch::Tensor& clip_rot);

    JointBlockOptions options;
    MMDitSingleBlock latent_block{nullptr};
    MMDitSingleBlock clip_block{nullptr};
    MMDitSingleBlock text_block{nullptr};
};
TORCH_MODULE(JointBlock);

}  // namespace v2a::model
