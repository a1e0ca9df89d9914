// Sinusoidal timestep embedding followed by Linear -> SiLU -> Linear (DiT). v1: 256 frequencies
// 10000^(-2i/256), embedding [cos(t f), sin(t f)]; v2: frequency size = hidden and max_period 1
// (frequencies scaled by 10000 / max_period). t in [0, 1] is fed directly (flow time).
// Ref: hkchengrex/MMAudio mmaudio/model/embeddings.py (TimestepEmbedder)
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace v2a::model {

struct TimestepEmbedderOptions {
    TimestepEmbedderOptions(int64_t dim, int64_t frequency_embedding_size, double max_period)
        : dim_(dim), frequency_embedding_size_(frequency_embedding_size), max_period_(max_period) {}
    TORCH_ARG(int64_t, dim);
    TORCH_ARG(int64_t, frequency_embedding_size);
    TORCH_ARG(double, max_period);
};

class TimestepEmbedderImpl : public torch::nn::Module {
public:
    explicit TimestepEmbedderImpl(const TimestepEmbedderOptions& options);
    /// t: [B] -> [B, frequency_embedding_size] = [cos(t f), sin(t f)] (float32).
    torch::Tensor timestep_embedding(const torch::Tensor& t) const;
    /// t: [B] -> [B, dim]
    torch::Tensor forward(const torch::Tensor& t);

    TimestepEmbedderOptions options;
    torch::nn::Sequential mlp{nullptr};  // "0" Linear(F, dim), "1" SiLU, "2" Linear(dim, dim)
    torch::Tensor freqs;                 // [F/2] buffer "freqs", derived (the reference does not save it)
};
TORCH_MODULE(TimestepEmbedder);

}  // namespace v2a::model
