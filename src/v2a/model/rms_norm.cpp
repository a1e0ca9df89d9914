#include "v2a/model/rms_norm.h"

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
    auto inv_rms = torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps);  // [..., 1]
    return x * inv_rms * weight;
}

}  // namespace v2a::model
