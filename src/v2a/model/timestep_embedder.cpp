// B = batch, F = frequency embedding size, D = model width
#include "v2a/model/timestep_embedder.h"

#include "v2a/core/error.h"

namespace v2a::model {

TimestepEmbedderImpl::TimestepEmbedderImpl(const TimestepEmbedderOptions& options_) : options(options_) {
    const int64_t F = options.frequency_embedding_size();
    V2A_CHECK(F % 2 == 0 && F > 0, Config, "TimestepEmbedder: frequency size must be positive and even, got ", F);
    namespace nn = torch::nn;
    mlp = register_module("mlp", nn::Sequential({{"0", nn::Linear(F, options.dim())},
                                                 {"1", nn::SiLU()},
                                                 {"2", nn::Linear(options.dim(), options.dim())}}));
    auto base = 1.0 / torch::pow(10000.0, torch::arange(0, F, 2, torch::kFloat32) / static_cast<double>(F));
    freqs = register_buffer("freqs", base * (10000.0 / options.max_period()));  // [F/2]
}

torch::Tensor TimestepEmbedderImpl::timestep_embedding(const torch::Tensor& t) const {
    auto args = t.to(torch::kFloat32).unsqueeze(1) * freqs.to(torch::kFloat32).unsqueeze(0);  // [B, F/2]
    return torch::cat({torch::cos(args), torch::sin(args)}, -1);                                // [B, F]
}

torch::Tensor TimestepEmbedderImpl::forward(const torch::Tensor& t) {
    return mlp->forward(timestep_embedding(t).to(t.scalar_type()));  // [B, D]
}

}  // namespace v2a::model
