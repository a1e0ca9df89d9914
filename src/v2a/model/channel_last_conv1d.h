// Conv1d applied to channel-last sequences [B, N, C] (MMAudio's ChannelLastConv1d). Parameters are
// registered directly as "weight" [out, in, k] and "bias" [out], like the Python subclass of Conv1d,
// so state-dict keys read "<parent>.weight" without an extra level.
// Ref: hkchengrex/MMAudio mmaudio/model/low_level.py (ChannelLastConv1d)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace v2a::model {

struct ChannelLastConv1dOptions {
    ChannelLastConv1dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
        : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size),
          padding_(kernel_size / 2) {}
    TORCH_ARG(int64_t, in_channels);
    TORCH_ARG(int64_t, out_channels);
    TORCH_ARG(int64_t, kernel_size);
    /// Zero padding on both sides; the default k // 2 keeps the length for odd k.
    TORCH_ARG(int64_t, padding);
    TORCH_ARG(bool, bias) = true;
};

class ChannelLastConv1dImpl : public torch::nn::Module {
public:
    explicit ChannelLastConv1dImpl(const ChannelLastConv1dOptions& options);
    /// PyTorch's Conv1d default init (kaiming_uniform a = sqrt(5), bias U(+-1/sqrt(fan_in))).
    void reset_parameters();
    /// x: [B, N, in] -> [B, N', out]  (N' = N for odd k with the default padding)
    torch::Tensor forward(const torch::Tensor& x);

    ChannelLastConv1dOptions options;
    torch::Tensor weight;  // [out, in, k]
    torch::Tensor bias;    // [out] or undefined
};
TORCH_MODULE(ChannelLastConv1d);

}  // namespace v2a::model
