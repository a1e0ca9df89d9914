#include "v2a/metrics/frechet.h"

#include <cmath>

#include "v2a/core/error.h"

namespace v2a::metrics {
namespace {

bool all_finite(const torch::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }

void check_stats(const GaussianStats& s, const char* which) {
    V2A_CHECK(s.mean.defined() && s.cov.defined(), Data, "frechet_distance: statistics ", which, " are empty");
    V2A_CHECK(s.mean.dim() == 1 && s.cov.dim() == 2 && s.cov.size(0) == s.mean.size(0) &&
                  s.cov.size(1) == s.mean.size(0),
              Data, "frechet_distance: statistics ", which, " have mean ", s.mean.sizes(), " and covariance ",
              s.cov.sizes(), " (expected [D] and [D, D])");
    V2A_CHECK(all_finite(s.mean) && all_finite(s.cov), Data, "frechet_distance: statistics ", which,
              " contain NaN or Inf");
}

}  // namespace

GaussianStats gaussian_stats(const torch::Tensor& features, const std::string& what) {
    V2A_CHECK(features.defined(), Data, what, ": feature tensor is undefined");
    V2A_CHECK(features.dim() == 2, Data, what, ": features must be [N, D], got ", features.sizes());
    V2A_CHECK(features.size(0) >= 2, Data, what, ": need at least 2 feature rows for a covariance, got ",
              features.size(0));
    V2A_CHECK(features.size(1) >= 1, Data, what, ": features have zero dimensions");
    V2A_CHECK(features.is_floating_point(), Data, what, ": features must be floating point, got ",
              features.scalar_type());
    const auto x = features.to(torch::kCPU, torch::kFloat64).contiguous();
    V2A_CHECK(all_finite(x), Data, what, ": features contain NaN or Inf");
    GaussianStats s;
    s.count = x.size(0);
    s.mean = x.mean(0);
    const auto centred = x - s.mean.unsqueeze(0);
    s.cov = centred.t().matmul(centred) / static_cast<double>(s.count - 1);  // np.cov ddof=1
    return s;
}

double trace_sqrt_product(const torch::Tensor& cov_a, const torch::Tensor& cov_b) {
    // sqrt(Σa) = V diag(sqrt λ) Vᵀ; M = sqrt(Σa) Σb sqrt(Σa) is symmetric PSD with the
    // eigenvalues of Σa Σb, so Tr sqrtm(Σa Σb) = Σ sqrt(λ_i(M)).
    auto [w, v] = torch::linalg_eigh(cov_a);
    const auto root_a = (v * w.clamp_min(0).sqrt().unsqueeze(0)).matmul(v.t());
    auto m = root_a.matmul(cov_b).matmul(root_a);
    m = 0.5 * (m + m.t());  // remove round-off asymmetry before the symmetric solver
    const auto lambda = torch::linalg_eigvalsh(m);
    return lambda.clamp_min(0).sqrt().sum().item<double>();
}

double frechet_distance(const GaussianStats& a, const GaussianStats& b, const FrechetOptions& options) {
    check_stats(a, "a");
    check_stats(b, "b");
    V2A_CHECK(a.mean.size(0) == b.mean.size(0), Data, "frechet_distance: feature dimensions differ (",
              a.mean.size(0), " vs ", b.mean.size(0), ")");
    const auto s1 = a.cov.to(torch::kFloat64);
    const auto s2 = b.cov.to(torch::kFloat64);
    const auto diff = a.mean.to(torch::kFloat64) - b.mean.to(torch::kFloat64);
    const double mean_term = diff.dot(diff).item<double>();
    const double traces = s1.trace().item<double>() + s2.trace().item<double>();

    double tr_covmean = options.force_eps ? NAN : trace_sqrt_product(s1, s2);
    if (!std::isfinite(tr_covmean)) {
        // The reference's fallback: add eps to both diagonals and try again.
        const auto offset = torch::eye(s1.size(0), torch::kFloat64) * options.eps;
        tr_covmean = trace_sqrt_product(s1 + offset, s2 + offset);
    }
    V2A_CHECK(std::isfinite(tr_covmean), Data,
              "frechet_distance: matrix square root is not finite even with eps=", options.eps);
    return mean_term + traces - 2.0 * tr_covmean;
}

double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b,
                        const FrechetOptions& options) {
    const auto a = gaussian_stats(features_a, "frechet_distance: feature set a");
    const auto b = gaussian_stats(features_b, "frechet_distance: feature set b");
    return frechet_distance(a, b, options);
}

}  // namespace v2a::metrics
