// B = batch, N = tokens, C = channels
#include "v2a/model/channel_last_conv1d.h"

#include "v2a/core/precision.h"

#include <torch/nn/init.h>

#include <algorithm>
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

torch::Tensor ChannelLastConv1dImpl::gemm_weight(torch::ScalarType dtype) {
    // w[o, j * in + c] = weight[o, c, j]. Without autograd (sampling) it is built once per weight version
    // and dtype: rebuilding it each call copied every MLP weight twice per step.
    auto build = [&] {
        return weight.permute({0, 2, 1})
            .reshape({options.out_channels(), options.kernel_size() * options.in_channels()})
            .to(dtype)
            .contiguous();
    };
    if (torch::GradMode::is_enabled()) return build();
    if (!cached_weight_.defined() || cached_weight_.scalar_type() != dtype || cached_version_ != weight._version() ||
        cached_source_ != weight.data_ptr()) {
        cached_weight_ = build();
        cached_version_ = weight._version();
        cached_source_ = weight.data_ptr();
    }
    return cached_weight_;
}

torch::Tensor ChannelLastConv1dImpl::im2col(const torch::Tensor& x, torch::ScalarType dtype) const {
    const int64_t k = options.kernel_size(), p = options.padding(), C = options.in_channels();
    const auto input = x.to(dtype);  // cast once, contiguous: a casting strided copy was slower (D16)
    if (k == 1 && p == 0) return input;
    const int64_t B = x.size(0), N = x.size(1), n_out = N + 2 * p - k + 1;
    TORCH_CHECK(n_out > 0, "ChannelLastConv1d: ", N, " tokens are too few for kernel ", k);
    // Block j of output row n is input row n + j - p, or zeros where that row is padding (no padded copy).
    auto out = torch::empty({B, n_out, k * C}, input.options());
    for (int64_t j = 0; j < k; ++j) {
        // Rows [lo, hi) have a source row; clamped so that sequences shorter than the kernel work too.
        const int64_t shift = j - p, lo = std::clamp<int64_t>(-shift, 0, n_out);
        const int64_t hi = std::clamp<int64_t>(N - shift, lo, n_out);
        auto block = out.narrow(2, j * C, C);
        if (lo > 0) block.narrow(1, 0, lo).zero_();
        if (hi < n_out) block.narrow(1, hi, n_out - hi).zero_();
        if (hi > lo) block.narrow(1, lo, hi - lo).copy_(input.narrow(1, lo + shift, hi - lo));
    }
    return out;  // [B, N', k * in]
}

torch::Tensor ChannelLastConv1dImpl::forward(const torch::Tensor& x) {
    TORCH_CHECK(x.dim() == 3 && x.size(2) == options.in_channels(), "ChannelLastConv1d: expected [B, N, ",
                options.in_channels(), "], got ", x.sizes());
    if (!bf16_autocast()) {  // fp32 (and fp64): oneDNN's convolution is the faster one here (D16)
        auto y = torch::conv1d(x.transpose(1, 2), weight, bias, /*stride=*/1, options.padding());  // [B, out, N]
        return y.transpose(1, 2);                                                                   // [B, N, out]
    }
    // bf16: one GEMM over the k shifted copies (im2col along time) instead of oneDNN's bf16 1-D
    // convolution, which took longer; the input is channel-last already (D16).
    return torch::linear(im2col(x, at::kBFloat16), gemm_weight(at::kBFloat16), bias);  // [B, N', out]
}

}  // namespace v2a::model
