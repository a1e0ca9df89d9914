// RMSNorm over the last dimension with a learned per-channel scale ("weight"), as torch.nn.RMSNorm.
// MMAudio applies it per attention head to q and k (weight shape (head_dim,)).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace v2a::model {

struct RMSNormOptions {
    explicit RMSNormOptions(int64_t dim) : dim_(dim) {}
    TORCH_ARG(int64_t, dim);
    /// <= 0 means "machine epsilon of the input dtype", the torch.nn.RMSNorm default (eps=None).
    TORCH_ARG(double, eps) = -1.0;
};

class RMSNormImpl : public torch::nn::Module {
public:
    explicit RMSNormImpl(const RMSNormOptions& options);
    /// x: [..., dim] -> x / sqrt(mean(x^2) + eps) * weight
    torch::Tensor forward(const torch::Tensor& x);

    RMSNormOptions options;
    torch::Tensor weight;  // [dim], ones at init
};
TORCH_MODULE(RMSNorm);

}  // namespace v2a::model
