// Normalisation layers that compute in fp32 when their input is bf16/fp16, with CPU autocast off
// inside: LibTorch 1.13's autocast casts group_norm's input (not its fp32 weights) to bf16 and the
// CPU kernel then rejects the mix. fp32 and fp64 inputs pass as they are. The parameters keep
// GroupNorm's / LayerNorm's names, so checkpoints are unchanged.
#pragma once
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/nn/modules/normalization.h>

namespace v2a {

inline torch::Tensor to_fp32_if_reduced(const torch::Tensor& x) {
    const auto t = x.scalar_type();
    return t == torch::kBFloat16 || t == torch::kHalf ? x.to(torch::kFloat) : x;
}

class Fp32GroupNormImpl : public torch::nn::GroupNormImpl {
public:
    using torch::nn::GroupNormImpl::GroupNormImpl;
    torch::Tensor forward(const torch::Tensor& x) {
        c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
        return torch::nn::GroupNormImpl::forward(to_fp32_if_reduced(x));
    }
};
TORCH_MODULE(Fp32GroupNorm);

class Fp32LayerNormImpl : public torch::nn::LayerNormImpl {
public:
    using torch::nn::LayerNormImpl::LayerNormImpl;
    torch::Tensor forward(const torch::Tensor& x) {
        c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
        return torch::nn::LayerNormImpl::forward(to_fp32_if_reduced(x));
    }
};
TORCH_MODULE(Fp32LayerNorm);

}  // namespace v2a
