// B = batch, N = tokens, D = model width, H = SwiGLU inner width
#include "v2a/model/mlp.h"

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
    return w2(torch::silu(w1(x)) * w3(x));  // [..., H] gated -> [..., D]
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
    return w2(torch::silu(w1(x)) * w3(x));  // [B, N, H] gated -> [B, N, D]
}

}  // namespace v2a::model
