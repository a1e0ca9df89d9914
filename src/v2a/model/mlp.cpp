// B = batch, N = tokens, D = model width, H = SwiGLU inner width
#include "v2a/model/mlp.h"

#include "v2a/core/fp32_norm.h"
#include "v2a/core/precision.h"

#include "v2a/model/network_config.h"

namespace v2a::model {

MLPImpl::MLPImpl(const MLPOptions& options_) : options(options_) {
    const int64_t inner = inner_dim();
    namespace nn = torch::nn;
    w1 = register_module("w1", nn::Linear(nn::LinearOptions(options.dim(), inner).bias(false)));
    w2 = register_module("w2", nn::Linear(nn::LinearOptions(inner, options.dim()).bias(false)));
    w3 = register_module("w3", nn::Linear(nn::LinearOptions(options.dim(), inner).bias(false)));
}

int64_t MLPImpl::inner_dim() const { return swiglu_hidden_dim(options.hidden_dim(), options.multiple_of()); }

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
    // The gate in fp32 under bf16 autocast: LibTorch 1.13's bf16 silu is 3x slower than fp32 (D16).
    return w2(torch::silu(to_fp32_if_reduced(w1(x))) * to_fp32_if_reduced(w3(x)));  // [..., H] gated -> [..., D]
}

ConvMLPImpl::ConvMLPImpl(const ConvMLPOptions& options_) : options(options_) {
    const int64_t inner = inner_dim();
    const int64_t k = options.kernel_size();
    w1 = register_module("w1", ChannelLastConv1d(ChannelLastConv1dOptions(options.dim(), inner, k).bias(false)));
    w2 = register_module("w2", ChannelLastConv1d(ChannelLastConv1dOptions(inner, options.dim(), k).bias(false)));
    w3 = register_module("w3", ChannelLastConv1d(ChannelLastConv1dOptions(options.dim(), inner, k).bias(false)));
}

int64_t ConvMLPImpl::inner_dim() const {
    return swiglu_hidden_dim(options.hidden_dim(), options.multiple_of());
}

torch::Tensor ConvMLPImpl::forward(const torch::Tensor& x) {
    if (bf16_autocast()) {
        // w1 and w3 (same kernel, same padding: the constructor) read the same input: one im2col for both (D16). The gate in fp32: LibTorch 1.13's
        // bf16 silu is 3x slower than fp32.
        const auto xs = w1->im2col(x, at::kBFloat16);  // [B, N, k * D]
        const auto a = torch::linear(xs, w1->gemm_weight(at::kBFloat16)).to(torch::kFloat);
        const auto b = torch::linear(xs, w3->gemm_weight(at::kBFloat16)).to(torch::kFloat);
        return w2(torch::silu(a) * b);  // [B, N, H] gated -> [B, N, D]
    }
    return w2(torch::silu(w1(x)) * w3(x));
}

}  // namespace v2a::model
