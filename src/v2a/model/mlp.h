// SwiGLU feed-forward blocks (SD3 reference style): w2(silu(w1 x) * w3 x), no biases. The hidden
// width is 2/3 of the requested one rounded up to a multiple of 256 (swiglu_hidden_dim).
// MLP uses Linear layers; ConvMLP uses channel-last Conv1d with kernel k (padding k // 2) so the
// feed-forward also mixes neighbouring tokens.
// Ref: hkchengrex/MMAudio mmaudio/model/low_level.py (MLP, ConvMLP)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "v2a/model/channel_last_conv1d.h"

namespace v2a::model {

struct MLPOptions {
    /// hidden_dim is the width before the SwiGLU rule (MMAudio passes 4 * dim).
    MLPOptions(int64_t dim, int64_t hidden_dim) : dim_(dim), hidden_dim_(hidden_dim) {}
    TORCH_ARG(int64_t, dim);
    TORCH_ARG(int64_t, hidden_dim);
    TORCH_ARG(int64_t, multiple_of) = 256;
};

class MLPImpl : public torch::nn::Module {
public:
    explicit MLPImpl(const MLPOptions& options);
    /// x: [..., dim] -> [..., dim]
    torch::Tensor forward(const torch::Tensor& x);
    /// The width actually used by w1/w3 (after the 2/3 rule and rounding).
    int64_t inner_dim() const;

    MLPOptions options;
    torch::nn::Linear w1{nullptr};  // dim -> inner
    torch::nn::Linear w2{nullptr};  // inner -> dim
    torch::nn::Linear w3{nullptr};  // dim -> inner
};
TORCH_MODULE(MLP);

struct ConvMLPOptions {
    ConvMLPOptions(int64_t dim, int64_t hidden_dim, int64_t kernel_size)
        : dim_(dim), hidden_dim_(hidden_dim), kernel_size_(kernel_size) {}
    TORCH_ARG(int64_t, dim);
    TORCH_ARG(int64_t, hidden_dim);
    TORCH_ARG(int64_t, kernel_size);
    TORCH_ARG(int64_t, multiple_of) = 256;
};

class ConvMLPImpl : public torch::nn::Module {
public:
    explicit ConvMLPImpl(const ConvMLPOptions& options);
    /// x: [B, N, dim] -> [B, N, dim]
    torch::Tensor forward(const torch::Tensor& x);
    int64_t inner_dim() const;

    ConvMLPOptions options;
    ChannelLastConv1d w1{nullptr};
    ChannelLastConv1d w2{nullptr};
    ChannelLastConv1d w3{nullptr};
};
TORCH_MODULE(ConvMLP);

}  // namespace v2a::model
