#include "v2a/model/rms_norm.h"

#include "v2a/core/fp32_norm.h"

#include <limits>

namespace v2a::model {

RMSNormImpl::RMSNormImpl(const RMSNormOptions& options_) : options(options_) {
    weight = register_parameter("weight", torch::ones({options.dim()}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
    double eps = options.eps();
    if (eps <= 0.0) {
        switch (x.scalar_type()) {
            case torch::kDouble: eps = std::numeric_limits<double>::epsilon(); break;
            case torch::kHalf: eps = 0.0009765625; break;     // finfo(float16).eps = 2^-10
            case torch::kBFloat16: eps = 0.0078125; break;    // finfo(bfloat16).eps = 2^-7
            default: eps = std::numeric_limits<float>::epsilon(); break;
        }
    }
    // eps follows the input dtype (as the reference); the arithmetic is fp32 for bf16/fp16 inputs
    // (LibTorch 1.13's bf16 elementwise kernels are slow on CPU, D16). The fp32 weight made the result
    // fp32 by type promotion before, and still does.
    const auto xf = to_fp32_if_reduced(x);
    auto inv_rms = torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);  // [..., 1]
    return xf * inv_rms * weight;
}

}  // namespace v2a::model
