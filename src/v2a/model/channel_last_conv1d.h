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
    /// x: [B, N, in] -> [B, N', out]  (N' = N for odd k with the default padding). Under bf16 autocast
    /// it runs as im2col + one GEMM (D16); otherwise as conv1d.
    torch::Tensor forward(const torch::Tensor& x);

    /// The k shifted copies of x (cast to `dtype` once) side by side, zero-padded:
    /// [B, N, in] -> [B, N', k * in] with out[b, n, j * in + c] = x_pad[b, n + j, c].
    torch::Tensor im2col(const torch::Tensor& x, torch::ScalarType dtype) const;
    /// The weight as im2col's GEMM operand [out, k * in] in `dtype`; without autograd it is built once
    /// per weight version and dtype.
    torch::Tensor gemm_weight(torch::ScalarType dtype);

    ChannelLastConv1dOptions options;
    torch::Tensor weight;  // [out, in, k]
    torch::Tensor bias;    // [out] or undefined

private:
    torch::Tensor cached_weight_;   // gemm_weight() without autograd, for one weight version and dtype
    uint32_t cached_version_ = 0;
    const void* cached_source_ = nullptr;
};
TORCH_MODULE(ChannelLastConv1d);

}  // namespace v2a::model
