#include "v2a/metrics/similarity.h"

#include "v2a/core/error.h"

namespace v2a::metrics {

torch::Tensor paired_cosine(const torch::Tensor& a, const torch::Tensor& b, double eps) {
    V2A_CHECK(a.defined() && b.defined(), Data, "paired_cosine: embeddings are undefined");
    V2A_CHECK(a.dim() == 2 && b.dim() == 2, Data, "paired_cosine: embeddings must be [N, D], got ", a.sizes(),
              " and ", b.sizes());
    V2A_CHECK(a.sizes() == b.sizes(), Data, "paired_cosine: embedding shapes differ: ", a.sizes(), " vs ",
              b.sizes());
    V2A_CHECK(a.size(0) > 0 && a.size(1) > 0, Data, "paired_cosine: no embeddings (", a.sizes(), ")");
    const auto x = a.to(torch::kCPU, torch::kFloat64);
    const auto y = b.to(torch::kCPU, torch::kFloat64);
    V2A_CHECK(torch::isfinite(x).all().item<bool>() && torch::isfinite(y).all().item<bool>(), Data,
              "paired_cosine: embeddings contain NaN or Inf");
    // torch >= 1.12: x·y / sqrt(clamp_min(|x|²·|y|², eps²)).
    const auto dot = (x * y).sum(1);
    const auto denom = (x.pow(2).sum(1) * y.pow(2).sum(1)).clamp_min(eps * eps).sqrt();
    return dot / denom;
}

double mean_cosine_score(const torch::Tensor& a, const torch::Tensor& b, const CosineScoreOptions& options) {
    const double mean = paired_cosine(a, b, options.eps).mean().item<double>();
    return options.percent ? 100.0 * mean : mean;
}

}  // namespace v2a::metrics
