// B = batch, H = heads, N = query tokens, M = key tokens, Dh = head dim, D = H * Dh
#include "v2a/model/attention.h"

#include <cmath>

#include "v2a/core/error.h"
#include "v2a/core/precision.h"
#include "v2a/model/rope.h"

namespace v2a::model {

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool q_scaled) {
    TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention: expected [B, H, N, Dh] inputs");
    const int64_t B = q.size(0), H = q.size(1), N = q.size(2), Dh = q.size(3), M = k.size(2);
    TORCH_CHECK(k.size(0) == B && v.size(0) == B && k.size(1) == H && v.size(1) == H && k.size(3) == Dh &&
                    v.size(2) == M,
                "attention: shapes q ", q.sizes(), " k ", k.sizes(), " v ", v.sizes(), " do not match");
    const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
    auto q3 = q.reshape({B * H, N, Dh});
    auto k3 = k.reshape({B * H, M, Dh});
    auto v3 = v.reshape({B * H, M, v.size(3)});
    // Scale q (N x Dh values) rather than the scores (N x M); one GEMM per product over all heads.
    auto scores = torch::bmm(q_scaled ? q3 : q3 * scale, k3.transpose(1, 2));      // [BH, N, M]
    auto probs = torch::softmax(scores, -1);
    auto out = torch::bmm(probs, v3);                                              // [BH, N, Dv]
    return out.view({B, H, N, v.size(3)}).transpose(1, 2).reshape({B, N, H * v.size(3)});  // [B, N, D]
}

SelfAttentionImpl::SelfAttentionImpl(const SelfAttentionOptions& options_) : options(options_) {
    V2A_CHECK(options.dim() % options.num_heads() == 0, Config, "SelfAttention: dim ", options.dim(),
              " not divisible by num_heads ", options.num_heads());
    const int64_t head_dim = options.dim() / options.num_heads();
    qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(options.dim(), 3 * options.dim())));
    q_norm = register_module("q_norm", RMSNorm(RMSNormOptions(head_dim)));
    k_norm = register_module("k_norm", RMSNorm(RMSNormOptions(head_dim)));
}

QKV SelfAttentionImpl::pre_attention(const torch::Tensor& x, const torch::Tensor& rot) {
    const int64_t B = x.size(0), N = x.size(1), H = options.num_heads(), Dh = options.dim() / H;
    // The Python reference splits with 'b n (h d j) -> b h n d j' (j = q/k/v innermost): keep that
    // channel order so converted checkpoints load unchanged. One copy makes q, k, v contiguous.
    auto parts = qkv(x).view({B, N, H, Dh, 3}).permute({4, 0, 2, 1, 3}).contiguous();  // [3, B, H, N, Dh]
    QKV out;
    out.q = q_norm(parts[0]);
    out.k = k_norm(parts[1]);
    out.v = parts[2];
    if (rot.defined()) {
        out.q = apply_rope(out.q, rot);
        out.k = apply_rope(out.k, rot);
    }
    if (bf16_autocast()) {  // scale in fp32, then one cast each (D16)
        out.q = (out.q * (1.0 / std::sqrt(static_cast<double>(Dh)))).to(torch::kBFloat16);
        out.k = out.k.to(torch::kBFloat16);
        out.v = out.v.to(torch::kBFloat16);
        out.q_scaled = true;
    }
    return out;
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& rot) {
    auto p = pre_attention(x, rot);
    return attention(p.q, p.k, p.v, p.q_scaled);
}

}  // namespace v2a::model
