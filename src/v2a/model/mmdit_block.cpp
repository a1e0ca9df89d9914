// B = batch, N = tokens, D = model width
#include "v2a/model/mmdit_block.h"

#include "v2a/core/fp32_norm.h"

namespace v2a::model {

namespace {
torch::Tensor layer_norm(const torch::Tensor& x) {
    // nn.LayerNorm(dim, elementwise_affine=False): no parameters, default eps 1e-5. In fp32: LibTorch
    // 1.13's CPU layer_norm on a bf16 input is 13x slower than on fp32 (D16).
    return torch::layer_norm(to_fp32_if_reduced(x), {x.size(-1)}, /*weight=*/{}, /*bias=*/{}, /*eps=*/1e-5);
}
}  // namespace

torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& shift, const torch::Tensor& scale) {
    return torch::addcmul(x + shift, x, scale);  // x * (1 + scale) + shift
}

torch::nn::Sequential make_adaln_modulation(int64_t dim, int64_t n_chunks) {
    namespace nn = torch::nn;
    return nn::Sequential({{"0", nn::SiLU()}, {"1", nn::Linear(nn::LinearOptions(dim, n_chunks * dim))}});
}

MMDitSingleBlockImpl::MMDitSingleBlockImpl(const MMDitSingleBlockOptions& options_) : options(options_) {
    const int64_t D = options.dim();
    attn = register_module("attn", SelfAttention(SelfAttentionOptions(D, options.num_heads())));
    adaLN_modulation = register_module("adaLN_modulation", make_adaln_modulation(D, options.pre_only() ? 2 : 6));
    if (options.pre_only()) return;
    const auto ffn_hidden = static_cast<int64_t>(static_cast<double>(D) * options.mlp_ratio());
    if (options.kernel_size() == 1) {
        linear1_linear = register_module("linear1", torch::nn::Linear(D, D));
        ffn_mlp = register_module("ffn", MLP(MLPOptions(D, ffn_hidden)));
    } else {
        linear1_conv = register_module("linear1", ChannelLastConv1d(ChannelLastConv1dOptions(D, D, options.kernel_size())));
        ffn_conv = register_module("ffn", ConvMLP(ConvMLPOptions(D, ffn_hidden, options.kernel_size())));
    }
}

torch::nn::Linear MMDitSingleBlockImpl::adaln_linear() const {
    return torch::nn::Linear(std::dynamic_pointer_cast<torch::nn::LinearImpl>(adaLN_modulation->ptr(1)));
}

std::pair<QKV, BlockModulation> MMDitSingleBlockImpl::pre_attention(const torch::Tensor& x, const torch::Tensor& c,
                                                                    const torch::Tensor& rot) {
    // Under bf16 autocast the linear layers return bf16; the residual stream, its modulation and gates
    // stay fp32 (bf16 elementwise kernels are the slow ones on this CPU, D16).
    auto modulation = to_fp32_if_reduced(adaLN_modulation->forward(c));  // [B, 1 or N, 2D or 6D]
    BlockModulation mod;
    torch::Tensor shift_msa, scale_msa;
    if (options.pre_only()) {
        auto chunks = modulation.chunk(2, -1);
        shift_msa = chunks[0];
        scale_msa = chunks[1];
    } else {
        auto chunks = modulation.chunk(6, -1);
        shift_msa = chunks[0];
        scale_msa = chunks[1];
        mod.gate_msa = chunks[2];
        mod.shift_mlp = chunks[3];
        mod.scale_mlp = chunks[4];
        mod.gate_mlp = chunks[5];
    }
    auto h = modulate(layer_norm(x), shift_msa, scale_msa);  // [B, N, D]
    return {attn->pre_attention(h, rot), mod};
}

torch::Tensor MMDitSingleBlockImpl::post_attention(const torch::Tensor& x, const torch::Tensor& attn_out,
                                                   const BlockModulation& mod) {
    if (options.pre_only()) return x;
    auto proj = to_fp32_if_reduced(linear1_linear ? linear1_linear(attn_out) : linear1_conv(attn_out));  // [B, N, D]
    auto y = to_fp32_if_reduced(x) + proj * mod.gate_msa;
    auto r = modulate(layer_norm(y), mod.shift_mlp, mod.scale_mlp);
    auto f = to_fp32_if_reduced(ffn_mlp ? ffn_mlp(r) : ffn_conv(r));
    return y + f * mod.gate_mlp;
}

torch::Tensor MMDitSingleBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& c,
                                            const torch::Tensor& rot) {
    auto [qkv, mod] = pre_attention(x, c, rot);
    return post_attention(x, attention(qkv.q, qkv.k, qkv.v, qkv.q_scaled), mod);
}

}  // namespace v2a::model
