// B = batch, H = heads, N/Nc/Nt = latent/clip/text tokens, D = width, Dh = head dim
#include "v2a/model/joint_block.h"

namespace v2a::model {

JointBlockImpl::JointBlockImpl(const JointBlockOptions& options_) : options(options_) {
    auto block = [&](bool pre_only, int64_t kernel) {
        return MMDitSingleBlock(MMDitSingleBlockOptions(options.dim(), options.num_heads())
                                    .mlp_ratio(options.mlp_ratio())
                                    .pre_only(pre_only)
                                    .kernel_size(kernel));
    };
    latent_block = register_module("latent_block", block(false, 3));
    clip_block = register_module("clip_block", block(options.pre_only(), 3));
    text_block = register_module("text_block", block(options.pre_only(), 1));
}

JointOutput JointBlockImpl::forward(const torch::Tensor& latent, const torch::Tensor& clip,
                                    const torch::Tensor& text, const torch::Tensor& global_c,
                                    const torch::Tensor& extended_c, const torch::Tensor& latent_rot,
                                    const torch::Tensor& clip_rot) {
    auto [x_qkv, x_mod] = latent_block->pre_attention(latent, extended_c, latent_rot);
    auto [c_qkv, c_mod] = clip_block->pre_attention(clip, global_c, clip_rot);
    auto [t_qkv, t_mod] = text_block->pre_attention(text, global_c, torch::Tensor());

    const int64_t n_latent = latent.size(1), n_clip = clip.size(1), n_text = text.size(1);
    // Batch sizes may differ by broadcasting (e.g. shared empty conditions): expand to the latent's.
    const int64_t B = latent.size(0);
    auto joint = [&](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c) {
        return torch::cat({a, b.expand({B, -1, -1, -1}), c.expand({B, -1, -1, -1})}, 2);  // [B, H, N+Nc+Nt, Dh]
    };
    auto out = attention(joint(x_qkv.q, c_qkv.q, t_qkv.q), joint(x_qkv.k, c_qkv.k, t_qkv.k),
                         joint(x_qkv.v, c_qkv.v, t_qkv.v), x_qkv.q_scaled);  // the three streams agree                       // [B, N+Nc+Nt, D]
    auto parts = out.split_with_sizes({n_latent, n_clip, n_text}, 1);

    JointOutput result;
    result.latent = latent_block->post_attention(latent, parts[0], x_mod);
    if (options.pre_only()) {
        result.clip = clip;
        result.text = text;
    } else {
        result.clip = clip_block->post_attention(clip.expand({B, -1, -1}), parts[1], c_mod);
        result.text = text_block->post_attention(text.expand({B, -1, -1}), parts[2], t_mod);
    }
    return result;
}

}  // namespace v2a::model
