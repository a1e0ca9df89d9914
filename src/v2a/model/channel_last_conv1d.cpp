// B = batch, N = tokens, C = channels
#include "v2a/model/channel_last_conv1d.h"

#include <cmath>

namespace v2a::model {

ChannelLastConv1dImpl::ChannelLastConv1dImpl(const ChannelLastConv1dOptions& options_) : options(options_) {
    weight = register_parameter(
        "weight", torch::empty({options.out_channels(), options.in_channels(), options.kernel_size()}));
    if (options.bias()) bias = register_parameter("bias", torch::empty({options.out_channels()}));
    reset_parameters();
}

void ChannelLastConv1dImpl::reset_parameters() {
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
    if (bias.defined()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_channels() * options.kernel_size()));
        bias.uniform_(-bound, bound);
    }
}

torch::Tensor ChannelLastConv1dImpl::forward(const torch::Tensor& x) {
    auto y = torch::conv1d(x.transpose(1, 2), weight, bias, /*stride=*/1, options.padding());  // [B, out, N]
    return y.transpose(1, 2);                                                                   // [B, N, out]
}

}  // namespace v2a::model
