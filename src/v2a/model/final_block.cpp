// B = batch, N = latent tokens, D = width, C = latent channels
#include "v2a/model/final_block.h"

#include "v2a/core/fp32_norm.h"

#include "v2a/model/mmdit_block.h"

namespace v2a::model {

FinalBlockImpl::FinalBlockImpl(const FinalBlockOptions& options_) : options(options_) {
    adaLN_modulation = register_module("adaLN_modulation", make_adaln_modulation(options.dim(), 2));
    conv = register_module("conv", ChannelLastConv1d(ChannelLastConv1dOptions(options.dim(), options.out_dim(), 7)));
}

torch::nn::Linear FinalBlockImpl::adaln_linear() const {
    return torch::nn::Linear(std::dynamic_pointer_cast<torch::nn::LinearImpl>(adaLN_modulation->ptr(1)));
}

torch::Tensor FinalBlockImpl::forward(const torch::Tensor& latent, const torch::Tensor& c) {
    auto chunks = to_fp32_if_reduced(adaLN_modulation->forward(c)).chunk(2, -1);  // shift, scale: [B, 1 or N, D]
    auto h = torch::layer_norm(to_fp32_if_reduced(latent), {latent.size(-1)}, {}, {}, 1e-5);  // fp32: D16
    return conv(modulate(h, chunks[0], chunks[1]));  // [B, N, C]
}

}  // namespace v2a::model
