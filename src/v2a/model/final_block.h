// Output head: adaLN (shift, scale) on a parameter-free LayerNorm, then a channel-last
// Conv1d(D -> latent_dim, k7). MMAudio conditions it on global_c (its code notes extended_c was
// intended, issue #55); we keep global_c so converted weights behave identically.
// Ref: hkchengrex/MMAudio mmaudio/model/transformer_layers.py (FinalBlock)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "v2a/model/channel_last_conv1d.h"

namespace v2a::model {

struct FinalBlockOptions {
    FinalBlockOptions(int64_t dim, int64_t out_dim) : dim_(dim), out_dim_(out_dim) {}
    TORCH_ARG(int64_t, dim);
    TORCH_ARG(int64_t, out_dim);
};

class FinalBlockImpl : public torch::nn::Module {
public:
    explicit FinalBlockImpl(const FinalBlockOptions& options);
    /// latent [B, N, D], c [B, 1 or N, D] -> [B, N, out_dim]
    torch::Tensor forward(const torch::Tensor& latent, const torch::Tensor& c);
    torch::nn::Linear adaln_linear() const;

    FinalBlockOptions options;
    torch::nn::Sequential adaLN_modulation{nullptr};  // "0" SiLU, "1" Linear(D, 2D)
    ChannelLastConv1d conv{nullptr};                  // D -> out_dim, k7
};
TORCH_MODULE(FinalBlock);

}  // namespace v2a::model
